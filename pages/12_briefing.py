"""日报/通报: the daily briefing for the current scope and time — a preview, and one click for its Excel and PDF."""
import streamlit as st

from fourguard import export, report, ui

f = ui.filter_bar()
b = ui.query(report.build, f.as_of, **f.scope)
ss = st.session_state

st.title("日报/通报")
st.caption(f"{b.scope} · 数据时间 {ui.fmt_time(b.as_of)} · 与各页面同一口径；"
           "生成的 Excel 每个部分一个工作表（完整名单），PDF 为 A4 通报（每部分前 20 行）")
head, make = st.columns([3, 1], vertical_alignment="center")
head.subheader(b.title)
key = (b.title, b.scope, b.as_of)
if make.button("生成日报（Excel + PDF）", type="primary", icon=":material/description:", width="stretch"):
    with st.spinner("正在绘制图表并生成 Excel 与 PDF（约十几秒）…"):
        ss["briefing_files"] = (key, report.files(b))
done = ss.get("briefing_files")
if done and done[0] == key:
    with st.container(horizontal=True, horizontal_alignment="right"):
        for ext, label in (("xlsx", "下载 Excel"), ("pdf", "下载 PDF")):
            st.download_button(label, done[1][ext], file_name=b.file_name(ext), mime=export.MIME[ext],
                               on_click="ignore", icon=":material/download:", key=f"briefing_{ext}")

rows = list(b.headline.itertuples(index=False))
for start in range(0, len(rows), 5):
    for col, r in zip(st.columns(5), rows[start:start + 5]):
        col.metric(border=True, height="stretch", **report.tile(r))
if "coverage" in b.figures:
    fig, title = b.figures["coverage"]
    st.markdown(f"**{title}**")
    ui.chart(fig, title, width="stretch")

tabs = st.tabs([s.title for s in b.sections])
for tab, s in zip(tabs, b.sections):
    with tab:
        if s.table.rows.empty:
            st.success(f"{s.empty}。")
            continue
        st.caption(s.note)
        if s.chart in b.figures:
            fig, title = b.figures[s.chart]
            ui.chart(fig, title, width="stretch")
        ui.show_table(s.table, s.title, width="stretch", height="content" if len(s.table.rows) <= 15 else 560)
