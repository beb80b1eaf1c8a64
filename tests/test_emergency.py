"""平急转换 (R14): the switch through the page records who and when, and the rules follow it."""
from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from fourguard import db, emergency, freshness, queries, store, ui, wall
from fourguard.config import Settings
from tests.conftest import run_page

COUNTY = "411322"  # 方城县: the demo county, in 应急 at the end of the demo (a county-state feed row)


@pytest.fixture
def fresh(demo_db, tmp_path, app_on) -> Settings:
    """A private copy of the demo database; the app points at it (the switch writes beside it)."""
    copy = tmp_path / "fg.duckdb"
    shutil.copy(demo_db.db_path, copy)
    return app_on(Settings(db_path=copy, demo_dir=demo_db.demo_dir))


def overdue_by_hand(con, t: dt.datetime, county: str, emergency_state: bool) -> int:
    """R1/R2 from the staging views with pandas: the interval is 24 h in 应急, for 流动接触岗位 and in
    闭环生产 (latest report on or before t's date), else 48 h; overdue = no sample in [t − interval, t]."""
    staff = con.execute("SELECT e.credit_code, CAST(e.person_key AS VARCHAR) AS person_key, e.job_type FROM stg_employees AS e "
                        "JOIN whitelist(?) AS w USING (credit_code) WHERE w.county_code = ?", [t, county]).df()
    reports = con.execute("SELECT credit_code, report_date, status FROM stg_production").df()
    reports = reports[pd.to_datetime(reports.report_date) <= pd.Timestamp(t.date())]
    closed = set(reports.sort_values("report_date").groupby("credit_code").tail(1)
                 .query("status == '闭环生产'").credit_code)
    tests = con.execute("SELECT CAST(person_key AS VARCHAR) AS person_key, max(sampled_at) AS last FROM stg_tests WHERE sampled_at <= ? "
                        "GROUP BY person_key", [t]).df()
    staff = staff.merge(tests, on="person_key", how="left")
    daily = emergency_state | (staff.job_type == "流动接触岗位") | staff.credit_code.isin(closed)
    hours = daily.map({True: 24, False: 48})
    within = staff["last"].notna() & (staff["last"] >= pd.Timestamp(t) - pd.to_timedelta(hours, unit="h"))
    return int((~within).sum())


def switch_on_page(at, confirm: bool = True, note: str = ""):
    at.text_input(key="em_note").input(note)
    at.checkbox(key="em_confirm").set_value(confirm)
    return at.button[0].click().run()


def test_switching_through_the_page_records_who_and_when_and_the_rules_follow(fresh):
    r = db.connect(fresh.db_path, fresh)
    t = freshness.latest_time(r.cursor())
    before = queries.metrics(r.cursor(), t, county=COUNTY)["overdue_employees"]
    assert before == overdue_by_hand(r.cursor(), t, COUNTY, emergency_state=True)

    at = run_page("11_emergency.py", county=COUNTY)
    assert {m.label: m.value for m in at.metric}["当前状态"] == "应急"
    assert {m.label: m.value for m in at.metric}["超时未检"] == f"{before:,}"
    started = dt.datetime.now().replace(microsecond=0)
    at = switch_on_page(at, note="县指挥部通知解除应急")
    assert not at.exception and not at.error
    assert "已将 方城县（南阳市） 切换为常态状态" in at.success[0].value

    switches = store.read_tables(store.store_path(fresh.db_path))["county_switches"]
    assert len(switches) == 1
    row = switches.iloc[0]
    assert (row.county_code, row.state, row.note) == (COUNTY, "常态", "县指挥部通知解除应急")
    assert row.actor == ui.DEMO_OFFICIALS[0]                     # who: the acting user (dev-mode picker)
    assert row.since == pd.Timestamp(t)                          # from when: the business clock (demo data time)
    assert started - dt.timedelta(seconds=1) <= row["at"] <= dt.datetime.now()   # when it was done

    r.refresh_writebacks()
    con = r.cursor()
    after = queries.metrics(con, t, county=COUNTY)["overdue_employees"]
    assert after == overdue_by_hand(con, t, COUNTY, emergency_state=False)
    assert after < before                                         # 48 h intervals again: fewer overdue
    assert emergency.county_states(con, t, county=COUNTY).iloc[0]["county_state"] == "常态"
    headline = wall.headline(con, t, county=COUNTY).set_index("key")
    assert headline.at["overdue_employees", "value"] == after     # the wall follows at its next refresh
    # The page after its rerun: the new state, the new count, the switch first in the history.
    assert {m.label: m.value for m in at.metric}["当前状态"] == "常态"
    assert {m.label: m.value for m in at.metric}["超时未检"] == f"{after:,}"
    history = at.dataframe[0].value
    assert history.iloc[0][["state", "source", "actor", "note"]].tolist() == [
        "常态", "平台切换", ui.DEMO_OFFICIALS[0], "县指挥部通知解除应急"]
    # Feed rows have no actor or note: typed text with nulls (the placeholder), never the word None.
    feed_rows = history[history.source == "县区状态数据"]
    assert len(feed_rows) and feed_rows[["actor", "note"]].isna().all().all()
    assert {str(history[c].dtype) for c in ("actor", "note")} == {"string"}

    # And back: 应急 again gives the first count.
    at = switch_on_page(at)
    r.refresh_writebacks()
    assert queries.metrics(r.cursor(), t, county=COUNTY)["overdue_employees"] == before
    assert store.read_tables(store.store_path(fresh.db_path))["county_switches"]["state"].tolist() == ["常态", "应急"]
    r.close()


def test_the_page_refuses_a_switch_without_the_confirmation(fresh):
    at = switch_on_page(run_page("11_emergency.py", county=COUNTY), confirm=False)
    assert "请先勾选确认" in at.error[0].value
    assert store.read_tables(store.store_path(fresh.db_path))["county_switches"].empty


@pytest.mark.parametrize("current, new, actor, confirmed, refused", [
    ("常态", "应急", "张伟", True, None),
    ("应急", "常态", "张伟", True, None),
    ("应急", "应急", "张伟", True, "已处于应急状态"),
    ("常态", "戒严", "张伟", True, "状态只能是"),
    ("常态", "应急", " ", True, "没有操作人"),
    ("常态", "应急", "张伟", False, "请先勾选确认"),
])
def test_refusal_says_why(current, new, actor, confirmed, refused):
    reason = emergency.refusal(current, new, actor, confirmed)
    assert (reason is None) if refused is None else (refused in reason)


def test_a_refused_switch_writes_nothing(tmp_path):
    path = tmp_path / "fg.writes.sqlite"
    with pytest.raises(ValueError, match="已处于"):
        emergency.switch(path, COUNTY, "应急", "应急", "张伟", dt.datetime(2022, 6, 9), confirmed=True)
    assert store.version(path) == 0
    assert emergency.switch(path, COUNTY, "应急", "常态", "张伟", dt.datetime(2022, 6, 9), confirmed=True) == 1


@pytest.mark.parametrize("current, expected", [("常态", "应急"), ("应急", "常态")])
def test_a_switch_leads_to_the_other_state(current, expected):
    assert emergency.target(current) == expected
