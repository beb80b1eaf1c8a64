"""总览: the data is there — headline figures at the latest data time, and what each feed holds."""
import streamlit as st

from fourguard import freshness, queries, ui

f = ui.filter_bar()
m = ui.query(queries.metrics, f.as_of, county=f.county, city=f.city, sector=f.sector)
con = ui.cursor()

st.title("四保白名单企业运行监测")
st.caption(f"{f.label} · 数据时间 {ui.fmt_time(f.as_of)}" + ("（最新）" if f.as_of == f.latest else ""))

cols = st.columns(4)
cols[0].metric("白名单企业", ui.fmt_int(m["enterprises"]))
cols[1].metric("在册员工", ui.fmt_int(m["employees"]))
cols[2].metric("核酸检测覆盖率", ui.fmt_pct(m["coverage_rate"]), help="按岗位、县区状态、闭环生产确定的检测间隔内有采样的员工占比（R1/R2）")
cols[3].metric("超时未检", ui.fmt_int(m["overdue_employees"]))
cols = st.columns(4)
cols[0].metric("阳性（近7天）", ui.fmt_int(m["positives"]))
cols[1].metric("聚集性疫情", ui.fmt_int(m["clusters"]))
cols[2].metric("复核超6小时", ui.fmt_int(m["recheck_over_6h"]))
cols[3].metric("停产超3天", ui.fmt_int(m["shutdown_over_3d"]))
cols = st.columns(4)
cols[0].metric("诉求总数", ui.fmt_int(m["issues"]["total"]))
cols[1].metric("未办结", ui.fmt_int(m["issues"]["open"]))
cols[2].metric("办结率", ui.fmt_pct(m["issues"]["closure_rate"]))
cols[3].metric("隔离待处理数据行", ui.fmt_int(m["quarantined_rows"]))

st.subheader("各类数据")
feeds = freshness.feed_overview(con).drop(columns=["feed"])
for col in ("最新数据时间", "最近导入"):
    feeds[col] = feeds[col].map(ui.fmt_time)
ui.table(feeds, "各类数据", hide_index=True, width="stretch",
             column_config={"行数": st.column_config.NumberColumn(format="localized")})

st.subheader("隔离数据（按原因）")
held = freshness.quarantine_by_reason(con)
if held.empty:
    st.info("没有被隔离的数据行。")
else:
    ui.table(held, "隔离数据按原因", hide_index=True, width="stretch")
