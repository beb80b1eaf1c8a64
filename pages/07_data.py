"""数据状态: each feed's freshness, an upload that runs the real ingestion, the ingest log and the quarantine."""
import tempfile
from pathlib import Path

import streamlit as st

from fourguard import freshness, ingest, ui
from fourguard.config import settings

st.title("数据状态")
s = settings()

status = ui.query(freshness.feed_status, ingest.beijing_now().replace(microsecond=0), s.stale_after_hours)
late = status[status["状态"] != "正常"]
for row in late.itertuples(index=False):
    st.warning(f"{row.数据类型}：{row.状态}。{row.说明}")
shown = status.drop(columns=["feed"])
for col in ("最新数据时间", "最近导入"):
    shown[col] = shown[col].map(ui.fmt_time)
ui.table(shown, "各类数据", hide_index=True, width="stretch",
         column_config={"行数": st.column_config.NumberColumn(format="localized")})

st.subheader("导入数据")
files = st.file_uploader("选择数据文件（CSV、XLSX 或 Parquet；可多选，系统按表头自动识别类型并按依赖顺序导入）",
                         type=["csv", "txt", "xlsx", "parquet"], accept_multiple_files=True)
if files and st.button("开始导入", type="primary"):
    bar = st.progress(0.0, text="准备导入")
    with tempfile.TemporaryDirectory(prefix="fourguard-upload-") as tmp:
        paths = []
        for up in files:
            path = Path(tmp) / Path(up.name).name
            path.write_bytes(up.getbuffer())
            paths.append(path)
        reports = ingest.ingest_paths(paths, s.db_path, s, progress=lambda frac, msg: bar.progress(frac, text=msg))
    st.session_state["upload_reports"] = [r.line() for r in reports]
    st.rerun()
for line in st.session_state.get("upload_reports", []):
    (st.error if line.startswith("✗") else st.success if line.startswith("✓") else st.info)(line)

st.subheader("导入日志")
ui.table(ui.query(freshness.ingest_log, 200), "导入日志", hide_index=True, width="stretch")

st.subheader("隔离数据")
by_reason = ui.query(freshness.quarantine_by_reason)
if by_reason.empty:
    st.success("没有待处理的隔离数据。")
else:
    ui.table(by_reason, "隔离数据按原因", hide_index=True, width="stretch",
             column_config={"行数": st.column_config.NumberColumn(format="localized")})
    codes = [None, *by_reason["原因代码"]]
    labels = dict(zip(by_reason["原因代码"], by_reason["数据类型"] + " · " + by_reason["示例原因"].str.slice(0, 40)))
    code = st.selectbox("查看原因", codes, format_func=lambda c: labels.get(c, "全部原因"))
    held = ui.query(freshness.quarantine, code, 1000)
    st.caption(f"显示最近 {len(held):,} 行（身份证号已脱敏）。可重试的行在其引用的企业或场所导入后自动重新导入。")
    ui.table(held, "隔离数据明细", hide_index=True, width="stretch")
