"""Rollups kept up to date at ingest, so a page reads the rows it shows, not every sample ever taken.

`raw.test_spans` (sql/raw/tables.sql) holds each person's samples with the time of their next one.
Finding the last sample at or before as_of is then a filter on two columns instead of a
max/arg_max over all tests (about 24 M rows at province scale, 14 days). Ingest updates it inside
each tests file's transaction, so the rollup is never out of step with raw.tests; a killed load
rolls both back together.
"""
from __future__ import annotations

import duckdb

# The spans of the samples in raw.tests that match `where` (a condition on t), from scratch.
_SPANS = """
SELECT person_key, sampled_at, result, tube,
       lead(sampled_at) OVER (PARTITION BY person_key ORDER BY sampled_at) AS next_sampled_at
FROM (
    SELECT t.person_key, t.sampled_at, t.result, t.tube FROM raw.tests AS t {join} WHERE {where}
    QUALIFY row_number() OVER (PARTITION BY t.person_key, t.sampled_at
                               ORDER BY t.result = '阳性' DESC, t.sample_id DESC) = 1
)"""


def spans_sql(where: str = "true", join: str = "") -> str:
    """SELECT of the spans over raw.tests (also the reference the tests compare the rollup with)."""
    return _SPANS.format(where=where, join=join)


def rebuild_test_spans(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute raw.test_spans from raw.tests (a new rollup on an existing database; bench)."""
    con.execute("DELETE FROM raw.test_spans")
    con.execute(f"INSERT INTO raw.test_spans {spans_sql()}")


def ensure_test_spans(con: duckdb.DuckDBPyConnection) -> None:
    """Build the rollup on a database loaded before it existed (its table was just created empty)."""
    [(empty, tested)] = con.execute("SELECT NOT EXISTS (SELECT 1 FROM raw.test_spans), "
                                    "EXISTS (SELECT 1 FROM raw.tests)").fetchall()
    if empty and tested:
        rebuild_test_spans(con)


def update_test_spans(con: duckdb.DuckDBPyConnection, batch: str, since) -> None:
    """Bring the spans of the people in temp table `batch` (person_key) up to date after tests at or
    after `since` were inserted or changed for them.

    Every row a tests upsert touches has (had) sampled_at >= since (_merge matches within the batch's
    time range), so a person's spans up to the last sample before `since` cannot change: only the
    suffix from there is recomputed.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE span_people AS SELECT DISTINCT person_key FROM {batch}")
    # The suffix: spans whose next sample is at or after `since`, or that are the latest; and never
    # later than `since` (someone whose every earlier sample is later than the new ones).
    con.execute("""CREATE OR REPLACE TEMP TABLE span_from AS
        SELECT p.person_key, least(min(s.sampled_at), CAST($since AS TIMESTAMP)) AS start_at
        FROM span_people AS p
        LEFT JOIN raw.test_spans AS s
          ON s.person_key = p.person_key AND (s.next_sampled_at IS NULL OR s.next_sampled_at >= $since)
        GROUP BY p.person_key""", {"since": since})
    con.execute("""DELETE FROM raw.test_spans AS s USING span_from AS f
        WHERE s.person_key = f.person_key AND s.sampled_at >= f.start_at""")
    con.execute("INSERT INTO raw.test_spans " + spans_sql(
        "t.sampled_at >= f.start_at", "JOIN span_from AS f ON f.person_key = t.person_key"))
