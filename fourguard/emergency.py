"""平急转换 (R14): each county's 常态/应急 state, its history of switches, and the one-action switch.

A switch is a write-back (store.switch_county_state) that stg_county_states merges with the
county-state feed, so the R1 intervals (应急: daily testing), the wall and every page follow it
from its `since` on, at their next refresh.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import store
from .queries import _frame, _params

STATES = ("常态", "应急")
EFFECT = {  # what a switch to the state means, as the confirmation says it (R14, R1)
    "应急": "该县区白名单企业转入闭环管理，全体员工每日一检（R1），超时未检按每日间隔计算。",
    "常态": "恢复常态检测间隔：普通岗位48小时、流动接触岗位24小时，闭环生产企业仍每日一检（R1）。",
}


def county_states(con, as_of, county=None, city=None) -> pd.DataFrame:
    """Counties with whitelist enterprises in scope and their state at as_of (常态 without any change)."""
    sql = ("SELECT a.city_code, a.city_name, a.county_code, a.county_name, "
           "coalesce(s.county_state, '常态') AS county_state, s.county_state_since, s.county_state_origin "
           "FROM (SELECT DISTINCT city_code, city_name, county_code, county_name FROM stg_enterprises) AS a "
           "LEFT JOIN county_states_at($as_of) AS s USING (county_code) "
           "WHERE ($county IS NULL OR a.county_code = $county) AND ($city IS NULL OR a.city_code = $city) "
           "ORDER BY a.county_code")
    return _frame(con, sql, _params(as_of, county, city))


def history(con, county: str) -> pd.DataFrame:
    """Every state change of a county, newest first: from the feed or switched in the app (who, when, note)."""
    frame = con.execute(
        "SELECT s.since, s.state, CASE s.origin WHEN 'app' THEN '平台切换' ELSE '县区状态数据' END AS source, "
        "s.actor, w.at AS recorded_at, w.note "
        "FROM stg_county_states AS s LEFT JOIN wb_county_switches AS w USING (switch_id) "
        "WHERE s.county_code = ? ORDER BY s.state_seq DESC", [county]).df()
    # Typed as text even when every row is from the feed (no actor, no note): an all-NULL object
    # column reaches the browser as Arrow's null type, which shows the word None, not the placeholder.
    return frame.astype({"actor": "string", "note": "string"})


def target(current: str) -> str:
    """The state a switch leads to from `current`."""
    return "常态" if current == "应急" else "应急"


def refusal(current: str, new: str, actor: str, confirmed: bool) -> str | None:
    """Why a switch may not be made (None: it may)."""
    if new not in STATES:
        return f"状态只能是 常态 或 应急，收到「{new}」。"
    if new == current:
        return f"该县区已处于{new}状态，无需切换。"
    if not (actor or "").strip():
        return "没有操作人，不能切换（请登录）。"
    if not confirmed:
        return "请先勾选确认，再切换。"
    return None


def switch(path: Path, county: str, current: str, new: str, actor: str, since, note: str = "",
           confirmed: bool = False) -> int:
    """R14 一键切换 after the checks of refusal(); returns the switch id (ValueError says why not)."""
    reason = refusal(current, new, actor, confirmed)
    if reason:
        raise ValueError(reason)
    return store.switch_county_state(path, county, new, actor.strip(), since=since, note=(note or "").strip())
