"""The metric views and queries on a crafted world (tests/crafted.py), expected values by hand.

T = 2022-06-10 12:00 (a Friday). Each county holds one family of scenarios, so a scoped
metrics() call checks one rule at a time; the province-wide numbers are their sums.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pandas as pd
import pytest

from fourguard import db, queries
from tests import crafted
from tests.crafted import (EMERGENCY, ISSUES, LATER, LISTING, NORMAL, OUTPUT, PLACES, QUIET, RECHECK,
                           SHUTDOWN, SWITCHED, H, M, T)

D = dt.datetime


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db_path, s, w, reports = crafted.build(tmp_path_factory.mktemp("crafted"))
    return {"db_path": db_path, "settings": s, "world": w, "reports": reports}


@pytest.fixture(scope="module")
def reader(world):
    r = db.connect(world["db_path"], world["settings"])
    yield r
    r.close()


@pytest.fixture
def con(reader):
    return reader.cursor()


def by_name(df, column="person_name"):
    return {row[column]: row for row in df.to_dict("records")}


# ---------------------------------------------------------------- loading

def test_crafted_feeds_load_through_the_real_ingestion(world):
    reports = {r.feed: r for r in world["reports"]}
    assert all(r.status == "loaded" for r in world["reports"])
    assert reports["tests"].quarantined == 1       # the ID with a wrong check digit
    assert reports["scans"].quarantined == 1       # the unregistered place code


def test_quarantined_rows_count_the_whole_database_whatever_the_scope(con):
    assert queries.quarantined_rows(con) == 2
    assert queries.metrics(con, T, county=ISSUES)["quarantined_rows"] == 2


# ---------------------------------------------------------------- R1/R2 intervals at T

EMPLOYEE_CASES = [
    # name, hours since the last sample, interval hours, rule shown, overdue
    ("张一", 48.0, 48, "常态：48小时一检", False),              # exactly 48 h is within
    ("张二", 48.02, 48, "常态：48小时一检", True),              # 48 h 1 min is overdue
    ("张三", 25.0, 24, "流动接触岗位：24小时一检", True),        # mobile job at 25 h
    ("张四", 24.0, 24, "流动接触岗位：24小时一检", False),
    ("张五", None, 48, "常态：48小时一检", True),               # never tested
    ("张六", 50.0, 48, "常态：48小时一检", True),               # its sample after T is not seen
    ("张七", 10.0, 48, "常态：48小时一检", False),              # a positive is a test taken
    ("张八", 30.0, 48, "常态：48小时一检", False),              # 保供岗位 in 常态
    ("李一", 30.0, 24, "闭环生产：每日一检", True),             # report dated T's day says 闭环生产
    ("李二", 20.0, 24, "闭环生产：每日一检", False),
    ("王一", 30.0, 48, "常态：48小时一检", False),              # 闭环生产 only from the next day
    ("赵一", 30.0, 24, "县区应急状态：每日一检", True),         # county 应急 since T - 2 h, 保供岗位 too
    ("赵二", 10.0, 24, "县区应急状态：每日一检", False),        # mobile and 应急: 应急 is named
    ("钱一", 30.0, 48, "常态：48小时一检", False),              # county 应急 only from T + 1 h
    ("钱二", 30.0, 24, "县区应急状态：每日一检", True),         # app switch to 应急 at T - 1 h
]


@pytest.mark.parametrize("name, hours, interval, rule, overdue", EMPLOYEE_CASES)
def test_employee_interval_at_T(con, name, hours, interval, rule, overdue):
    row = by_name(queries.employee_status(con, T))[name]
    assert row["interval_hours"] == interval
    assert row["interval_rule"] == rule
    assert bool(row["is_overdue"]) is overdue
    assert bool(row["is_within_interval"]) is (not overdue)
    if hours is None:
        assert row["is_never_tested"] and row["hours_since_sample"] != row["hours_since_sample"]  # NaN
    else:
        assert row["hours_since_sample"] == pytest.approx(hours, abs=0.005)


AS_OF_CASES = [
    # name, as_of, overdue, rule
    ("张一", T + M, True, "常态：48小时一检"),               # 48 h 1 min
    ("张六", T + 2 * H, False, "常态：48小时一检"),          # the T + 1 h sample is seen now
    ("钱一", T + 2 * H, True, "县区应急状态：每日一检"),     # 商城 switched to 应急 at T + 1 h
    ("钱二", T - 2 * H, False, "常态：48小时一检"),          # before the app switch
    ("赵一", T - 3 * H, False, "常态：48小时一检"),          # before 新县 went 应急
    ("王一", D(2022, 6, 10, 23, 59), False, "常态：48小时一检"),
    ("王一", D(2022, 6, 11, 1, 0), True, "闭环生产：每日一检"),  # 43 h, report dated 06-11
]


@pytest.mark.parametrize("name, as_of, overdue, rule", AS_OF_CASES)
def test_employee_interval_moves_with_as_of(con, name, as_of, overdue, rule):
    row = by_name(queries.employee_status(con, as_of))[name]
    assert bool(row["is_overdue"]) is overdue
    assert row["interval_rule"] == rule


def test_county_summary_of_the_interval_scenarios(con):
    m = queries.metrics(con, T, county=NORMAL)
    assert (m["enterprises"], m["employees"], m["tested_in_interval"], m["overdue_employees"]) == (3, 11, 6, 5)
    assert m["coverage_rate"] == 0.5455
    assert m["overdue_by_county"] == {NORMAL: 5}
    assert m["positives"] == 1 and m["clusters"] == 0


def test_city_scope_lists_every_county_with_staff_zeros_included(con):
    m = queries.metrics(con, T, city="411300")
    assert m["overdue_by_county"] == {QUIET: 0, NORMAL: 5}
    assert (m["enterprises"], m["employees"]) == (7, 21)
    assert queries.metrics(con, T, city="411500")["overdue_by_county"] == {EMERGENCY: 1, LATER: 0, SWITCHED: 1}


def test_overdue_helpers(con):
    ranked = queries.enterprises_by_overdue(con, T, county=NORMAL)
    assert list(ranked["enterprise_name"]) == ["方城机械", "方城食品"]
    assert list(ranked["count_overdue"]) == [4, 1]
    code = crafted_credit(con, "方城机械")
    overdue = queries.overdue_employees(con, T, credit_code=code)
    assert list(overdue["person_name"])[0] == "张五"        # never tested comes first
    assert set(overdue["person_name"]) == {"张二", "张三", "张五", "张六"}
    assert overdue["id_masked"].str.fullmatch(r"4113\*{10}\d{3}[\dX]").all()


@pytest.mark.parametrize("by, key, employees, overdue", [
    ("county", NORMAL, 11, 5),
    ("city", "411500", 4, 2),
    ("sector", "城市运行保障", 3, 2),
    ("enterprise", "方城食品", 2, 1),
])
def test_coverage_groupings(con, by, key, employees, overdue):
    df = queries.coverage(con, T, by)
    col = {"county": "county_code", "city": "city_code", "sector": "sector", "enterprise": "enterprise_name"}[by]
    row = df[df[col] == key].iloc[0]
    assert (row["count_employees"], row["count_overdue"]) == (employees, overdue)


def crafted_credit(con, name: str) -> str:
    return con.execute("SELECT credit_code FROM stg_enterprises WHERE enterprise_name = ?", [name]).fetchone()[0]


# ---------------------------------------------------------------- whitelist membership

@pytest.mark.parametrize("as_of, enterprises, people", [
    (T, {"中原丙"}, {"孙三"}),                                      # 中原甲 removed on T's day
    (D(2022, 6, 9, 12), {"中原甲", "中原丙"}, {"孙一", "孙三"}),
    (D(2022, 6, 9, 23, 59, 59), {"中原甲", "中原丙"}, {"孙一", "孙三"}),
    (D(2022, 6, 10), {"中原丙"}, {"孙三"}),                         # removed at midnight
    (D(2022, 6, 11), {"中原乙"}, {"孙二"}),                         # listed / removed at midnight
])
def test_whitelist_membership(con, as_of, enterprises, people):
    assert queries.metrics(con, as_of, county=LISTING)["enterprises"] == len(enterprises)
    assert set(queries.enterprise_testing(con, as_of, county=LISTING)["enterprise_name"]) == enterprises
    assert set(queries.employee_status(con, as_of, county=LISTING)["person_name"]) == people


# ---------------------------------------------------------------- R15 positives and clusters

def test_the_report_in_force_is_the_latest_on_or_before_the_day(demo_con):
    """enterprise_status reads the report whose span holds as_of's date; that is the latest report
    dated on or before it, at both ends of every day and on days some enterprises did not report."""
    first, last = demo_con.execute("SELECT min(report_date), max(report_date) FROM stg_production").fetchone()
    latest = ("SELECT w.credit_code, max(p.report_date), arg_max(p.status, p.report_date), "
              "arg_max(p.on_duty, p.report_date) FROM whitelist($t) AS w LEFT JOIN stg_production AS p "
              "ON p.credit_code = w.credit_code AND p.report_date <= CAST($t AS DATE) GROUP BY ALL ORDER BY 1")
    ours = ("SELECT credit_code, last_report_date, production_status, on_duty FROM enterprise_status($t) ORDER BY 1")
    gaps = 0
    for day in pd.date_range(first - dt.timedelta(days=1), last + dt.timedelta(days=1)):
        for t in (day.to_pydatetime(), day.to_pydatetime() + dt.timedelta(days=1, microseconds=-1)):
            expected = demo_con.execute(latest, {"t": t}).fetchall()
            assert demo_con.execute(ours, {"t": t}).fetchall() == expected, t
            gaps += sum(1 for _, d, *_ in expected if d is not None and d < t.date())
    assert gaps > 0  # some enterprise's report in force was from an earlier day


def test_positives_count_roster_people_in_the_window_only(con):
    names = set(queries.positive_cases(con, T)["person_name"])
    assert names == {"张七", "吴一", "吴二", "郑一", "郑二", "冯二", "陈一", "陈二"}  # no 周无 (no roster),
    m = queries.metrics(con, T)                                                       # 冯一 (too old), 冯三
    assert (m["positives"], m["clusters"]) == (8, 2)                                  # (after T), 陈三 (pool)
    assert queries.metrics(con, T, county=QUIET)["positives"] == 7


@pytest.mark.parametrize("enterprise, people, gap_hours, is_cluster", [
    ("南召一厂", 2, 40.0, True),
    ("南召四厂", 2, 72.0, True),     # exactly the window
    ("南召二厂", 2, 130.0, False),
    ("南召三厂", 1, None, False),    # the other positive is outside the lookback
])
def test_clusters(con, enterprise, people, gap_hours, is_cluster):
    row = by_name(queries.enterprise_positives(con, T, county=QUIET), "enterprise_name")[enterprise]
    assert row["count_positive_people"] == people
    assert bool(row["is_cluster"]) is is_cluster
    if gap_hours is None:
        assert row["min_gap_hours"] != row["min_gap_hours"]
    else:
        assert row["min_gap_hours"] == pytest.approx(gap_hours)


@pytest.mark.parametrize("as_of, clusters", [
    (T, 2),
    (T - 20 * H, 2),       # 吴二 not sampled yet; 冯一 (T - 170 h) back inside the lookback, 70 h from 冯二
    (T - 29 * H, 1),       # 陈二 not yet either: only 南召三厂
    (T + 200 * H, 0),
])
def test_cluster_count_moves_with_as_of(con, as_of, clusters):
    assert queries.metrics(con, as_of, county=QUIET)["clusters"] == clusters


# ---------------------------------------------------------------- R8 rechecks

@pytest.mark.parametrize("name, state, over", [
    ("何一", "已按时复核", False),    # single tube exactly 6 h after the pool result
    ("何二", "超时复核", True),       # 6 h 1 min
    ("何三", "超时未复核", True),
    ("何四", "超时未复核", True),     # its single tube was before the pool result
    ("何五", "待复核", False),        # 待复核 pool without 结果时间: due at 采样时间 + 6 h = T + 1 h
])
def test_recheck_states(con, name, state, over):
    row = by_name(queries.recheck_obligations(con, T, county=RECHECK))[name]
    assert row["recheck_state"] == state
    assert bool(row["is_over_limit"]) is over


def test_recheck_obligations_skip_negative_pools_and_old_ones(con):
    names = set(queries.recheck_obligations(con, T, county=RECHECK)["person_name"])
    assert names == {"何一", "何二", "何三", "何四", "何五"}      # not 何六 (negative), 何七 (200 h ago)


@pytest.mark.parametrize("as_of, over", [
    (T - 6 * H, 0),          # P1's limit reached, not passed
    (T - 6 * H + M, 3),      # 何二 late, 何三 and 何四 none
    (T, 3),
    (T + H, 3),              # 何五 exactly at its limit
    (T + H + M, 4),
])
def test_recheck_over_limit_moves_with_as_of(con, as_of, over):
    assert queries.metrics(con, as_of, county=RECHECK)["recheck_over_6h"] == over


# ---------------------------------------------------------------- R9 shutdowns

@pytest.mark.parametrize("enterprise, started_on, length_days, is_alert", [
    ("管城一", "2022-06-08", 3, False),   # 3 days: not a breach
    ("管城二", "2022-06-07", 4, True),    # 4 days
    ("管城三", "2022-06-07", 3, False),   # a day without a report does not break the run
    ("管城四", "2022-06-01", 4, True),    # ended 06-04, inside the lookback
    ("管城五", "2022-05-20", 6, False),   # ended before the lookback
    ("管城六", "2022-06-07", 4, True),    # no report since 06-08: ongoing through T's date
    ("管城七", "2022-06-08", 3, False),   # 部分停产 breaks the run
    ("管城七", "2022-06-05", 2, False),
])
def test_shutdown_episodes(con, enterprise, started_on, length_days, is_alert):
    df = queries.shutdown_episodes(con, T, county=SHUTDOWN)
    row = df[(df["enterprise_name"] == enterprise) & (df["started_on"].astype(str) == started_on)].iloc[0]
    assert row["length_days"] == length_days
    assert bool(row["is_alert"]) is is_alert


@pytest.mark.parametrize("as_of, alerts", [(T, 3), (D(2022, 6, 9, 12), 1), (D(2022, 6, 12, 12), 4)])
def test_shutdown_alerts_move_with_as_of(con, as_of, alerts):
    assert queries.metrics(con, as_of, county=SHUTDOWN)["shutdown_over_3d"] == alerts


# ---------------------------------------------------------------- R3/R4 place codes

def test_place_code_summary(con):
    assert queries.metrics(con, T, county=PLACES)["place_codes"] == {
        "listed": 10, "registered": 8, "coverage_rate": 0.8, "active_24h": 4,
        "red_yellow_scans_24h": 2, "enterprises_with_gap": 3}


@pytest.mark.parametrize("enterprise, places, coded, has_gap, detail", [
    ("金水一厂", 3, 3, False, ""),
    ("金水二厂", 3, 2, True, "缺生活区码"),                         # 生活区 listed without a code
    ("金水工地", 2, 2, True, "缺生产区/车间码"),                    # 重点项目 without a production zone
    ("金水商场", 2, 1, False, None),                                 # 商贸流通 is not judged
    ("金水三厂", 0, 0, True, "缺出入口码、缺生产区/车间码、缺生活区码"),
])
def test_place_coverage_and_gaps(con, enterprise, places, coded, has_gap, detail):
    row = by_name(queries.place_coverage(con, T, county=PLACES), "enterprise_name")[enterprise]
    assert (row["count_places"], row["count_coded"], bool(row["has_gap"])) == (places, coded, has_gap)
    assert (row["gap_detail"] if isinstance(row["gap_detail"], str) else None) == detail


@pytest.mark.parametrize("as_of, active, red_yellow", [
    (T, {"PC01", "PC03", "PC05", "PC08"}, {("PC03", "红码"), ("PC05", "黄码")}),
    (T + H, {"PC01", "PC04", "PC05", "PC08"}, {("PC05", "黄码")}),  # PC03's red scan is 24 h 59 min old
])
def test_place_activity_and_red_yellow_scans(con, as_of, active, red_yellow):
    act = queries.place_activity(con, as_of, county=PLACES)
    assert set(act.loc[act["is_active"], "place_code"]) == active
    # the place_days rollup's active codes (what the pages count) are the same
    assert {c for c, in con.execute("SELECT place_code FROM place_status(?) WHERE is_active AND county_code = ?",
                                    [as_of, PLACES]).fetchall()} == active
    scans = queries.red_yellow_scans(con, as_of, county=PLACES)
    assert set(zip(scans["place_code"], scans["health_code"])) == red_yellow


def test_scan_compliance_counts_distinct_roster_people(con):
    df = queries.scan_compliance(con, T, credit_code=crafted_credit(con, "金水一厂"))
    got = {str(day): (scanned, on_duty, rate) for day, scanned, on_duty, rate
           in zip(df["report_date"].astype(str), df["count_staff_scanned"], df["on_duty"], df["scan_rate"])}
    assert got == {"2022-06-09": (2, 5, 0.4), "2022-06-10": (2, 4, 0.5)}  # 路人甲 is on no roster


# ---------------------------------------------------------------- R6 output, R7 huts

ALL_NULL = dict.fromkeys(("工业生产", "商贸流通", "交通运输", "文化旅游", "重点项目", "城市运行保障"))


@pytest.mark.parametrize("as_of, shares, huts", [
    (T, {"工业生产": 0.5, "交通运输": 0.3}, {"required": 2, "with_hut": 1}),
    (D(2022, 5, 31), {"工业生产": 0.8, "交通运输": 0.3}, {"required": 3, "with_hut": 2}),  # before 巩义旧厂 left
])
def test_output_coverage_and_huts(con, as_of, shares, huts):
    m = queries.metrics(con, as_of, county=OUTPUT)
    assert m["output_coverage_by_sector"] == {**ALL_NULL, **shares}  # 商贸流通 has no total: null
    assert m["sampling_huts"] == huts


def test_output_coverage_never_divides_by_a_missing_total(con):
    df = queries.output_coverage_by_sector(con, T).set_index("sector")
    assert df.loc["工业生产", "output_share"] == 0.5      # counties without a total are left out
    assert bool(df.loc["工业生产", "is_below_target"]) is True
    assert pd.isna(df.loc["商贸流通", "output_share"])
    assert df.loc["工业生产", "count_counties_without_total"] > 0


# ---------------------------------------------------------------- R11 issues

@pytest.mark.parametrize("issue_id, state, deadline_at, overdue, on_time", [
    ("I1", "待交办", D(2022, 6, 9, 23, 59, 59), True, False),    # 5 working days after 06-01
    ("I2", "待交办", D(2022, 6, 13, 23, 59, 59), False, False),
    ("I3", "已办结", D(2022, 6, 9, 23, 59, 59), False, True),
    ("I4", "已办结", D(2022, 6, 1, 23, 59, 59), False, False),   # resolved a day late
    ("I5", "待交办", D(2022, 6, 20, 18), False, False),            # the feed's own deadline
    ("I6", "已销号", D(2022, 6, 9, 23, 59, 59), False, True),      # closed without an 办结 time
    ("APP-1", "已交办", D(2022, 6, 5, 18), True, False),           # app issue, deadline set by the app
    ("I8", "重办", D(2022, 6, 9, 23, 59, 59), True, False),        # reopened in the app
    ("I10", "办理中", D(2022, 6, 9, 23, 59, 59), True, False),     # app event after the feed's at one instant
])
def test_issue_status(con, issue_id, state, deadline_at, overdue, on_time):
    row = by_name(queries.issue_status(con, T, county=ISSUES), "issue_id")[issue_id]
    assert row["state"] == state
    assert row["deadline_at"] == deadline_at
    assert (bool(row["is_overdue"]), bool(row["is_on_time"])) == (overdue, on_time)


def test_issue_summary(con):
    # Closed: I3 (06-01 09:00 → 06-08 10:00, 169 h), I4 (05-25 09:00 → 06-02 10:00, 193 h), I6
    # (→ 06-05 09:00, 96 h); assigned: only APP-1, an hour after it was reported; nobody revisited.
    # Open at T (06-10 12:00): I2 is 98 h old, I1/I5/I8/I10/APP-1 over 7 days.
    assert queries.metrics(con, T, county=ISSUES)["issues"] == {
        "total": 9, "open": 6, "closed": 3, "closure_rate": 0.3333, "overdue": 4, "on_time_rate": 0.6667,
        "median_hours_to_assign": 1.0, "median_hours_to_close": 169.0, "revisited": 0, "satisfied": 0,
        "satisfaction_rate": None, "backlog_by_age": {"<1天": 0, "1–3天": 0, "3–7天": 1, ">7天": 5}}
    assert "I9" not in set(queries.issue_status(con, T)["issue_id"])   # reported after T


@pytest.mark.parametrize("as_of, overdue", [(D(2022, 6, 9, 23, 59, 59), False), (D(2022, 6, 10), True)])
def test_issue_deadline_is_the_end_of_the_day(con, as_of, overdue):
    row = by_name(queries.issue_status(con, as_of, county=ISSUES), "issue_id")["I1"]
    assert bool(row["is_overdue"]) is overdue


# ---------------------------------------------------------------- settings and the whole summary

def test_intervals_and_issue_limits_come_from_settings(world):
    s = world["settings"]
    s2 = replace(s, intervals_hours={**s.intervals_hours, "normal": 84},
                 issue_limit_workdays={"default": 5, "原料采购": 10})
    r = db.connect(world["db_path"], s2)
    try:
        con = r.cursor()
        row = by_name(queries.employee_status(con, T))["张二"]
        assert (row["interval_rule"], bool(row["is_overdue"])) == ("常态：84小时一检", False)
        issue = by_name(queries.issue_status(con, T, county=ISSUES), "issue_id")["I1"]
        assert issue["deadline_at"] == D(2022, 6, 16, 23, 59, 59)   # 10 working days
        assert not issue["is_overdue"]
    finally:
        r.close()


def test_province_summary_is_json_ready(con):
    m = queries.metrics(con, T)
    text = json.dumps(m, ensure_ascii=False, allow_nan=False)
    assert json.loads(text) == m
    expected = {"as_of": "2022-06-10T12:00:00", "scope": {"county": None, "city": None},
                "enterprises": 28, "employees": 40, "tested_in_interval": 32, "coverage_rate": 0.8,
                "overdue_employees": 8, "quarantined_rows": 2, "positives": 8, "clusters": 2,
                "recheck_over_6h": 4,   # 何二 何三 何四, and 陈三's pooled positive never rechecked in time
                "shutdown_over_3d": 3,
                "sampling_huts": {"required": 2, "with_hut": 1}}
    assert {k: m[k] for k in expected} == expected
    assert sum(m["overdue_by_county"].values()) == m["overdue_employees"]
    assert m["place_codes"]["enterprises_with_gap"] == 21   # 19 工业生产 firms list no places at all


@pytest.mark.parametrize("as_of", [T, "2022-06-10T12:00:00", dt.datetime(2022, 6, 10, 4, tzinfo=dt.timezone.utc)])
def test_as_of_accepts_strings_and_aware_times(con, as_of):
    assert queries.metrics(con, as_of, county=NORMAL)["as_of"] == "2022-06-10T12:00:00"
