"""平急转换 (R14): switch a county between 常态 and 应急 in one action, with a confirmation; who and when are recorded."""
import streamlit as st

from fourguard import clock, emergency, queries, store, ui
from fourguard.config import settings

f = ui.filter_bar(sector=False)
actor = ui.acting_user()
path = store.store_path(settings().db_path)
now = clock.now(ui.cursor())  # a switch counts from now (demo or archive data: from its newest time)
ss = st.session_state

st.title("平急转换")
when = "当前时间" if clock.mode(f.latest) == "wall" else "数据最新时间（演示或存档数据）"
st.caption(f"{f.label} · 切换自{when} {ui.fmt_time(now)} 起生效 · 操作人：{actor}")
if msg := ss.pop("switch_msg", None):
    st.success(msg)

states = ui.query(emergency.county_states, now, county=f.county, city=f.city)
if states.empty:
    st.info(f"「{f.label}」范围内没有有白名单企业的县区。")
    st.stop()
names = dict(zip(states.county_code, states.county_name + "（" + states.city_name + "）"))
codes = list(names)
code = st.selectbox("县（市、区）", codes, format_func=names.get, key="em_county",
                    index=codes.index(f.county) if f.county in codes else 0)
row = states.set_index("county_code").loc[code]
current, new = row["county_state"], emergency.target(row["county_state"])
m = ui.query(queries.metrics, now, county=code)

cols = st.columns(5)
cols[0].metric("当前状态", current)
cols[1].metric("起始时间", ui.fmt_time(row["county_state_since"]))
cols[2].metric("白名单企业", ui.fmt_int(m["enterprises"]))
cols[3].metric("在册员工", ui.fmt_int(m["employees"]))
cols[4].metric("超时未检", ui.fmt_int(m["overdue_employees"]),
               help="按当前状态确定的检测间隔（应急：每日一检）计算（R1/R2）")

with st.form("switch_form"):
    st.markdown(f"**一键切换为{new}状态**　{emergency.EFFECT[new]}")
    note = st.text_input("说明（可选）", key="em_note", placeholder="例如：依据县疫情防控指挥部通知")
    confirmed = st.checkbox(f"确认将 {names[code]} 由{current}切换为{new}，自 {ui.fmt_time(now)} 起生效", key="em_confirm")
    if st.form_submit_button(f"切换为{new}", type="primary"):
        try:
            emergency.switch(path, code, current, new, actor, now, note, confirmed)
        except ValueError as exc:
            st.error(str(exc))
        else:
            ss["switch_msg"] = (f"已将 {names[code]} 切换为{new}状态（{ui.fmt_time(now)} 起，操作人：{actor}）。"
                                "检测间隔、超时未检、各页面和指挥大屏在下次刷新时按新状态计算。")
            st.rerun()

st.subheader("状态变更记录")
ui.table(ui.query(emergency.history, code), "状态变更记录", hide_index=True, width="stretch", placeholder="—", column_config={
    "since": st.column_config.DatetimeColumn("生效时间", format="YYYY-MM-DD HH:mm"), "state": "状态",
    "source": "来源", "actor": "操作人", "recorded_at": st.column_config.DatetimeColumn("操作时间", format="YYYY-MM-DD HH:mm:ss"),
    "note": "说明"})

st.subheader("范围内各县区状态")
ui.table(states[["city_name", "county_name", "county_state", "county_state_since"]], "各县区状态", hide_index=True,
             width="stretch", column_config={
                 "city_name": "省辖市", "county_name": "县（市、区）", "county_state": "状态",
                 "county_state_since": st.column_config.DatetimeColumn("起始时间", format="YYYY-MM-DD HH:mm")})
