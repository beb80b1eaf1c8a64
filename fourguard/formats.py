"""Numbers and times the way Chinese readers expect, for pages, the wall, map tooltips and reports.

No streamlit here: the wall, maps and briefing builders use these outside a script run.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd


def fmt_int(n) -> str:
    """Counts the way Chinese readers expect: 12,345 below 十万, 12.3万 above."""
    if n is None or pd.isna(n):
        return "—"
    n = float(n)
    return f"{n / 1e4:,.1f}万" if abs(n) >= 1e5 else f"{n:,.0f}"


def fmt_pct(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{x * 100:.1f}%"


def fmt_time(t: dt.datetime | None) -> str:
    """2022-06-09 08:05, or — when there is no time."""
    return "—" if t is None or pd.isna(t) else t.strftime("%Y-%m-%d %H:%M")
