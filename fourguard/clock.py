"""The business clock: what "now" means for a write-back (an assignment, a new issue, a county switch).

Live, it is the system clock. On a demo or an archive whose feeds end long ago, stamping a
write-back with today's date would put it years after every figure on the page (at the
default "最新数据" time it would not show at all, and every open issue would be years past
its deadline), so there "now" is the newest time in the feeds. Which one applies is the
`clock` setting; the audit row always keeps the real system time as well.
"""
from __future__ import annotations

import datetime as dt

from .config import Settings, settings


def wall() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def mode(latest_data: dt.datetime | None, s: Settings | None = None) -> str:
    """"wall" or "data" for a database whose newest feed time is `latest_data`."""
    s = s or settings()
    if s.clock in ("wall", "data"):
        return s.clock
    if s.clock != "auto":
        raise ValueError(f"clock 只能是 auto、wall 或 data，收到 {s.clock!r}")
    stale = latest_data is not None and wall() - latest_data > dt.timedelta(days=s.archive_after_days)
    return "data" if stale else "wall"


def now(con, s: Settings | None = None) -> dt.datetime:
    """The time a write-back made now is stamped with (and the desk works at)."""
    from .freshness import latest_data_at, latest_time

    data = latest_data_at(con)
    if mode(data, s) == "wall":
        return max(wall(), latest_time(con))
    return data
