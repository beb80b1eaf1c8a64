"""Rollups kept up to date at ingest, so a page reads the rows it shows, not every sample ever taken.

- `raw.test_spans` holds each person's samples with the time of their next one. Finding the last
  sample at or before as_of is then a filter on two columns instead of a max/arg_max over all
  tests (about 24 M rows at province scale, 14 days).
- `raw.staff_classes` and `raw.staff_spans` hold the roster in staff classes (an enterprise's
  流动接触岗位 staff, or the rest: one R1 rule applies to a whole class at any moment) and each roster
  entry's spans under its class's integer id, so the R1/R2 counts at any as_of are one filtered scan
  grouped by that id (staff_testing), not a join of 3 M staff with their samples.
- `raw.flagged_tests` holds the tests of a person with a 阳性 or 待复核 result from the first such
  sample on, and `raw.flagged_scans` every 红码/黄码 scan: the only rows the R8 rechecks, the R15
  positives and the R4 alerts read, a few thousand instead of 24 M tests and 83 M scans.
- `raw.flagged_staff` holds the roster entries of those people, the only staff those models look up.
- `raw.place_days` holds each place code's first and last scan of each day, which says exactly
  whether it was scanned in the 24 h before any as_of (R3's active codes).
- `raw.testing_days` holds each enterprise's R1/R2 counts on each day, judged at 24:00 (the
  testing_days macro), so the coverage trend reads 30,000 rows a day instead of judging 3 M staff
  against their samples for every day.

Ingest records what each file changed (`track_rows`, `track_times`) and brings them up to date
once, at the end of the run (`update`), in the working copy it swaps in only on success: a killed
load leaves the feeds and the rollups as they were, together.
"""
from __future__ import annotations

import datetime as dt

import duckdb

from .config import Settings

# What the loaded files changed, per run (temp tables on the ingest connection).
_TRACKING = """
CREATE OR REPLACE TEMP TABLE changed_people (person_key UHUGEINT, since TIMESTAMP);
CREATE OR REPLACE TEMP TABLE changed_days (since DATE);
CREATE OR REPLACE TEMP TABLE changed_codes (credit_code VARCHAR);
CREATE OR REPLACE TEMP TABLE changed_entries (credit_code VARCHAR, person_key UHUGEINT);
CREATE OR REPLACE TEMP TABLE changed_scans (since TIMESTAMP);
"""
INTERVAL_RULES = ("normal", "mobile", "emergency", "closed_loop")
# A reader without raw.testing_days (a database loaded before it) or recomputing: no day is rolled up.
NO_TESTING_DAYS = {
    "stg_testing_days": "CREATE OR REPLACE VIEW stg_testing_days AS SELECT NULL::DATE AS day, "
                        "NULL::TIMESTAMP AS check_at, NULL::VARCHAR AS credit_code, NULL::VARCHAR AS county_code, "
                        "NULL::VARCHAR AS city_code, NULL::VARCHAR AS sector, NULL::BOOLEAN AS is_closed_loop, "
                        "NULL::BIGINT AS count_employees, NULL::BIGINT AS count_within_base, "
                        "NULL::BIGINT AS count_within_emergency WHERE false",
    "stg_testing_days_range": "CREATE OR REPLACE VIEW stg_testing_days_range AS "
                              "SELECT NULL::DATE AS first_day, NULL::DATE AS last_day WHERE false",
}
# A reader without raw.staff_classes / raw.staff_spans (a database loaded before them) or recomputing:
# the same rows from the roster and the spans, per query.
STAFF_FROM_ROSTER = {
    "stg_staff_classes": "CREATE OR REPLACE VIEW stg_staff_classes AS "
                         "SELECT CAST(row_number() OVER (ORDER BY credit_code, is_mobile_job) AS INTEGER) AS class_id, "
                         "credit_code, is_mobile_job AS is_mobile, count(*) AS count_employees "
                         "FROM stg_employees GROUP BY credit_code, is_mobile_job",
    "stg_staff_spans": "CREATE OR REPLACE VIEW stg_staff_spans AS "
                       "SELECT c.class_id, s.sampled_at, s.next_sampled_at FROM stg_employees AS e "
                       "JOIN stg_staff_classes AS c ON c.credit_code = e.credit_code AND c.is_mobile = e.is_mobile_job "
                       "JOIN stg_test_spans AS s ON s.person_key = e.person_key",
}

FLAGGED = "('阳性', '待复核')"
# raw.flagged_tests' rows: every test of a person with a flagged result taken at or after their first
# flagged sample (no recheck can be older: R8's single tube follows the pool's result), of the people
# matching `people` and the tests matching `where` (conditions on person_key / on t).
_FLAGGED_TESTS = f"""
SELECT t.sample_id, t.person_key, t.id_masked, t.name, t.sampled_at, t.result, t.resulted_at, t.tube, t.pool_id, t.site
FROM raw.tests AS t
JOIN (SELECT person_key, min(sampled_at) AS first_flagged_at FROM raw.tests
      WHERE result IN {FLAGGED} AND {{people}} GROUP BY person_key) AS f ON f.person_key = t.person_key
WHERE t.sampled_at >= f.first_flagged_at AND {{where}}"""
# raw.flagged_scans' rows: the red and yellow code scans, of those matching `where`.
_FLAGGED_SCANS = """
SELECT place_code, person_key, id_masked, scanned_at, health_code
FROM raw.scans
WHERE health_code IN ('红码', '黄码') AND {where}"""
# raw.place_days' rows: each place code's first and last scan per day, of the scans matching `where`.
_PLACE_DAYS = """
SELECT place_code, CAST(scanned_at AS DATE) AS day, min(scanned_at) AS first_scanned_at, max(scanned_at) AS last_scanned_at
FROM raw.scans
WHERE {where}
GROUP BY place_code, day"""
# raw.flagged_staff's rows: the roster entries of the people in the flagged tests and scans.
_FLAGGED_STAFF = """
SELECT credit_code, person_key, id_masked, name, job_type
FROM raw.employees
WHERE person_key IN (SELECT person_key FROM {tests} UNION SELECT person_key FROM {scans})"""
# Each of these rollups recomputed from the feeds (rebuild, the reference the tests compare with).
FLAGGED_SQL = {"flagged_tests": _FLAGGED_TESTS.format(people="true", where="true"),
               "flagged_scans": _FLAGGED_SCANS.format(where="true"),
               "place_days": _PLACE_DAYS.format(where="true")}
FLAGGED_SQL["flagged_staff"] = _FLAGGED_STAFF.format(tests=f"({FLAGGED_SQL['flagged_tests']})",
                                                     scans=f"({FLAGGED_SQL['flagged_scans']})")
# The same rows, read from the flagged rollups already up to date (rebuild_flagged builds them first).
_FROM_ROLLUPS = {"flagged_staff": _FLAGGED_STAFF.format(tests="raw.flagged_tests", scans="raw.flagged_scans")}


def flagged_from_feeds() -> dict[str, str]:
    """For a reader without the flagged rollups (a database loaded before them) or recomputing: each
    one's staging view (sql/staging/stg_<table>.sql) over its recomputation instead of its table."""
    from . import db

    out = {}
    for table, sql in FLAGGED_SQL.items():
        view = db.read_sql(f"staging/stg_{table}.sql")
        out[f"stg_{table}"] = view.replace(f"FROM raw.{table}", f"FROM ({sql})")
    return out


# raw.staff_classes from the roster, each class keeping its id. A new class is numbered after the
# last one in its county's block of ids (county 41xxyy: [xxyy << 17, (xxyy + 1) << 17)), so a county's
# classes keep a narrow range and a county-scoped scan of raw.staff_spans (kept in class order within
# each day, see _STAFF_SPANS) skips the other counties' row groups.
CLASS_BLOCK_BITS = 17
_CLASSES = f"""
CREATE OR REPLACE TEMP TABLE classes_now AS
WITH now AS (
    SELECT e.credit_code, e.is_mobile_job AS is_mobile, count(*) AS count_employees,
           coalesce(try_cast(right(any_value(r.county_code), 4) AS INTEGER), 0) AS block
    FROM stg_employees AS e LEFT JOIN raw.enterprises AS r ON r.credit_code = e.credit_code
    GROUP BY e.credit_code, e.is_mobile_job
),
used AS (
    SELECT class_id >> {CLASS_BLOCK_BITS} AS block, max(class_id) AS top FROM raw.staff_classes GROUP BY 1
),
numbered AS (
    SELECT n.*, c.class_id AS kept_id,
           coalesce(u.top, n.block << {CLASS_BLOCK_BITS})
           + row_number() OVER (PARTITION BY n.block, c.class_id IS NULL ORDER BY n.credit_code, n.is_mobile) AS next_id
    FROM now AS n
    LEFT JOIN raw.staff_classes AS c USING (credit_code, is_mobile)
    LEFT JOIN used AS u ON u.block = n.block
)
SELECT CAST(coalesce(kept_id, CASE WHEN next_id < (block + 1) << {CLASS_BLOCK_BITS} THEN next_id
                              ELSE error('more than 131071 staff classes in county block ' || block) END)
            AS INTEGER) AS class_id,
       credit_code, is_mobile, count_employees
FROM numbered;
DELETE FROM raw.staff_classes;
INSERT INTO raw.staff_classes SELECT * FROM classes_now;
"""
# raw.staff_spans' rows for the spans in `table` (raw.test_spans, or the ones just recomputed) that
# match `where`, in the table's order: by the day the span ends (the latest last), then by class.
_STAFF_SPANS = """
INSERT INTO raw.staff_spans
SELECT c.class_id, s.person_key, s.sampled_at, s.next_sampled_at
FROM {table} AS s
JOIN stg_employees AS e ON e.person_key = s.person_key
JOIN raw.staff_classes AS c ON c.credit_code = e.credit_code AND c.is_mobile = e.is_mobile_job
WHERE {where}
ORDER BY date_trunc('day', s.next_sampled_at) NULLS LAST, c.class_id"""

# The spans of the samples in raw.tests that match `where` (a condition on t), from scratch; `plus`
# adds (person_key, sampled_at, result, tube) rows already resolved, at times none of those samples have.
_SPANS = """
SELECT person_key, sampled_at, result, tube,
       lead(sampled_at) OVER (PARTITION BY person_key ORDER BY sampled_at) AS next_sampled_at
FROM (
    (SELECT t.person_key, t.sampled_at, t.result, t.tube FROM raw.tests AS t {join} WHERE {where}
     QUALIFY row_number() OVER (PARTITION BY t.person_key, t.sampled_at
                                ORDER BY t.result = '阳性' DESC, t.sample_id DESC) = 1)
    {plus}
)"""


def spans_sql(where: str = "true", join: str = "", plus: str = "") -> str:
    """SELECT of the spans over raw.tests (also the reference the tests compare the rollup with)."""
    return _SPANS.format(where=where, join=join, plus=f"UNION ALL {plus}" if plus else "")


def rebuild_test_spans(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute raw.test_spans from raw.tests (a new rollup on an existing database)."""
    con.execute("DELETE FROM raw.test_spans")
    con.execute(f"INSERT INTO raw.test_spans {spans_sql()}")


def rebuild_staff(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute raw.staff_classes and raw.staff_spans from the roster and raw.test_spans (needs the views)."""
    con.execute("DELETE FROM raw.staff_spans; DELETE FROM raw.staff_classes")
    con.execute(_CLASSES)
    con.execute(_STAFF_SPANS.format(table="raw.test_spans", where="true"))


def rebuild_flagged(con: duckdb.DuckDBPyConnection, tables=tuple(FLAGGED_SQL)) -> None:
    """Recompute raw.flagged_tests, raw.flagged_scans, raw.place_days and raw.flagged_staff (or those
    of `tables`, in that order) from the feeds."""
    for table in tables:
        con.execute(f"DELETE FROM raw.{table}")
        con.execute(f"INSERT INTO raw.{table} {_FROM_ROLLUPS.get(table, FLAGGED_SQL[table])}")


def rebuild(con: duckdb.DuckDBPyConnection, s: Settings) -> None:
    """Recompute every rollup from the raw feeds (bench: the rollups as they stood before a day)."""
    from . import db

    db.create_rule_views(con, s)
    rebuild_test_spans(con)
    rebuild_flagged(con)
    rebuild_staff(con)
    con.execute("DELETE FROM raw.testing_days_range")
    start_tracking(con)
    update_testing_days(con, s)


def ensure(con: duckdb.DuckDBPyConnection, s: Settings) -> None:
    """Build the per-person rollups on a database loaded before they existed (their tables were just
    created empty). testing_days needs nothing here: update() finds its range missing."""
    from . import db

    [(no_spans, tested, no_classes, staffed)] = con.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM raw.test_spans), EXISTS (SELECT 1 FROM raw.tests), "
        "NOT EXISTS (SELECT 1 FROM raw.staff_classes), EXISTS (SELECT 1 FROM raw.employees)").fetchall()
    if no_spans and tested:
        rebuild_test_spans(con)
    if no_classes and staffed:
        db.create_rule_views(con, s)
        rebuild_staff(con)
    sources = {"flagged_tests": "tests", "flagged_scans": "scans", "place_days": "scans", "flagged_staff": "employees"}
    rebuild_flagged(con, [t for t, src in sources.items() if con.execute(
        f"SELECT NOT EXISTS (SELECT 1 FROM raw.{t}) AND EXISTS (SELECT 1 FROM raw.{src})").fetchone()[0]])


def start_tracking(con: duckdb.DuckDBPyConnection) -> None:
    """Begin a run: nothing changed yet."""
    con.execute(_TRACKING)


def track_rows(con: duckdb.DuckDBPyConnection, table: str, batch: str, columns: list[str]) -> None:
    """Before an upsert of temp table `batch` (`columns`) into raw.`table`: a registry or roster row
    that is new or differs changes its enterprise's counts on every day."""
    if table in ("enterprises", "employees"):
        cols = ", ".join(columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE changed_rows AS SELECT {cols} FROM {batch} "
                    f"EXCEPT SELECT {cols} FROM raw.{table} WHERE credit_code IN (SELECT credit_code FROM {batch})")
        con.execute("INSERT INTO changed_codes SELECT DISTINCT credit_code FROM changed_rows")
        if table == "employees":
            con.execute("INSERT INTO changed_entries SELECT credit_code, person_key FROM changed_rows")


def track_times(con: duckdb.DuckDBPyConnection, table: str, batch: str, since) -> None:
    """After an upsert of temp table `batch` into raw.`table` that inserted or changed rows, all of
    them at or after `since`: tests change their people's spans from `since` on, and tests and
    reports change every enterprise's counts from `since`'s date on."""
    if table == "tests":
        con.execute(f"INSERT INTO changed_people SELECT DISTINCT person_key, ? FROM {batch}", [since])
    if table == "scans":
        con.execute("INSERT INTO changed_scans VALUES (?)", [since])
    if table in ("tests", "production"):
        con.execute("INSERT INTO changed_days VALUES (CAST(CAST(? AS TIMESTAMP) AS DATE))", [since])


def update(con: duckdb.DuckDBPyConnection, s: Settings) -> None:
    """End a run: bring every rollup up to date with what was tracked."""
    from . import db

    db.create_rule_views(con, s)
    update_flagged(con)
    update_scans(con)
    # the roster entries of the flagged people: few, so recomputed whole (any roster change counts)
    rebuild_flagged(con, ["flagged_staff"])
    spans_changed = update_test_spans(con)
    update_staff(con, spans_changed)
    update_testing_days(con, s)


def update_staff(con: duckdb.DuckDBPyConnection, spans_changed: bool) -> None:
    """Bring raw.staff_classes and raw.staff_spans up to date: the spans update_test_spans just
    recomputed (`span_from`, `span_new`), then every span of a person on a roster entry that is new or changed
    (each enterprise's staff class rows of those people are replaced whole)."""
    [(entries,)] = con.execute("SELECT count(*) FROM changed_entries").fetchall()
    if entries:
        con.execute(_CLASSES)
    if spans_changed:
        # A span at or after start_at ends at or after it too (or is the latest): the table's zone
        # maps on next_sampled_at skip the spans that ended before the earliest start.
        con.execute("""DELETE FROM raw.staff_spans AS x USING span_from AS f
            WHERE x.person_key = f.person_key AND x.sampled_at >= f.start_at
              AND (x.next_sampled_at IS NULL OR x.next_sampled_at >= (SELECT min(start_at) FROM span_from))""")
        con.execute(_STAFF_SPANS.format(table="span_new", where="true"))
    if entries:
        entry = ("{s}person_key IN (SELECT person_key FROM changed_entries) AND {c}class_id IN "
                 "(SELECT class_id FROM raw.staff_classes WHERE credit_code IN (SELECT credit_code FROM changed_entries))")
        con.execute(f"DELETE FROM raw.staff_spans WHERE {entry.format(s='', c='')}")
        con.execute(_STAFF_SPANS.format(table="raw.test_spans", where=entry.format(s="s.", c="c.")))
    con.execute("DELETE FROM changed_entries")


def update_flagged(con: duckdb.DuckDBPyConnection) -> None:
    """Bring raw.flagged_tests up to date for the people with a changed test. Every test an upsert
    touched is at or after its batch's `since` (update_test_spans), so only their tests from the
    earliest `since` on are read again (a range the zone maps find): a new flagged result brings the
    person's tests from it on, a corrected one takes out those before the next flagged sample."""
    [(lo,)] = con.execute("SELECT min(since) FROM changed_people").fetchall()
    if lo is not None:
        # who may enter or leave: a changed person with a flagged test from `since` on, or already in
        con.execute("CREATE OR REPLACE TEMP TABLE flagged_touched AS "
                    f"SELECT person_key FROM raw.tests WHERE result IN {FLAGGED} AND sampled_at >= ? "
                    "AND person_key IN (SELECT person_key FROM changed_people) "
                    "UNION SELECT person_key FROM raw.flagged_tests "
                    "WHERE person_key IN (SELECT person_key FROM changed_people)", [lo])
        # Their rows from `since` on are replaced; earlier rows cannot change (an earlier first flagged
        # sample than `since` is untouched, so it stays the first).
        touched = "person_key IN (SELECT person_key FROM flagged_touched)"
        con.execute(f"DELETE FROM raw.flagged_tests WHERE {touched} AND sampled_at >= ?", [lo])
        con.execute("INSERT INTO raw.flagged_tests " + _FLAGGED_TESTS.format(
            people=touched, where=f"t.{touched} AND t.sampled_at >= ?"), [lo])


def update_scans(con: duckdb.DuckDBPyConnection) -> None:
    """Bring raw.flagged_scans and raw.place_days up to date: every scan an upsert touched is at or
    after its batch's `since`, so the flagged scans from the earliest one on, and the days from its
    date on, are replaced."""
    [(lo,)] = con.execute("SELECT min(since) FROM changed_scans").fetchall()
    if lo is not None:
        con.execute("DELETE FROM raw.flagged_scans WHERE scanned_at >= ?", [lo])
        con.execute("INSERT INTO raw.flagged_scans " + _FLAGGED_SCANS.format(where="scanned_at >= ?"), [lo])
        con.execute("DELETE FROM raw.place_days WHERE day >= CAST(? AS DATE)", [lo])
        con.execute("INSERT INTO raw.place_days " + _PLACE_DAYS.format(where="CAST(scanned_at AS DATE) >= CAST(? AS DATE)"), [lo])
        con.execute("DELETE FROM changed_scans")


def update_test_spans(con: duckdb.DuckDBPyConnection) -> bool:
    """Bring the spans of the people in changed_people up to date after tests at or after each
    one's `since` were inserted or changed.

    Every row a tests upsert touches has (had) sampled_at >= since (_merge matches within the batch's
    time range), so a person's spans up to the last sample before `since` cannot change: only the
    suffix from there is recomputed.
    """
    [(lo,)] = con.execute("SELECT min(since) FROM changed_people").fetchall()
    if lo is None:
        return False  # no tests changed
    # The suffix: spans whose next sample is at or after `since`, or that are the latest; and never
    # later than `since` (someone whose every earlier sample is later than the new ones).
    con.execute("""CREATE OR REPLACE TEMP TABLE span_from AS
        WITH p AS (SELECT person_key, min(since) AS since FROM changed_people GROUP BY person_key)
        SELECT p.person_key, any_value(p.since) AS since, least(min(s.sampled_at), any_value(p.since)) AS start_at
        FROM p
        LEFT JOIN raw.test_spans AS s
          ON s.person_key = p.person_key AND (s.next_sampled_at IS NULL OR s.next_sampled_at >= p.since)
        GROUP BY p.person_key""")
    # Its first span, before `since`, is kept as it is (no test at its time changed): only the tests
    # from `since` on are read again, a range the table's zone maps find without a full scan.
    con.execute("""CREATE OR REPLACE TEMP TABLE span_keep AS
        SELECT s.person_key, s.sampled_at, s.result, s.tube
        FROM raw.test_spans AS s JOIN span_from AS f
          ON s.person_key = f.person_key AND s.sampled_at >= f.start_at AND s.sampled_at < f.since""")
    con.execute("""DELETE FROM raw.test_spans AS s USING span_from AS f
        WHERE s.person_key = f.person_key AND s.sampled_at >= f.start_at""")
    con.execute("CREATE OR REPLACE TEMP TABLE span_new AS " + spans_sql(
        "t.sampled_at >= f.since AND t.sampled_at >= ?", "JOIN span_from AS f ON f.person_key = t.person_key",
        "SELECT * FROM span_keep"), [lo])
    con.execute("INSERT INTO raw.test_spans SELECT * FROM span_new")
    con.execute("DELETE FROM changed_people")
    return True


def _intervals(s: Settings) -> list[float | None]:
    return [float(s.intervals_hours[r]) if r in s.intervals_hours else None for r in INTERVAL_RULES]


def _insert_days(con, first: dt.date, last: dt.date, codes: list[str] | None = None) -> None:
    """testing_days' rows for [first, last], every day judged at 24:00 (as_of after the last)."""
    if first <= last and codes != []:
        con.execute("INSERT INTO raw.testing_days SELECT * FROM testing_days(?, ?, ?, NULL, NULL, NULL, ?, NULL, NULL)",
                    [first, last, last + dt.timedelta(days=1), codes])


def update_testing_days(con: duckdb.DuckDBPyConnection, s: Settings) -> None:
    """Bring raw.testing_days to the days from the first to the last sample's date: recompute the days
    on and after the earliest changed test or report (a sample or report counts from its date on),
    the days the range gained, and every day of an enterprise whose registry row or roster changed.
    Everything, when the range is new or the R1 intervals differ from those it was computed with.
    Needs the views (db.create_rule_views)."""
    [(first, last)] = con.execute("SELECT CAST(min(sampled_at) AS DATE), CAST(max(sampled_at) AS DATE) "
                                  "FROM raw.test_spans").fetchall()
    old = con.execute("SELECT first_day, last_day, normal_hours, mobile_hours, emergency_hours, closed_loop_hours "
                      "FROM raw.testing_days_range").fetchall()
    [(since,)] = con.execute("SELECT min(since) FROM changed_days").fetchall()
    codes = [c for c, in con.execute("SELECT DISTINCT credit_code FROM changed_codes ORDER BY 1").fetchall()]
    con.execute("DELETE FROM changed_days; DELETE FROM changed_codes")
    if first is None:
        con.execute("DELETE FROM raw.testing_days; DELETE FROM raw.testing_days_range")
        return
    day = dt.timedelta(days=1)
    if old and list(old[0][2:]) == _intervals(s):
        old_first, old_last = old[0][:2]
        if since is None and not codes and (old_first, old_last) == (first, last):
            return  # nothing this rollup reads changed
        # days recomputed whole: from the earliest change on, and those the range gained after
        redo_from = max(first, min(since or last + day, old_last + day))
    else:  # everything: as if the range were new
        old_first = redo_from = first
    gained_before = (first, min(last, old_first - day, redo_from - day))  # days the range gained before
    kept = (max(first, old_first), redo_from - day)                       # only changed enterprises redone
    con.execute("DELETE FROM raw.testing_days WHERE day < ? OR day > ? OR day >= ? OR day <= ?",
                [first, last, redo_from, gained_before[1]])
    if codes and kept[0] <= kept[1]:
        con.execute("DELETE FROM raw.testing_days WHERE day BETWEEN ? AND ? "
                    "AND credit_code IN (SELECT unnest(CAST(? AS VARCHAR[])))", [*kept, codes])
        _insert_days(con, *kept, codes)
    _insert_days(con, *gained_before)
    _insert_days(con, redo_from, last)
    con.execute("DELETE FROM raw.testing_days_range")
    con.execute("INSERT INTO raw.testing_days_range VALUES (?, ?, ?, ?, ?, ?)", [first, last, *_intervals(s)])
