"""覆盖率: tested in time (R1), place codes (R3), output covered by the whitelist (R6), sampling huts (R7)."""
import streamlit as st

from fourguard import charts, queries, ui

num = lambda label: st.column_config.NumberColumn(label, format="localized")  # noqa: E731
pct = lambda label: st.column_config.NumberColumn(label, format="%.1f%%")     # noqa: E731 (values × 100)

f = ui.filter_bar(trend=True)
o, kinds, zones, gaps, trend = ui.query_all(
    (queries.coverage_overview, f.as_of), (queries.place_codes_by_kind, f.as_of),
    (queries.place_zone_requirements, f.as_of), (queries.place_coverage, f.as_of, {"gaps_only": True}),
    (queries.coverage_trend, f.start, f.end, f.as_of), **f.scope)
pc, huts, output, target = o["place_codes"], o["huts"], o["output"], o["output_target"]
judged = output[output["output_share"].notna()]

st.title("覆盖率")
st.caption(f"{f.label} · 数据时间 {ui.fmt_time(f.as_of)}" + ("（最新）" if f.as_of == f.latest else ""))
cols = st.columns(5)
cols[0].metric("核酸检测覆盖率", ui.fmt_pct(o["coverage_rate"]), help="检测间隔内有采样的员工 / 在册员工。"
               "间隔按R1：常态48小时，流动接触岗位24小时，县区应急或企业闭环生产每日一检")
cols[1].metric("场所码覆盖率", ui.fmt_pct(pc["coverage_rate"]),
               help="已赋码场所 / 台账列出的场所（R3 一门一码、一区一码）")
cols[2].metric("24小时内有扫码的场所码", ui.fmt_int(pc["active_24h"]),
               help=f"已赋码 {ui.fmt_int(pc['registered'])} 个，其中 24 小时内被扫过的场所码")
cols[3].metric(f"产值覆盖达{target:.0%}的行业", f"{int((judged['output_share'] >= target).sum())} / {len(judged)}",
               help="白名单企业产值占本行业总产值（R6）；未导入行业总产值的行业不计入")
cols[4].metric("千人以上企业有采样屋", f"{o['sampling_huts']['with_hut']} / {o['sampling_huts']['required']}",
               help="员工人数≥1000的白名单企业中，已建核酸采样屋的家数（R7）")
st.caption(f"在册员工 {ui.fmt_int(o['employees'])} 人，间隔内已检 {ui.fmt_int(o['tested_in_interval'])} 人，"
           f"超时未检 {ui.fmt_int(o['overdue_employees'])} 人。")

st.subheader("核酸检测覆盖率")
levels = o["levels"]
many_cities = (levels["level"] == "city").sum() > 1
groups = {**({"city": "按省辖市"} if many_cities else {}), "county": "按县（市、区）", "sector": "按行业"}
by = st.radio("分组", list(groups), format_func=groups.get, horizontal=True, label_visibility="collapsed",
              index=list(groups).index("sector" if f.county else "city" if many_cities else "county"))
rows = levels[levels["level"] == by]
if rows.empty:
    st.info(f"「{f.label}」范围内没有白名单企业员工花名册，无法计算检测覆盖率。")
else:
    left, right = st.columns([3, 2])
    ui.chart(charts.coverage_bars(rows), f"检测覆盖率{groups[by]}", where=left, width="stretch")
    ui.table(rows.assign(coverage_pct=rows["coverage_rate"] * 100)[
                        ["name", "count_employees", "count_within_interval", "count_overdue", "coverage_pct"]],
             f"检测覆盖率{groups[by]}", where=right,
                    hide_index=True, width="stretch", height="content" if len(rows) <= 20 else 720, column_config={
                        "name": groups[by][1:], "count_employees": num("在册员工"), "count_within_interval": num("间隔内已检"),
                        "count_overdue": num("超时未检"), "coverage_pct": pct("覆盖率")})

st.subheader("场所码（R3）")
left, right = st.columns([2, 3])
if kinds.empty:
    left.info("场所码台账中没有本范围白名单企业的场所。")
else:
    kinds = kinds.assign(coverage_pct=kinds["coverage_rate"] * 100).fillna({"required_zone": "—"})
    ui.table(kinds[["kind", "required_zone", "count_places", "count_coded", "coverage_pct", "count_active_24h"]],
             "场所码按类型", where=left,
                   hide_index=True, width="stretch", column_config={
                       "kind": "场所类型", "required_zone": "R3必备区域", "count_places": num("台账场所"),
                       "count_coded": num("已赋码"), "coverage_pct": pct("赋码率"), "count_active_24h": num("24小时有扫码")})
    ui.table(zones, "必备区域场所码", where=left, hide_index=True, width="stretch", column_config={
        "required_zone": "必备区域", "count_enterprises": num("应设企业"), "count_with_code": num("已有码"),
        "count_lacking": num("缺码企业")})
    left.caption("工业生产、重点项目企业须有出入口码、生产区或车间码、生活区码（一门一码、一区一码）。")
right.markdown(f"**缺少必备场所码的企业：{ui.fmt_int(len(gaps))} 家**")
if gaps.empty:
    right.success("工业生产、重点项目企业的出入口、生产区/车间、生活区均已赋码。")
else:
    ui.table(gaps[["enterprise_name", "county_name", "sector", "count_places", "count_coded", "gap_detail"]],
             "缺少必备场所码的企业", where=right,
                    hide_index=True, width="stretch", height="content" if len(gaps) <= 8 else 320, column_config={
                        "enterprise_name": "企业", "county_name": "县（市、区）", "sector": "行业",
                        "count_places": num("台账场所"), "count_coded": num("已赋码"), "gap_detail": "缺少"})

left, right = st.columns(2)
with left:
    st.subheader(f"白名单产值覆盖率（R6，目标 {target:.0%}）")
    ui.chart(charts.output_coverage(output, target), "白名单产值覆盖率", width="stretch")
    missing = output[output["output_share"].isna()]["sector"].tolist()
    partial = output[output["output_share"].notna() & (output["count_counties_without_total"] > 0)]
    if missing:
        st.warning(f"未导入行业总产值，无法计算：{'、'.join(missing)}（请导入行业产值统计）。")
    for r in partial.itertuples():
        st.caption(f"{r.sector}：{r.count_counties_without_total} 个县区缺行业总产值，其白名单企业未计入。")
with right:
    st.subheader("核酸采样屋（R7，员工≥1000人）")
    if huts.empty:
        st.info("本范围没有员工人数达到 1000 人的白名单企业。")
    else:
        huts = huts.assign(hut=huts["has_sampling_hut"].map({True: "已建", False: "未建"}))
        ui.table(huts[["enterprise_name", "county_name", "sector", "headcount", "hut"]],
                 "核酸采样屋",
                     hide_index=True, width="stretch", height="content" if len(huts) <= 9 else 360, column_config={
                         "enterprise_name": "企业", "county_name": "县（市、区）", "sector": "行业",
                         "headcount": num("员工人数"),
                         "hut": "核酸采样屋"})

st.subheader("每日检测覆盖率趋势")
if trend.empty or not trend["count_employees"].any():
    st.info(f"{f.start} 至 {f.end}（数据时间之前）没有白名单企业员工花名册，无法计算每日覆盖率。")
else:
    periods = ui.query(queries.emergency_periods, f.county, f.start, f.end, f.as_of) if f.county else None
    ui.chart(charts.mark_emergency(charts.coverage_trend(trend), periods), "每日检测覆盖率趋势", width="stretch")
    st.caption(f"以往各日为截至当日24时的检测覆盖率，{f.as_of:%m月%d日}为截至 {f.as_of:%H:%M}（数据时间）："
               "按当时的白名单、县区状态、闭环生产和岗位确定检测间隔；灰点表示该时刻往前一个检测周期内"
               "尚无导入的检测数据，覆盖率偏低"
               + ("；浅红底色为本县应急状态期间。" if f.county else "。"))
