"""The connection factory: attaches the feed snapshot, mirrors write-backs, creates the views.

Storage (README "存储设计"): DuckDB lets one process write a file, so the feeds and the
write-backs live apart.
- `fourguard.duckdb` holds the loaded feeds. Only `ingest` writes it, and never in place: it
  copies the file, loads into the copy and renames it over the original (`os.replace`). Readers
  keep the snapshot they opened until they reconnect; a failed or killed load leaves the
  original untouched.
- `fourguard.writes.sqlite` holds what people do in the app (issue assignments, county
  switches). SQLite allows many processes to write with short locks, so the app and the CLI
  write it any time, also while a load runs.
- A reader connection is an in-memory DuckDB that ATTACHes the snapshot read-only as `raw`,
  mirrors the write-back tables into memory (`wb_*`, refreshed when SQLite's data changes),
  creates the views from sql/ and copies the small staging views of the snapshot into memory
  (SNAPSHOT_VIEWS).
"""
from __future__ import annotations

import atexit
import datetime as dt
import graphlib
import logging
import os
import re
import tempfile
import threading
import weakref
from pathlib import Path
from typing import NamedTuple

import duckdb

from . import store
from .config import Settings, settings

log = logging.getLogger(__name__)
READER_MEMORY_LIMIT = "1GB"  # per process: every reader cursor shares the one in-memory database
# Staging views over the snapshot alone (no write-backs), small and read by nearly every query: a
# reader copies each into memory once, since its snapshot never changes (registry with region names,
# place list with trimmed codes, production reports and their spans, staff classes: 30 k–400 k rows).
SNAPSHOT_VIEWS = ("stg_enterprises", "stg_places", "stg_production", "stg_report_spans", "stg_staff_classes")


class Kept(NamedTuple):
    """How a reader keeps a table macro computed at its default as_of (`{at}` below): the macro's
    parameters, its arguments there, the condition on the parameters under which a call asks for
    exactly that, and which of the kept rows such a call wants."""

    params: str
    args: str
    match: str
    rows: str = "true"


_AT_LATEST = Kept("as_of", "{at}", "CAST(as_of AS TIMESTAMP) = {at}")
# The kept testing_days rows a call's scope wants: `{p}` prefixes its arguments ("" inside the macro, where
# a bare `sector` is the argument; "$" in a query, TREND_DAY).
_TESTING_DAYS_ROWS = ("({p}county IS NULL OR k.county_code = {p}county) AND ({p}city IS NULL OR k.city_code = {p}city) "
                      "AND ({p}sector IS NULL OR k.sector = {p}sector) "
                      "AND ({p}codes IS NULL OR k.credit_code IN (SELECT unnest(CAST({p}codes AS VARCHAR[]))))")
RANGE_DAYS = 14  # the date range the trend pages open with: the last 14 days up to the data time (ui.filter_bar)
# Table macros a reader keeps computed at its default as_of (freshness.latest_time), since most renders
# ask for that time: the macro reads the kept rows when called for exactly that and computes any other
# call as before (the time is a constant in the macro and the caller's as_of a bound parameter, so each
# query plans only one of the two), and a query naming `model($as_of)` itself reads the kept table
# (kept_sql). Computed in the background when the reader opens, each from those it reads (KEPT_ORDER),
# and again once a write-back moves the default time or changes a write-back table they read (READS;
# those compute every call meanwhile). A time a user browses to is kept as well (Reader.keep_also).
KEPT_AT_LATEST = {
    **dict.fromkeys(("staff_testing", "enterprise_testing", "whitelist", "place_status", "place_coverage",
                     "red_yellow_scans", "enterprise_positives", "positive_cases", "recheck_obligations",
                     "shutdown_episodes", "issue_status", "issue_closure", "enterprise_risk",
                     "sentinel_alerts"), _AT_LATEST),
    # the coverage trends' own day (as_of's date, judged at as_of) of every enterprise; the county state
    # is applied by the caller (queries.testing_daily_sql)
    "testing_days": Kept(
        "start_on, end_on, as_of, county, city, sector, codes, class_from, class_to",
        "CAST({at} AS DATE), CAST({at} AS DATE), {at}, NULL, NULL, NULL, NULL, NULL, NULL",
        "CAST(as_of AS TIMESTAMP) = {at} AND CAST(start_on AS DATE) = CAST({at} AS DATE) "
        "AND CAST(end_on AS DATE) = CAST({at} AS DATE)",
        _TESTING_DAYS_ROWS.format(p="")),
    # the 生产经营 page's default range (each scope picks its rows from it, queries.production_overview)
    "production_daily": Kept(
        "start_on, end_on, as_of",
        f"CAST({{at}} AS DATE) - {RANGE_DAYS - 1}, CAST({{at}} AS DATE), {{at}}",
        f"CAST(as_of AS TIMESTAMP) = {{at}} AND CAST(start_on AS DATE) = CAST({{at}} AS DATE) - {RANGE_DAYS - 1} "
        "AND CAST(end_on AS DATE) = CAST({at} AS DATE)"),
}
SQL_DIR = Path(__file__).parent / "sql"
LAYERS = ("staging", "metrics")


def read_sql(relpath: str) -> str:
    """The text of one SQL file under fourguard/sql."""
    return (SQL_DIR / relpath).read_text(encoding="utf-8")


def sql_graph() -> dict[str, set[str]]:
    """Each view or macro of sql/ (a file's stem) → the others and the wb_* write-back tables its SQL
    names, comments left out."""
    texts = {path.stem: re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
             for layer in LAYERS for path in (SQL_DIR / layer).glob("*.sql")}
    return {name: {w for w in re.findall(r"\b\w+\b", text) if w != name and (w in texts or w.startswith("wb_"))}
            for name, text in texts.items()}


def _reads() -> dict[str, set[str]]:
    """Each view or macro → everything it reads, directly or through others."""
    graph = sql_graph()
    out: dict[str, set[str]] = {}

    def reads(name: str) -> set[str]:
        if name not in out:
            out[name] = set()  # a cycle cannot be created in DuckDB; this only stops the walk
            out[name] = set().union(*({d} | reads(d) for d in graph.get(name, ())))
        return out[name]
    for name in graph:
        reads(name)
    return out


READS = _reads()
# Also kept 24 h before the default time, read by queries naming them only (kept_sql): the headline
# figures the wall and the briefing compare with that time (wall.figures).
DAY_BEFORE = ("whitelist", "staff_testing", "enterprise_positives", "positive_cases", "red_yellow_scans",
              "issue_status", "issue_closure")
# the kept macros, each after every kept macro it reads (Reader._keep_macros)
KEPT_ORDER = tuple(graphlib.TopologicalSorter({n: READS[n] & KEPT_AT_LATEST.keys() for n in KEPT_AT_LATEST}).static_order())
# the kept macros a query may name as `model($as_of)` and read the kept table of directly
DIRECT = tuple(n for n, k in KEPT_AT_LATEST.items() if k == _AT_LATEST)
_DIRECT_CALL = re.compile(rf"\b({'|'.join(DIRECT)})\(\$as_of\)")
# A coverage trend's own day (queries.testing_daily_sql), which reads the kept testing_days directly too.
TREND_DAY = ("testing_days(CAST($as_of AS DATE), CAST($as_of AS DATE), $as_of, $county, $city, $sector, $codes, "
             "$class_from, $class_to)")


def _layer(name: str) -> str:
    return next(layer for layer in LAYERS if (SQL_DIR / layer / f"{name}.sql").exists())


def kept_tables(at: dt.datetime, browsed: bool = False) -> list[tuple[str, dt.datetime]]:
    """(model, time) of every table a keep at `at` makes, in the order they are computed: as the
    default time, or as a time a user browses to (not production_daily, whose range is the one
    ending at the data time, RANGE_DAYS)."""
    names = [n for n in KEPT_ORDER if not (browsed and n == "production_daily")]
    return [(n, at) for n in names] + [(n, at - dt.timedelta(hours=24)) for n in names if n in DAY_BEFORE]


def _sql_time(at: dt.datetime) -> str:
    """A timestamp literal, to the microsecond (a kept macro's own time)."""
    return at.strftime("TIMESTAMP '%Y-%m-%d %H:%M:%S.%f'")


def kept_table(name: str, at: dt.datetime) -> str:
    """The table holding a kept macro's rows at time `at` (it exists only while they are current)."""
    return f"kept_{name}_{at:%Y%m%d_%H%M%S_%f}"


def kept_sql(sql: str, as_of) -> str | None:
    """The query with each `model($as_of)` of a directly kept model, and a trend's own day (TREND_DAY),
    reading its kept table at as_of instead (None when it names none): planning it skips the model's
    whole macro tree. The table exists only while its rows are current; the caller runs the query as
    written if it is missing."""
    if not isinstance(as_of, dt.datetime) or "$as_of" not in sql:
        return None
    out = _DIRECT_CALL.sub(lambda m: kept_table(m.group(1), as_of), sql)
    out = out.replace(TREND_DAY, f"(SELECT k.* FROM {kept_table('testing_days', as_of)} AS k "
                                 f"WHERE {_TESTING_DAYS_ROWS.format(p='$')})")
    return None if out == sql else out


def create_raw_tables(con: duckdb.DuckDBPyConnection, schema: str = "raw") -> None:
    """Create the feed tables in the attached database `schema` if missing."""
    con.execute(f"USE {schema}")
    try:
        con.execute(read_sql("raw/tables.sql"))
    finally:
        con.execute("USE memory")


def _config_tables(con: duckdb.DuckDBPyConnection, s: Settings) -> None:
    """Rule settings and the working-day calendar as tables, so SQL can join them."""
    con.execute("CREATE OR REPLACE TABLE cfg_intervals (rule VARCHAR, hours DOUBLE)")
    con.executemany("INSERT INTO cfg_intervals VALUES (?, ?)",
                    [(k, float(v)) for k, v in s.intervals_hours.items()])
    con.execute("CREATE OR REPLACE TABLE cfg_settings (key VARCHAR, value DOUBLE)")
    con.executemany("INSERT INTO cfg_settings VALUES (?, ?)", [
        ("recheck_limit_hours", s.recheck_limit_hours),
        ("shutdown_limit_days", s.shutdown_limit_days),
        ("output_coverage_target", s.output_coverage_target),
        ("hut_headcount", s.hut_headcount),
        ("cluster_window_hours", s.cluster_window_hours),
        ("alert_lookback_days", s.alert_lookback_days),
    ])
    con.execute("CREATE OR REPLACE TABLE cfg_issue_limits (category VARCHAR, workdays INTEGER)")
    con.executemany("INSERT INTO cfg_issue_limits VALUES (?, ?)",
                    [(k, int(v)) for k, v in s.issue_limit_workdays.items()])
    con.execute("CREATE OR REPLACE TABLE cfg_calendar (day DATE, is_workday BOOLEAN)")
    days, workdays = zip(*workday_calendar())  # one statement: executemany took ~1 s for 3,287 rows
    con.execute("INSERT INTO cfg_calendar SELECT unnest(CAST(? AS DATE[])), unnest(CAST(? AS BOOLEAN[]))",
                [list(days), list(workdays)])


def is_workday(day: dt.date) -> bool:
    """An official working day (holidays and 调休 make-up days) per chinese-calendar."""
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # beyond the library's published years: plain weekdays
        return day.weekday() < 5


def workday_calendar(first: int = 2019, last: int = 2027) -> list[tuple[dt.date, bool]]:
    """Every day of the years with whether it is an official working day (the cfg_calendar table)."""
    out = []
    day = dt.date(first, 1, 1)
    while day.year <= last:
        out.append((day, is_workday(day)))
        day += dt.timedelta(days=1)
    return out


def _regions_table(con: duckdb.DuckDBPyConnection) -> None:
    from . import regions

    df = regions.load_regions()[["code", "name", "level", "parent_code", "city_code", "city_name", "lng", "lat"]]
    con.register("_regions_df", df)
    con.execute("CREATE OR REPLACE TABLE regions AS SELECT * FROM _regions_df")
    con.unregister("_regions_df")


def create_views(con: duckdb.DuckDBPyConnection, replace: dict[str, str] | None = None) -> None:
    """Create every view/macro in sql/staging then sql/metrics, in dependency order.

    `replace` maps a file's stem to the SQL to run instead (a stand-in for a missing rollup).
    """
    def text(path: Path) -> str:
        return (replace or {}).get(path.stem) or path.read_text(encoding="utf-8")

    for layer in LAYERS:
        pending = sorted((SQL_DIR / layer).glob("*.sql"))
        # Files may reference each other; retry until a pass makes no progress.
        while pending:
            failed = []
            for path in pending:
                try:
                    con.execute(text(path))
                except duckdb.CatalogException:
                    failed.append(path)
            if len(failed) == len(pending):
                con.execute(text(failed[0]))  # raise the real error
            pending = failed


def mirror_writebacks(con: duckdb.DuckDBPyConnection, tables: dict) -> None:
    """(Re)create the wb_* tables from store.read_tables' frames, in one transaction."""
    con.execute("BEGIN")
    for name, df in tables.items():
        con.register("_wb_df", df)
        con.execute(f"CREATE OR REPLACE TABLE wb_{name} AS SELECT * FROM _wb_df")
        con.unregister("_wb_df")
    con.execute("COMMIT")


def create_rule_views(con: duckdb.DuckDBPyConnection, s: Settings) -> None:
    """The views on an ingest connection (raw attached), for building rollups from them: the rule
    settings, no write-backs (a rollup never depends on them), every view."""
    _config_tables(con, s)
    mirror_writebacks(con, store.read_tables(None))
    create_views(con)


class Reader:
    """A reader over one snapshot of the feeds plus live write-backs; hand out `cursor()`s."""

    def __init__(self, db_path: Path, s: Settings | None = None, recompute_rollups: bool = False, keep: bool = True):
        """`recompute_rollups`: read every rollup from a view over the raw feeds instead (bench, tests).
        `keep`: keep KEPT_AT_LATEST (the app; a one-off command has no use for it)."""
        self.settings = s or settings()
        self.recompute_rollups = recompute_rollups
        self.db_path = Path(db_path)
        self.snapshot = snapshot_id(self.db_path)
        # Capped, spilling to a private temp folder: uncapped, DuckDB may take 80 % of RAM, and a
        # province-wide 14-day coverage trend alone reached 15 GB resident (1.2 GB with the cap).
        self._spill = tempfile.TemporaryDirectory(prefix="fourguard-reader-", dir=os.environ.get("FOURGUARD_TMP"))
        self.con = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": READER_MEMORY_LIMIT,
                                                      "temp_directory": self._spill.name})
        if self.db_path.exists():
            self.con.execute("ATTACH ? AS raw (READ_ONLY)", [str(self.db_path)])
        else:  # no load yet: an empty schema so every view still answers
            self.con.execute("ATTACH ':memory:' AS raw")
            create_raw_tables(self.con)
        _config_tables(self.con, self.settings)
        _regions_table(self.con)
        self._wb_version = None
        self._lock = threading.Lock()  # mirroring write-backs, and pointing the kept macros
        self._keeps = False  # whether this reader keeps KEPT_AT_LATEST (set once their macros exist)
        self._kept_at = None  # the default time the last keep was for
        self._present = set()  # (model, time) of every kept table, as the committed macros read them
        self._browse = None  # a time a user browses, kept too (keep_also)
        self._mirrored = None  # the write-back tables last mirrored
        self._keeper = self._keep_cursor = None  # the thread computing them again, if one runs, and its cursor
        self._keep_wanted = self._closed = False
        self.refresh_writebacks()
        create_views(self.con, self._stand_ins())
        for view in SNAPSHOT_VIEWS:
            self.con.execute(f"CREATE TABLE snapshot_{view} AS SELECT * FROM {view}")
            self.con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM snapshot_{view}")
        if keep and not recompute_rollups:
            _READERS.add(self)
            self._keep_macros()
            with self._lock:
                self._keeps = True
                self._want_keep()

    def _keep_macros(self) -> None:
        """For each kept macro: `{name}_live`, its SQL (what the macro computes when the kept rows do not
        answer); `{name}_build`, the same reading the other kept macros through `{dep}_built`, which a
        keep points at the tables it has computed so far, so each is computed once (KEPT_ORDER). Only
        the keeping thread writes the `_built` macros, so a write-back never conflicts with it."""
        calls = re.compile(rf"\b({'|'.join(KEPT_AT_LATEST)})\(")
        for name, k in KEPT_AT_LATEST.items():
            self.con.execute(f"CREATE MACRO {name}_built({k.params}) AS TABLE SELECT * FROM {name}({k.params})")
        for name in KEPT_AT_LATEST:
            text = read_sql(f"{_layer(name)}/{name}.sql")
            self.con.execute(text.replace(f"MACRO {name}(", f"MACRO {name}_live("))
            self.con.execute(calls.sub(lambda m: f"{m.group(1)}_build(" if m.group(1) == name else f"{m.group(1)}_built(",
                                       text))

    def _stand_ins(self) -> dict[str, str]:
        """A database loaded before a rollup existed: compute it on the fly (correct, slower) until
        the next ingest builds it. With `recompute_rollups`, every rollup is computed on the fly."""
        from . import rollups

        flagged = set(rollups.FLAGGED_SQL)
        tables = {"test_spans", "testing_days", "staff_classes", "staff_spans"} | flagged
        present = {t for t, in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'raw' "
                                                 "AND list_contains(?, table_name)", [sorted(tables)]).fetchall()}
        for table in sorted(tables - present):
            log.warning("%s has no %s rollup yet: computed per query until the next ingest", self.db_path, table)
        out = {}
        if "test_spans" not in present or self.recompute_rollups:
            out["stg_test_spans"] = f"CREATE OR REPLACE VIEW stg_test_spans AS {rollups.spans_sql()}"
        if "testing_days" not in present or self.recompute_rollups:
            out |= rollups.NO_TESTING_DAYS
        if not {"staff_classes", "staff_spans"} <= present or self.recompute_rollups:
            out |= rollups.STAFF_FROM_ROSTER
        if not flagged <= present or self.recompute_rollups:
            out |= rollups.flagged_from_feeds()
        return out

    def refresh_writebacks(self) -> None:
        """Mirror the SQLite write-back tables when they changed since the last look."""
        path = store.store_path(self.db_path)
        with self._lock:
            version = store.version(path)
            if version == self._wb_version and self._wb_version is not None:
                return
            tables = store.read_tables(path)
            if self._present:  # before the new write-backs are seen: never mixed with them
                changed = {f"wb_{t}" for t, df in tables.items() if not df.equals(self._mirrored[t])}
                self._drop({(n, t) for n, t in self._present if READS[n] & changed})
            mirror_writebacks(self.con, tables)
            self._wb_version, self._mirrored = version, tables
            if self._keeps:  # the default time may have moved: keep again
                self._want_keep()

    def _want_keep(self) -> None:
        """Keep KEPT_AT_LATEST at the default time, in a background thread (under the lock)."""
        self._keep_wanted = True
        if self._keeper is None:
            self._keep_cursor = self.con.cursor()
            self._keeper = threading.Thread(target=self._keep_while_wanted, args=(self._keep_cursor,),
                                            name="fourguard-keep", daemon=True)
            self._keeper.start()

    def _keep_while_wanted(self, cur: duckdb.DuckDBPyConnection) -> None:
        while True:
            with self._lock:
                if not self._keep_wanted or self._closed:
                    self._keeper = None
                    cur.close()
                    return
                self._keep_wanted = False
            self._keep(cur)

    def keep_also(self, at: dt.datetime) -> None:
        """Keep the models at a time a user browses to as well (kept_tables(…, browsed=True)), in the
        background: one such time at once, until another is browsed (the default time's are kept
        regardless, so a wall at the default time and a user browsing do not take turns)."""
        with self._lock:
            if self._keeps and not self._closed and at not in (self._browse, self._kept_at):
                self._browse = at
                self._want_keep()

    def _wanted(self, at: dt.datetime) -> list[tuple[str, dt.datetime]]:
        """(model, time) of every table to keep when the default time is `at`, in computing order."""
        browse = self._browse
        wanted = kept_tables(at) + (kept_tables(browse, browsed=True) if browse not in (None, at) else [])
        return list(dict.fromkeys(wanted))  # a time browsed 24 h before the default one shares tables

    def _macro(self, name: str, present) -> str:
        """`name`'s macro reading its kept tables in `present` for exactly their calls, computing the rest."""
        k, branches, matches = KEPT_AT_LATEST[name], [], []
        for n, t in sorted(present):
            if n == name:
                match = k.match.format(at=_sql_time(t))
                branches.append(f"SELECT k.* FROM {kept_table(n, t)} AS k WHERE ({match}) AND ({k.rows})")
                matches.append(f"({match})")
        live = f"SELECT * FROM {name}_live({k.params})"
        if matches:
            live += f" WHERE ({' OR '.join(matches)}) IS NOT TRUE"
        return f"AS TABLE {' UNION ALL '.join([*branches, live])}"

    def _drop(self, pairs: set) -> None:
        """Drop these kept tables, their macros computing those calls again (under the lock)."""
        if not pairs:
            return
        rest = self._present - pairs
        self.con.execute("BEGIN TRANSACTION")
        for name in sorted({n for n, _ in pairs}):
            self.con.execute(f"CREATE OR REPLACE MACRO {name}({KEPT_AT_LATEST[name].params}) {self._macro(name, rest)}")
        for name, t in pairs:
            self.con.execute(f"DROP TABLE IF EXISTS {kept_table(name, t)}")
        self.con.execute("COMMIT")
        self._present = rest

    def _keep(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Compute the kept tables wanted now (_wanted) that are missing, in one transaction that sees
        one state of the write-backs, and point the macros at them. Tables no longer wanted are
        dropped first (their calls compute meanwhile), so memory holds only what is wanted. Nothing
        is pointed at the new tables when write-backs were mirrored meanwhile (that schedules another
        round) or if it fails (logged)."""
        from . import freshness

        try:
            with self._lock:
                version = self._wb_version
                at = freshness.latest_time(cur)
                wanted = self._wanted(at)
                self._drop(self._present - set(wanted))
                missing = [p for p in wanted if p not in self._present]
                self._kept_at = at
                if not missing:
                    return
                present = self._present - set(missing)
                cur.execute("BEGIN TRANSACTION")
            for name, t in missing:  # only this thread writes the _built macros
                if self._closed:
                    raise duckdb.InterruptException("reader closed")
                table = kept_table(name, t)
                cur.execute(f"DROP TABLE IF EXISTS {table}")
                args = KEPT_AT_LATEST[name].args.format(at=_sql_time(t))
                self._compute_kept(cur, table, f"{name}_build({args})")
                present.add((name, t))
                cur.execute(f"CREATE OR REPLACE MACRO {name}_built({KEPT_AT_LATEST[name].params}) "
                            f"{self._macro(name, present)}")
            with self._lock:  # the macros change only here: a write-back's _drop never meets this
                if version != self._wb_version or self._closed:
                    cur.execute("ROLLBACK")
                    return
                for name in KEPT_ORDER:
                    cur.execute(f"CREATE OR REPLACE MACRO {name}({KEPT_AT_LATEST[name].params}) "
                                f"{self._macro(name, present)}")
                cur.execute("COMMIT")
                self._present = present
        except duckdb.Error:
            if not self._closed:
                log.exception("%s: the latest time not kept; computed per query", self.db_path)
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass

    def _compute_kept(self, cur: duckdb.DuckDBPyConnection, table: str, call: str) -> None:
        cur.execute(f"CREATE TABLE {table} AS SELECT * FROM {call}")

    @property
    def kept_at(self) -> dt.datetime | None:
        """The default time when every table kept for it is there (None: not yet, or a write-back
        dropped some until kept again)."""
        with self._lock:
            at = self._kept_at
            return at if at is not None and set(kept_tables(at)) <= self._present else None

    def wait_kept(self, timeout: float = 60) -> dt.datetime | None:
        """Wait for a background keep to finish; kept_at then."""
        keeper = self._keeper
        if keeper is not None:
            keeper.join(timeout)
        return self.kept_at

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one thread; write-backs are refreshed first."""
        self.refresh_writebacks()
        return self.con.cursor()

    def is_current(self) -> bool:
        """False once ingest has replaced the snapshot this reader sees."""
        return snapshot_id(self.db_path) == self.snapshot

    def _stop_keeping(self) -> None:
        with self._lock:
            self._closed, keeper = True, self._keeper
        if keeper is not None:
            try:
                self._keep_cursor.interrupt()
            except duckdb.Error:  # it just finished
                pass
            keeper.join()

    def close(self) -> None:
        self._stop_keeping()
        self.con.close()
        self._spill.cleanup()


def snapshot_id(db_path: Path) -> tuple | None:
    """Identity of the feed file on disk: changes when ingest swaps in a new snapshot."""
    try:
        st = os.stat(db_path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def connect(db_path: str | os.PathLike | None = None, s: Settings | None = None,
            recompute_rollups: bool = False, keep: bool = True) -> Reader:
    """Open a reader on the feed database (default from settings)."""
    s = s or settings()
    return Reader(Path(db_path) if db_path else s.db_path, s, recompute_rollups, keep)


# Readers that may be keeping: stopped when the interpreter exits, since a thread still inside DuckDB
# while Python finalizes aborts the process.
_READERS: weakref.WeakSet[Reader] = weakref.WeakSet()


@atexit.register
def _stop_all_keeping() -> None:
    for reader in list(_READERS):
        reader._stop_keeping()
