"""What is loaded and how fresh it is: row counts, latest timestamps, the ingest log, quarantine."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .feeds import FEEDS

# Per feed: the column whose latest value says how current the feed is.
FRESHNESS_COLUMN = {"registry": "listed_on", "county_state": "since", "sector_output": None,
                    "roster": None, "places": None, "production": "report_date",
                    "issues": "reported_at", "tests": "sampled_at", "scans": "scanned_at"}


def latest_data_at(con) -> dt.datetime:
    """The newest sample or scan time: the default `as_of` (now, before any load)."""
    row = con.execute("SELECT greatest((SELECT max(sampled_at) FROM raw.tests), "
                      "(SELECT max(scanned_at) FROM raw.scans))").fetchone()
    return row[0] or dt.datetime.now().replace(second=0, microsecond=0)


def latest_time(con) -> dt.datetime:
    """The default `as_of` ("最新数据"): the newest feed time, or a later write-back made in the app.

    An assignment or a county switch made after the last load counts from the moment it was made
    (never later than the system clock), so the pages show it without waiting for the next feed.
    """
    written = con.execute(
        "SELECT greatest((SELECT max(\"at\") FROM wb_issue_events), (SELECT max(reported_at) FROM wb_app_issues),"
        " (SELECT max(since) FROM wb_county_switches))").fetchone()[0]
    latest = latest_data_at(con)
    return max(latest, min(written, dt.datetime.now())) if written else latest


def feed_overview(con) -> pd.DataFrame:
    """One row per feed: label, rows held, latest data time, last successful load."""
    out = []
    for name, feed in FEEDS.items():
        col = FRESHNESS_COLUMN[name]
        rows, latest = con.execute(
            f"SELECT count(*), {f'max({col})::TIMESTAMP' if col else 'NULL::TIMESTAMP'} FROM raw.{feed.table}"
        ).fetchone()
        last = con.execute("SELECT max(finished_at) FROM raw.ingest_log WHERE feed = ? AND status = 'loaded'",
                           [name]).fetchone()[0]
        out.append({"feed": name, "数据类型": feed.label, "行数": rows, "最新数据时间": latest, "最近导入": last})
    return pd.DataFrame(out)


STATUS_LABELS = {"loaded": "已导入", "refused": "拒绝", "skipped": "跳过（重复文件）", "retried": "隔离区重试"}


def ingest_log(con, limit: int = 200) -> pd.DataFrame:
    """The latest ingest attempts, newest first."""
    return _labelled(con.execute(
        "SELECT finished_at AS 完成时间, regexp_extract(file, '[^/\\\\]+$') AS 文件, feed AS 数据类型, "
        "CASE status " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in STATUS_LABELS.items()) + " END AS 结果, rows_read AS 读取行数, "
        "rows_inserted AS 新增, rows_updated AS 更新, rows_unchanged AS 重复, rows_quarantined AS 隔离, "
        "round(seconds, 1) AS 用时秒, message AS 说明 FROM raw.ingest_log ORDER BY started_at DESC LIMIT ?",
        [limit]).df())


def quarantine(con, reason_code: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """Rows held in quarantine (unresolved), newest first."""
    return _labelled(con.execute(
        "SELECT quarantined_at AS 隔离时间, file AS 文件, line AS 行号, feed AS 数据类型, reason AS 原因, "
        "raw_row AS 原始数据, retryable AS 可重试 FROM raw.quarantine "
        "WHERE resolved_at IS NULL AND ($code IS NULL OR reason_code = $code) "
        "ORDER BY quarantined_at DESC, file, line LIMIT $limit", {"code": reason_code, "limit": limit}).df())


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    """Feed names as users know them (核酸检测, not tests)."""
    if "数据类型" in df:
        df["数据类型"] = df["数据类型"].map(lambda f: FEEDS[f].label if f in FEEDS else f)
    return df


def quarantine_by_reason(con) -> pd.DataFrame:
    """Unresolved quarantined rows counted per feed and reason."""
    return _labelled(con.execute(
        "SELECT feed AS 数据类型, reason_code AS 原因代码, any_value(reason) AS 示例原因, count(*) AS 行数 "
        "FROM raw.quarantine WHERE resolved_at IS NULL GROUP BY ALL ORDER BY 行数 DESC").df())


def feed_status(con, now: dt.datetime, stale_after_hours: dict) -> pd.DataFrame:
    """feed_overview plus each feed's state: 未导入, 导入滞后 (no load for too long), 数据滞后 (its newest
    time lags the newest data of all feeds by more than the allowed hours), or 正常."""
    df = feed_overview(con)
    newest = df["最新数据时间"].max()
    states, notes = [], []
    for row in df.itertuples(index=False):
        limit = float(stale_after_hours.get(row.feed, stale_after_hours.get("default", 24)))
        if row.行数 == 0:
            states.append("未导入")
            notes.append("尚未导入任何数据")
            continue
        load_age = (now - row.最近导入).total_seconds() / 3600 if pd.notna(row.最近导入) else None
        lag = (newest - row.最新数据时间).total_seconds() / 3600 if pd.notna(row.最新数据时间) else None
        if load_age is not None and load_age > limit:
            states.append("导入滞后")
            notes.append(f"已 {load_age:.0f} 小时未导入（允许 {limit:.0f} 小时）")
        elif lag is not None and lag > limit and FRESHNESS_COLUMN[row.feed] in ("sampled_at", "scanned_at", "report_date"):
            states.append("数据滞后")
            notes.append(f"最新数据比其他数据晚 {lag:.0f} 小时（允许 {limit:.0f} 小时）")
        else:
            states.append("正常")
            notes.append("")
    return df.assign(状态=states, 说明=notes)
