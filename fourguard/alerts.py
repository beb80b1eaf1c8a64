"""The 电子哨 alert list (R5): every rule's alerts in one list, most severe and newest first (connection in)."""
from __future__ import annotations

import pandas as pd

from .queries import SCOPE, _frame, _params

# severity (sentinel_alerts.sql) → the risk level whose colour it takes (palette.LEVELS)
LEVELS = {1: "高", 2: "较高", 3: "中"}
KINDS = ("聚集性疫情", "阳性", "复核超时", "红黄码进入", "超时未检", "停产超时", "诉求逾期")
COLUMNS = ["alert_at", "severity", "level", "kind", "rule", "credit_code", "enterprise_name", "county_code",
           "county_name", "detail"]


def alerts(con, as_of, county=None, city=None, sector=None, credit_code=None,
           limit: int | None = None) -> pd.DataFrame:
    """The alerts at as_of in scope (or of one enterprise): severity 1 first, then newest first."""
    sql = (f"SELECT * FROM sentinel_alerts($as_of) WHERE {SCOPE} "
           "AND ($credit_code IS NULL OR credit_code = $credit_code) "
           "ORDER BY severity, alert_at DESC, kind, credit_code, ref LIMIT $limit")
    df = _frame(con, sql, _params(as_of, county, city, sector, credit_code=credit_code,
                                  limit=limit if limit is not None else 2 ** 62))
    df["level"] = df["severity"].map(LEVELS)
    return df[COLUMNS]


def counts(df: pd.DataFrame) -> dict[str, int]:
    """{kind: number of alerts} for every kind, zeros kept, in KINDS order."""
    found = df["kind"].value_counts()
    return {kind: int(found.get(kind, 0)) for kind in KINDS}


def level_counts(df: pd.DataFrame) -> dict[str, int]:
    """{level: number of alerts}, most severe first, zeros kept."""
    found = df["level"].value_counts()
    return {level: int(found.get(level, 0)) for level in LEVELS.values()}
