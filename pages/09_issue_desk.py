"""诉求办理: select issues, act on them (交办、办结、回访、销号…) and record new ones — every write audited."""
import datetime as dt

import streamlit as st

from fourguard import clock, closure, issues, store, ui
from fourguard.config import settings

f = ui.filter_bar(sector=True)
actor = ui.acting_user()
path = store.store_path(settings().db_path)
ss = st.session_state
now = clock.now(ui.cursor())  # the desk works on the current state (demo or archive data: its newest time)

st.title("诉求办理")
when = ("按当前时间" if clock.mode(f.latest) == "wall"
        else f"数据为演示或存档（最新数据早于{settings().archive_after_days}天前），按数据最新时间")
st.caption(f"{f.label} · {when} {ui.fmt_time(now)} 的状态办理，新记录以此时间登记 · 操作人：{actor}")
if msg := ss.pop("desk_msg", None):
    getattr(st, msg[0])(msg[1])


def done(kind: str, text: str) -> None:
    """After a write: keep the message, forget the selection and the cached figures, rerun."""
    ss["desk_msg"] = (kind, text)
    ss["desk_round"] = ss.get("desk_round", 0) + 1
    ss.pop("desk_snap", None)
    st.cache_data.clear()
    st.rerun()


with st.expander("新建诉求（问题收集）", icon=":material/add:"):
    ents = ui.query(closure.enterprise_choices, f.as_of, **f.scope)
    with st.form("new_issue", clear_on_submit=True):
        label = dict(zip(ents.credit_code, ents.county_name + " · " + ents.enterprise_name))
        code = st.selectbox("企业", ents["credit_code"], key="new_ent", format_func=label.get)
        category = st.selectbox("诉求类别", ui.query(closure.issue_categories), key="new_category")
        detail = st.text_area("诉求内容", key="new_detail", placeholder="例如：电话反映缺普工20人，请求人社部门协助招聘")
        if st.form_submit_button("登记诉求", type="primary"):
            try:
                new_id = issues.create(path, code, category, detail, actor, reported_at=now, source="电话")
                done("success", f"已登记诉求 {new_id}（待交办）。")
            except issues.TransitionRefused as exc:
                st.error(str(exc))

view = st.segmented_control("显示", closure.VIEWS, default="未办结", required=True, key="desk_view")
rows = closure.filter_issues(ui.query(closure.issue_closure, now, **f.scope), view)
if rows.empty:
    st.info("没有符合条件的诉求。")
    st.stop()
event = ui.table(
    rows[["issue_id", "enterprise_name", "county_name", "category", "state", "department", "assignee",
          "deadline_at", "is_overdue", "version", "detail"]],
    "诉求", hide_index=True, width="stretch", height=min(36 * len(rows) + 40, 420), key=f"desk_table_{ss.get('desk_round', 0)}",
    on_select="rerun", selection_mode="multi-row", placeholder="—", column_config={
        "issue_id": "诉求编号", "enterprise_name": st.column_config.TextColumn("企业", width="medium"),
        "county_name": "县（市、区）", "category": "类别", "state": "状态", "department": "责任单位",
        "assignee": "责任人", "deadline_at": st.column_config.DatetimeColumn("办理时限", format="YYYY-MM-DD HH:mm"),
        "is_overdue": st.column_config.CheckboxColumn("已超期"), "version": "版本",
        "detail": st.column_config.TextColumn("诉求内容", width="large")})
picked = rows.iloc[[r for r in event.selection.rows if r < len(rows)]]
if picked.empty:
    st.info("在表中勾选一件或多件诉求（可批量交办、批处理），再选择要做的操作。")
    st.stop()
# What the form acts on is what the table showed when the selection was made: a later write by
# anyone else makes the store refuse it (store.Conflict) instead of being overwritten.
ids = tuple(picked["issue_id"])
if ss.get("desk_snap", {}).get("ids") != ids:
    ss["desk_snap"] = {"ids": ids, "forms": list(zip(ids, picked["state"], picked["version"].astype(int)))}
forms = ss["desk_snap"]["forms"]
names = closure.allowed_actions(state for _, state, _ in forms)
st.subheader(f"已选 {len(forms)} 件诉求")
if not names:
    st.warning("所选诉求的状态（" + "、".join(sorted({s for _, s, _ in forms})) + "）没有共同可做的操作，请分开选择。")
    st.stop()
name = st.segmented_control("操作", names, format_func=lambda n: issues.ACTIONS[n].label, default=names[0],
                            required=True, key="desk_action")
action = issues.ACTIONS[name]
with st.form("desk_form"):
    fields = {}
    if name == "assign":
        fields["department"] = st.selectbox("责任单位", ui.query(closure.departments), index=None, key="f_department",
                                            accept_new_options=True, placeholder="选择或输入责任单位")
        fields["assignee"] = st.text_input("责任人", key="f_assignee")
        first = picked.iloc[0]
        due = issues.default_deadline(first["category"], now)
        day = st.date_input("办理时限", value=due.date(), key="f_deadline", help="默认：按（首件）诉求类别的办理时限（工作日）；批量交办时所选诉求使用同一时限")
        fields["deadline_at"] = dt.datetime.combine(day, dt.time(23, 59, 59))
    if name == "revisit":
        fields["revisit"] = st.radio("回访结果", ["满意", "基本满意", "不满意"], horizontal=True, key="f_revisit")
    if name == "batch":
        fields["batch_id"] = st.text_input("批处理编号", key="f_batch", placeholder="例如：用工-2022-06 共性问题")
    fields["note"] = st.text_area("说明" + ("（必填）" if "note" in action.needs else ""), key="f_note")
    if st.form_submit_button(f"{action.label}（{len(forms)} 件）", type="primary"):
        done(*closure.outcome(action.label, *issues.apply_many(path, forms, name, actor, now, **fields)))
