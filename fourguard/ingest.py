"""read → detect → validate → quarantine → load, one transaction a file, into a new snapshot.

`ingest_paths` takes the ingest lock, copies the feed database (reading and validating the files
that can go ahead meanwhile), loads every file into the copy
(each file in its own transaction, in dependency order), retries quarantined rows whose missing
reference may now exist, and renames the copy over the original. A refused file loads nothing;
a crash or kill leaves the original database as it was.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import pandas as pd
import pyarrow as pa

from . import db, feeds, readers, rollups, validate
from .config import Settings, settings

META_COLS = ("source_file", "loaded_at")
mask_text = validate.mask_text  # any ID inside free text, masked before it is kept anywhere
# In a line that could not be split into columns an ID may be cut short: mask any long digit run.
DIGIT_RUN = re.compile(r"(?<![0-9])(\d{4})\d{4,}([\dXx]{4})(?![0-9A-Za-z])")
RAW_CELL_CHARS = 1000  # quarantine keeps this much of an oversized cell (the source file has the rest)
# A load's working tables spill to its temp folder beyond this, so a 2 GB file does not need 20 GB of RAM
# (measured: 1M test rows held ~0.9 GB without a limit) and the dashboard beside it keeps its memory.
INGEST_MEMORY_LIMIT = "1GB"
RETRYABLE = ("ref_credit_code", "ref_place_code")
REFERENCED = ("registry", "places")  # the feeds whose rows RETRYABLE rows point at
# Reasons where the row points at something not loaded yet; a clerk fixes them by loading it.
REF_CHECKS = {
    "credit_code": ("ref_credit_code", "SELECT credit_code FROM raw.enterprises",
                    "'统一社会信用代码 ' || credit_code || ' 不在白名单企业台账中；先导入该企业的台账，此行会自动重试'"),
    "place_code": ("ref_place_code", "SELECT place_code FROM raw.places WHERE place_code IS NOT NULL",
                   "'场所码 ' || place_code || ' 未在场所码台账登记；先导入该场所的台账，此行会自动重试'"),
}


@dataclass
class FileReport:
    """What happened to one file: the per-file summary the CLI prints and the log keeps."""

    file: str
    status: str                 # loaded | refused | skipped | retried
    feed: str | None = None
    feed_label: str | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    reasons: dict = field(default_factory=dict)   # reason_code -> count
    seconds: float = 0.0
    message: str = ""

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated

    def line(self) -> str:
        """One line of the CLI summary, in Chinese."""
        if self.status == "refused":
            return f"✗ {self.file}: 拒绝导入 — {self.message}"
        if self.status == "skipped":
            return f"· {self.file}: {self.message}"
        reasons = "；".join(f"{k} {v} 行" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        return (f"✓ {self.file} [{self.feed_label}] 读取 {self.rows_read:,} 行：新增 {self.inserted:,}、"
                f"更新 {self.updated:,}、重复 {self.unchanged:,}、隔离 {self.quarantined:,}"
                + (f"（{reasons}）" if reasons else "") + f"，用时 {self.seconds:.1f} 秒")


def beijing_now() -> dt.datetime:
    """Wall-clock time in China (UTC+8, no DST), naive like the feeds' timestamps."""
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).replace(tzinfo=None)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def mask_line(value):
    """A raw line that is not a row: IDs, and any digit run of 12 or more that may be a cut ID, masked."""
    text = mask_text(value)
    return None if text is None else DIGIT_RUN.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 8) + m.group(2), text)


def shorten(text: str, limit: int = RAW_CELL_CHARS) -> str:
    """An oversized value cut for display, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text):,} 字，已截断）"


@contextlib.contextmanager
def ingest_lock(db_path: Path):
    """One ingest at a time per database: later ones wait (cron overlaps are harmless)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(db_path.with_name(db_path.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Work:
    """A load's DuckDB connection. Until `writable()` its `raw` is the feed database as it stands, read
    only, while the copy the load writes is made in the background; reading and validating files
    meanwhile needs nothing else (ingest_paths)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, copying: concurrent.futures.Future | None):
        self.con, self.path, self._copying = con, path, copying

    def copying(self) -> bool:
        return self._copying is not None and not self._copying.done()

    def writable(self) -> None:
        """Wait for the copy and make it `raw` (a failed copy raises here)."""
        if self._copying is not None:
            self._copying.result()
            self._copying = None
            self.con.execute("DETACH raw")
            self.con.execute("ATTACH ? AS raw", [str(self.path)])
            db.create_raw_tables(self.con)


def copy_file(src: Path, dst: Path) -> None:
    """Copy a file with copy_file_range, which on XFS or Btrfs shares the blocks until either side
    writes them (a 4 GB database in well under a second) and elsewhere copies inside the kernel;
    shutil.copyfile where the call is not supported (another file system, an old kernel)."""
    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            left = os.fstat(fin.fileno()).st_size
            while left > 0:
                done = os.copy_file_range(fin.fileno(), fout.fileno(), left)
                if done == 0:  # a file system that reports nothing copied: copy it plainly
                    raise OSError(errno.EOPNOTSUPP, "copy_file_range copied nothing")
                left -= done
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.ETXTBSY, errno.EPERM):
            raise
        shutil.copyfile(src, dst)


@contextlib.contextmanager
def working_copy(db_path: Path):
    """Yield a Work on a copy of the feed database; swap the copy in only on success."""
    work = db_path.with_name(db_path.name + ".next")
    for stale in (work, work.with_name(work.name + ".wal")):
        stale.unlink(missing_ok=True)  # left by a killed load: never half-applied
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fourguard-copy")
    copying = pool.submit(copy_file, db_path, work) if db_path.exists() else None
    con = duckdb.connect(":memory:", config={"threads": os.cpu_count() or 2, "memory_limit": INGEST_MEMORY_LIMIT})
    con.execute("SET enable_progress_bar = false")  # long loads would draw progress bars into cron logs
    # The copy is durable once, at the end (os.fsync before the rename); until then a crash leaves only a
    # stale copy, which the next load deletes. So no fsync per commit, and one checkpoint at the end
    # instead of one per file: each file's commit of a province day's tests had cost 0.2 s.
    con.execute("SET fsync_mode = 'NONE'")
    con.execute("SET checkpoint_threshold = '1TB'")
    try:
        db._regions_table(con)
        if copying is None:
            con.execute("ATTACH ? AS raw", [str(work)])
            db.create_raw_tables(con)
        else:
            con.execute("ATTACH ? AS raw (READ_ONLY)", [str(db_path)])
        w = Work(con, work, copying)
        yield w
        w.writable()
        con.execute("CHECKPOINT raw")
        con.execute("DETACH raw")
    except BaseException:
        con.close()
        pool.shutdown(cancel_futures=True)  # a copy under way finishes first: then nothing writes `work`
        work.unlink(missing_ok=True)
        raise
    con.close()
    pool.shutdown()
    with open(work, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(work, db_path)
    dir_fd = os.open(db_path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _columns(feed: feeds.Feed) -> list[str]:
    cols = [c.name for c in feed.columns if c.kind != "id"]
    return cols + (["person_key", "id_masked"] if any(c.kind == "id" for c in feed.columns) else [])


def _candidates(con: duckdb.DuckDBPyConnection, feed: feeds.Feed) -> None:
    """Temp table `cand`: the valid rows of `checked`, one per key (the file's later line wins)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE cand AS
        SELECT {', '.join(_columns(feed))} FROM checked WHERE _reason_code IS NULL
        QUALIFY row_number() OVER (PARTITION BY {', '.join(feed.key)} ORDER BY _line DESC) = 1""")


def _merge(con: duckdb.DuckDBPyConnection, feed: feeds.Feed, source_file: str, loaded_at: dt.datetime) -> tuple[int, int, int]:
    """Upsert temp table `cand` (see _candidates) into the feed table; (inserted, updated, unchanged)."""
    key = list(feed.key)
    cols = _columns(feed)
    values = [c for c in cols if c not in key]
    total = con.execute("SELECT count(*) FROM cand").fetchone()[0]
    if total == 0:
        return 0, 0, 0
    table = f"raw.{feed.table}"
    match = " AND ".join(f"t.{k} = c.{k}" for k in key)
    params: list = []
    if feed.time_column:  # prune the join to the batch's time range (zone maps skip the rest)
        lo, hi = con.execute(f"SELECT min({feed.time_column}), max({feed.time_column}) FROM cand").fetchone()
        match += f" AND t.{feed.time_column} BETWEEN ? AND ?"
        params = [lo, hi]
    rollups.track_rows(con, feed.table, "cand", cols)
    differs = " OR ".join(f"t.{v} IS DISTINCT FROM c.{v}" for v in values) or "false"
    sets = ", ".join([f"{v} = c.{v}" for v in values] + ["source_file = ?", "loaded_at = ?"])
    # One pass over the table (an UPDATE and an INSERT … NOT EXISTS took 1.6 times as long on a province
    # day of tests); the rows it inserted are the ones the table gained.
    [(before,)] = con.execute(f"SELECT count(*) FROM {table}").fetchall()
    [(merged,)] = con.execute(
        f"MERGE INTO {table} AS t USING cand AS c ON {match} "
        f"WHEN MATCHED AND ({differs}) THEN UPDATE SET {sets} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(cols)}, source_file, loaded_at) "
        f"VALUES ({', '.join('c.' + x for x in cols)}, ?, ?)",
        [*params, source_file, loaded_at, source_file, loaded_at]).fetchall()
    [(after,)] = con.execute(f"SELECT count(*) FROM {table}").fetchall()
    inserted = after - before
    updated = merged - inserted
    if inserted + updated and params:
        rollups.track_times(con, feed.table, "cand", params[0])
    return inserted, updated, total - inserted - updated


def _check_references(con: duckdb.DuckDBPyConnection, feed: feeds.Feed) -> None:
    for col in feed.references:
        code, subquery, message = REF_CHECKS[col]
        con.execute(f"UPDATE checked SET _reason_code = ?, _reason = {message} "
                    f"WHERE _reason_code IS NULL AND {col} NOT IN ({subquery})", [code])


def _rejected_sql(feed: feeds.Feed) -> str:
    """The rows `checked` rejected as quarantine records: line, reason, and the raw text as JSON keyed by
    the Chinese headers, IDs masked and oversized cells cut (rows held for a retry are kept whole).

    SQL rather than Python, so a file whose every row is bad (a provider changed a format) costs
    what loading it would, not gigabytes of Python objects.
    """
    retry = f"c._reason_code IN ({', '.join(validate.lit(r) for r in RETRYABLE)})"
    has_id = any(c.kind == "id" for c in feed.columns)
    masked = []
    for i, col in enumerate(feed.columns):
        v = f"s.{col.name}"
        if col.kind == "id":
            t = f"trim({v}, ' ' || chr(9) || chr(10) || chr(13))"
            # Excel's mangled forms hold no personal digits and show the clerk the cause.
            expr = (f"CASE WHEN starts_with({t}, 'NUMERIC:') THEN substr({t}, 9) "
                    f"WHEN regexp_full_match({t}, '\\d(\\.\\d+)?[eE][+]?\\d+') THEN {t} "
                    f"WHEN s._qid IS NOT NULL THEN c.id_masked ELSE {validate.mask_sql(t)} END")
        elif col.kind == "credit":  # credit codes stay whole: the retry needs them
            expr = v
        else:
            expr = validate.mask_ids_in_text_sql(v)
        masked.append(f"{expr} AS m{i}")
    cut = (f"CASE WHEN _retryable OR length({{m}}) <= {RAW_CELL_CHARS} THEN {{m}} ELSE left({{m}}, {RAW_CELL_CHARS}) "
           f"|| '…（共 ' || format('{{{{:,}}}}', length({{m}})) || ' 字，已截断）' END")
    entries = [f"{{'k': {validate.lit(col.header)}, 'v': {cut.format(m=f'm{i}')}}}"
               for i, col in sorted(enumerate(feed.columns), key=lambda ic: ic[1].header)]
    return (f"SELECT _line AS line, _reason_code AS reason_code, {validate.mask_ids_in_text_sql('_reason')} AS reason, "
            f"_retryable AS retryable, to_json(map_from_entries(list_filter([{', '.join(entries)}], "
            f"lambda e: e.v IS NOT NULL)))::VARCHAR AS raw_row, person_key "
            f"FROM (SELECT c._line, c._reason_code, c._reason, {retry} AS _retryable, "
            f"CASE WHEN {retry} THEN {'c.person_key' if has_id else 'NULL::UHUGEINT'} END AS person_key, "
            f"{', '.join(masked)} FROM checked c JOIN src s ON s._line IS NOT DISTINCT FROM c._line "
            f"AND s._qid IS NOT DISTINCT FROM c._qid WHERE c._reason_code IS NOT NULL)")


def _quarantine(con, relation: str, file: str, feed: feeds.Feed, now: dt.datetime) -> None:
    """Append rejected rows, skipping ones already held for the same reason (re-loads add nothing)."""
    con.execute(f"""INSERT INTO raw.quarantine
        (file, feed, line, reason_code, reason, retryable, raw_row, person_key, quarantined_at)
        SELECT ?, ?, line, reason_code, reason, retryable, raw_row, person_key::UHUGEINT, ?
        FROM {relation} AS r WHERE NOT EXISTS (SELECT 1 FROM raw.quarantine q WHERE q.resolved_at IS NULL
            AND q.feed = ? AND q.reason_code = r.reason_code AND q.raw_row = r.raw_row)""",
                [file, feed.name, now, feed.name])


def _prepare_src(con) -> None:
    for col, typ in (("_person_key", "UHUGEINT"), ("_id_masked", "VARCHAR"), ("_qid", "BIGINT")):
        if col not in {r[0] for r in con.execute("DESCRIBE src").fetchall()}:
            con.execute(f"ALTER TABLE src ADD COLUMN {col} {typ}")


def _check(con, feed: feeds.Feed, s: Settings, now: dt.datetime) -> None:
    """Create temp table `checked` from `src`: typed values and each row's first problem."""
    _prepare_src(con)
    sql = validate.checked_sql(feed)
    params = {"hash_key": s.hash_key, "now_limit": now + dt.timedelta(minutes=s.future_tolerance_minutes)}
    con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {sql}", {k: v for k, v in params.items() if f"${k}" in sql})
    _check_references(con, feed)


def _validate(con, feed: feeds.Feed, s: Settings, now: dt.datetime) -> None:
    """Temp tables from `src`: `checked`, `rejected` (quarantine records) and `cand` (rows to upsert).

    Scratch work before the file's transaction, dropping the raw text as soon as it is used: built
    inside the transaction, 8M rows ran out of a 400 MB cap; like this they load at 0.68 GB peak RSS.
    """
    _check(con, feed, s, now)
    con.execute(f"CREATE OR REPLACE TEMP TABLE rejected AS {_rejected_sql(feed)}")
    con.execute("DROP TABLE src")
    _candidates(con, feed)


def _max_data_at(con, feed: feeds.Feed):
    col = feed.time_column or {"registry": "listed_on", "issues": "reported_at"}.get(feed.name)
    if not col:
        return None
    return con.execute(f"SELECT max({col})::TIMESTAMP FROM checked WHERE _reason_code IS NULL").fetchone()[0]


def _log(con, run_id: str, rep: FileReport, sha: str | None, src: readers.SourceFile | None,
         started: dt.datetime, max_data_at=None) -> None:
    con.execute(
        "INSERT INTO raw.ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, rep.file, sha, rep.feed, src.file_format if src else None, src.encoding if src else None,
         started, beijing_now(), rep.seconds, rep.rows_read, rep.inserted, rep.updated, rep.unchanged,
         rep.quarantined, rep.status, rep.message, max_data_at])


@dataclass
class Ahead:
    """A file read and validated before its turn, while the copy was made (ingest_paths); its temp
    tables `rejected` and `cand` parked under the suffix _{n} until then."""

    n: int
    sha: str
    src: readers.SourceFile
    rows_read: int
    max_data_at: dt.datetime | None
    started: dt.datetime
    seconds: float


PARKED = ("rejected", "cand")


def _loaded_before(con, sha: str) -> str | None:
    """The file a loaded file with this content came in, if any."""
    row = con.execute("SELECT file FROM raw.ingest_log WHERE file_sha256 = ? AND status = 'loaded' LIMIT 1",
                      [sha]).fetchone()
    return row[0] if row else None


def _read_checked(con, path: Path, s: Settings, tmpdir: Path,
                  started: dt.datetime) -> tuple[readers.SourceFile, int, dt.datetime | None]:
    """Read and validate one file: the source, rows read, and its latest data time."""
    src = readers.read_source(con, path, tmpdir)
    rows_read = con.execute("SELECT count(*) FROM src").fetchone()[0] + len(src.malformed)
    _validate(con, src.feed, s, started)
    return src, rows_read, _max_data_at(con, src.feed)


def check_ahead(con, path: Path, n: int, s: Settings, tmpdir: Path) -> Ahead | None:
    """Read and validate a file before its turn. None when it was loaded before or fails: its turn
    does that again and reports why."""
    t0, started = time.perf_counter(), beijing_now()
    try:
        sha = file_sha256(path)
        if _loaded_before(con, sha):
            return None
        src, rows_read, max_data_at = _read_checked(con, path, s, tmpdir, started)
    except Exception:  # noqa: BLE001 — its turn reads it again and reports the problem
        return None
    con.execute("DROP TABLE checked")
    for t in PARKED:
        con.execute(f"ALTER TABLE {t} RENAME TO {t}_{n}")
    return Ahead(n, sha, src, rows_read, max_data_at, started, time.perf_counter() - t0)


def ingest_file(con, path: Path, run_id: str, s: Settings, tmpdir: Path, ahead: Ahead | None = None) -> FileReport:
    """Load one file in one transaction (or refuse it whole) and log the outcome; `ahead`: it was read
    and validated already (check_ahead)."""
    t0, started = time.perf_counter(), beijing_now()
    name = str(path)
    sha = src = None
    try:
        sha = ahead.sha if ahead else file_sha256(path)
        done = _loaded_before(con, sha)
        if ahead:
            for t in PARKED:
                con.execute(f"DROP TABLE IF EXISTS {t}")
                con.execute(f"ALTER TABLE {t}_{ahead.n} RENAME TO {t}")
        if done:
            rep = FileReport(name, "skipped", message=f"内容与已导入的 {Path(done).name} 完全相同，跳过")
            _log(con, run_id, rep, sha, None, started)
            return rep
        if ahead:
            src, rows_read, max_data_at, started = ahead.src, ahead.rows_read, ahead.max_data_at, ahead.started
            t0 -= ahead.seconds
        else:
            src, rows_read, max_data_at = _read_checked(con, path, s, tmpdir, started)
        feed = src.feed
        con.execute("BEGIN")  # the file's writes: all of them or none
        inserted, updated, unchanged = _merge(con, feed, path.name, started)
        if src.malformed:
            extra = pd.DataFrame([{"line": line, "reason_code": "csv_malformed", "reason": shorten(mask_line(problem)),
                                   "retryable": False,
                                   "raw_row": json.dumps({"原始行": shorten(mask_line(raw))}, ensure_ascii=False),
                                   "person_key": None} for line, problem, raw in src.malformed])
            con.register("_malformed", pa.Table.from_pandas(extra, preserve_index=False))
            con.execute("INSERT INTO rejected SELECT line, reason_code, reason, retryable, raw_row, "
                        "person_key::UHUGEINT FROM _malformed")
            con.unregister("_malformed")
        _quarantine(con, "rejected", name, feed, started)
        reasons = dict(con.execute("SELECT reason_code, count(*) FROM rejected GROUP BY 1 ORDER BY 2 DESC").fetchall())
        rep = FileReport(name, "loaded", feed.name, feed.label, rows_read, inserted, updated, unchanged,
                         sum(reasons.values()), reasons, time.perf_counter() - t0)
        _log(con, run_id, rep, sha, src, started, max_data_at)
        con.execute("COMMIT")
        return rep
    except Exception as exc:  # noqa: BLE001 — whatever one file does, the others of the run still load
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        message = str(exc) if isinstance(exc, readers.RefusedFile) else f"{path.name}: 读取失败（{shorten(first, 300)}）"
        rep = FileReport(name, "refused", src.feed.name if src and src.feed else None,
                         src.feed.label if src and src.feed else None, seconds=time.perf_counter() - t0,
                         message=mask_text(message))
        _log(con, run_id, rep, sha, src, started)
        return rep


def retry_quarantine(con, run_id: str, s: Settings) -> list[FileReport]:
    """Re-validate rows held for a missing reference; those that now pass load and are resolved."""
    reports = []
    for (feed_name,) in con.execute("SELECT DISTINCT feed FROM raw.quarantine WHERE retryable AND resolved_at IS NULL "
                                    "ORDER BY feed").fetchall():
        feed = feeds.FEEDS[feed_name]
        t0, now = time.perf_counter(), beijing_now()
        held = con.execute("SELECT rowid, line, raw_row, person_key::VARCHAR FROM raw.quarantine "
                           "WHERE retryable AND resolved_at IS NULL AND feed = ?", [feed_name]).fetchall()
        by_header = {c.header: c.name for c in feed.columns}
        records = []
        for qid, line, raw, pk in held:
            row = {by_header[k]: v for k, v in json.loads(raw).items() if k in by_header}
            id_col = next((c.name for c in feed.columns if c.kind == "id"), None)
            if id_col:
                row["_id_masked"] = row.get(id_col)
            records.append({**row, "_line": line, "_qid": qid, "_person_key": pk})
        df = pd.DataFrame(records)
        for col in feed.columns:
            if col.name not in df:
                df[col.name] = None
        df = df.astype({c.name: "string" for c in feed.columns} | {"_id_masked": "string"} if "_id_masked" in df
                       else {c.name: "string" for c in feed.columns})
        con.execute("BEGIN")
        con.register("_retry", df)
        con.execute("CREATE OR REPLACE TEMP TABLE src AS SELECT * REPLACE (_person_key::UHUGEINT AS _person_key, "
                    "_qid::BIGINT AS _qid) FROM _retry")
        con.unregister("_retry")
        _check(con, feed, s, now)
        _candidates(con, feed)
        inserted, updated, unchanged = _merge(con, feed, "隔离区重试", now)
        con.execute("UPDATE raw.quarantine SET resolved_at = ? WHERE rowid IN "
                    "(SELECT _qid FROM checked WHERE _reason_code IS NULL)", [now])
        resolved = inserted + updated + unchanged
        rep = FileReport(f"隔离区重试（{feed.label}）", "retried", feed.name, feed.label, len(held), inserted,
                         updated, unchanged, len(held) - resolved, {}, time.perf_counter() - t0,
                         f"{resolved} 行已补齐引用并导入")
        if resolved:  # a retry that resolves nothing is not news for the log
            _log(con, run_id, rep, None, None, now)
            reports.append(rep)
        con.execute("COMMIT")
    return reports


def plan(paths: Iterable[Path]) -> list[tuple[Path, feeds.Feed | None]]:
    """Files in dependency order (registry → rosters, places… → tests, scans), from their headers,
    each with the feed its header names (None: loading will refuse it with the full reason)."""
    keyed = []
    for p in paths:
        try:
            feed = readers.peek_feed(p)
        except Exception:  # noqa: BLE001 — loading will refuse it with the full reason
            feed = None
        keyed.append((feeds.load_order(feed.name) if feed else 0, p.name, p, feed))
    return [(p, feed) for _, _, p, feed in sorted(keyed, key=lambda t: (t[0], t[1]))]


def expand(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; directories contribute their files (not hidden ones), sorted."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith((".", "~$")))
        else:
            out.append(p)
    return out


def ingest_paths(paths: Iterable[str | os.PathLike], db_path: str | os.PathLike | None = None,
                 s: Settings | None = None, progress: Callable[[float, str], None] | None = None,
                 on_report: Callable[[FileReport], None] | None = None) -> list[FileReport]:
    """Load files (and folders of files) into the feed database; one report per file (also passed to on_report)."""
    s = s or settings()
    db_path = Path(db_path) if db_path else s.db_path
    files = expand(paths)
    run_id = uuid.uuid4().hex[:12]
    reports: list[FileReport] = []
    with ingest_lock(db_path), readers.tempdir() as tmp, working_copy(db_path) as work:
        con = work.con
        con.execute(f"SET temp_directory = {validate.lit(tmp)}")
        planned = plan(files)
        # While the copy is made, read and validate the files whose checks read nothing an earlier
        # file of the run writes (the references of a roster, a production or scan file wait for the
        # run's registry or place files).
        in_run, ahead, n = {feed.name for _, feed in planned if feed}, {}, max(len(planned), 1)
        for i, (path, feed) in enumerate(planned):
            if not work.copying():
                break
            if feed is not None and not set(feed.references.values()) & in_run:
                if progress:
                    progress(i / n / 2, f"正在读取并校验 {path.name}（{i + 1}/{len(planned)}）")
                ahead[i] = check_ahead(con, path, i, s, Path(tmp))
        work.writable()
        rollups.ensure(con, s)  # a database from before the rollups (may spill: after SET temp_directory)
        rollups.start_tracking(con)
        first = 0.5 if ahead else 0.0  # of the progress bar, taken by the files read ahead
        for i, (path, _) in enumerate(planned):
            if progress:
                progress(first + (1 - first) * i / n, f"正在导入 {path.name}（{i + 1}/{len(planned)}）")
            reports.append(ingest_file(con, path, run_id, s, Path(tmp), ahead=ahead.get(i)))
            if on_report:
                on_report(reports[-1])
        # A held row can only pass once what it points at arrives: retry when the run added or
        # changed registry or place-code rows (the references RETRYABLE rows wait for).
        if any(r.status == "loaded" and r.feed in REFERENCED and (r.inserted or r.updated) for r in reports):
            for rep in retry_quarantine(con, run_id, s):
                reports.append(rep)
                if on_report:
                    on_report(rep)
        if progress:
            progress(0.99, "正在更新汇总（每人检测时间、企业每日检测覆盖）")
        rollups.update(con, s)
        if progress:
            progress(1.0, "导入完成")
    return reports
