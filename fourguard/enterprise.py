"""One enterprise on one page: search, profile, trends, places, production and alerts (connection in)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .queries import as_of_time


def find(con, text: str = "", county=None, city=None, sector=None, limit: int = 50) -> pd.DataFrame:
    """Enterprises (ever listed) whose name or credit code contains `text`, in scope, by name."""
    return con.execute(
        "SELECT credit_code, enterprise_name, county_name, sector FROM stg_enterprises "
        "WHERE ($text = '' OR contains(enterprise_name, $text) OR contains(credit_code, upper($text))) "
        "AND ($county IS NULL OR county_code = $county) AND ($city IS NULL OR city_code = $city) "
        "AND ($sector IS NULL OR sector = $sector) ORDER BY enterprise_name LIMIT $limit",
        {"text": (text or "").strip(), "county": county, "city": city, "sector": sector, "limit": limit}).df()


def profile(con, code: str, as_of) -> dict | None:
    """Registry facts, whitelist status and the state that sets its rules at as_of; None if unknown."""
    t = as_of_time(as_of)
    row = con.execute(
        "SELECT e.*, e.listed_at <= $t AND (e.removed_at IS NULL OR e.removed_at > $t) AS is_listed, "
        "s.county_state, s.county_state_since, s.production_status, s.last_report_date, s.is_closed_loop "
        "FROM stg_enterprises AS e LEFT JOIN enterprise_status($t) AS s USING (credit_code) "
        "WHERE e.credit_code = $code", {"t": t, "code": code}).df()
    return None if row.empty else row.iloc[0].to_dict()


def coverage_trend(con, code: str, start: dt.date, end: dt.date, at: dt.time) -> pd.DataFrame:
    """Daily test coverage of its staff at time-of-day `at` (R1/R2 with that day's rules)."""
    df = con.execute("SELECT * FROM enterprise_coverage_trend(?, ?, ?, ?)", [code, start, end, at]).df()
    df["coverage_rate"] = df["count_within_interval"] / df["count_employees"].where(df["count_employees"] > 0)
    return df


def production(con, code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Its daily production reports in the range."""
    return con.execute("SELECT * FROM stg_production WHERE credit_code = ? AND report_date BETWEEN ? AND ? "
                       "ORDER BY report_date", [code, start, end]).df()


def places(con, code: str, as_of) -> pd.DataFrame:
    """Its listed places with code, kind and the last 24 h of scans."""
    return con.execute(
        "SELECT p.place_name, p.kind, p.place_code, a.count_scans_24h, a.count_red_yellow_24h, a.last_scanned_at "
        "FROM stg_places AS p LEFT JOIN (SELECT * FROM place_activity(?) WHERE credit_code = ?) AS a "
        "USING (place_name) WHERE p.credit_code = ? ORDER BY p.kind, p.place_name",
        [as_of_time(as_of), code, code]).df()


def alerts(con, code: str, as_of) -> pd.DataFrame:
    """Its 电子哨 alerts at as_of, newest first: positives, rechecks, red/yellow scans, shutdowns, overdue issues."""
    return con.execute(
        """
        SELECT * FROM (
            SELECT sampled_at AS alert_at, '阳性' AS kind, id_masked || ' ' || person_name || ' 单管阳性' AS detail
            FROM positive_cases($t) WHERE credit_code = $code
            UNION ALL
            SELECT pool_result_at, '复核超时', id_masked || ' ' || person_name || ' 混管阳性后 '
                || coalesce(strftime(recheck_sampled_at, '%m-%d %H:%M') || ' 才复核', '仍未复核')
            FROM recheck_obligations($t) WHERE credit_code = $code AND is_over_limit
            UNION ALL
            SELECT scanned_at, health_code || '进入', place_name || ' ' || id_masked || ' ' || coalesce(person_name, '')
            FROM red_yellow_scans($t) WHERE credit_code = $code
            UNION ALL
            SELECT started_on::TIMESTAMP, '停产超时', '自 ' || strftime(started_on, '%m-%d') || ' 起停产 '
                || length_days || ' 天' || CASE WHEN is_ongoing THEN '（仍在停产）' ELSE '' END
            FROM shutdown_episodes($t) WHERE credit_code = $code AND is_alert
            UNION ALL
            SELECT deadline_at, '诉求逾期', issue_id || ' ' || category || '：' || detail
            FROM issue_status($t) WHERE credit_code = $code AND is_overdue
        ) ORDER BY alert_at DESC
        """, {"t": as_of_time(as_of), "code": code}).df()
