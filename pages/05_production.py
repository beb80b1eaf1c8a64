"""生产经营: are whitelisted enterprises running — status mix, shutdowns over 3 days (R9), output and staff vs baseline."""
import streamlit as st

from fourguard import charts, palette, queries, ui

f = ui.filter_bar(trend=True)
span = (f.start, f.end, f.as_of)
overview, shutdowns, alerts = ui.query_all(
    (queries.production_overview, *span), (queries.shutdowns_in_range, f.as_of, f.start, f.end),
    (queries.shutdown_episodes, f.as_of, {"alerts_only": True}), **f.scope)
trend, mix, basis = overview["trend"], overview["mix"], overview["basis"]
limit = ui.query(queries.rule_settings)["shutdown_limit_days"]
periods = ui.query(queries.emergency_periods, f.county, f.start, f.end, f.as_of) if f.county else None

st.title("生产经营")
st.caption(f"{f.label} · {f.start} 至 {min(f.end, f.as_of.date())} · 数据时间 {ui.fmt_time(f.as_of)}")
if trend.empty:
    st.info(f"{f.start} 至 {f.end} 在数据时间之前没有白名单企业，无法展示生产经营情况。")
    st.stop()
last = trend.iloc[-1]
today = mix[mix["day"] == last["day"]]
last_mix = dict(zip(today["status"], today["count_enterprises"]))
cols = st.columns(5)
cols[0].metric(f"{last['day'].month}月{last['day'].day}日 上报日报",
               f"{ui.fmt_int(last['count_reported'])} / {ui.fmt_int(last['count_enterprises'])}",
               help="当天提交生产经营日报的白名单企业 / 当天在白名单内的企业")
cols[1].metric("当天停产", f"{ui.fmt_int(last_mix.get('停产', 0))} 家",
               help=f"部分停产 {ui.fmt_int(last_mix.get('部分停产', 0))} 家，闭环生产 {ui.fmt_int(last_mix.get('闭环生产', 0))} 家")
cols[2].metric(f"停产超{limit:.0f}天（预警）", f"{alerts['credit_code'].nunique()} 家",
               help=f"停产超过{limit:.0f}天、仍在停产或近期结束的企业（R9：停产须经批准，原则上不超过{limit:.0f}天）")
ratio = last["output_wan_yuan"] / last["baseline_output_wan_yuan"] if last["baseline_output_wan_yuan"] else None
cols[3].metric("产值为基线的", ui.fmt_pct(ratio), help="当天产值 / 同一批企业的应急前基线产值")
cols[4].metric("在岗人数", f"{ui.fmt_int(last['on_duty_all'])} 人")

left, right = st.columns(2)
with left:
    st.subheader("生产状态构成")
    ui.chart(charts.mark_emergency(charts.status_mix(mix), periods), "生产状态构成", width="stretch")
with right:
    st.subheader(f"停产情况（超{limit:.0f}天为违规，R9）")
    if shutdowns.empty:
        st.success("所选区间内没有白名单企业停产。")
    else:
        table = shutdowns.assign(ongoing=shutdowns["is_ongoing"].map({True: "停产中", False: "已复产"}),
                                 breach=shutdowns["is_breach"].map({True: f"⚠ 超{limit:.0f}天", False: "—"}))
        ui.table(table[["enterprise_name", "county_name", "started_on", "length_days", "ongoing", "breach"]],
                 "停产情况",
                     hide_index=True, width="stretch", height="content" if len(table) <= 10 else 380, column_config={
                         "enterprise_name": st.column_config.TextColumn("企业", width="medium"), "county_name": "县（市、区）",
                         "started_on": st.column_config.DateColumn("停产开始", format="YYYY-MM-DD"),
                         "length_days": st.column_config.NumberColumn("停产天数", format="%d 天"),
                         "ongoing": "状态", "breach": "是否超时"})
        st.caption("停产天数：从首个停产日报日起，至最后一个停产日报日（仍在停产的算到数据时间当天）。")


def against_baseline(where, title: str, value: str, name: str, unit: str, **kw) -> None:
    """A series against its baseline, or what is missing when no day has both."""
    where.subheader(title)
    if trend[value].notna().any():
        fig = charts.against_baseline(trend, value, f"baseline_{value}", name, unit, **kw)
        ui.chart(charts.mark_emergency(fig, periods), title, where=where, width="stretch")
    else:
        where.info(f"所选区间内没有可与基线比较的{title}：日报未填写{title}，或企业没有基线。")


left, right = st.columns(2)
against_baseline(left, "产值", "output_wan_yuan", "日产值", "万元")
against_baseline(right, "产能利用率", "capacity_pct", "平均产能利用率", "%", value_format=".1f")
against_baseline(st, "在岗人数", "on_duty", "在岗人数", "人", color=palette.SEQUENCE[4])
st.caption(f"基线：每家企业在其所在县区首次进入应急状态之前各日报的平均值（{basis['应急前']} 家）；"
           f"所在县区未进入过应急状态（或应急前没有日报）的企业，取所选区间前 3 天日报的平均值（{basis['区间前3天']} 家）；"
           f"{basis['无基线']} 家没有可用基线，不参与比较。"
           "曲线只合计当天上报了该项数值且有基线的企业，缺报不会显示为下降。")
