"""问题办结 and 诉求办理: the closure figures equal metrics(), forms write through the state machine."""
from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from fourguard import closure, db, freshness, issues, queries, store, ui
from fourguard.config import Settings
from tests.conftest import run_page

def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def demo_con(demo_db):
    r = db.connect(demo_db.db_path, demo_db)
    yield r.cursor()
    r.close()


@pytest.fixture
def fresh_db(demo_db, tmp_path, app_on) -> Settings:
    """A private copy of the demo database (write tests never touch the shared one); the app points at it."""
    copy = tmp_path / "fg.duckdb"
    shutil.copy(demo_db.db_path, copy)
    return app_on(Settings(db_path=copy, demo_dir=demo_db.demo_dir))


# ---------------------------------------------------------------- pure helpers

@pytest.mark.parametrize("states, expected", [
    (["待交办"], ["assign", "escalate", "batch"]),
    (["待交办", "退回"], ["assign", "escalate", "batch"]),
    (["办理中"], ["progress", "resolve", "return", "escalate", "batch"]),
    (["已办结"], ["revisit", "reopen"]),
    (["已销号"], ["reopen"]),
    (["待交办", "已销号"], []),
    ([], []),
])
def test_allowed_actions_are_common_to_every_selected_state(states, expected):
    assert closure.allowed_actions(states) == expected


def test_outcome_says_what_was_refused():
    assert closure.outcome("交办", ["A", "B"], {})[0] == "success"
    kind, text = closure.outcome("交办", ["A"], {"B": "诉求 B 在您打开后已被 王强 修改"})
    assert kind == "warning" and "B：诉求 B 在您打开后已被 王强 修改" in text
    assert closure.outcome("交办", [], {"B": "x"})[0] == "error"


def test_closure_figures_add_up(demo_con):
    t = freshness.latest_data_at(demo_con)
    df = closure.issue_closure(demo_con, t)
    s = closure.closure_summary(demo_con, t)
    ages = closure.backlog_by_age(demo_con, t)
    assert list(ages.age_bucket) == list(closure.AGE_BUCKETS)
    assert ages.count_open.sum() == s["open"] == len(closure.filter_issues(df, "未办结"))
    assert ages.count_overdue.sum() == s["overdue"] == len(closure.filter_issues(df, "已超期"))
    for by in closure.BREAKDOWNS:
        groups = closure.closure_by(demo_con, t, by)
        assert groups.count_total.sum() == s["total"] and groups.count_overdue.sum() == s["overdue"]
        top = groups.iloc[0]
        assert len(closure.filter_issues(df, "全部", by=by, name=top["name"])) == top.count_total
    assert s["median_hours_to_close"] == round(df.loc[df.is_closed, "hours_to_close"].median(), 1)
    assert df.is_overdue.iloc[0] and df.loc[df.is_overdue, "overdue_hours"].is_monotonic_decreasing


# ---------------------------------------------------------------- the closure page

def test_closure_page_equals_metrics(demo_db, app_on, demo_con):
    app_on(demo_db)
    t = freshness.latest_data_at(demo_con)
    county = queries.areas(demo_con).county_code.iloc[0]
    for params in ({}, {"county": county}):
        m = queries.metrics(demo_con, t, **params)["issues"]
        s = closure.closure_summary(demo_con, t, **params)
        at = run_page("08_issues.py", **params)
        assert metric(at, "诉求总数") == ui.fmt_int(m["total"])
        assert metric(at, "办结率") == ui.fmt_pct(m["closure_rate"])
        assert metric(at, "按时办结率") == ui.fmt_pct(m["on_time_rate"])
        assert metric(at, "已超期未办结") == ui.fmt_int(m["overdue"])
        assert metric(at, "未办结") == ui.fmt_int(m["open"])
        assert metric(at, "回访满意率") == ui.fmt_pct(s["satisfaction_rate"])
        # The table below starts on 已超期: exactly the overdue issues, most overdue first.
        table = at.dataframe[0].value
        assert len(table) == m["overdue"] and table["overdue_hours"].is_monotonic_decreasing
        at.segmented_control(key="issues_view").set_value("未办结").run()
        assert len(at.dataframe[0].value) == m["open"]


def test_closure_page_groups_by_the_chosen_breakdown(demo_db, app_on, demo_con):
    app_on(demo_db)
    t = freshness.latest_data_at(demo_con)
    at = run_page("08_issues.py")
    assert at.selectbox(key="issues_group_department").options[1:] == \
        closure.closure_by(demo_con, t, "department")["name"].tolist()
    at.segmented_control(key="issues_by").set_value("category").run()
    assert not at.exception, at.exception
    categories = closure.closure_by(demo_con, t, "category")["name"].tolist()
    assert len(categories) > 1 and at.selectbox(key="issues_group_category").options[1:] == categories


def test_closure_page_filters_by_age_bucket(demo_db, app_on, demo_con):
    app_on(demo_db)
    t = freshness.latest_data_at(demo_con)
    ages = closure.backlog_by_age(demo_con, t).set_index("age_bucket")
    at = run_page("08_issues.py")
    at.segmented_control(key="issues_view").set_value("未办结")
    at.selectbox(key="issues_age").set_value(">7天").run()
    shown = at.dataframe[0].value if ages.loc[">7天", "count_open"] else None
    assert shown is None or len(shown) == ages.loc[">7天", "count_open"]


# ---------------------------------------------------------------- the desk: write-back forms

def open_desk() -> tuple[AppTest, object]:
    at = run_page("09_issue_desk.py")
    return at, at.dataframe[0].value


def select(at: AppTest, rows: list[int]) -> None:
    at.session_state["desk_table_0"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception


def submit(at: AppTest, label_start: str) -> None:
    next(b for b in at.button if b.label.startswith(label_start)).click().run()
    assert not at.exception, at.exception


def test_bulk_assign_through_the_form_changes_the_state(fresh_db):
    at, table = open_desk()
    waiting = [i for i, state in enumerate(table["state"]) if state == "待交办"][:2]
    assert len(waiting) == 2
    ids = list(table["issue_id"].iloc[waiting])
    select(at, waiting)
    assert at.segmented_control(key="desk_action").value == "assign"
    at.selectbox(key="f_department").set_value(at.selectbox(key="f_department").options[0])
    at.text_input(key="f_assignee").input("赵六")
    submit(at, "交办")
    assert at.success and all(i in at.success[0].value for i in ids), [e.value for e in at.error]
    shown = at.dataframe[0].value.set_index("issue_id")
    assert (shown.loc[ids, "state"] == "已交办").all() and (shown.loc[ids, "version"] == 1).all()
    assert (shown.loc[ids, "assignee"] == "赵六").all()
    events = store.read_tables(store.store_path(fresh_db.db_path))["issue_events"]
    assert sorted(events.issue_id) == sorted(ids) and set(events.actor) == {ui.DEMO_OFFICIALS[0]}


def test_a_stale_form_is_refused_with_what_changed(fresh_db):
    at, table = open_desk()
    row = next(i for i, state in enumerate(table["state"]) if state == "待交办")
    issue_id = table["issue_id"].iloc[row]
    select(at, [row])
    # Someone else assigns the issue after this form was opened.
    issues.apply(store.store_path(fresh_db.db_path), issue_id, "assign", "待交办", 0, "王强（县人社局）",
                 department="县人社局")
    at.selectbox(key="f_department").set_value(at.selectbox(key="f_department").options[0])
    submit(at, "交办")
    assert at.error, [s.value for s in at.success]
    assert issue_id in at.error[0].value and "王强（县人社局）" in at.error[0].value and "修改" in at.error[0].value
    events = store.read_tables(store.store_path(fresh_db.db_path))["issue_events"]
    assert list(events.actor) == ["王强（县人社局）"]          # nothing overwritten


def test_new_issue_form_creates_a_waiting_issue(fresh_db):
    at, table = open_desk()
    at.text_area(key="new_detail").input("电话反映缺普工20人")
    submit(at, "登记诉求")
    assert at.success and "待交办" in at.success[0].value
    created = store.read_tables(store.store_path(fresh_db.db_path))["app_issues"]
    assert len(created) == 1 and created.detail.iloc[0] == "电话反映缺普工20人"
    assert created.issue_id.iloc[0] in set(at.dataframe[0].value["issue_id"])


@pytest.mark.parametrize("action, from_states, to_state, opened", [
    ("return", ("已交办", "办理中"), "退回", 0),
    ("reopen", ("已办结", "已回访", "已销号"), "重办", 1),    # a closed issue is open again
    ("escalate", ("待交办",), "升级", 0),
])
def test_return_reopen_escalate_through_the_form(fresh_db, action, from_states, to_state, opened):
    before = int(metric(run_page("08_issues.py"), "未办结").replace(",", ""))
    at, _ = open_desk()
    at.segmented_control(key="desk_view").set_value("全部").run()
    table = at.dataframe[0].value
    row = next(i for i, state in enumerate(table["state"]) if state in from_states)
    issue_id = table["issue_id"].iloc[row]
    select(at, [row])
    at.segmented_control(key="desk_action").set_value(action).run()
    at.text_area(key="f_note").input("测试：" + issues.ACTIONS[action].label)
    submit(at, issues.ACTIONS[action].label)
    assert at.success and issue_id in at.success[0].value, [e.value for e in at.error]
    events = store.read_tables(store.store_path(fresh_db.db_path))["issue_events"]
    assert list(events.to_state) == [to_state] and list(events.from_state) == [table["state"].iloc[row]]
    # Demo data ends in 2022: the event is stamped with the data's newest time (the business
    # clock), so 问题办结 at its default 最新数据 already counts it.
    r = db.connect(fresh_db.db_path, fresh_db)
    assert events["at"].iloc[0] == freshness.latest_data_at(r.cursor())
    r.close()
    after = run_page("08_issues.py")
    assert int(metric(after, "未办结").replace(",", "")) == before + opened
