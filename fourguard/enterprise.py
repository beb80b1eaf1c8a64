"""One enterprise on one page: search, profile, trends, places, production and alerts (connection in)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from . import queries
from .alerts import alerts as sentinel_alerts
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


def coverage_trend(con, code: str, start: dt.date, end: dt.date, as_of) -> pd.DataFrame:
    """Daily test coverage of its staff up to as_of (queries.testing_daily_sql for this enterprise:
    a day before as_of's date as at its 24:00, as_of's date at as_of); a day it was off the whitelist
    has is_listed false and no counts."""
    as_of = as_of_time(as_of)
    daily, extra = queries.testing_daily_sql(con, start, end, as_of, codes=[code])
    df = queries._frame(con, "SELECT c.day, c.check_at, r.day IS NOT NULL AS is_listed, "
                             "coalesce(r.count_employees, 0) AS count_employees, "
                             "coalesce(r.count_within_interval, 0) AS count_within_interval, "
                             "coalesce(r.count_overdue, 0) AS count_overdue "
                             f"FROM check_times($start, $end, $as_of) AS c LEFT JOIN ({daily}) AS r USING (day) "
                             "ORDER BY c.day", {"as_of": as_of, "start": start, "end": end, **extra})
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
    """Its 电子哨 alerts at as_of (alerts.alerts for one enterprise): most severe, then newest first."""
    return sentinel_alerts(con, as_of, credit_code=code)[["alert_at", "kind", "detail"]]
