"""The issue closed loop (R11): states, the transitions allowed between them, and their write-backs.

收集 → 待交办 → 已交办 → 办理中 → 已办结 → 已回访 → 已销号, with 退回 (a department returns a wrongly
assigned issue), 重办 (an unsatisfied revisit or a reopened issue goes back to 办理中) and 升级 (escalated
to the higher HQ, which assigns it again). Every write goes through `store.append_issue_event`, so it is
one transaction with an audit row and is refused if the issue changed since the form was opened.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from . import store, validate
from .db import is_workday
from .config import Settings, settings

OPEN_STATES = ("待交办", "已交办", "办理中", "退回", "重办", "升级")


@dataclass(frozen=True)
class Action:
    """One thing a user can do to an issue: its label, the states it starts from and where it leads."""

    name: str
    label: str
    sources: tuple
    target: str | None        # None: depends on the form (revisit) or stays (progress, batch)
    needs: tuple = ()         # form fields that must be filled


ACTIONS = {a.name: a for a in (
    Action("assign", "交办", ("待交办", "退回", "升级"), "已交办", ("department",)),
    Action("start", "开始办理", ("已交办", "重办"), "办理中"),
    Action("progress", "更新进展", ("办理中",), None, ("note",)),
    Action("resolve", "办结", ("办理中",), "已办结", ("note",)),
    Action("revisit", "回访", ("已办结",), None, ("revisit",)),
    Action("close", "核查销号", ("已回访",), "已销号", ("note",)),
    Action("return", "退回", ("已交办", "办理中"), "退回", ("note",)),
    Action("reopen", "重办", ("已办结", "已回访", "已销号"), "重办", ("note",)),
    Action("escalate", "升级", ("待交办", "已交办", "办理中", "退回", "重办"), "升级", ("note",)),
    Action("batch", "批处理", OPEN_STATES, None, ("batch_id",)),
)}
FIELD_LABELS = {"department": "责任单位", "note": "说明", "revisit": "回访结果", "batch_id": "批处理编号"}


class TransitionRefused(Exception):
    """The action is not allowed from the issue's current state (or the form lacks a field)."""


def target_state(action: Action, current: str, revisit: str | None = None) -> str:
    """Where the action leads from `current`."""
    if action.name == "revisit":
        return "重办" if revisit == "不满意" else "已回访"
    return action.target or current


def check(action_name: str, current: str, fields: dict) -> str:
    """The state the action leads to, or TransitionRefused saying why not (a pure function)."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise TransitionRefused(f"未知操作：{action_name}")
    if current not in action.sources:
        allowed = "、".join(action.sources)
        raise TransitionRefused(f"当前状态为「{current}」，不能「{action.label}」：只有{allowed}的诉求可以{action.label}。")
    missing = [FIELD_LABELS.get(f, f) for f in action.needs if not str(fields.get(f) or "").strip()]
    if missing:
        raise TransitionRefused(f"「{action.label}」需要填写：{'、'.join(missing)}。")
    if action.name == "revisit" and fields.get("revisit") not in ("满意", "基本满意", "不满意"):
        raise TransitionRefused("回访结果只能是 满意、基本满意 或 不满意。")
    return target_state(action, current, fields.get("revisit"))


def default_deadline(category: str, reported: dt.datetime, s: Settings | None = None) -> dt.datetime:
    """The category's time limit in official working days after `reported`, at 23:59:59 of that day."""
    s = s or settings()
    limits = s.issue_limit_workdays
    days = int(limits.get(category, limits.get("default", 5)))
    day = reported.date()
    while days > 0:
        day += dt.timedelta(days=1)
        days -= is_workday(day)
    return dt.datetime.combine(day, dt.time(23, 59, 59))


def apply(path: Path, issue_id: str, action_name: str, current: str, expected_version: int, actor: str,
          at: dt.datetime | None = None, **fields) -> int:
    """Check the action against `current` and write it as one event; returns the issue's new version.

    `current` and `expected_version` are what the form showed; if anyone wrote the issue since,
    store.Conflict is raised with what changed and nothing is written. `at`: the business time
    (fourguard.clock.now), default the system clock.
    """
    to_state = check(action_name, current, fields)
    return store.append_issue_event(path, issue_id, expected_version, actor, current, to_state, at,
                                    **{k: v for k, v in fields.items() if v not in (None, "")})


def create(path: Path, credit_code: str, category: str, detail: str, actor: str,
           reported_at: dt.datetime | None = None, source: str = "平台录入") -> str:
    """问题收集: record a new issue for an enterprise (e.g. from a phone call); returns its id."""
    if not str(detail or "").strip():
        raise TransitionRefused("请填写诉求内容。")
    reported_at = reported_at or dt.datetime.now().replace(microsecond=0)
    with store.transaction(path, actor, "create_issue", scope=credit_code,
                           detail={"category": category}) as con:
        serial = con.execute("SELECT count(*) + 1 FROM app_issues WHERE issue_id LIKE ?",
                             (f"PT{reported_at:%Y%m%d}%",)).fetchone()[0]
        issue_id = f"PT{reported_at:%Y%m%d}{serial:05d}"
        con.execute("INSERT INTO app_issues (issue_id, credit_code, category, detail, reported_at, source, created_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (issue_id, credit_code, category, validate.mask_text(detail.strip()),  # never a clear ID
                     reported_at.isoformat(sep=" "), source, actor))
    return issue_id


def apply_many(path: Path, forms: list[tuple[str, str, int]], action_name: str, actor: str,
               at: dt.datetime | None = None, **fields) -> tuple[list[str], dict[str, str]]:
    """Bulk action over (issue_id, current state, version) rows: each issue its own transaction.

    Returns (ids written, {id: why refused}); one refusal never blocks the others.
    """
    done, refused = [], {}
    for issue_id, current, version in forms:
        try:
            apply(path, issue_id, action_name, current, version, actor, at, **fields)
            done.append(issue_id)
        except (TransitionRefused, store.Conflict) as exc:
            refused[issue_id] = str(exc)
    return done, refused
