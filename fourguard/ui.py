"""The one streamlit import: the cached reader, the embedded default database, shared widgets."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from . import db
from .config import settings


def ensure_database() -> None:
    """First start with no database: build the city-scale demo from generated feeds, with progress."""
    s = settings()
    if s.db_path.exists():
        return
    from . import demo
    from .ingest import ingest_lock, ingest_paths

    with st.status("首次启动：正在生成南阳市演示数据并导入（约需一两分钟）…", expanded=True) as box:
        bar = st.progress(0.0, text="准备中")
        with ingest_lock(s.db_path.with_name(s.db_path.name + ".build")):
            if not s.db_path.exists():  # another session may have built it while we waited
                out = s.demo_dir / s.demo_scale
                demo.generate(s.demo_scale, 14, 42, out, progress=lambda f, m: bar.progress(f * 0.5, text=m))
                reports = ingest_paths([out], s.db_path, s,
                                       progress=lambda f, m: bar.progress(0.5 + f * 0.5, text=m))
                for rep in reports:
                    st.write(rep.line())
        box.update(label="演示数据已就绪", state="complete", expanded=False)


@st.cache_resource(max_entries=2, show_spinner=False)
def _reader(path: str, snapshot) -> db.Reader:
    return db.connect(path)


def reader() -> db.Reader:
    """The reader for the current snapshot; reconnects once ingest has swapped in a new one."""
    s = settings()
    return _reader(str(s.db_path), db.snapshot_id(s.db_path))


def cursor():
    """A DuckDB cursor for this script run (one per thread)."""
    return reader().cursor()


def fmt_int(n) -> str:
    """Counts the way Chinese readers expect: 12,345 below 十万, 12.3万 above."""
    if n is None:
        return "—"
    n = float(n)
    return f"{n / 1e4:,.1f}万" if abs(n) >= 1e5 else f"{n:,.0f}"


def fmt_pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def fmt_time(t: dt.datetime | None) -> str:
    """2022-06-09 08:05, or — when there is no time."""
    import pandas as pd

    return "—" if t is None or pd.isna(t) else t.strftime("%Y-%m-%d %H:%M")
