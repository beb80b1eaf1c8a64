"""The write-back store: what people do in the app, in SQLite beside the feed database.

SQLite (WAL mode) lets the dashboard, the CLI and a running ingest each write with short locks;
every write is one `BEGIN IMMEDIATE` transaction that also appends an audit row, and the audit
row id doubles as the store's version so readers know when to refresh their mirror.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import sqlite3
from pathlib import Path

import pandas as pd

from . import validate

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, scope TEXT, detail TEXT
);
CREATE TABLE IF NOT EXISTS issue_versions (
    issue_id TEXT PRIMARY KEY, version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS issue_events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
    from_state TEXT, to_state TEXT NOT NULL,
    department TEXT, assignee TEXT, deadline_at TEXT, note TEXT, revisit TEXT, batch_id TEXT
);
CREATE TABLE IF NOT EXISTS app_issues (
    issue_id TEXT PRIMARY KEY, credit_code TEXT NOT NULL, category TEXT NOT NULL,
    detail TEXT NOT NULL, reported_at TEXT NOT NULL, source TEXT, created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS county_switches (
    switch_id INTEGER PRIMARY KEY AUTOINCREMENT,
    county_code TEXT NOT NULL, state TEXT NOT NULL, since TEXT NOT NULL,
    actor TEXT NOT NULL, at TEXT NOT NULL, note TEXT
);
"""

# Column types of the mirrored tables, so an empty store still gives typed DuckDB tables.
TABLES = {
    "issue_events": {"event_id": "int", "issue_id": "str", "at": "ts", "actor": "str",
                     "from_state": "str", "to_state": "str", "department": "str", "assignee": "str",
                     "deadline_at": "ts", "note": "str", "revisit": "str", "batch_id": "str"},
    "app_issues": {"issue_id": "str", "credit_code": "str", "category": "str", "detail": "str",
                   "reported_at": "ts", "source": "str", "created_by": "str"},
    "county_switches": {"switch_id": "int", "county_code": "str", "state": "str", "since": "ts",
                        "actor": "str", "at": "ts", "note": "str"},
    "issue_versions": {"issue_id": "str", "version": "int"},
}


class Conflict(Exception):
    """The record changed since the form was opened; `changes` says what is there now."""

    def __init__(self, message: str, changes: dict | None = None):
        super().__init__(message)
        self.changes = changes or {}


def store_path(db_path: Path) -> Path:
    """The write-back file that belongs to a feed database."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.stem + ".writes.sqlite")


def _open(path: Path) -> sqlite3.Connection:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.execute("PRAGMA busy_timeout=30000")
    if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        # Switching to WAL needs the file to itself and does not wait on the busy handler, so the
        # first writers of a new store take turns under a file lock.
        with open(path.with_name(path.name + ".init"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            con.execute("PRAGMA journal_mode=WAL")
            fcntl.flock(lock, fcntl.LOCK_UN)
    con.executescript(SCHEMA)
    return con


@contextlib.contextmanager
def transaction(path: Path, actor: str, action: str, scope: str = "", detail: dict | None = None):
    """One write: BEGIN IMMEDIATE, the caller's statements, an audit row, COMMIT (or roll back)."""
    con = _open(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("INSERT INTO audit (at, actor, action, scope, detail) VALUES (?, ?, ?, ?, ?)",
                        (now_text(), actor, action, scope,
                         json.dumps(detail or {}, ensure_ascii=False, default=str)))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()


def record(path: Path, actor: str, action: str, scope: str = "", detail: dict | None = None) -> None:
    """An audit row on its own: something done that changes no data, e.g. an export."""
    with transaction(path, actor, action, scope, detail):
        pass


def now_text() -> str:
    return dt.datetime.now().isoformat(sep=" ", timespec="seconds")


def version(path: Path) -> int:
    """The last audit id: grows with every committed write."""
    if not Path(path).exists():
        return 0
    con = _open(path)
    try:
        return con.execute("SELECT coalesce(max(audit_id), 0) FROM audit").fetchone()[0]
    finally:
        con.close()


def read_tables(path: Path | None) -> dict[str, pd.DataFrame]:
    """Every mirrored table as a typed DataFrame (empty ones too; all empty for path None)."""
    out = {}
    con = _open(path) if path is not None and Path(path).exists() else None
    try:
        for name, cols in TABLES.items():
            df = (pd.read_sql_query(f"SELECT {', '.join(cols)} FROM {name}", con)
                  if con else pd.DataFrame({c: [] for c in cols}))
            for col, kind in cols.items():
                if kind == "ts":
                    df[col] = pd.to_datetime(df[col], errors="coerce").astype("datetime64[us]")
                elif kind == "int":
                    df[col] = pd.to_numeric(df[col]).astype("Int64")
                else:
                    df[col] = df[col].astype("string")
            out[name] = df
    finally:
        if con:
            con.close()
    return out


def read_audit(path: Path) -> pd.DataFrame:
    """The audit trail, oldest first (empty before the first write)."""
    if not Path(path).exists():
        return pd.DataFrame(columns=["audit_id", "at", "actor", "action", "scope", "detail"])
    con = _open(path)
    try:
        return pd.read_sql_query("SELECT audit_id, at, actor, action, scope, detail FROM audit ORDER BY audit_id", con)
    finally:
        con.close()


def switch_county_state(path: Path, county_code: str, state: str, actor: str,
                        since: dt.datetime | None = None, note: str = "") -> int:
    """R14 一键切换: record a county's new state from `since` (default now); returns the switch id."""
    if state not in ("常态", "应急"):
        raise ValueError(f"状态只能是 常态 或 应急，收到 {state!r}")
    since = since or dt.datetime.now().replace(microsecond=0)
    note = validate.mask_text(note) or ""
    with transaction(path, actor, "switch_county_state", scope=county_code,
                     detail={"state": state, "since": since}) as con:
        cur = con.execute(
            "INSERT INTO county_switches (county_code, state, since, actor, at, note) VALUES (?, ?, ?, ?, ?, ?)",
            (county_code, state, since.isoformat(sep=" "), actor, now_text(), note))
        return cur.lastrowid


def issue_version(con: sqlite3.Connection, issue_id: str) -> int:
    """How many app writes an issue has had (0: none yet)."""
    row = con.execute("SELECT version FROM issue_versions WHERE issue_id = ?", (issue_id,)).fetchone()
    return row[0] if row else 0


def append_issue_event(path: Path, issue_id: str, expected_version: int, actor: str,
                       from_state: str | None, to_state: str, at: dt.datetime | None = None, **fields) -> int:
    """Append one issue event if nobody wrote the issue since `expected_version`; returns the new version.

    `at` is the event's business time (fourguard.clock.now; default the system clock); the audit
    row records the system time regardless.
    """
    allowed = {"department", "assignee", "deadline_at", "note", "revisit", "batch_id"}
    extra = set(fields) - allowed
    if extra:
        raise TypeError(f"unknown fields {sorted(extra)}")
    # What an official types is kept, but never a clear ID number in it (README: personal data).
    fields = {k: validate.mask_text(v) if isinstance(v, str) else v for k, v in fields.items()}
    with transaction(path, actor, "issue_event", scope=issue_id,
                     detail={"from": from_state, "to": to_state, **fields}) as con:
        current = issue_version(con, issue_id)
        if current != expected_version:
            last = con.execute(
                "SELECT actor, at, from_state, to_state, department, assignee, note FROM issue_events "
                "WHERE issue_id = ? ORDER BY event_id DESC LIMIT 1", (issue_id,)).fetchone()
            changes = dict(zip(("actor", "at", "from_state", "to_state", "department", "assignee", "note"),
                               last)) if last else {}
            raise Conflict(f"诉求 {issue_id} 在您打开后已被 {changes.get('actor', '他人')} 修改"
                           f"（{changes.get('at', '')}，{changes.get('from_state') or ''}→{changes.get('to_state', '')}），"
                           "本次提交未保存，请刷新后重试。", changes)
        cols = ["issue_id", "at", "actor", "from_state", "to_state", *fields]
        stamp = at.replace(microsecond=0).isoformat(sep=" ") if at else now_text()
        vals = [issue_id, stamp, actor, from_state, to_state,
                *[v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for v in fields.values()]]
        con.execute(f"INSERT INTO issue_events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", vals)
        con.execute("INSERT INTO issue_versions (issue_id, version) VALUES (?, 1) "
                    "ON CONFLICT(issue_id) DO UPDATE SET version = version + 1", (issue_id,))
        return current + 1
