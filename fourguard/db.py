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

import datetime as dt
import logging
import os
import tempfile
import threading
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
    exactly that, which of the kept rows such a call wants, and whether an app county switch (R14,
    wb_county_switches) changes them."""

    params: str
    args: str
    match: str
    rows: str = "true"
    switches: bool = True


_AT_LATEST = Kept("as_of", "{at}", "CAST(as_of AS TIMESTAMP) = {at}")
RANGE_DAYS = 14  # the date range the trend pages open with: the last 14 days up to the data time (ui.filter_bar)
# Table macros a reader keeps computed at its default as_of (freshness.latest_time) when it opens, since
# most renders ask for that time: the macro reads the kept rows when called for exactly that and computes
# any other call as before (the time is a constant in the macro and the caller's as_of a bound parameter,
# so each query plans only one of the two). Kept once per snapshot: an issue write-back changes none of
# them (a later write-back time moves the default as_of, whose calls are then computed), and after an app
# county switch those it changes are computed until the next snapshot.
KEPT_AT_LATEST = {
    "staff_testing": _AT_LATEST,
    "enterprise_testing": _AT_LATEST,
    # the coverage trends' own day (as_of's date, judged at as_of) of every enterprise; the county state
    # is applied by the caller (queries.testing_daily_sql), so write-backs do not change it
    "testing_days": Kept(
        "start_on, end_on, as_of, county, city, sector, codes, class_from, class_to",
        "CAST({at} AS DATE), CAST({at} AS DATE), {at}, NULL, NULL, NULL, NULL, NULL, NULL",
        "CAST(as_of AS TIMESTAMP) = {at} AND CAST(start_on AS DATE) = CAST({at} AS DATE) "
        "AND CAST(end_on AS DATE) = CAST({at} AS DATE)",
        "(county IS NULL OR k.county_code = county) AND (city IS NULL OR k.city_code = city) "
        "AND (sector IS NULL OR k.sector = sector) "  # a bare `sector` is the argument
        "AND (codes IS NULL OR k.credit_code IN (SELECT unnest(CAST(codes AS VARCHAR[]))))",
        switches=False),
    # the 生产经营 page's default range (each scope picks its rows from it, queries.production_overview);
    # the baseline's first 应急 day can come from an app switch
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

    def __init__(self, db_path: Path, s: Settings | None = None, recompute_rollups: bool = False):
        """`recompute_rollups`: read every rollup from a view over the raw feeds instead (bench, tests)."""
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
        self._switches = None  # the app county switches last mirrored
        self._lock = threading.Lock()
        self.refresh_writebacks()
        create_views(self.con, self._stand_ins())
        for view in SNAPSHOT_VIEWS:
            self.con.execute(f"CREATE TABLE snapshot_{view} AS SELECT * FROM {view}")
            self.con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM snapshot_{view}")
        if not recompute_rollups:
            for name in KEPT_AT_LATEST:
                self.con.execute(read_sql(f"metrics/{name}.sql").replace(f"MACRO {name}(", f"MACRO {name}_live("))
            self._keep_latest()

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
            changed = self._switches is not None and not tables["county_switches"].equals(self._switches)
            if changed and not self.recompute_rollups:
                for name, k in KEPT_AT_LATEST.items():  # before the new switches are seen: never mixed
                    if k.switches:
                        self.con.execute(f"CREATE OR REPLACE MACRO {name}({k.params}) AS TABLE "
                                         f"SELECT * FROM {name}_live({k.params})")
            mirror_writebacks(self.con, tables)
            self._wb_version, self._switches = version, tables["county_switches"]

    def _keep_latest(self) -> None:
        """Compute KEPT_AT_LATEST at the default as_of into tables and point their macros there (left
        computing every call if that fails)."""
        from . import freshness

        try:
            at = freshness.latest_time(self.con).strftime("TIMESTAMP '%Y-%m-%d %H:%M:%S.%f'")
            for name, k in KEPT_AT_LATEST.items():
                match = k.match.format(at=at)
                self.con.execute(f"CREATE TABLE kept_{name} AS SELECT * FROM {name}_live({k.args.format(at=at)})")
                self.con.execute(f"CREATE OR REPLACE MACRO {name}({k.params}) AS TABLE "
                                 f"SELECT k.* FROM kept_{name} AS k WHERE ({match}) AND ({k.rows}) UNION ALL "
                                 f"SELECT * FROM {name}_live({k.params}) WHERE ({match}) IS NOT TRUE")
        except duckdb.Error:
            log.exception("%s: testing at the latest time not kept; computed per query", self.db_path)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one thread; write-backs are refreshed first."""
        self.refresh_writebacks()
        return self.con.cursor()

    def is_current(self) -> bool:
        """False once ingest has replaced the snapshot this reader sees."""
        return snapshot_id(self.db_path) == self.snapshot

    def close(self) -> None:
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
            recompute_rollups: bool = False) -> Reader:
    """Open a reader on the feed database (default from settings)."""
    s = s or settings()
    return Reader(Path(db_path) if db_path else s.db_path, s, recompute_rollups)
