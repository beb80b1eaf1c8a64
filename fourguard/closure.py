"""问题办结 (R11): the closure figures and the issues behind them — connection in, DataFrame/dict out.

Every figure rolls up `issue_closure(as_of)` (issue_status plus assign/close times, age bucket and
the write-back version), and `metrics()["issues"]` is `closure_summary` plus `backlog_by_age`.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .queries import SCOPE, _frame, _int, _params, _rate, _run, as_of_time

AGE_BUCKETS = ("<1天", "1–3天", "3–7天", ">7天")
BREAKDOWNS = {"department": "责任单位", "county": "县区", "category": "诉求类别", "sector": "行业领域"}
_GROUP_EXPR = {"department": "coalesce(department, '未交办')", "county": "county_name",
               "category": "category", "sector": "sector"}
# A department handler sees only the issues assigned to its department (auth.py).
ISSUE_SCOPE = SCOPE + " AND ($department IS NULL OR department = $department)"
VIEWS = ("全部", "未办结", "已超期", "已办结", "未按时办结", "回访不满意")


def issue_closure(con, as_of, county=None, city=None, sector=None, department=None) -> pd.DataFrame:
    """Issues in scope at as_of, past-deadline ones first (most overdue on top), with their version."""
    sql = (f"SELECT * EXCLUDE (overdue_hours), round(overdue_hours, 1) AS overdue_hours "
           f"FROM issue_closure($as_of) WHERE {ISSUE_SCOPE} "
           "ORDER BY is_overdue DESC, overdue_hours DESC NULLS LAST, is_open DESC, deadline_at, issue_id")
    return _frame(con, sql, _params(as_of, county, city, sector, department=department))


def closure_summary(con, as_of, county=None, city=None, sector=None, department=None) -> dict:
    """The headline figures: metrics()['issues'] keys plus median hours and revisit satisfaction."""
    sql = ("SELECT count(*), count(*) FILTER (WHERE is_open), count(*) FILTER (WHERE is_closed), "
           "count(*) FILTER (WHERE is_overdue), count(*) FILTER (WHERE is_on_time), "
           "median(hours_to_assign), median(hours_to_close), count(revisit), "
           "count(*) FILTER (WHERE revisit IN ('满意', '基本满意')) "
           f"FROM issue_closure($as_of) WHERE {ISSUE_SCOPE}")
    (total, n_open, closed, overdue, on_time, to_assign, to_close, revisited,
     satisfied) = _run(con, sql, _params(as_of, county, city, sector, department=department)).fetchone()
    return {"total": total, "open": n_open, "closed": closed, "closure_rate": _rate(closed, total),
            "overdue": overdue, "on_time_rate": _rate(on_time, closed),
            "median_hours_to_assign": None if to_assign is None else round(float(to_assign), 1),
            "median_hours_to_close": None if to_close is None else round(float(to_close), 1),
            "revisited": _int(revisited), "satisfied": _int(satisfied),
            "satisfaction_rate": _rate(satisfied, revisited)}


def backlog_by_age(con, as_of, county=None, city=None, sector=None, department=None) -> pd.DataFrame:
    """Open issues per age bucket (every bucket, zeros too): count_open, count_overdue."""
    sql = ("SELECT age_bucket, count(*) AS count_open, count(*) FILTER (WHERE is_overdue) AS count_overdue "
           f"FROM issue_closure($as_of) WHERE {ISSUE_SCOPE} AND is_open GROUP BY age_bucket")
    got = _frame(con, sql, _params(as_of, county, city, sector, department=department)).set_index("age_bucket")
    out = got.reindex(list(AGE_BUCKETS), fill_value=0).rename_axis("age_bucket").reset_index()
    return out.astype({"count_open": "int64", "count_overdue": "int64"})


def closure_by(con, as_of, by: str, county=None, city=None, sector=None, department=None) -> pd.DataFrame:
    """Per department / county / category / sector: total, open, closed, overdue and the two rates."""
    if by not in _GROUP_EXPR:
        raise ValueError(f"by must be one of {sorted(_GROUP_EXPR)}")
    sql = (f"SELECT {_GROUP_EXPR[by]} AS name, count(*) AS count_total, "
           "count(*) FILTER (WHERE is_open) AS count_open, count(*) FILTER (WHERE is_closed) AS count_closed, "
           "count(*) FILTER (WHERE is_overdue) AS count_overdue, "
           "count(*) FILTER (WHERE is_on_time) AS count_on_time "
           f"FROM issue_closure($as_of) WHERE {ISSUE_SCOPE} "
           "GROUP BY ALL ORDER BY count_overdue DESC, count_open DESC, name")
    df = _frame(con, sql, _params(as_of, county, city, sector, department=department))
    df["closure_rate"] = [_rate(c, t) for c, t in zip(df.count_closed, df.count_total)]
    df["on_time_rate"] = [_rate(o, c) for o, c in zip(df.count_on_time, df.count_closed)]
    return df


def closure_trend(con, start: dt.date, end: dt.date, as_of, county=None, city=None, sector=None,
                  department=None) -> pd.DataFrame:
    """Per day in [start, end]: issues reported (count_opened) and resolved (count_closed), as seen at as_of."""
    sql = ("WITH days AS (SELECT CAST(d AS DATE) AS day FROM range(CAST($start AS DATE), "
           "CAST($end AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(d)), "
           f"i AS (SELECT * FROM issue_closure($as_of) WHERE {ISSUE_SCOPE}) "
           "SELECT day, (SELECT count(*) FROM i WHERE CAST(reported_at AS DATE) = day) AS count_opened, "
           "(SELECT count(*) FROM i WHERE is_closed AND CAST(resolved_at AS DATE) = day) AS count_closed "
           "FROM days ORDER BY day")
    return _frame(con, sql, _params(as_of, county, city, sector, department=department, start=start, end=end))


def filter_issues(df: pd.DataFrame, view: str = "全部", age_bucket: str | None = None,
                  by: str | None = None, name: str | None = None, day: dt.date | None = None) -> pd.DataFrame:
    """The issues behind one figure: a view (VIEWS), an age bucket, a breakdown group or a trend day."""
    keep = pd.Series(True, index=df.index)
    keep &= {"全部": True, "未办结": df.is_open, "已超期": df.is_overdue, "已办结": df.is_closed,
             "未按时办结": df.is_closed & ~df.is_on_time, "回访不满意": df.revisit.eq("不满意")}[view]
    if age_bucket:
        keep &= df.age_bucket.eq(age_bucket)
    if by and name is not None:
        col = df.department.fillna("未交办") if by == "department" else df[{"county": "county_name"}.get(by, by)]
        keep &= col.eq(name)
    if day is not None:
        keep &= df.reported_at.dt.date.eq(day) | (df.is_closed & df.resolved_at.dt.date.eq(day))
    return df[keep.fillna(False).astype(bool)]


# ---------------------------------------------------------------- what the write-back forms offer

def issue_categories(con) -> list[str]:
    """Categories seen in the issues feed or configured with a time limit."""
    sql = ("SELECT DISTINCT category FROM (SELECT category FROM stg_issues UNION ALL "
           "SELECT category FROM cfg_issue_limits WHERE category <> 'default') ORDER BY category")
    return [r[0] for r in con.execute(sql).fetchall()]


def departments(con) -> list[str]:
    """Departments issues have been assigned to (feed and app), most used first."""
    sql = ("SELECT department FROM stg_issue_events WHERE department IS NOT NULL "
           "GROUP BY department ORDER BY count(*) DESC, department")
    return [r[0] for r in con.execute(sql).fetchall()]


def enterprise_choices(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """Whitelisted enterprises in scope (credit_code, enterprise_name, county_name) for the 新建诉求 form."""
    sql = (f"SELECT credit_code, enterprise_name, county_name FROM whitelist($as_of) WHERE {SCOPE} "
           "ORDER BY county_name, enterprise_name")
    return _frame(con, sql, _params(as_of_time(as_of), county, city, sector))


def allowed_actions(states) -> list[str]:
    """Names of the issues.ACTIONS that every one of the given states allows (in workflow order)."""
    from .issues import ACTIONS

    states = set(states)
    return [name for name, a in ACTIONS.items() if states and states <= set(a.sources)]


def outcome(action_label: str, done: list[str], refused: dict[str, str]) -> tuple[str, str]:
    """(kind, message) for the user after a bulk write: success, warning (some refused) or error."""
    lines = [f"- {issue_id}：{why}" for issue_id, why in refused.items()]
    if not refused:
        return "success", f"已{action_label} {len(done)} 件诉求：{'、'.join(done)}。"
    head = (f"已{action_label} {len(done)} 件，{len(refused)} 件未保存：" if done
            else f"「{action_label}」未保存：")
    return ("warning" if done else "error"), "\n".join([head, *lines])
