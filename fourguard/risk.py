"""Risk scores of counties and enterprises: explainable components, weights from configuration.

Each component is a fact from a rule's own model (enterprise_risk.sql, county_risk.sql) scaled to
0..1; a component's points are 100 × weight × value / sum of weights, and the score (0–100) is the
sum of the points, so the parts always add up to the whole. Formulas and defaults: docs/risk.md.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import palette
from .config import Settings, settings

# component key → label users read; this order is the order of bars, table columns and docs
COMPONENTS = {
    "positives": "阳性/聚集",
    "overdue": "超时未检",
    "red_yellow": "红黄码扫码",
    "emergency": "应急状态",
    "rechecks": "复核超时",
    "issues": "诉求超期",
    "shutdowns": "停产超期",
}
RULES = {"positives": "R15", "overdue": "R2", "red_yellow": "R4", "emergency": "R14",
         "rechecks": "R8", "issues": "R11", "shutdowns": "R9"}
# The count a component is scaled by (risk_bounds key = component key); overdue uses a share.
COUNTS = {"positives": "count_positives", "red_yellow": "count_red_yellow_24h",
          "rechecks": "count_recheck_over_limit", "issues": "count_issues_overdue",
          "shutdowns": "count_shutdown_alerts"}
BOUND_KEYS = {"overdue": "overdue_share"}  # risk_bounds key where it differs from the component's
# Enterprise facts that add up to the county's (people counted once come from county_risk.sql).
SUMMED = ["count_employees", "count_within_interval", "count_overdue", "count_clusters",
          "count_red_yellow_24h", "count_issues_overdue", "count_shutdown_alerts"]


def level_bounds(s: Settings | None = None) -> tuple[float, float, float]:
    """Scores at which 中, 较高 and 高 start."""
    b = (s or settings()).risk_bounds
    return float(b["medium"]), float(b["elevated"]), float(b["high"])


def components(facts: pd.DataFrame, s: Settings | None = None) -> pd.DataFrame:
    """Each component of each row scaled to 0..1 (columns named like COMPONENTS)."""
    b = (s or settings()).risk_bounds
    out = pd.DataFrame(index=facts.index)
    for key, col in COUNTS.items():
        out[key] = np.clip(facts[col].astype(float) / float(b[key]), 0.0, 1.0)
    # A cluster (R15) is the top alert whatever the number of positives.
    out["positives"] = out["positives"].where(facts["count_clusters"] == 0, 1.0)
    employees = facts["count_employees"].astype(float)
    share = (facts["count_overdue"].astype(float) / employees.where(employees > 0)).fillna(0.0)
    out["overdue"] = np.clip(share / float(b["overdue_share"]), 0.0, 1.0)
    out["emergency"] = facts["is_emergency"].fillna(False).astype(float)
    return out[list(COMPONENTS)]


def score(facts: pd.DataFrame, s: Settings | None = None) -> pd.DataFrame:
    """facts + value_<c> (0..1), points_<c>, risk_score (their sum, 0–100), risk_level, risk_note."""
    s = s or settings()
    weights = pd.Series({k: float(s.risk_weights.get(k, 0)) for k in COMPONENTS})
    total = weights.sum()
    values = components(facts, s)
    points = values * (100.0 * weights / total if total > 0 else 0.0)
    out = facts.copy()
    employees = facts["count_employees"].astype(float)
    out["overdue_share"] = facts["count_overdue"] / employees.where(employees > 0)
    for key in COMPONENTS:
        out[f"value_{key}"] = values[key]
        out[f"points_{key}"] = points[key]
    out["risk_score"] = points.sum(axis=1)
    out["risk_level"], out["risk_note"] = _levels(out, s)
    return out


def _levels(scored: pd.DataFrame, s: Settings) -> tuple[pd.Series, pd.Series]:
    """Level from the score, raised to the floor a cluster or a positive sets (risk_bounds)."""
    rank = {name: i for i, name in enumerate(palette.LEVELS)}
    # The same rule as palette.level_of (a score below a bound is the level under it), for a column.
    by_score = np.searchsorted(np.array(level_bounds(s)), scored["risk_score"].to_numpy(), side="right")
    floor = np.maximum(np.where(scored["count_clusters"] > 0, rank[s.risk_bounds["cluster_level"]], 0),
                       np.where(scored["count_positives"] > 0, rank[s.risk_bounds["positive_level"]], 0))
    level = np.maximum(by_score, floor)
    raised = level > by_score
    note = np.where(~raised, "", np.where(scored["count_clusters"] > 0, "聚集性疫情", "有阳性病例"))
    names = np.array(palette.LEVELS, dtype=object)[level]
    return pd.Series(names, index=scored.index, dtype=object), pd.Series(note, index=scored.index, dtype=object)


def county_facts(enterprises: pd.DataFrame, counties: pd.DataFrame) -> pd.DataFrame:
    """County rows of county_risk.sql + the sums of their enterprises' facts (enterprise_risk.sql)."""
    sums = enterprises.groupby("county_code")[SUMMED].sum()
    sums["count_enterprises"] = enterprises.groupby("county_code").size()
    out = counties.merge(sums, left_on="county_code", right_index=True, how="left")
    for col in [*SUMMED, "count_enterprises"]:
        out[col] = out[col].fillna(0).astype("int64")
    out["coverage_rate"] = out["count_within_interval"] / out["count_employees"].where(out["count_employees"] > 0)
    return out


def ranked(scored: pd.DataFrame) -> pd.DataFrame:
    """Highest level first, then highest score."""
    rank = {name: i for i, name in enumerate(palette.LEVELS)}
    key = scored["risk_level"].map(rank) * 1000 + scored["risk_score"]
    return scored.assign(_k=key).sort_values("_k", ascending=False, kind="stable").drop(columns="_k")


def reasons(scored: pd.DataFrame, top: int = 2) -> pd.Series:
    """The largest contributions of each row in words, e.g. 「阳性/聚集30分、应急状态10分」."""
    points = scored[[f"points_{k}" for k in COMPONENTS]].to_numpy()
    labels = np.array(list(COMPONENTS.values()), dtype=object)
    order = np.argsort(-points, axis=1, kind="stable")[:, :top]
    texts = []
    for row, idx in zip(points, order):  # a table's rows, not the whole province
        parts = [f"{labels[i]}{row[i]:.1f}".removesuffix(".0") + "分" for i in idx if row[i] > 0]
        texts.append("、".join(parts) or "无")
    return pd.Series(texts, index=scored.index)


def components_figure(rows: pd.DataFrame, name_col: str, s: Settings | None = None):
    """Horizontal stacked bars (plotly) of a `table()`: each row's points per component, top row on top."""
    import plotly.graph_objects as go  # only the page needs plotly; the CLI imports this module too

    rows = rows.iloc[::-1]  # plotly draws the first category at the bottom
    fig = go.Figure()
    for i, (key, label) in enumerate(COMPONENTS.items()):
        fig.add_bar(y=rows[name_col], x=rows[label], name=f"{label}（{RULES[key]}）", orientation="h",
                    marker_color=palette.SEQUENCE[i % len(palette.SEQUENCE)],
                    hovertemplate="%{y}<br>" + label + "：%{x:.1f}分<extra></extra>")
    for bound, level in zip(level_bounds(s), palette.LEVELS[1:]):
        fig.add_vline(x=bound, line_dash="dot", line_color=palette.COLORS[level], opacity=0.9,
                      annotation_text=level, annotation_position="top", annotation_font_color=palette.COLORS[level])
    fig.update_layout(barmode="stack", height=max(260, 30 * len(rows) + 110),
                      margin=dict(l=10, r=10, t=50, b=10), xaxis=dict(title="风险分（0–100，各分项得分之和）", range=[0, 100]),
                      yaxis=dict(title=None, automargin=True),
                      legend=dict(orientation="h", yanchor="bottom", y=1.06, x=0, title=None, traceorder="normal"))
    return fig


# ---------------------------------------------------------------- tables users read

NAMES = {"county": ("county_code", "county_name", "县区"), "enterprise": ("credit_code", "enterprise_name", "企业")}
FULL_AT = {  # what makes a component full (1), in words; {} is its risk_bounds value
    "positives": "聚集性疫情，或阳性 {} 人", "overdue": "超时未检占员工 {:.0%}", "red_yellow": "红黄码扫码 {} 次（24小时）",
    "emergency": "县区处于应急状态", "rechecks": "复核超时 {} 人次", "issues": "超期未办结诉求 {} 件",
    "shutdowns": "停产超期企业 {} 家",
}


def table(scored: pd.DataFrame, kind: str = "county", limit: int | None = None,
          with_county: bool = True) -> pd.DataFrame:
    """Ranked rows with Chinese headers: name, (county,) score, level, main reasons, points per component."""
    code, name, header = NAMES[kind]
    rows = ranked(scored).head(limit) if limit else ranked(scored)
    out = pd.DataFrame({"code": rows[code], header: rows[name]})
    if kind == "county":
        out["状态"] = rows["county_state"]
    elif with_county:
        out["县区"] = rows["county_name"]
    out["风险分"] = rows["risk_score"].round(1)
    out["等级"] = rows["risk_level"]
    out["主要因素"] = np.where(rows["risk_note"] != "", "［" + rows["risk_note"] + "］", "") + reasons(rows)
    for key, label in COMPONENTS.items():
        out[label] = rows[f"points_{key}"].round(1)
    return out.reset_index(drop=True)


def method(s: Settings | None = None) -> pd.DataFrame:
    """One row per component: its rule, weight as points of 100, and what makes it full."""
    s = s or settings()
    weights = pd.Series({k: float(s.risk_weights.get(k, 0)) for k in COMPONENTS})
    points = 100 * weights / weights.sum() if weights.sum() > 0 else weights * 0
    return pd.DataFrame({"分项": list(COMPONENTS.values()), "规则": list(RULES.values()),
                         "满分（分）": points.round(1).to_numpy(),
                         "满分条件（线性计分，封顶1）": [FULL_AT[k].format(s.risk_bounds.get(BOUND_KEYS.get(k, k)))
                                           for k in COMPONENTS]})
