"""The issue state machine: every transition allowed or refused, races, deadlines, write-backs in views."""
from __future__ import annotations

import datetime as dt
import shutil
import threading

import pytest

from fourguard import clock, db, freshness, ingest, issues, queries, store
from fourguard.config import Settings
from fourguard.feeds import ISSUE_STATES
from tests.feedfiles import write_feed
from tests.test_ingest import E1, REGISTRY

FIELDS = {"department": "县工信局", "note": "已电话联系企业", "revisit": "满意", "batch_id": "PL1"}
ALLOWED = {  # action -> {from state: to state}; every other pair must be refused
    "assign": {"待交办": "已交办", "退回": "已交办", "升级": "已交办"},
    "start": {"已交办": "办理中", "重办": "办理中"},
    "progress": {"办理中": "办理中"},
    "resolve": {"办理中": "已办结"},
    "revisit": {"已办结": "已回访"},
    "close": {"已回访": "已销号"},
    "return": {"已交办": "退回", "办理中": "退回"},
    "reopen": {"已办结": "重办", "已回访": "重办", "已销号": "重办"},
    "escalate": {s: "升级" for s in ("待交办", "已交办", "办理中", "退回", "重办")},
    "batch": {s: s for s in ("待交办", "已交办", "办理中", "退回", "重办", "升级")},
}


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("state", ISSUE_STATES)
def test_every_transition(action, state):
    expected = ALLOWED[action].get(state)
    if expected is None:
        with pytest.raises(issues.TransitionRefused, match=f"当前状态为「{state}」"):
            issues.check(action, state, FIELDS)
    else:
        assert issues.check(action, state, FIELDS) == expected


@pytest.mark.parametrize("revisit,expected", [("满意", "已回访"), ("基本满意", "已回访"), ("不满意", "重办")])
def test_revisit_outcome(revisit, expected):
    assert issues.check("revisit", "已办结", {"revisit": revisit}) == expected


@pytest.mark.parametrize("action,fields,words", [
    ("assign", {}, "责任单位"),
    ("resolve", {"note": "  "}, "说明"),
    ("revisit", {"revisit": "还行"}, "回访结果只能是"),
    ("frobnicate", {}, "未知操作"),
])
def test_incomplete_forms_are_refused(action, fields, words):
    with pytest.raises(issues.TransitionRefused, match=words):
        issues.check(action, "已办结" if action == "revisit" else "办理中" if action == "resolve" else "待交办", fields)


@pytest.mark.parametrize("category,reported,deadline", [
    ("物流运输", dt.datetime(2022, 6, 1, 9), dt.datetime(2022, 6, 9, 23, 59, 59)),   # 端午 6/3 and a weekend
    ("用工需求", dt.datetime(2022, 6, 6, 17), dt.datetime(2022, 6, 13, 23, 59, 59)),
    ("融资", dt.datetime(2022, 4, 29, 10), dt.datetime(2022, 5, 10, 23, 59, 59)),    # 五一 4/30–5/4, 5/7 调休上班
])
def test_default_deadline_counts_official_working_days(category, reported, deadline):
    assert issues.default_deadline(category, reported, Settings()) == deadline


def test_two_writers_racing_on_one_issue_exactly_one_wins(tmp_path):
    path = store.store_path(tmp_path / "fg.duckdb")
    results, barrier = [], threading.Barrier(2)

    def officer(name, department):
        barrier.wait()
        try:
            issues.apply(path, "SB1", "assign", "待交办", 0, name, department=department)
            results.append(("ok", name))
        except store.Conflict as exc:
            results.append(("conflict", str(exc)))

    threads = [threading.Thread(target=officer, args=a) for a in (("甲", "县工信局"), ("乙", "县交通运输局"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r[0] for r in results) == ["conflict", "ok"]
    winner = next(r[1] for r in results if r[0] == "ok")
    conflict = next(r[1] for r in results if r[0] == "conflict")
    assert winner in conflict and "未保存" in conflict  # the loser sees who changed it, nothing overwritten
    con = store._open(path)
    assert con.execute("SELECT count(*), max(actor) FROM issue_events").fetchone() == (1, winner)
    con.close()


def test_bulk_assign_writes_each_and_reports_refusals(tmp_path):
    path = store.store_path(tmp_path / "fg.duckdb")
    done, refused = issues.apply_many(path, [("A", "待交办", 0), ("B", "已销号", 0), ("C", "退回", 0)],
                                      "assign", "县指挥部", department="县发改委")
    assert done == ["A", "C"] and list(refused) == ["B"] and "已销号" in refused["B"]


def test_write_backs_drive_the_views_and_survive_a_newer_feed(tmp_path):
    s = Settings(db_path=tmp_path / "fg.duckdb", hash_key="k")
    feed = [dict(issue_id="SB1", credit_code=E1, category="物流运输", detail="货车通行证难办",
                 reported_at="2022-06-01 09:00")]
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY),
                         write_feed(tmp_path / "i.csv", "issues", feed)], s.db_path, s)
    path = store.store_path(s.db_path)
    new_id = issues.create(path, E1, "用工需求", "缺普工20人", "张三", reported_at=dt.datetime(2022, 6, 2, 10))
    v = issues.apply(path, "SB1", "assign", "待交办", 0, "张三", department="县交通运输局",
                     deadline_at=dt.datetime(2022, 6, 5, 18))
    issues.apply(path, "SB1", "start", "已交办", v, "李四")
    # A newer export of the same issue (still 待交办 there) must not undo what was done in the app.
    later = [{**feed[0], "detail": "货车通行证难办（补充）", "status": "待交办", "status_at": "2022-06-01 09:00"}]
    ingest.ingest_paths([write_feed(tmp_path / "i2.csv", "issues", later)], s.db_path, s)
    con = db.connect(s.db_path, s).cursor()
    rows = dict(con.execute("SELECT issue_id, state FROM issue_status(now()::TIMESTAMP)").fetchall())
    assert rows == {"SB1": "办理中", new_id: "待交办"}
    deadline, source = con.execute("SELECT deadline_at, deadline_source FROM issue_status(now()::TIMESTAMP) "
                                   "WHERE issue_id = ?", [new_id]).fetchone()
    assert deadline == issues.default_deadline("用工需求", dt.datetime(2022, 6, 2, 10), s)


@pytest.mark.parametrize("setting, latest_age_days, expected", [
    ("auto", 31, "data"),      # a demo or an archive: stamp inside its period
    ("auto", 29, "wall"),      # live data, even if a feed is late
    ("auto", None, "wall"),    # nothing loaded yet
    ("wall", 400, "wall"),
    ("data", 0, "data"),
])
def test_business_clock_mode(setting, latest_age_days, expected):
    latest = None if latest_age_days is None else dt.datetime.now() - dt.timedelta(days=latest_age_days)
    assert clock.mode(latest, Settings(clock=setting)) == expected


def test_default_as_of_includes_later_write_backs(demo_db, tmp_path):
    copy = tmp_path / "fg.duckdb"
    shutil.copy(demo_db.db_path, copy)
    s = Settings(db_path=copy)
    path = store.store_path(copy)
    r = db.connect(copy, s)
    con = r.cursor()
    latest = freshness.latest_data_at(con)
    assert freshness.latest_time(con) == latest
    issue = queries.issue_status(con, latest, open_only=True).iloc[0]
    later = latest + dt.timedelta(hours=2)
    issues.apply(path, issue.issue_id, "escalate", issue.state, 0, "甲", at=later, note="报上级")
    r.refresh_writebacks()
    assert freshness.latest_time(con) == later          # shown at 最新数据 at once
    row = queries.issue_status(con, freshness.latest_time(con)).set_index("issue_id").loc[issue.issue_id]
    assert row.state == "升级"
    # A switch dated in the future never moves 最新数据 past the system clock.
    store.switch_county_state(path, issue.county_code, "应急", "甲", since=dt.datetime(2099, 1, 1))
    r.refresh_writebacks()
    assert later < freshness.latest_time(con) <= dt.datetime.now()
    r.close()


def test_an_id_typed_into_a_new_issue_is_masked(tmp_path):
    path = tmp_path / "fg.writes.sqlite"
    issues.create(path, E1, "用工需求", "联系人身份证 411322199001010011，缺普工", "张三",
                  reported_at=dt.datetime(2022, 6, 2, 10))
    detail = store.read_tables(path)["app_issues"].detail.iloc[0]
    assert "411322199001010011" not in detail and detail.startswith("联系人身份证 4113") and "0011" in detail
