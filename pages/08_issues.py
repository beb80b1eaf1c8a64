"""问题办结: is the issue loop closing — rates, times, backlog, where it is stuck, and the issues behind each figure."""
import streamlit as st

from fourguard import charts, closure, ui

f = ui.filter_bar(trend=True)
by = st.session_state.get("issues_by") or "department"  # the grouping control below
s, ages, trend, groups, issues = ui.query_all(
    (closure.closure_summary, f.as_of), (closure.backlog_by_age, f.as_of),
    (closure.closure_trend, f.start, f.end, f.as_of), (closure.closure_by, f.as_of, by),
    (closure.issue_closure, f.as_of), **f.scope)

st.title("问题办结")
st.caption(f"{f.label} · 数据时间 {ui.fmt_time(f.as_of)} · 企业诉求从收集、交办、办理到回访销号的闭环情况")
if not s["total"]:
    st.info("本范围内在该时间之前没有企业诉求：请检查诉求数据是否已导入，或放宽筛选条件。")
    st.stop()


def hours(h):
    return "—" if h is None else (f"{h:.1f} 小时" if h < 48 else f"{h / 24:.1f} 天")


cols = st.columns(4)
cols[0].metric("诉求总数", ui.fmt_int(s["total"]), help="该时间之前提出的、白名单企业的诉求（数据接口与平台录入）")
cols[1].metric("办结率", ui.fmt_pct(s["closure_rate"]), help="状态为 已办结/已回访/已销号 的诉求 ÷ 诉求总数")
cols[2].metric("按时办结率", ui.fmt_pct(s["on_time_rate"]), help="办结时间不晚于办理时限的 ÷ 已办结")
cols[3].metric("已超期未办结", ui.fmt_int(s["overdue"]), help="未办结且已过办理时限")
cols = st.columns(4)
cols[0].metric("未办结", ui.fmt_int(s["open"]))
cols[1].metric("交办用时（中位数）", hours(s["median_hours_to_assign"]), help="提出 → 首次交办")
cols[2].metric("办结用时（中位数）", hours(s["median_hours_to_close"]), help="提出 → 首次办结（已办结诉求）")
cols[3].metric("回访满意率", ui.fmt_pct(s["satisfaction_rate"]),
               help=f"满意或基本满意 {ui.fmt_int(s['satisfied'])} 件 ÷ 已回访 {ui.fmt_int(s['revisited'])} 件")

left, right = st.columns(2)
ui.chart(charts.issue_backlog_age(ages, "未办结诉求按已提出时长"), "未办结诉求按已提出时长", where=left, width="stretch")
ui.chart(charts.issue_trend(trend, f"每日新提出与办结（{f.start:%m-%d} 至 {f.end:%m-%d}）"), "每日新提出与办结",
         where=right, width="stretch")

st.segmented_control("分组查看", list(closure.BREAKDOWNS), format_func=closure.BREAKDOWNS.get,
                     default="department", required=True, key="issues_by")
ui.chart(charts.issue_closure_by(groups, closure.BREAKDOWNS[by],
                                 f"按{closure.BREAKDOWNS[by]}（未办结最多的前 15 个）"), f"按{closure.BREAKDOWNS[by]}办结情况",
         width="stretch")

st.subheader("诉求明细")
st.caption("选择上方任一图表对应的条件，查看其背后的诉求；已超期的排在最前。点选一行打开企业详情。")
c = st.columns([3, 1, 2, 1])
view = c[0].segmented_control("状态", closure.VIEWS, default="已超期", required=True, key="issues_view")
bucket = c[1].selectbox("已提出时长", ["", *closure.AGE_BUCKETS], format_func=lambda b: b or ui.ALL,
                        key="issues_age")
name = c[2].selectbox(closure.BREAKDOWNS[by], ["", *groups["name"]], format_func=lambda n: n or ui.ALL,
                      key=f"issues_group_{by}")
day = c[3].selectbox("日期（新提出或办结）", [None, *trend["day"].dt.date], key="issues_day",
                     format_func=lambda d: f"{d:%m-%d}" if d else ui.ALL)
rows = closure.filter_issues(issues, view, bucket or None,
                             by, name or None, day)
st.caption(f"共 {ui.fmt_int(len(rows))} 件")
if rows.empty:
    st.info("没有符合所选条件的诉求。")
    st.stop()
event = ui.table(
    rows[["issue_id", "enterprise_name", "county_name", "category", "state", "department", "assignee",
          "reported_at", "deadline_at", "overdue_hours", "resolved_at", "revisit", "detail"]],
    "诉求明细", hide_index=True, width="stretch", height=min(36 * len(rows) + 40, 480), key="issues_table",
    on_select="rerun", selection_mode="single-row", placeholder="—", column_config={
        "issue_id": "诉求编号", "enterprise_name": st.column_config.TextColumn("企业", width="medium"),
        "county_name": "县（市、区）", "category": "类别", "state": "状态", "department": "责任单位",
        "assignee": "责任人", "reported_at": st.column_config.DatetimeColumn("提出时间", format="YYYY-MM-DD HH:mm"),
        "deadline_at": st.column_config.DatetimeColumn("办理时限", format="YYYY-MM-DD HH:mm"),
        "overdue_hours": st.column_config.NumberColumn("超期（小时）", format="%.1f"),
        "resolved_at": st.column_config.DatetimeColumn("办结时间", format="YYYY-MM-DD HH:mm"),
        "revisit": "回访", "detail": st.column_config.TextColumn("诉求内容", width="large")})
picked = [r for r in event.selection.rows if r < len(rows)]
if picked:
    st.switch_page("pages/06_enterprise.py", query_params=f.url(ent=rows.iloc[picked[0]]["credit_code"]))
