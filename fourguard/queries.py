"""Connection in, DataFrame (or dict) out: the questions the pages and the CLI ask of the views.

Every function takes a DuckDB cursor and an `as_of` time; scope filters (county, city, sector,
enterprise) are optional and always bound parameters. The SQL itself lives in fourguard/sql; this
module only picks a model, filters it and rolls it up. Metric keys are described in docs/metrics.md.
"""
from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from .feeds import SECTORS

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Scope filter shared by every model: each macro exposes county_code, city_code and sector.
SCOPE = ("($county IS NULL OR county_code = $county) AND ($city IS NULL OR city_code = $city) "
         "AND ($sector IS NULL OR sector = $sector)")
GROUPINGS = {  # coverage(by=…) → the columns that name a group
    "county": ("county_code", "county_name", "city_code", "city_name"),
    "city": ("city_code", "city_name"),
    "sector": ("sector",),
    "enterprise": ("credit_code", "enterprise_name", "county_code", "county_name", "sector"),
}


def as_of_time(as_of) -> dt.datetime:
    """A naive Beijing-time datetime from a datetime, date or ISO string (aware times are converted)."""
    if isinstance(as_of, str):
        as_of = dt.datetime.fromisoformat(as_of)
    elif isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time())
    elif isinstance(as_of, pd.Timestamp):
        as_of = as_of.to_pydatetime()
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(LOCAL_TZ).replace(tzinfo=None)
    return as_of


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute with exactly the named parameters the text uses (DuckDB refuses extras)."""
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _params(as_of, county=None, city=None, sector=None, **extra) -> dict:
    return {"as_of": as_of_time(as_of), "county": county, "city": city, "sector": sector, **extra}


def _frame(con, sql: str, params: dict) -> pd.DataFrame:
    return _run(con, sql, params).df()


def _rate(num, den) -> float | None:
    """num/den rounded to 4 places; None when the denominator is missing or zero."""
    if den is None or num is None or den == 0 or (isinstance(den, float) and math.isnan(den)):
        return None
    return round(float(num) / float(den), 4)


def _int(value) -> int:
    return int(value or 0)


# ---------------------------------------------------------------- R1/R2 testing intervals

EMPLOYEE_COLUMNS = (
    "credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector, "
    "CAST(person_key AS VARCHAR) AS person_key, id_masked, person_name, job_type, county_state, "
    "is_closed_loop, interval_hours, interval_rule, last_sampled_at, last_result, "
    "round(hours_since_sample, 2) AS hours_since_sample, due_at, is_never_tested, "
    "is_within_interval, is_overdue")


def employee_status(con, as_of, county=None, city=None, sector=None, credit_code=None,
                    overdue_only: bool = False) -> pd.DataFrame:
    """One row per roster entry in scope: the interval that applies, the last sample, overdue or not."""
    sql = (f"SELECT {EMPLOYEE_COLUMNS} FROM employee_status($as_of) WHERE {SCOPE} "
           "AND ($credit_code IS NULL OR credit_code = $credit_code) "
           "AND (NOT $overdue_only OR is_overdue) "
           "ORDER BY is_overdue DESC, hours_since_sample DESC NULLS FIRST, credit_code, id_masked")
    return _frame(con, sql, _params(as_of, county, city, sector, credit_code=credit_code,
                                    overdue_only=overdue_only))


def overdue_employees(con, as_of, credit_code=None, county=None, city=None, sector=None) -> pd.DataFrame:
    """Roster entries past their interval (never tested first, then longest since a sample)."""
    return employee_status(con, as_of, county, city, sector, credit_code, overdue_only=True)


def enterprise_testing(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """One row per whitelisted enterprise in scope: roster size, within interval, overdue, rate."""
    sql = (f"SELECT * EXCLUDE (coverage_rate), round(coverage_rate, 4) AS coverage_rate "
           f"FROM enterprise_testing($as_of) WHERE {SCOPE} ORDER BY credit_code")
    return _frame(con, sql, _params(as_of, county, city, sector))


def enterprises_by_overdue(con, as_of, county=None, city=None, sector=None,
                           limit: int | None = None) -> pd.DataFrame:
    """Whitelisted enterprises ranked by overdue employees (most first), then by lowest coverage."""
    sql = (f"SELECT * EXCLUDE (coverage_rate), round(coverage_rate, 4) AS coverage_rate "
           f"FROM enterprise_testing($as_of) WHERE {SCOPE} AND count_overdue > 0 "
           "ORDER BY count_overdue DESC, coverage_rate ASC NULLS FIRST, credit_code LIMIT $limit")
    return _frame(con, sql, _params(as_of, county, city, sector, limit=limit if limit is not None else 2 ** 62))


def coverage(con, as_of, by: str = "county", county=None, city=None, sector=None) -> pd.DataFrame:
    """Testing coverage grouped by county, city, sector or enterprise: employees, within, overdue, rate."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    cols = ", ".join(GROUPINGS[by])  # identifiers from the table above, never from the caller
    sql = (f"SELECT {cols}, count(*) AS count_employees, "
           "count(*) FILTER (WHERE is_within_interval) AS count_within_interval, "
           "count(*) FILTER (WHERE is_overdue) AS count_overdue, "
           "count(*) FILTER (WHERE is_never_tested) AS count_never_tested, "
           "round(count(*) FILTER (WHERE is_within_interval) / count(*), 4) AS coverage_rate "
           f"FROM employee_status($as_of) WHERE {SCOPE} GROUP BY {cols} ORDER BY {cols}")
    return _frame(con, sql, _params(as_of, county, city, sector))


def overdue_by_county(con, as_of, county=None, city=None, sector=None) -> dict[str, int]:
    """{county_code: overdue employees} for every county in scope with whitelisted staff (zeros kept)."""
    df = coverage(con, as_of, "county", county, city, sector)
    return {row.county_code: int(row.count_overdue) for row in df.itertuples()}


# ---------------------------------------------------------------- R15 positives, R8 rechecks, R9 shutdowns

def positive_cases(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Positive single-tube samples of roster people in the lookback window, newest first."""
    sql = (f"SELECT * EXCLUDE (person_key), CAST(person_key AS VARCHAR) AS person_key "
           f"FROM positive_cases($as_of) WHERE {SCOPE} ORDER BY sampled_at DESC, credit_code")
    return _frame(con, sql, _params(as_of, county, city, sector))


def enterprise_positives(con, as_of, county=None, city=None, sector=None,
                         clusters_only: bool = False) -> pd.DataFrame:
    """Enterprises with positives in the lookback window; is_cluster marks R15 clusters."""
    sql = (f"SELECT * FROM enterprise_positives($as_of) WHERE {SCOPE} "
           "AND (NOT $clusters_only OR is_cluster) "
           "ORDER BY is_cluster DESC, count_positive_people DESC, credit_code")
    return _frame(con, sql, _params(as_of, county, city, sector, clusters_only=clusters_only))


def recheck_obligations(con, as_of, county=None, city=None, sector=None,
                        over_limit_only: bool = False) -> pd.DataFrame:
    """Single-tube rechecks owed after positive pool samples (R8), with their state at as_of."""
    sql = (f"SELECT * EXCLUDE (person_key), CAST(person_key AS VARCHAR) AS person_key "
           f"FROM recheck_obligations($as_of) WHERE {SCOPE} "
           "AND (NOT $over_limit_only OR is_over_limit) "
           "ORDER BY is_over_limit DESC, pool_result_at, credit_code, id_masked")
    return _frame(con, sql, _params(as_of, county, city, sector, over_limit_only=over_limit_only))


def shutdown_episodes(con, as_of, county=None, city=None, sector=None,
                      alerts_only: bool = False) -> pd.DataFrame:
    """Shutdown episodes of whitelisted enterprises (R9); is_alert marks breaches to act on."""
    sql = (f"SELECT * FROM shutdown_episodes($as_of) WHERE {SCOPE} AND (NOT $alerts_only OR is_alert) "
           "ORDER BY is_alert DESC, length_days DESC, credit_code, started_on")
    return _frame(con, sql, _params(as_of, county, city, sector, alerts_only=alerts_only))


# ---------------------------------------------------------------- R3/R4 place codes and scans

def place_coverage(con, as_of, county=None, city=None, sector=None, gaps_only: bool = False) -> pd.DataFrame:
    """Per whitelisted enterprise: places listed, coded, coverage and zone gaps (R3)."""
    sql = (f"SELECT * EXCLUDE (coverage_rate), round(coverage_rate, 4) AS coverage_rate "
           f"FROM place_coverage($as_of) WHERE {SCOPE} AND (NOT $gaps_only OR has_gap) "
           "ORDER BY has_gap DESC, coverage_rate ASC NULLS FIRST, credit_code")
    return _frame(con, sql, _params(as_of, county, city, sector, gaps_only=gaps_only))


def place_activity(con, as_of, county=None, city=None, sector=None, credit_code=None) -> pd.DataFrame:
    """Per coded place: scans and red/yellow scans in the 24 h before as_of, active or not."""
    sql = (f"SELECT * FROM place_activity($as_of) WHERE {SCOPE} "
           "AND ($credit_code IS NULL OR credit_code = $credit_code) "
           "ORDER BY credit_code, place_name")
    return _frame(con, sql, _params(as_of, county, city, sector, credit_code=credit_code))


def red_yellow_scans(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Red/yellow health-code scans at whitelisted enterprises in the 24 h before as_of (R4)."""
    sql = (f"SELECT * EXCLUDE (person_key), CAST(person_key AS VARCHAR) AS person_key "
           f"FROM red_yellow_scans($as_of) WHERE {SCOPE} ORDER BY scanned_at DESC, place_code")
    return _frame(con, sql, _params(as_of, county, city, sector))


def scan_compliance(con, as_of, county=None, city=None, sector=None, credit_code=None) -> pd.DataFrame:
    """Per enterprise-day in the lookback window: staff who scanned / staff on duty (应扫尽扫)."""
    sql = (f"SELECT * EXCLUDE (scan_rate), round(scan_rate, 4) AS scan_rate "
           f"FROM scan_compliance($as_of) WHERE {SCOPE} "
           "AND ($credit_code IS NULL OR credit_code = $credit_code) ORDER BY credit_code, report_date")
    return _frame(con, sql, _params(as_of, county, city, sector, credit_code=credit_code))


# ---------------------------------------------------------------- R6 output, R7 huts

def output_coverage_by_sector(con, as_of, county=None, city=None) -> pd.DataFrame:
    """Per sector in scope: whitelisted output / sector output over counties with a loaded total (R6)."""
    return pd.DataFrame(_sector_output_rows(con, as_of, county, city))


def _sector_output_rows(con, as_of, county=None, city=None) -> list[dict]:
    """Every sector (all six, then any other found), with None where no total is loaded."""
    sql = ("SELECT sector, sum(count_enterprises) AS count_enterprises, "
           "sum(listed_output_wan_yuan) AS listed_output_wan_yuan, "
           "sum(listed_output_wan_yuan) FILTER (WHERE sector_output_wan_yuan IS NOT NULL) "
           "  AS covered_output_wan_yuan, "
           "sum(sector_output_wan_yuan) AS sector_output_wan_yuan, "
           "count(*) FILTER (WHERE sector_output_wan_yuan IS NULL AND count_enterprises > 0) "
           "  AS count_counties_without_total "
           f"FROM output_coverage($as_of) WHERE {SCOPE} GROUP BY sector")
    found = _frame(con, sql, _params(as_of, county, city)).set_index("sector")
    target = con.execute("SELECT output_coverage_target FROM stg_settings").fetchone()[0]
    rows = []
    for sector in list(SECTORS) + [s for s in found.index if s not in SECTORS]:
        r = found.loc[sector] if sector in found.index else None
        den = None if r is None or pd.isna(r["sector_output_wan_yuan"]) else float(r["sector_output_wan_yuan"])
        num = 0.0 if r is None or pd.isna(r["covered_output_wan_yuan"]) else float(r["covered_output_wan_yuan"])
        share = _rate(num, den)
        rows.append({
            "sector": sector,
            "count_enterprises": 0 if r is None else int(r["count_enterprises"]),
            "listed_output_wan_yuan": 0.0 if r is None else float(r["listed_output_wan_yuan"]),
            "sector_output_wan_yuan": den,
            "output_share": share,
            "is_below_target": None if share is None else share < target,
            "count_counties_without_total": 0 if r is None else int(r["count_counties_without_total"]),
        })
    return rows


def output_coverage(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Per county and sector: whitelisted output, sector output, share, below target (R6)."""
    sql = (f"SELECT * EXCLUDE (output_share), round(output_share, 4) AS output_share "
           f"FROM output_coverage($as_of) WHERE {SCOPE} ORDER BY county_code, sector")
    return _frame(con, sql, _params(as_of, county, city, sector))


def sampling_huts(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Whitelisted enterprises with headcount >= hut_headcount and whether they own a hut (R7)."""
    sql = (f"SELECT * FROM sampling_huts($as_of) WHERE {SCOPE} "
           "ORDER BY has_sampling_hut, headcount DESC, credit_code")
    return _frame(con, sql, _params(as_of, county, city, sector))


# ---------------------------------------------------------------- R11 issues

def issue_status(con, as_of, county=None, city=None, sector=None, credit_code=None,
                 open_only: bool = False, overdue_only: bool = False) -> pd.DataFrame:
    """Issues reported by as_of with their state, deadline, overdue and on-time flags at as_of."""
    sql = (f"SELECT * EXCLUDE (overdue_hours), round(overdue_hours, 1) AS overdue_hours "
           f"FROM issue_status($as_of) WHERE {SCOPE} "
           "AND ($credit_code IS NULL OR credit_code = $credit_code) "
           "AND (NOT $open_only OR is_open) AND (NOT $overdue_only OR is_overdue) "
           "ORDER BY is_overdue DESC, is_open DESC, deadline_at, issue_id")
    return _frame(con, sql, _params(as_of, county, city, sector, credit_code=credit_code,
                                    open_only=open_only, overdue_only=overdue_only))


def issue_summary(con, as_of, county=None, city=None, sector=None) -> dict:
    """{total, open, closed, closure_rate, overdue, on_time_rate} of issues in scope at as_of."""
    sql = ("SELECT count(*), count(*) FILTER (WHERE is_open), count(*) FILTER (WHERE is_closed), "
           "count(*) FILTER (WHERE is_overdue), count(*) FILTER (WHERE is_on_time) "
           f"FROM issue_status($as_of) WHERE {SCOPE}")
    total, n_open, closed, overdue, on_time = _run(con, sql, _params(as_of, county, city, sector)).fetchone()
    return {"total": total, "open": n_open, "closed": closed, "closure_rate": _rate(closed, total),
            "overdue": overdue, "on_time_rate": _rate(on_time, closed)}


# ---------------------------------------------------------------- the one-screen summary

def quarantined_rows(con) -> int:
    """Rows held in quarantine and not yet resolved, across the whole database."""
    return con.execute("SELECT count(*) FROM raw.quarantine WHERE resolved_at IS NULL").fetchone()[0]


def place_code_summary(con, as_of, county=None, city=None, sector=None) -> dict:
    """{listed, registered, coverage_rate, active_24h, red_yellow_scans_24h, enterprises_with_gap}."""
    p = _params(as_of, county, city, sector)
    listed, registered, gaps = _run(con, "SELECT coalesce(sum(count_places), 0), coalesce(sum(count_coded), 0), "
                                         f"count(*) FILTER (WHERE has_gap) FROM place_coverage($as_of) WHERE {SCOPE}",
                                    p).fetchone()
    active, red_yellow = _run(con, "SELECT count(*) FILTER (WHERE is_active), coalesce(sum(count_red_yellow_24h), 0) "
                                   f"FROM place_activity($as_of) WHERE {SCOPE}", p).fetchone()
    return {"listed": _int(listed), "registered": _int(registered), "coverage_rate": _rate(registered, listed),
            "active_24h": _int(active), "red_yellow_scans_24h": _int(red_yellow),
            "enterprises_with_gap": _int(gaps)}


def metrics(con, as_of: dt.datetime, county: str | None = None, city: str | None = None,
            sector: str | None = None) -> dict:
    """The one-screen summary at as_of for the province, a city or a county (keys: docs/metrics.md)."""
    t = as_of_time(as_of)
    p = _params(t, county, city, sector)
    enterprises = _run(con, f"SELECT count(*) FROM whitelist($as_of) WHERE {SCOPE}", p).fetchone()[0]
    by_county = coverage(con, t, "county", county, city, sector)
    employees = int(by_county["count_employees"].sum())
    tested = int(by_county["count_within_interval"].sum())
    positives, = _run(con, f"SELECT count(DISTINCT person_key) FROM positive_cases($as_of) WHERE {SCOPE}",
                      p).fetchone()
    clusters, = _run(con, f"SELECT count(*) FROM enterprise_positives($as_of) WHERE {SCOPE} AND is_cluster",
                     p).fetchone()
    rechecks, = _run(con, "SELECT count(DISTINCT (person_key, pool_sample_id)) "
                          f"FROM recheck_obligations($as_of) WHERE {SCOPE} AND is_over_limit", p).fetchone()
    shutdowns, = _run(con, "SELECT count(DISTINCT credit_code) "
                           f"FROM shutdown_episodes($as_of) WHERE {SCOPE} AND is_alert", p).fetchone()
    huts_required, huts_with = _run(con, "SELECT count(*), count(*) FILTER (WHERE has_sampling_hut) "
                                         f"FROM sampling_huts($as_of) WHERE {SCOPE}", p).fetchone()
    output = [r for r in _sector_output_rows(con, t, county, city) if sector in (None, r["sector"])]
    return {
        "as_of": t.isoformat(timespec="seconds"),
        "scope": {"county": county, "city": city, **({"sector": sector} if sector else {})},
        "enterprises": enterprises,
        "employees": employees,
        "tested_in_interval": tested,
        "coverage_rate": _rate(tested, employees),
        "overdue_employees": int(by_county["count_overdue"].sum()),
        "overdue_by_county": {row.county_code: int(row.count_overdue) for row in by_county.itertuples()},
        "quarantined_rows": quarantined_rows(con),
        "positives": positives,
        "clusters": clusters,
        "recheck_over_6h": rechecks,
        "shutdown_over_3d": shutdowns,
        "place_codes": place_code_summary(con, t, county, city, sector),
        "output_coverage_by_sector": {r["sector"]: r["output_share"] for r in output},
        "sampling_huts": {"required": huts_required, "with_hut": huts_with},
        "issues": issue_summary(con, t, county, city, sector),
    }


def areas(con) -> pd.DataFrame:
    """Cities and counties that have whitelist enterprises, in code order (for the filter bar)."""
    return con.execute(
        "SELECT DISTINCT e.city_code, e.city_name, e.county_code, e.county_name "
        "FROM stg_enterprises AS e ORDER BY e.city_code, e.county_code").df()
