"""企业详情: one enterprise on one page — registry, whitelist history, testing, places, production, issues, alerts."""
import streamlit as st

from fourguard import charts, enterprise, queries, ui

f = ui.filter_bar(trend=True)
st.title("企业详情")

code = st.query_params.get("ent")
with st.expander("查找企业", expanded=not code):
    text = st.text_input("企业名称或统一社会信用代码", placeholder="如：食品、91411322…")
    found = ui.query(enterprise.find, text, **f.scope)
    if found.empty:
        st.info(f"在「{f.label}」范围内没有找到名称或代码包含「{text}」的企业。")
    else:
        options = dict(zip(found.credit_code, found.enterprise_name + "（" + found.county_name + " · " + found.sector + "）"))
        picked = st.selectbox("企业", list(options), format_func=options.get, index=None, placeholder="选择企业")
        if picked and picked != code:
            st.query_params["ent"] = picked
            st.rerun()
if not code:
    st.info("请选择一家企业；也可以从「超时未检」「风险地图」等页面点选企业进入。")
    st.stop()

p = ui.query(enterprise.profile, code, f.as_of)
if p is None:
    st.warning(f"白名单企业台账中没有统一社会信用代码为 {code} 的企业。")
    st.stop()

listed = "白名单内" if p["is_listed"] else ("已移出白名单" if p["removed_on"] is not None and str(p["removed_on"]) != "NaT" else "未纳入")
st.subheader(p["enterprise_name"])
st.caption(f"{p['credit_code']} · {p['city_name']} {p['county_name']} · {p['sector']} · {listed} · 数据时间 {ui.fmt_time(f.as_of)}")

staff = ui.query(queries.employee_status, f.as_of, credit_code=code)
overdue = staff[staff["is_overdue"]] if not staff.empty else staff
cols = st.columns(5)
cols[0].metric("在册员工", ui.fmt_int(len(staff)))
cols[1].metric("超时未检", ui.fmt_int(len(overdue)))
cols[2].metric("检测覆盖率", ui.fmt_pct(1 - len(overdue) / len(staff) if len(staff) else None))
cols[3].metric("生产状态", p["production_status"] or "未报")
cols[4].metric("县区状态", p["county_state"] or "常态")

tabs = st.tabs(["概况", "核酸检测", "场所码", "生产经营", "诉求", "预警"])
with tabs[0]:
    facts = {
        "包保干部": p["cadre"] or "—", "员工人数（台账）": ui.fmt_int(p["headcount"]),
        "年产值/投资额（万元）": ui.fmt_int(p["annual_output_wan_yuan"]),
        "核酸采样屋": "有" if p["has_sampling_hut"] else "无", "具备闭环条件": "是" if p["is_closed_loop_capable"] else "否",
        "纳入白名单": ui.fmt_time(p["listed_on"])[:10], "移出白名单": ui.fmt_time(p["removed_on"])[:10],
        "县区状态起始": ui.fmt_time(p["county_state_since"]), "最近生产日报": ui.fmt_time(p["last_report_date"])[:10],
        "经纬度（GCJ-02）": f"{p['lng']:.5f}, {p['lat']:.5f}" if p["lng"] == p["lng"] else "—",
    }
    ui.table([{"项目": k, "内容": v} for k, v in facts.items()], f"{p['enterprise_name']}概况", hide_index=True,
             width="stretch")
with tabs[1]:
    trend = ui.query(enterprise.coverage_trend, code, f.start, f.end, f.as_of)
    st.caption(f"以往各日为截至当日24时、{f.as_of:%m月%d日}为截至 {f.as_of:%H:%M} 的检测覆盖"
               "（按当时的县区状态、闭环状态与岗位确定检测间隔）")
    ui.chart(charts.enterprise_coverage(trend), f"{p['enterprise_name']}检测覆盖率", width="stretch")
    if overdue.empty:
        st.success("当前没有超时未检的员工。")
    else:
        ui.table(overdue[["id_masked", "person_name", "job_type", "interval_rule", "last_sampled_at", "hours_since_sample"]]
                     .rename(columns={"id_masked": "身份证号", "person_name": "姓名", "job_type": "岗位类型", "interval_rule": "适用检测间隔",
                                      "last_sampled_at": "最近采样", "hours_since_sample": "距最近采样（小时）"}),
                     f"{p['enterprise_name']}超时未检人员", hide_index=True, width="stretch")
with tabs[2]:
    places = ui.query(enterprise.places, code, f.as_of)
    if places.empty:
        st.warning("场所码台账中没有该企业的场所，无法判断一门一码、一区一码是否落实（R3）。")
    else:
        ui.table(places.rename(columns={"place_name": "场所名称", "kind": "类型", "place_code": "场所码",
                                            "count_scans_24h": "24小时扫码", "count_red_yellow_24h": "24小时红黄码",
                                            "last_scanned_at": "最近扫码"}),
                 f"{p['enterprise_name']}场所码", hide_index=True, width="stretch")
with tabs[3]:
    reports = ui.query(enterprise.production, code, f.start, f.end)
    if reports.empty:
        st.info("所选区间内没有该企业的生产经营日报。")
    else:
        ui.chart(charts.enterprise_production(reports), f"{p['enterprise_name']}生产经营", width="stretch")
with tabs[4]:
    issues = ui.query(queries.issue_status, f.as_of, credit_code=code)
    if issues.empty:
        st.info("该企业在数据时间之前没有提出诉求。")
    else:
        ui.table(issues[["issue_id", "category", "detail", "reported_at", "state", "department", "deadline_at", "is_overdue"]]
                     .rename(columns={"issue_id": "诉求编号", "category": "类别", "detail": "内容", "reported_at": "提出时间",
                                      "state": "状态", "department": "责任单位", "deadline_at": "办理时限", "is_overdue": "逾期"}),
                     f"{p['enterprise_name']}诉求", hide_index=True, width="stretch")
with tabs[5]:
    alerts = ui.query(enterprise.alerts, code, f.as_of)
    if alerts.empty:
        st.success("近期没有预警（阳性、复核超时、红黄码、停产超时、诉求逾期）。")
    else:
        ui.table(alerts.rename(columns={"alert_at": "时间", "kind": "预警类型", "detail": "详情"}),
                 f"{p['enterprise_name']}预警", hide_index=True, width="stretch")
