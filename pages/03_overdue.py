"""超时未检: who is past their test interval (R2), under which rule, in which enterprises; select one to see its staff."""
import streamlit as st

from fourguard import charts, queries, ui

f = ui.filter_bar()
ORDERS = {"count": "按超时人数", "share": "按超时比例"}
order = st.session_state.get("overdue_order") or "count"  # the ranking's order control below
by_rule, ranking = ui.query_all((queries.overdue_by_rule, f.as_of), (queries.overdue_ranking, f.as_of, order), **f.scope)
overdue, employees = int(by_rule["count_overdue"].sum()), int(by_rule["count_employees"].sum())

st.title("超时未检")
st.caption(f"{f.label} · 数据时间 {ui.fmt_time(f.as_of)}" + ("（最新）" if f.as_of == f.latest else "")
           + " · 距最近一次采样超过适用检测间隔即为超时未检（R2），从未检测的员工也计入")
if employees == 0:
    st.info(f"「{f.label}」范围内没有白名单企业员工花名册，无法判断超时未检。请导入员工花名册。")
    st.stop()

cols = st.columns(4)
left, right = st.columns([2, 3])
with left:
    st.subheader("按检测规则")
    ui.chart(charts.overdue_by_rule(by_rule), "超时未检按检测规则", width="stretch")
    st.caption("每人适用的最严规则：县区应急状态、企业闭环生产每日一检；流动接触岗位24小时；其余常态48小时。"
               "百分比为该规则下员工的超时比例。")
with right:
    st.subheader("企业排名")
    st.segmented_control("企业排序", list(ORDERS), default="count", key="overdue_order", format_func=ORDERS.get,
                         label_visibility="collapsed")
    cols[0].metric("超时未检", f"{ui.fmt_int(overdue)} 人")
    cols[1].metric("占在册员工", ui.fmt_pct(overdue / employees), help=f"在册员工 {ui.fmt_int(employees)} 人")
    cols[2].metric("涉及企业", f"{ui.fmt_int(len(ranking))} 家")
    cols[3].metric("从未检测", f"{ui.fmt_int(ranking['count_never_tested'].sum())} 人")
    if ranking.empty:
        st.success("本范围内所有员工都在检测间隔内。")
        st.stop()
    event = ui.table(
        ranking.assign(overdue_pct=ranking["overdue_share"] * 100)[
            ["enterprise_name", "county_name", "sector", "count_employees", "count_overdue", "overdue_pct",
             "max_hours_since_sample"]],
        "企业排名", hide_index=True, width="stretch", height="content" if len(ranking) <= 11 else 420,
        key=f"overdue_ranking_{order}", on_select="rerun",
        selection_mode="single-row", column_config={
            "enterprise_name": st.column_config.TextColumn("企业", width="medium"), "county_name": "县（市、区）",
            "sector": "行业", "count_employees": st.column_config.NumberColumn("在册员工", format="localized"),
            "count_overdue": st.column_config.NumberColumn("超时未检", format="localized"),
            "overdue_pct": st.column_config.NumberColumn("超时比例", format="%.1f%%"),
            "max_hours_since_sample": st.column_config.NumberColumn("最长未检（小时）", format="%.1f")})
    st.caption("点选一行查看该企业的超时未检人员。")

rows = [r for r in event.selection.rows if r < len(ranking)]
if not rows:
    st.info("在上方企业排名中点选一家企业，查看其超时未检人员名单。")
    st.stop()
ent = ranking.iloc[rows[0]]
head, link = st.columns([4, 1])
head.subheader(f"{ent['enterprise_name']} · 超时未检 {ui.fmt_int(ent['count_overdue'])} 人")
head.caption(f"{ent['county_name']} · {ent['sector']} · 县区状态 {ent['county_state']}"
             + (" · 闭环生产" if ent["is_closed_loop"] else ""))
if link.button("打开企业详情", icon="🏢", width="stretch"):
    st.switch_page("pages/06_enterprise.py", query_params=f.url(ent=ent["credit_code"]))
staff = ui.query(queries.overdue_staff, f.as_of, ent["credit_code"])
ui.table(staff[["id_masked", "person_name", "job_type", "interval_text", "hours_since_sample", "last_sampled_at",
                    "interval_rule"]],
         f"{ent['enterprise_name']}超时未检人员",
             hide_index=True, width="stretch", placeholder="从未检测", column_config={
                 "id_masked": "身份证号", "person_name": "姓名", "job_type": "岗位类型", "interval_text": "适用检测间隔",
                 "hours_since_sample": st.column_config.NumberColumn("距最近采样（小时）", format="%.1f"),
                 "last_sampled_at": st.column_config.DatetimeColumn("最近采样时间", format="YYYY-MM-DD HH:mm"),
                 "interval_rule": "适用原因"})
