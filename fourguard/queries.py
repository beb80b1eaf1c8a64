"""Connection in, DataFrame (or dict) out: the questions the pages and the CLI ask of the views.

Every function takes a DuckDB cursor and an `as_of` time; scope filters (county, city, sector,
enterprise) are optional and always bound parameters. The SQL itself lives in fourguard/sql; this
module only picks a model, filters it and rolls it up. Metric keys are described in docs/metrics.md.
"""
from __future__ import annotations

import datetime as dt
import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa

from . import db
from .feeds import SECTORS

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# _frame takes Arrow from an execute() result; DuckDB warns that this copies the rows once, which
# costs far less than .df() building a Python str per value.
warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)

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
    """Execute with exactly the named parameters the text uses (DuckDB refuses extras), reading the
    reader's kept tables directly when as_of is the time they hold (db.kept_sql)."""
    kept = db.kept_sql(sql, params.get("as_of"))
    if kept is not None:
        try:
            return con.execute(kept, {k: v for k, v in params.items() if f"${k}" in kept})
        except duckdb.CatalogException:  # not kept at that time: computed
            pass
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def gather(con, *jobs) -> list:
    """Run independent `job(cursor)` calls side by side, each on its own cursor of con's database,
    and return their results in order (the first failure is raised). DuckDB releases the GIL while
    a query runs, so a page's separate models share the machine's cores instead of queuing."""
    if len(jobs) < 2:
        return [job(con) for job in jobs]
    cursors = [con.cursor() for _ in jobs]
    try:
        with ThreadPoolExecutor(len(jobs), thread_name_prefix="fourguard-gather") as pool:
            return list(pool.map(lambda job, cur: job(cur), jobs, cursors))
    finally:
        for cur in cursors:
            cur.close()


def _params(as_of, county=None, city=None, sector=None, **extra) -> dict:
    return {"as_of": as_of_time(as_of), "county": county, "city": city, "sector": sector, **extra}


def _frame(con, sql: str, params: dict) -> pd.DataFrame:
    """The query's rows as a DataFrame with the dtypes DuckDB's .df() gives, 3–5× faster for text:
    .df() builds a Python str per value, Arrow hands pandas its string buffers as they are."""
    return arrow_frame(con, _run(con, sql, params).to_arrow_table())


def arrow_frame(con, table: pa.Table) -> pd.DataFrame:
    """An Arrow table as DuckDB's .df() would give it: integers and booleans as NumPy columns, or
    pandas' nullable ones when a value is missing; dates and timestamps as datetime64[us]; decimals
    as float64. Other types (lists, intervals…) go through DuckDB's own conversion."""
    if len(set(table.column_names)) < table.num_columns or not table.num_rows:  # .df()'s own quirks
        return con.from_arrow(table).df()
    columns = {}
    for name, col in zip(table.column_names, table.columns):
        kind = col.type
        if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and 0 < len(col) == col.null_count:
            columns[name] = pd.Series([None] * len(col), dtype=object)  # .df() cannot infer text from no value
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_floating(kind):
            columns[name] = col.to_pandas()
        elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
            nullable = pd.BooleanDtype() if pa.types.is_boolean(kind) else pd.api.types.pandas_dtype(
                str(kind).replace("u", "U").replace("int", "Int"))
            columns[name] = col.to_pandas(types_mapper={kind: nullable}.get) if col.null_count else col.to_numpy()
        elif (pa.types.is_timestamp(kind) and kind.tz is None) or pa.types.is_date(kind):
            columns[name] = col.cast(pa.timestamp("us")).to_pandas()
        elif pa.types.is_decimal(kind):
            columns[name] = col.cast(pa.float64()).to_pandas()
        else:
            columns[name] = con.from_arrow(pa.table({"c": col})).df()["c"]
    return pd.DataFrame(columns, columns=table.column_names)


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


# R1/R2 counts of a group of staff classes (staff_testing rows), as employee_status would count its rows
_STAFF_SUMS = ("CAST(sum(count_employees) AS BIGINT) AS count_employees, "
               "CAST(sum(count_within_interval) AS BIGINT) AS count_within_interval, "
               "CAST(sum(count_overdue) AS BIGINT) AS count_overdue, "
               "CAST(sum(count_never_tested) AS BIGINT) AS count_never_tested, "
               "round(sum(count_within_interval) / sum(count_employees), 4) AS coverage_rate")


def coverage(con, as_of, by: str = "county", county=None, city=None, sector=None) -> pd.DataFrame:
    """Testing coverage grouped by county, city, sector or enterprise: employees, within, overdue, rate."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    cols = ", ".join(GROUPINGS[by])  # identifiers from the table above, never from the caller
    sql = (f"SELECT {cols}, {_STAFF_SUMS} "
           f"FROM staff_testing($as_of) WHERE {SCOPE} GROUP BY {cols} ORDER BY {cols}")
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
    return {"listed": _int(listed), "registered": _int(registered), "coverage_rate": _rate(registered, listed),
            **place_activity_figures(con, as_of, county, city, sector), "enterprises_with_gap": _int(gaps)}


def place_activity_figures(con, as_of, county=None, city=None, sector=None) -> dict:
    """{active_24h, red_yellow_scans_24h}: coded places scanned in the last 24 h, and 红/黄码 scans there."""
    active, = _run(con, f"SELECT count(*) FILTER (WHERE is_active) FROM place_status($as_of) WHERE {SCOPE} AND has_code",
                   _params(as_of, county, city, sector)).fetchone()
    return {"active_24h": _int(active), "red_yellow_scans_24h": red_yellow_count(con, as_of, county, city, sector)}


def red_yellow_count(con, as_of, county=None, city=None, sector=None) -> int:
    """红/黄码 scans in the last 24 h at coded places of whitelisted enterprises (R4, red_yellow_scans)."""
    n, = _run(con, f"SELECT count(*) FROM red_yellow_scans($as_of) WHERE {SCOPE}",
              _params(as_of, county, city, sector)).fetchone()
    return _int(n)


def testing_figures(con, as_of, county=None, city=None, sector=None) -> dict:
    """metrics()' whitelist and R1/R2 figures: enterprises, employees, within interval, rate, overdue."""
    p = _params(as_of, county, city, sector)
    enterprises = _run(con, f"SELECT count(*) FROM whitelist($as_of) WHERE {SCOPE}", p).fetchone()[0]
    by_county = coverage(con, as_of, "county", county, city, sector)
    return {
        "enterprises": enterprises,
        **_testing_totals(by_county),
        "overdue_by_county": {row.county_code: int(row.count_overdue) for row in by_county.itertuples()},
    }


def _testing_totals(counties: pd.DataFrame) -> dict:
    """{employees, tested_in_interval, coverage_rate, overdue_employees} over per-county coverage rows."""
    employees, tested = int(counties["count_employees"].sum()), int(counties["count_within_interval"].sum())
    return {"employees": employees, "tested_in_interval": tested, "coverage_rate": _rate(tested, employees),
            "overdue_employees": int(counties["count_overdue"].sum())}


def positive_figures(con, as_of, county=None, city=None, sector=None) -> dict:
    """metrics()' R15 figures: people with a positive single tube, and clusters."""
    p = _params(as_of, county, city, sector)
    positives, = _run(con, f"SELECT count(DISTINCT person_key) FROM positive_cases($as_of) WHERE {SCOPE}",
                      p).fetchone()
    clusters, = _run(con, f"SELECT count(*) FROM enterprise_positives($as_of) WHERE {SCOPE} AND is_cluster",
                     p).fetchone()
    return {"positives": positives, "clusters": clusters}


def metrics(con, as_of: dt.datetime, county: str | None = None, city: str | None = None,
            sector: str | None = None) -> dict:
    """The one-screen summary at as_of for the province, a city or a county (keys: docs/metrics.md)."""
    t = as_of_time(as_of)
    p = _params(t, county, city, sector)

    def counts(con) -> tuple:
        rechecks, = _run(con, "SELECT count(DISTINCT (person_key, pool_sample_id)) "
                              f"FROM recheck_obligations($as_of) WHERE {SCOPE} AND is_over_limit", p).fetchone()
        shutdowns, = _run(con, "SELECT count(DISTINCT credit_code) "
                               f"FROM shutdown_episodes($as_of) WHERE {SCOPE} AND is_alert", p).fetchone()
        huts = _run(con, "SELECT count(*), count(*) FILTER (WHERE has_sampling_hut) "
                         f"FROM sampling_huts($as_of) WHERE {SCOPE}", p).fetchone()
        output = [r for r in _sector_output_rows(con, t, county, city) if sector in (None, r["sector"])]
        return rechecks, shutdowns, huts, output, positive_figures(con, t, county, city, sector), quarantined_rows(con)

    testing, places, issues, (rechecks, shutdowns, (huts_required, huts_with), output, positives, quarantined) = gather(
        con, lambda c: testing_figures(c, t, county, city, sector),
        lambda c: place_code_summary(c, t, county, city, sector),
        lambda c: _issue_figures(c, t, county, city, sector), counts)
    return {
        "as_of": t.isoformat(timespec="seconds"),
        "scope": {"county": county, "city": city, **({"sector": sector} if sector else {})},
        **testing,
        "quarantined_rows": quarantined,
        **positives,
        "recheck_over_6h": rechecks,
        "shutdown_over_3d": shutdowns,
        "place_codes": places,
        "output_coverage_by_sector": {r["sector"]: r["output_share"] for r in output},
        "sampling_huts": {"required": huts_required, "with_hut": huts_with},
        "issues": issues,
    }


def _issue_figures(con, t, county, city, sector) -> dict:
    """The 问题办结 page's figures: rates, medians, satisfaction, and open issues by age."""
    from . import closure  # closure builds on this module

    ages = closure.backlog_by_age(con, t, county, city, sector)
    return {**closure.closure_summary(con, t, county, city, sector),
            "backlog_by_age": dict(zip(ages.age_bucket, ages.count_open.astype(int).tolist()))}


def areas(con) -> pd.DataFrame:
    """Cities and counties that have whitelist enterprises, in code order (for the filter bar)."""
    return con.execute(
        "SELECT DISTINCT e.city_code, e.city_name, e.county_code, e.county_name "
        "FROM stg_enterprises AS e ORDER BY e.city_code, e.county_code").df()


def county_cities(con) -> dict[str, str]:
    """Every county-level division's code → its city's code (all of them, not only those with enterprises)."""
    return dict(con.execute("SELECT code, city_code FROM regions WHERE level = 'county'").fetchall())


def enterprise_area(con, code: str) -> tuple[str | None, str | None]:
    """(county_code, city_code) of an enterprise, (None, None) when unknown."""
    row = con.execute("SELECT county_code, city_code FROM stg_enterprises WHERE credit_code = ?", [code]).fetchone()
    return tuple(row) if row else (None, None)


# ---- risk map

def risk_map(con, as_of, county=None, city=None, sector=None) -> dict[str, pd.DataFrame]:
    """Scored risk of the enterprises and counties in scope: {"enterprises": …, "counties": …} (docs/risk.md)."""
    from . import risk

    p = _params(as_of, county, city, sector)
    enterprises, counties = gather(
        con, lambda c: _frame(c, f"SELECT * FROM enterprise_risk($as_of) WHERE {SCOPE} "
                                 "ORDER BY county_code, credit_code", p),
        lambda c: _frame(c, "SELECT * FROM county_risk($as_of, $sector) WHERE ($county IS NULL OR county_code = $county) "
                            "AND ($city IS NULL OR city_code = $city) ORDER BY county_code", p))
    return {"enterprises": risk.score(enterprises), "counties": risk.score(risk.county_facts(enterprises, counties))}


# ---- coverage / overdue / production pages

# interval_rule_code → who the rule is for (as users read it), in the order the counts are shown
INTERVAL_RULES = {"normal": "常态", "mobile": "流动接触岗位", "emergency": "县区应急状态", "closed_loop": "闭环生产"}
UNREPORTED = "未上报"  # a whitelisted enterprise-day without a production report


def rule_settings(con) -> dict:
    """The rule settings (intervals, limits, targets) as one dict of plain values."""
    row = con.execute("SELECT * FROM stg_settings").df().iloc[0]
    return {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def interval_text(rule_code: str, hours: float | None) -> str:
    """每日 for the daily rules (应急, 闭环) at 24 h, else '48小时' (hours as configured)."""
    if hours is None or pd.isna(hours):
        return "—"
    if rule_code in ("emergency", "closed_loop") and hours == 24:
        return "每日"
    return f"{hours:g}小时"


def coverage_by_level(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Testing coverage by city, by county and by sector in one pass (level, code, name, counts, rate)."""
    sql = ("SELECT CASE WHEN GROUPING(county_code) = 0 THEN 'county' "
           "            WHEN GROUPING(city_code) = 0 THEN 'city' ELSE 'sector' END AS level, "
           "coalesce(county_code, city_code, sector) AS code, "
           "coalesce(county_name, city_name, sector) AS name, "
           f"{_STAFF_SUMS} FROM staff_testing($as_of) WHERE {SCOPE} "
           "GROUP BY GROUPING SETS ((city_code, city_name), (county_code, county_name), (sector)) "
           "ORDER BY level, code")
    return _frame(con, sql, _params(as_of, county, city, sector))


def coverage_overview(con, as_of, county=None, city=None, sector=None) -> dict:
    """The coverage page's figures at as_of, computed as metrics() computes them (same keys): testing
    coverage and its breakdown by level, place codes, output coverage per sector, sampling huts."""
    levels, output, huts, places = gather(
        con, lambda c: coverage_by_level(c, as_of, county, city, sector),
        lambda c: output_coverage_by_sector(c, as_of, county, city),
        lambda c: sampling_huts(c, as_of, county, city, sector),
        lambda c: place_code_summary(c, as_of, county, city, sector))
    return {
        "levels": levels,
        **_testing_totals(levels[levels["level"] == "county"]),
        "place_codes": places,
        "output": output[output["sector"] == sector] if sector else output,
        "output_target": rule_settings(con)["output_coverage_target"],
        "huts": huts,
        "sampling_huts": {"required": len(huts), "with_hut": int(huts["has_sampling_hut"].sum())},
    }


def _day_segments(con, start: dt.date, end: dt.date, as_of: dt.datetime):
    """[start, end] up to as_of's date, split into the days the rollup holds (rolled) and the ranges
    testing_days computes here (as_of's own date, judged at as_of, and any day outside the rollup)."""
    end = min(end, as_of.date())
    if start > end:
        return None, []
    day = dt.timedelta(days=1)
    for first, last in con.execute("SELECT first_day, last_day FROM stg_testing_days_range").fetchall():
        lo, hi = max(start, first), min(end, last, as_of.date() - day)
        if lo <= hi:
            return (lo, hi), [(a, b) for a, b in ((start, lo - day), (hi + day, end)) if a <= b]
    return None, [(start, end)]


# Enterprise-day R1/R2 counts for [$start, $end]: the rollup's days plus those computed here, each
# judged by its county's state at check_at (feed and app switches, read now: they change any time).
_TESTING_DAILY = """
WITH days AS ({parts}),
states AS (
    SELECT c.check_at, s.county_code, arg_max(s.is_emergency, s.state_seq) AS is_emergency
    FROM (SELECT DISTINCT check_at FROM days) AS c
    JOIN stg_county_states AS s ON s.since <= c.check_at
    GROUP BY c.check_at, s.county_code
)
SELECT d.day, d.check_at, d.credit_code, d.county_code, d.city_code, d.sector,
       coalesce(s.is_emergency, false) AS is_emergency, d.is_closed_loop, d.count_employees,
       CASE WHEN s.is_emergency THEN d.count_within_emergency ELSE d.count_within_base END AS count_within_interval,
       d.count_employees - count_within_interval AS count_overdue
FROM days AS d
LEFT JOIN states AS s ON s.check_at = d.check_at AND s.county_code = d.county_code"""


def testing_daily_sql(con, start: dt.date, end: dt.date, as_of, county=None, city=None, sector=None,
                      codes: list[str] | None = None) -> tuple[str, dict]:
    """SQL and its parameters (all but $as_of) of one row per enterprise in scope (and in `codes`, if
    given) on the whitelist, per day of [start, end] up to as_of's date: day, check_at, credit_code,
    county_code, city_code, sector, is_emergency, is_closed_loop, count_employees, count_within_interval,
    count_overdue (R1/R2 at check_at: 24:00 for a day before as_of's date, as_of on its date)."""
    rolled, live = _day_segments(con, start, end, as_of_time(as_of))
    scope = {"county": county, "city": city, "sector": sector, "codes": codes}
    params, parts = dict(scope), []
    in_scope = f"{SCOPE} AND ($codes IS NULL OR credit_code IN (SELECT unnest(CAST($codes AS VARCHAR[]))))"
    if rolled:
        parts.append(f"SELECT * FROM stg_testing_days WHERE day BETWEEN $rolled_from AND $rolled_to AND {in_scope}")
        params |= {"rolled_from": rolled[0], "rolled_to": rolled[1]}
    if live:  # the scope's staff class ids, for testing_days to skip other counties' spans
        params["class_from"], params["class_to"] = _run(
            con, "SELECT min(c.class_id), max(c.class_id) FROM stg_staff_classes AS c "
                 f"JOIN stg_enterprises AS e USING (credit_code) WHERE {in_scope}",
            scope).fetchone() if any(v is not None for v in scope.values()) else (None, None)
    for i, (a, b) in enumerate(live):
        if a == b == as_of_time(as_of).date():  # the trend's own day, which a reader keeps (db.kept_sql)
            parts.append(f"SELECT * FROM {db.TREND_DAY}")
            continue
        parts.append(f"SELECT * FROM testing_days($live_from{i}, $live_to{i}, $as_of, $county, $city, $sector, $codes, "
                     "$class_from, $class_to)")
        params |= {f"live_from{i}": a, f"live_to{i}": b}
    if not parts:
        parts.append("SELECT * FROM stg_testing_days WHERE false")
    return _TESTING_DAILY.format(parts=" UNION ALL ".join(parts)), params


def coverage_trend(con, start, end, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Testing coverage on each day of [start, end] up to as_of: a day before as_of's date as at its
    24:00, as_of's date at as_of (R1/R2 with the rules of that moment); is_partial_history marks days
    whose look-back reaches before the first loaded sample."""
    daily, extra = testing_daily_sql(con, start, end, as_of, county, city, sector)
    sql = ("SELECT day, any_value(check_at) AS check_at, sum(count_employees) AS count_employees, "
           "sum(count_within_interval) AS count_within_interval, sum(count_overdue) AS count_overdue, "
           "round(sum(count_within_interval) / nullif(sum(count_employees), 0), 4) AS coverage_rate "
           f"FROM ({daily}) GROUP BY day ORDER BY day")
    df = _frame(con, sql, {"as_of": as_of_time(as_of), **extra})
    df = df.astype({"count_employees": "int64", "count_within_interval": "int64", "count_overdue": "int64"})
    # A day whose longest look-back (常态 interval) starts before the first loaded sample reads low.
    first, normal = con.execute("SELECT (SELECT min(sampled_at) FROM stg_tests), normal_interval_hours "
                                "FROM stg_settings").fetchone()
    df["is_partial_history"] = (first is None) | (df["check_at"] - pd.Timedelta(hours=normal or 0) < first)
    return df


def place_codes_by_kind(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Per place kind: places listed, coded, coverage, codes scanned in the last 24 h (R3)."""
    sql = ("SELECT kind, any_value(required_zone) AS required_zone, count(*) AS count_places, "
           "count(*) FILTER (WHERE has_code) AS count_coded, "
           "round(count(*) FILTER (WHERE has_code) / count(*), 4) AS coverage_rate, "
           "count(*) FILTER (WHERE is_active) AS count_active_24h, "
           "round(count(*) FILTER (WHERE is_active) / nullif(count(*) FILTER (WHERE has_code), 0), 4) "
           "  AS active_rate "
           f"FROM place_status($as_of) WHERE {SCOPE} GROUP BY kind "
           "ORDER BY required_zone NULLS LAST, count_places DESC")
    return _frame(con, sql, _params(as_of, county, city, sector))


def place_zone_requirements(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Per R3 zone (出入口, 生产区/车间, 生活区): 工业生产/重点项目 enterprises judged, with a code, lacking."""
    sql = ("SELECT count(*) AS n, count(*) FILTER (WHERE has_entrance_code) AS entrance, "
           "count(*) FILTER (WHERE has_production_code) AS production, "
           "count(*) FILTER (WHERE has_living_code) AS living "
           f"FROM place_coverage($as_of) WHERE {SCOPE} AND is_zone_rule_applicable")
    n, *coded = _run(con, sql, _params(as_of, county, city, sector)).fetchone()
    zones = ("出入口", "生产区/车间", "生活区")
    return pd.DataFrame({"required_zone": zones, "count_enterprises": [n] * 3, "count_with_code": coded,
                         "count_lacking": [n - c for c in coded]})


def overdue_ranking(con, as_of, order: str = "count", county=None, city=None, sector=None,
                    limit: int | None = None) -> pd.DataFrame:
    """Enterprises with overdue staff, ranked by overdue count or by overdue share of their roster."""
    orders = {"count": "count_overdue DESC, overdue_share DESC",
              "share": "overdue_share DESC, count_overdue DESC"}
    if order not in orders:
        raise ValueError(f"order must be one of {', '.join(orders)}")
    sql = ("SELECT credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector, "
           "headcount, county_state, is_closed_loop, count_employees, count_within_interval, count_overdue, "
           "count_never_tested, round(count_overdue / count_employees, 4) AS overdue_share, "
           "round(max_hours_since_sample, 1) AS max_hours_since_sample "
           f"FROM enterprise_testing($as_of) WHERE {SCOPE} AND count_overdue > 0 "
           f"ORDER BY {orders[order]}, credit_code LIMIT $limit")
    return _frame(con, sql, _params(as_of, county, city, sector, limit=limit if limit is not None else 2 ** 62))


def overdue_by_rule(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Per interval rule (常态 48 h, 流动岗位 24 h, 应急 daily, 闭环 daily): staff it governs, overdue, share."""
    sql = ("SELECT interval_rule_code, CAST(sum(count_employees) AS BIGINT) AS count_employees, "
           "CAST(sum(count_overdue) AS BIGINT) AS count_overdue "
           f"FROM staff_testing($as_of) WHERE {SCOPE} GROUP BY interval_rule_code")
    found = _frame(con, sql, _params(as_of, county, city, sector)).set_index("interval_rule_code")
    hours = rule_settings(con)
    rows = []
    for code, who in INTERVAL_RULES.items():
        employees = int(found.loc[code, "count_employees"]) if code in found.index else 0
        overdue = int(found.loc[code, "count_overdue"]) if code in found.index else 0
        rows.append({"interval_rule_code": code, "rule": who,
                     "interval": interval_text(code, hours[f"{code}_interval_hours"]),
                     "count_employees": employees, "count_overdue": overdue,
                     "overdue_share": _rate(overdue, employees)})
    return pd.DataFrame(rows)


def overdue_staff(con, as_of, credit_code: str) -> pd.DataFrame:
    """One enterprise's overdue roster entries: masked ID, job, interval that applies and why, hours since."""
    sql = ("SELECT id_masked, person_name, job_type, interval_rule_code, interval_hours, "
           "round(hours_since_sample, 1) AS hours_since_sample, last_sampled_at, is_never_tested, "
           "interval_rule, county_state, is_closed_loop "
           "FROM employee_status($as_of) WHERE credit_code = $credit_code AND is_overdue "
           "ORDER BY is_never_tested DESC, hours_since_sample DESC, id_masked")
    df = _frame(con, sql, _params(as_of, credit_code=credit_code))
    df["interval_text"] = [interval_text(c, h) for c, h in zip(df.interval_rule_code, df.interval_hours)]
    return df


# production_overview's parts, each over {days}: the scope's rows of production_daily
_PRODUCTION_DAYS = f"production_daily($start, $end, $as_of) WHERE {SCOPE}"
_STATUS_MIX = (f"SELECT day, coalesce(status, '{UNREPORTED}') AS status, count(*) AS count_enterprises "
               "FROM {days} GROUP BY ALL ORDER BY day, status")
_PRODUCTION_TREND = (
    "SELECT day, count(*) AS count_enterprises, count(status) AS count_reported, "
    "sum(output_wan_yuan) FILTER (WHERE baseline_output_wan_yuan IS NOT NULL) AS output_wan_yuan, "
    "sum(baseline_output_wan_yuan) FILTER (WHERE output_wan_yuan IS NOT NULL) AS baseline_output_wan_yuan, "
    "avg(capacity_pct) FILTER (WHERE baseline_capacity_pct IS NOT NULL) AS capacity_pct, "
    "avg(baseline_capacity_pct) FILTER (WHERE capacity_pct IS NOT NULL) AS baseline_capacity_pct, "
    "sum(on_duty) FILTER (WHERE baseline_on_duty IS NOT NULL) AS on_duty, "
    "sum(baseline_on_duty) FILTER (WHERE on_duty IS NOT NULL) AS baseline_on_duty, "
    "sum(on_duty) AS on_duty_all "
    "FROM {days} GROUP BY day ORDER BY day")
_BASELINE_BASIS = "SELECT coalesce(any_value(baseline_basis), '无基线') AS basis, credit_code FROM {days} GROUP BY credit_code"


def production_overview(con, start, end, as_of, county=None, city=None, sector=None) -> dict:
    """The 生产经营 page's data over production_daily (computed once):
    - trend: per day, output, capacity and staff on duty against the pre-emergency baseline, over the
      reports that have both a value and a baseline (so a missing report never looks like a drop);
    - mix: per day and operating status (未上报 = no report), whitelisted enterprises, long form;
    - basis: {应急前: n, 区间前3天: n, 无基线: n} enterprises by where their baseline comes from."""
    _run(con, "CREATE OR REPLACE TEMP TABLE production_days_now AS SELECT day, credit_code, status, output_wan_yuan, "
              "capacity_pct, on_duty, baseline_basis, baseline_output_wan_yuan, baseline_capacity_pct, "
              "baseline_on_duty FROM " + _PRODUCTION_DAYS, _params(as_of, county, city, sector, start=start, end=end))
    try:
        basis = con.execute(_BASELINE_BASIS.format(days="production_days_now")).df()["basis"].value_counts()
        return {"trend": con.execute(_PRODUCTION_TREND.format(days="production_days_now")).df(),
                "mix": con.execute(_STATUS_MIX.format(days="production_days_now")).df(),
                "basis": {k: int(basis.get(k, 0)) for k in ("应急前", "区间前3天", "无基线")}}
    finally:
        con.execute("DROP TABLE IF EXISTS production_days_now")


def emergency_periods(con, county, start, end, as_of) -> pd.DataFrame:
    """A county's 应急 periods (started_at, ended_at; open ones end at as_of) that overlap [start, end]."""
    sql = ("SELECT started_at, coalesce(ended_at, $as_of) AS ended_at FROM ("
           "  SELECT is_emergency, since AS started_at, "
           "         lead(since) OVER (ORDER BY state_seq) AS ended_at "
           "  FROM stg_county_states WHERE county_code = $county AND since <= $as_of) "
           "WHERE is_emergency AND started_at < CAST($end AS DATE) + 1 "
           "AND coalesce(ended_at, $as_of) >= CAST($start AS DATE) ORDER BY started_at")
    return _frame(con, sql, _params(as_of, county, start=start, end=end))


def shutdowns_in_range(con, as_of, start, end, county=None, city=None, sector=None) -> pd.DataFrame:
    """Shutdown episodes (R9) that overlap [start, end]: breaches first, then ongoing, then longest."""
    sql = (f"SELECT * FROM shutdown_episodes($as_of) WHERE {SCOPE} "
           "AND through_on >= $start AND started_on <= $end "
           "ORDER BY is_breach DESC, is_ongoing DESC, length_days DESC, started_on, credit_code")
    return _frame(con, sql, _params(as_of, county, city, sector, start=start, end=end))
