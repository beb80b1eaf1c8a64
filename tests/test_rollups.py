"""The ingest-maintained rollups give exactly what recomputing from the raw feeds gives (issue 7).

raw.test_spans and raw.testing_days are compared with a from-scratch computation after every load,
and the figures read through them (employee_status, metrics, the coverage trend) with a reader that
recomputes everything from the raw feeds, at as_of values on, between and after the loads.
"""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from fourguard import db, emergency, freshness, ingest, issues, queries, rollups, store, wall
from fourguard.config import Settings
from tests.feedfiles import id_number, write_feed
from tests.test_ingest import E1, E2, P1, P2, REGISTRY, ROSTER, sample

# The last sample at or before as_of per person, the way employee_status computed it before the
# rollup: an aggregate over every test (ties at one time: a positive, then the larger sample_id).
LAST_BY_AGGREGATE = """
SELECT person_key, max(sampled_at) AS last_sampled_at,
       arg_max(result, (sampled_at, result = '阳性', sample_id)) AS last_result
FROM raw.tests WHERE sampled_at <= ? GROUP BY person_key"""


def differ(con, kept: str, fresh: str) -> int:
    """Rows in `kept` and not in `fresh`, plus the reverse (0 also when both are empty)."""
    return con.execute(f"""SELECT (SELECT count(*) FROM ({kept} EXCEPT ALL {fresh}))
                                + (SELECT count(*) FROM ({fresh} EXCEPT ALL {kept}))""").fetchone()[0]


def model_rows(reader, model: str, at, call: str | None = None) -> list:
    """A model's rows at `at` (through `call`, default `model($at)`), sorted; staff class ids are
    numbered differently when recomputed, so left out."""
    cols = "* EXCLUDE (class_id)" if model == "staff_testing" else "*"
    return reader.cursor().execute(f"SELECT {cols} FROM {call or f'{model}($at)'} ORDER BY ALL", {"at": at}).fetchall()


def spans_differ(con) -> int:
    """raw.test_spans, raw.staff_classes, raw.staff_spans, raw.flagged_tests and raw.flagged_scans
    against a recomputation from the raw tests, scans and roster (rows in one and not the other),
    plus any class id used twice."""
    fresh = rollups.spans_sql()
    return (differ(con, "SELECT * FROM raw.test_spans", fresh)
            + sum(differ(con, f"SELECT * FROM raw.{table}", sql) for table, sql in rollups.FLAGGED_SQL.items())
            + differ(con, "SELECT credit_code, is_mobile, count_employees FROM raw.staff_classes",
                     "SELECT credit_code, is_mobile_job, count(*) FROM stg_employees GROUP BY ALL")
            + differ(con, "SELECT c.credit_code, c.is_mobile, x.person_key, x.sampled_at, x.next_sampled_at "
                          "FROM raw.staff_spans AS x JOIN raw.staff_classes AS c USING (class_id)",
                     f"SELECT e.credit_code, e.is_mobile_job, s.person_key, s.sampled_at, s.next_sampled_at "
                     f"FROM stg_employees AS e JOIN ({fresh}) AS s USING (person_key)")
            + con.execute("SELECT count(*) - count(DISTINCT class_id) FROM raw.staff_classes").fetchone()[0])


# Per enterprise at as_of, counted over employee_status's person rows (what enterprise_testing gave
# before the staff classes): enterprise_testing, read through staff_testing, must give the same.
BY_PERSON = """
SELECT credit_code, count(*), count(*) FILTER (WHERE is_within_interval), count(*) FILTER (WHERE is_overdue),
       count(*) FILTER (WHERE is_never_tested), max(hours_since_sample) FILTER (WHERE is_overdue),
       max(due_at) FILTER (WHERE is_overdue)
FROM employee_status(?) GROUP BY credit_code"""


def assert_classes_count_people(con, as_of) -> int:
    """enterprise_testing (per staff class, from raw.staff_spans) equals employee_status (per person) at
    as_of; the number of enterprises with staff compared."""
    people = sorted(con.execute(BY_PERSON, [as_of]).fetchall())
    classes = sorted(con.execute(
        "SELECT credit_code, count_employees, count_within_interval, count_overdue, count_never_tested, "
        "max_hours_since_sample, last_due_at FROM enterprise_testing(?) WHERE count_employees > 0",
        [as_of]).fetchall())
    assert classes == people, as_of
    rules = con.execute("SELECT interval_rule_code, count(*), count(*) FILTER (WHERE is_overdue) "
                        "FROM employee_status(?) GROUP BY ALL ORDER BY 1", [as_of]).fetchall()
    assert con.execute("SELECT interval_rule_code, sum(count_employees), sum(count_overdue) "
                       "FROM staff_testing(?) GROUP BY ALL ORDER BY 1", [as_of]).fetchall() == rules, as_of
    return len(people)


def days_differ(con) -> int:
    """raw.testing_days against testing_days computed now over its range (0 also when both are empty)."""
    fresh = ("SELECT * FROM testing_days((SELECT first_day FROM raw.testing_days_range), "
             "(SELECT last_day FROM raw.testing_days_range), (SELECT last_day + 1 FROM raw.testing_days_range), "
             "NULL, NULL, NULL, NULL, NULL, NULL)")
    return con.execute(f"""SELECT (SELECT count(*) FROM (SELECT * FROM raw.testing_days EXCEPT ALL {fresh}))
                                + (SELECT count(*) FROM ({fresh} EXCEPT ALL SELECT * FROM raw.testing_days))""").fetchone()[0]


def trend(con, as_of, **scope):
    return queries.coverage_trend(con, dt.date(2022, 5, 30), dt.date(2022, 6, 20), as_of, **scope)


def last_samples(con, as_of) -> dict:
    """person_key → (last_sampled_at, last_result) from employee_status, i.e. through the rollup."""
    return {k: (t, r) for k, t, r in con.execute(
        "SELECT person_key, last_sampled_at, last_result FROM employee_status(?) WHERE last_sampled_at IS NOT NULL",
        [as_of]).fetchall()}


def reference(con, as_of) -> dict:
    rostered = {k for k, in con.execute("SELECT DISTINCT person_key FROM employee_status(?)", [as_of]).fetchall()}
    return {k: (t, r) for k, t, r in con.execute(LAST_BY_AGGREGATE, [as_of]).fetchall() if k in rostered}


@pytest.fixture
def s(tmp_path) -> Settings:
    return Settings(db_path=tmp_path / "store" / "fg.duckdb", hash_key="test-key")


def load(tmp_path, s, name, rows):
    [rep] = ingest.ingest_paths([write_feed(tmp_path / name, "tests", rows)], s.db_path, s)
    assert rep.status == "loaded", rep.message
    return rep


def spans_of(s, person) -> list[tuple]:
    r = db.connect(s.db_path, s)
    try:
        con = r.cursor()
        assert spans_differ(con) == 0
        key, = con.execute("SELECT DISTINCT person_key FROM raw.tests WHERE id_masked LIKE ?",
                           [person[:4] + "%" + person[-4:]]).fetchone()
        return [(str(a), r_, None if n is None else str(n)) for a, r_, n in con.execute(
            "SELECT sampled_at, result, next_sampled_at FROM raw.test_spans WHERE person_key = ? ORDER BY 1",
            [key]).fetchall()]
    finally:
        r.close()


def test_late_samples_moved_samples_and_ties_update_the_spans_like_a_recomputation(tmp_path, s):
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY),
                         write_feed(tmp_path / "roster.csv", "roster", ROSTER)], s.db_path, s)
    load(tmp_path, s, "d1.csv", [sample("S1", sampled_at="2022-06-01 08:00:00"),
                                 sample("S2", sampled_at="2022-06-03 08:00:00"),
                                 sample("S3", P2, sampled_at="2022-06-02 10:00:00")])
    assert spans_of(s, P1) == [("2022-06-01 08:00:00", "阴性", "2022-06-03 08:00:00"),
                               ("2022-06-03 08:00:00", "阴性", None)]
    # A late file with an earlier sample splits P1's first span, and gives P2 a sample before its first.
    load(tmp_path, s, "late.csv", [sample("S4", sampled_at="2022-06-02 09:00:00"),
                                   sample("S7", P2, sampled_at="2022-06-01 12:00:00")])
    assert spans_of(s, P2) == [("2022-06-01 12:00:00", "阴性", "2022-06-02 10:00:00"),
                               ("2022-06-02 10:00:00", "阴性", None)]
    assert spans_of(s, P1) == [("2022-06-01 08:00:00", "阴性", "2022-06-02 09:00:00"),
                               ("2022-06-02 09:00:00", "阴性", "2022-06-03 08:00:00"),
                               ("2022-06-03 08:00:00", "阴性", None)]
    # A corrected export moves S2 an hour earlier and makes it positive; a second sample at 09:00.
    rep = load(tmp_path, s, "fix.csv", [sample("S2", sampled_at="2022-06-03 07:00:00", result="阳性"),
                                        sample("S5", sampled_at="2022-06-03 09:00:00")])
    assert (rep.inserted, rep.updated) == (1, 1)
    assert spans_of(s, P1) == [("2022-06-01 08:00:00", "阴性", "2022-06-02 09:00:00"),
                               ("2022-06-02 09:00:00", "阴性", "2022-06-03 07:00:00"),
                               ("2022-06-03 07:00:00", "阳性", "2022-06-03 09:00:00"),
                               ("2022-06-03 09:00:00", "阴性", None)]
    # Two samples at one moment: the positive one is in force.
    load(tmp_path, s, "tie.csv", [sample("S6", sampled_at="2022-06-03 09:00:00", result="阳性")])
    assert spans_of(s, P1)[-1] == ("2022-06-03 09:00:00", "阳性", None)
    # P2's spans were not touched by P1's later loads.
    assert spans_of(s, P2) == [("2022-06-01 12:00:00", "阴性", "2022-06-02 10:00:00"),
                               ("2022-06-02 10:00:00", "阴性", None)]

    r = db.connect(s.db_path, s)
    con = r.cursor()
    for as_of in ("2022-06-01 07:59:59", "2022-06-01 08:00:00", "2022-06-02 08:59:59", "2022-06-02 09:00:00",
                  "2022-06-03 07:30:00", "2022-06-03 08:00:00", "2022-06-03 09:00:00", "2022-06-05 00:00:00",
                  # P1's 06-03 09:00 sample at the end of its 48 h, and a microsecond later
                  "2022-06-05 09:00:00", "2022-06-05 09:00:00.000001"):
        assert last_samples(con, as_of) == reference(con, as_of), as_of
        assert assert_classes_count_people(con, as_of) >= 1, as_of  # E2 leaves on 06-05
    # P1 (E1's only staff) turns overdue only after exactly 48 h
    assert [con.execute("SELECT count_within_interval, count_overdue FROM enterprise_testing(?) WHERE credit_code = ?",
                        [t, E1]).fetchall() for t in ("2022-06-05 09:00:00", "2022-06-05 09:00:00.000001")] == [
        [(1, 0)], [(0, 1)]]
    by_p1 = con.execute("SELECT last_sampled_at, last_result FROM employee_status('2022-06-03 08:30:00') "
                        "WHERE job_type = '普通岗位'").fetchall()
    assert by_p1 == [(dt.datetime(2022, 6, 3, 7), "阳性")]  # the moved sample, not the old 08:00 one
    r.close()


def day_rows(s, code) -> dict:
    """day → (count_employees, count_within_base, count_within_emergency, is_closed_loop) of one enterprise."""
    r = db.connect(s.db_path, s)
    try:
        assert days_differ(r.cursor()) == 0 and spans_differ(r.cursor()) == 0
        return {str(d): tuple(v) for d, *v in r.cursor().execute(
            "SELECT day, count_employees, count_within_base, count_within_emergency, is_closed_loop "
            "FROM raw.testing_days WHERE credit_code = ? ORDER BY day", [code]).fetchall()}
    finally:
        r.close()


def same_trends(s, *as_ofs, settings=None):
    """The coverage trend read through the rollups equals the one recomputed from the raw feeds."""
    s2 = settings or s
    rolled, recomputed = db.connect(s.db_path, s2), db.connect(s.db_path, s2, recompute_rollups=True)
    try:
        for as_of in as_ofs:
            for scope in ({}, {"county": "411322"}, {"sector": "交通运输"}):
                pd.testing.assert_frame_equal(trend(rolled.cursor(), as_of, **scope),
                                              trend(recomputed.cursor(), as_of, **scope), obj=f"{as_of} {scope}")
        return trend(rolled.cursor(), as_of)
    finally:
        rolled.close()
        recomputed.close()


def test_testing_days_follow_every_feed_they_read_and_app_switches(tmp_path, s):
    P3 = id_number("411322", "19920202", 789)
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY),
                         write_feed(tmp_path / "roster.csv", "roster", ROSTER)], s.db_path, s)
    load(tmp_path, s, "t1.csv", [sample("A1", sampled_at="2022-06-01 08:00:00"),
                                 sample("A2", sampled_at="2022-06-03 08:00:00"),
                                 sample("A3", sampled_at="2022-06-05 09:00:00"),
                                 sample("B1", P2, sampled_at="2022-06-01 10:00:00"),
                                 sample("B2", P2, sampled_at="2022-06-02 11:00:00")])
    # Each day at 24:00. 普通 48 h: P1's 06-01 08:00 is 40 h old on 06-02 (within; not under 应急's 24 h).
    assert day_rows(s, E1) == {"2022-06-01": (1, 1, 1, False), "2022-06-02": (1, 1, 0, False),
                               "2022-06-03": (1, 1, 1, False), "2022-06-04": (1, 1, 0, False),
                               "2022-06-05": (1, 1, 1, False)}
    # 流动岗位 24 h; E2 leaves the whitelist on 06-05 (00:00), so it has no row that day.
    assert day_rows(s, E2) == {"2022-06-01": (1, 1, 1, False), "2022-06-02": (1, 1, 1, False),
                               "2022-06-03": (1, 0, 0, False), "2022-06-04": (1, 0, 0, False)}
    same_trends(s, dt.datetime(2022, 6, 3, 8), dt.datetime(2022, 6, 5, 9), dt.datetime(2022, 6, 7))

    # A new roster entry counts on every day of its enterprise, before any test of theirs.
    ingest.ingest_paths([write_feed(tmp_path / "roster2.csv", "roster",
                                    [dict(id_number=P3, name="钱七", credit_code=E1, job_type="普通岗位")])], s.db_path, s)
    assert {d: v[:2] for d, v in day_rows(s, E1).items()} == {f"2022-06-0{i}": (2, 1) for i in range(1, 6)}
    # P3 is tested, then moves to a 流动接触岗位: the entry's spans move to E1's other staff class.
    load(tmp_path, s, "t3.csv", [sample("C1", P3, sampled_at="2022-06-05 20:00:00")])
    ingest.ingest_paths([write_feed(tmp_path / "roster3.csv", "roster",
                                    [dict(id_number=P3, name="钱七", credit_code=E1, job_type="流动接触岗位")])], s.db_path, s)
    assert day_rows(s, E1)["2022-06-05"][:2] == (2, 2)
    r = db.connect(s.db_path, s)
    assert r.cursor().execute(
        "SELECT c.is_mobile, c.count_employees, count(x.class_id) FROM raw.staff_classes AS c "
        "LEFT JOIN raw.staff_spans AS x USING (class_id) WHERE c.credit_code = ? GROUP BY ALL ORDER BY 1",
        [E1]).fetchall() == [(False, 1, 3), (True, 1, 1)]
    # Every class of a county has its id in the county's block (411322: 1322), E2's (411523) in 1523.
    assert r.cursor().execute(
        "SELECT credit_code, list(class_id >> ? ORDER BY is_mobile), list(class_id % (1 << ?) ORDER BY is_mobile) "
        "FROM raw.staff_classes GROUP BY 1 ORDER BY 1", [rollups.CLASS_BLOCK_BITS] * 2).fetchall() == sorted(
        [(E1, [1322, 1322], [1, 2]), (E2, [1523], [1])])
    assert assert_classes_count_people(r.cursor(), "2022-06-05 21:00:00") == 1  # E1 (E2 left on 06-05)
    r.close()
    # A 闭环生产 report dated 06-03 puts E1 on 24 h from that day: P1 is 40 h old at 06-04 24:00.
    ingest.ingest_paths([write_feed(tmp_path / "prod.csv", "production",
                                    [dict(credit_code=E1, report_date="2022-06-03", status="闭环生产")])], s.db_path, s)
    rows = day_rows(s, E1)
    assert rows["2022-06-02"] == (2, 1, 0, False) and rows["2022-06-04"] == (2, 0, 0, True)
    # The registry removes E1 from 06-04; a late sample of P2 on 05-31 extends the range back a day.
    ingest.ingest_paths([write_feed(tmp_path / "reg2.csv", "registry", [{**REGISTRY[0], "removed_on": "2022-06-04"}]),
                         write_feed(tmp_path / "late.csv", "tests", [sample("B0", P2, sampled_at="2022-05-31 23:59:59")])],
                        s.db_path, s)
    assert list(day_rows(s, E1)) == ["2022-05-31", "2022-06-01", "2022-06-02", "2022-06-03"]
    assert day_rows(s, E2)["2022-05-31"] == (1, 1, 1, False)   # sampled at 23:59:59, judged at 24:00
    same_trends(s, dt.datetime(2022, 6, 3, 8), dt.datetime(2022, 6, 7))

    # An app switch (no load) puts 方城县 in 应急 from 06-02 12:00: the trend reads it at once.
    at = dt.datetime(2022, 6, 3, 8)
    before = same_trends(s, at).set_index("day")["count_within_interval"]
    emergency.switch(store.store_path(s.db_path), "411322", "常态", "应急", "测试员", dt.datetime(2022, 6, 2, 12),
                     confirmed=True)
    after = same_trends(s, at).set_index("day")["count_within_interval"]
    assert before[pd.Timestamp("2022-06-02")] - after[pd.Timestamp("2022-06-02")] == 1   # P1 40 h old > 24 h
    assert after[pd.Timestamp("2022-06-01")] == before[pd.Timestamp("2022-06-01")]

    # A reader configured with other intervals computes every day itself, and agrees with recomputing.
    other = Settings(db_path=s.db_path, hash_key=s.hash_key, intervals_hours={**s.intervals_hours, "normal": 72})
    r = db.connect(s.db_path, other)
    assert r.cursor().execute("SELECT count(*) FROM stg_testing_days_range").fetchone()[0] == 0
    r.close()
    same_trends(s, at, dt.datetime(2022, 6, 7), settings=other)


def flagged(s) -> dict:
    """{table: sorted rows} of the flagged rollups (after checking them against a recomputation)."""
    r = db.connect(s.db_path, s)
    try:
        con = r.cursor()
        assert spans_differ(con) == 0
        return {"tests": sorted(con.execute("SELECT sample_id, tube, result FROM raw.flagged_tests").fetchall()),
                "scans": sorted(str(a) for a, in con.execute("SELECT scanned_at FROM raw.flagged_scans").fetchall())}
    finally:
        r.close()


def test_flagged_and_place_rollups_follow_new_results_corrections_and_scans(tmp_path, s):
    places = [dict(place_code="PC-E1-GATE", credit_code=E1, place_name="大门", kind="出入口")]
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY),
                         write_feed(tmp_path / "roster.csv", "roster", ROSTER),
                         write_feed(tmp_path / "places.csv", "places", places)], s.db_path, s)
    # P1's pool comes back 待复核: P1's tests from that sample on are flagged (not the earlier A0), P2's
    # negative is not.
    load(tmp_path, s, "d1.csv", [sample("A0", sampled_at="2022-06-01 07:00:00"),
                                 sample("M1", sampled_at="2022-06-02 08:00:00", tube="混管", pool_id="POOL1",
                                        result="待复核", resulted_at="2022-06-02 14:00:00"),
                                 sample("B1", P2, sampled_at="2022-06-02 09:00:00")])
    assert flagged(s)["tests"] == [("M1", "混管", "待复核")]
    # P1's recheck single tube joins it; P2's later positive flags P2 from that sample on.
    load(tmp_path, s, "d2.csv", [sample("R1", sampled_at="2022-06-02 18:00:00"),
                                 sample("B2", P2, sampled_at="2022-06-03 09:00:00", result="阳性")])
    assert flagged(s)["tests"] == [("B2", "单管", "阳性"), ("M1", "混管", "待复核"), ("R1", "单管", "阴性")]
    r = db.connect(s.db_path, s)
    assert r.cursor().execute("SELECT recheck_state, recheck_sample_id FROM recheck_obligations('2022-06-04')"
                              ).fetchall() == [("已按时复核", "R1")]
    r.close()
    # P2 changes job on E2's roster: the positive case shows the roster entry as it is now.
    ingest.ingest_paths([write_feed(tmp_path / "roster2.csv", "roster",
                                    [{**ROSTER[1], "job_type": "普通岗位"}])], s.db_path, s)
    flagged(s)  # raw.flagged_staff equals its recomputation too
    r = db.connect(s.db_path, s)
    assert r.cursor().execute("SELECT sample_id, job_type FROM positive_cases('2022-06-04')").fetchall() == [
        ("B2", "普通岗位")]
    r.close()
    # A late result: P2's pool of 06-02 08:30 comes back 待复核, so P2's tests from then on are flagged.
    load(tmp_path, s, "d2b.csv", [sample("M2", P2, sampled_at="2022-06-02 08:30:00", tube="混管", pool_id="POOL2",
                                         result="待复核", resulted_at="2022-06-02 15:00:00")])
    assert flagged(s)["tests"] == [("B1", "单管", "阴性"), ("B2", "单管", "阳性"), ("M1", "混管", "待复核"),
                                   ("M2", "混管", "待复核"), ("R1", "单管", "阴性")]
    # The lab corrects M1 to 阴性: P1 has no flagged result left and leaves the rollup.
    load(tmp_path, s, "d3.csv", [sample("M1", sampled_at="2022-06-02 08:00:00", tube="混管", pool_id="POOL1",
                                        resulted_at="2022-06-02 14:00:00")])
    assert flagged(s)["tests"] == [("B1", "单管", "阴性"), ("B2", "单管", "阳性"), ("M2", "混管", "待复核")]
    # Scans: a 红码 and a 绿码; then the 红码 is corrected to 绿码 and a 黄码 arrives.
    scan = dict(place_code="PC-E1-GATE", id_number=P1)
    ingest.ingest_paths([write_feed(tmp_path / "s1.csv", "scans", [
        {**scan, "scanned_at": "2022-06-03 08:00:00", "health_code": "红码"},
        {**scan, "scanned_at": "2022-06-03 09:00:00", "health_code": "绿码"}])], s.db_path, s)
    assert flagged(s)["scans"] == ["2022-06-03 08:00:00"]
    ingest.ingest_paths([write_feed(tmp_path / "s2.csv", "scans", [
        {**scan, "scanned_at": "2022-06-03 08:00:00", "health_code": "绿码"},
        {**scan, "scanned_at": "2022-06-03 10:00:00", "health_code": "黄码"}])], s.db_path, s)
    assert flagged(s)["scans"] == ["2022-06-03 10:00:00"]
    # R3's active codes from raw.place_days, at the window's edges: (as_of - 24 h, as_of].
    r = db.connect(s.db_path, s)
    try:
        con = r.cursor()
        for as_of, active in [("2022-06-03 07:59:59.999999", False), ("2022-06-03 08:00:00", True),
                              ("2022-06-04 09:59:59.999999", True), ("2022-06-04 10:00:00", False)]:
            assert queries.place_activity_figures(con, as_of)["active_24h"] == active, as_of
            assert queries.place_activity(con, as_of)["is_active"].tolist() == [active], as_of
    finally:
        r.close()


@pytest.fixture(scope="module")
def loaded_in_parts(tmp_path_factory, demo_db):
    """The county demo loaded in three runs: the tests and place-code scans of days 1–5, then of days
    10–14, then of the late days 6–9."""
    s = Settings(db_path=tmp_path_factory.mktemp("parts") / "fg.duckdb", demo_dir=demo_db.demo_dir)
    files = sorted(demo_db.demo_dir.rglob("*.*"))
    tests = [f for f in files if f.name.startswith("核酸检测_")]
    scans = [f for f in files if f.name.startswith("场所码扫码_")]
    assert len(tests) == len(scans) == 14
    others = [f for f in files if f not in tests + scans]
    cuts = []
    for part in (others + tests[:5] + scans[:5], tests[9:] + scans[9:], tests[5:9] + scans[5:9]):
        ingest.ingest_paths(part, s.db_path, s)
        r = db.connect(s.db_path, s)
        cuts.append((r.cursor().execute("SELECT max(sampled_at) FROM raw.tests").fetchone()[0],
                     spans_differ(r.cursor()) + days_differ(r.cursor())))
        r.close()
    return s, cuts


def test_loading_in_parts_and_out_of_order_matches_the_recomputation(loaded_in_parts, demo_db):
    s, cuts = loaded_in_parts
    assert [differ for _, differ in cuts] == [0, 0, 0]
    parts, recompute = db.connect(s.db_path, s), db.connect(s.db_path, s, recompute_rollups=True)
    a, b = parts.cursor(), recompute.cursor()
    whole = db.connect(demo_db.db_path, demo_db)
    assert a.execute("SELECT count(*) FROM raw.test_spans").fetchall() == whole.cursor().execute(
        "SELECT count(*) FROM raw.test_spans").fetchall()
    assert spans_differ(whole.cursor()) == 0
    whole.close()
    # As of each load's newest sample, between loads, and at the end: the last sample per person is
    # the aggregate's, and every headline figure equals the one recomputed from the raw tests.
    day5, day14, _ = [t for t, _ in cuts]
    for as_of in (day5 + dt.timedelta(hours=13, minutes=7), day5 + dt.timedelta(days=2, hours=3), day14):
        expected = reference(a, as_of)
        assert len(expected) > 1000
        assert last_samples(a, as_of) == expected
        assert assert_classes_count_people(a, as_of) > 50
        assert queries.metrics(a, as_of) == queries.metrics(b, as_of)
        for scope in ({}, {"county": "411322"}):
            got = queries.coverage_trend(a, as_of.date() - dt.timedelta(days=13), as_of.date(), as_of, **scope)
            pd.testing.assert_frame_equal(got, queries.coverage_trend(
                b, as_of.date() - dt.timedelta(days=13), as_of.date(), as_of, **scope))
            assert len(got) == 14 and got["count_within_interval"].sum() > 1000
    parts.close()
    recompute.close()


def test_a_database_from_before_the_rollup_still_reads_right_and_the_next_load_builds_it(tmp_path, demo_db):
    old = tmp_path / "old.duckdb"
    shutil.copyfile(demo_db.db_path, old)
    w = duckdb.connect(str(old))
    w.execute("DROP TABLE test_spans; DROP TABLE testing_days; DROP TABLE testing_days_range; "
              "DROP TABLE staff_classes; DROP TABLE staff_spans; DROP TABLE flagged_tests; DROP TABLE flagged_scans; "
              "DROP TABLE place_days; DROP TABLE flagged_staff")
    w.close()
    s = Settings(db_path=old, demo_dir=demo_db.demo_dir)
    whole = db.connect(demo_db.db_path, demo_db)
    t = whole.cursor().execute("SELECT max(sampled_at) FROM raw.tests").fetchone()[0]
    before = db.connect(old, s)  # computes the spans and the days per query meanwhile
    assert queries.metrics(before.cursor(), t) == queries.metrics(whole.cursor(), t)
    days = (t.date() - dt.timedelta(days=6), t.date(), t)
    pd.testing.assert_frame_equal(queries.coverage_trend(before.cursor(), *days),
                                  queries.coverage_trend(whole.cursor(), *days))
    before.close()
    ingest.ingest_paths([], old, s)  # any load, even of nothing, builds the rollup
    after = db.connect(old, s)
    assert after.cursor().execute("SELECT count(*) FROM raw.test_spans").fetchone()[0] > 0
    for table in ("staff_spans", "flagged_tests", "flagged_scans", "place_days", "flagged_staff"):
        assert after.cursor().execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0] > 0, table
    assert spans_differ(after.cursor()) == 0 and days_differ(after.cursor()) == 0
    assert after.cursor().execute("SELECT count(*) FROM raw.testing_days").fetchone()[0] > 0
    assert queries.metrics(after.cursor(), t) == queries.metrics(whole.cursor(), t)
    after.close()
    whole.close()


def test_a_reader_keeps_testing_at_the_latest_time_exactly_and_only_there(tmp_path, demo_db, caplog):
    """db.KEPT_AT_LATEST: computed in the background when a reader opens, at the default as_of, read
    for exactly that call only, equal to computing them (testing_days, kept for the whole scope, per
    scope); kept again after write-backs, those a write-back changes computed meanwhile."""
    path = tmp_path / "fourguard.duckdb"
    shutil.copyfile(demo_db.db_path, path)
    s = Settings(db_path=path, demo_dir=demo_db.demo_dir)
    kept, recompute = db.connect(path, s), db.connect(path, s, recompute_rollups=True)
    latest = freshness.latest_time(kept.cursor())
    assert kept.wait_kept() == latest
    day, county = latest.date(), "411322"
    calls = {"testing_days": "testing_days(CAST($at AS DATE), CAST($at AS DATE), $at, NULL, NULL, NULL, NULL, NULL, "
                             "NULL)",
             "production_daily": f"production_daily(CAST($at AS DATE) - {db.RANGE_DAYS - 1}, CAST($at AS DATE), $at)"}

    def rows(reader, model, at=latest):
        return model_rows(reader, model, at, calls.get(model))

    def count(reader, model, at):
        return reader.cursor().execute(f"SELECT count(*) FROM {calls.get(model, f'{model}($at)')}",
                                       {"at": at}).fetchone()[0]

    def same_production(*scopes):
        start = day - dt.timedelta(days=db.RANGE_DAYS - 1)
        for scope in scopes:
            a, b = (queries.production_overview(r.cursor(), start, day, latest, **scope) for r in (kept, recompute))
            assert a["basis"] == b["basis"] and len(a["trend"]) == db.RANGE_DAYS
            for part in ("trend", "mix"):
                pd.testing.assert_frame_equal(a[part], b[part])

    def within(reader, at=latest):
        return reader.cursor().execute("SELECT sum(count_within_interval) FROM staff_testing(?) "
                                       "WHERE county_code = ?", [at, county]).fetchone()[0]

    def same_trends(*scopes):
        for scope in scopes:
            pd.testing.assert_frame_equal(*(queries.coverage_trend(r.cursor(), day - dt.timedelta(days=6), day,
                                                                   latest, **scope) for r in (kept, recompute)))

    for model in db.KEPT_AT_LATEST:
        assert len(rows(kept, model)) > 0
        assert rows(kept, model) == rows(recompute, model), model
    assert queries.metrics(kept.cursor(), latest) == queries.metrics(recompute.cursor(), latest)
    day_before = latest - dt.timedelta(hours=24)  # kept too, for the headline's comparison (db.DAY_BEFORE)
    for model in db.DAY_BEFORE:
        assert rows(kept, model, day_before) == rows(recompute, model, day_before), model
    pd.testing.assert_frame_equal(wall.headline(kept.cursor(), latest), wall.headline(recompute.cursor(), latest))
    [(sector, code)] = kept.cursor().execute("SELECT sector, credit_code FROM stg_enterprises LIMIT 1").fetchall()
    same_trends({}, {"county": county}, {"city": "411300"}, {"sector": sector})
    same_production({}, {"county": county}, {"sector": sector})
    one = [r.cursor().execute(sql, {"as_of": latest, **params}).fetchall()
           for r in (kept, recompute) for sql, params in [queries.testing_daily_sql(r.cursor(), day, day, latest,
                                                                                    codes=[code])]]
    assert len(one[0]) == 1 and one[0] == one[1]
    assert "kept_" not in str(recompute.cursor().execute("SELECT table_name FROM duckdb_tables()").fetchall())

    # A switch of the county's state (应急 24 h ⇄ 常态 48 h) from a day before: a new cursor sees it.
    [(state,)] = kept.cursor().execute("SELECT county_state FROM county_states_at(?) WHERE county_code = ?",
                                       [latest, county]).fetchall()
    other = {"应急": "常态", "常态": "应急"}[state]
    before = within(recompute)
    emergency.switch(store.store_path(path), county, state, other, "测试员", latest - dt.timedelta(days=1),
                     confirmed=True)
    assert freshness.latest_time(kept.cursor()) == latest
    assert within(kept) == within(recompute) != before
    for model in db.KEPT_AT_LATEST:
        assert rows(kept, model) == rows(recompute, model), model
    same_trends({}, {"county": county})
    same_production({"county": county})
    # and back 12 h later
    emergency.switch(store.store_path(path), county, other, state, "测试员", latest - dt.timedelta(hours=12),
                     confirmed=True)
    assert within(kept) == within(recompute) == before
    assert kept.wait_kept() == latest  # kept again with the switches
    for model in db.KEPT_AT_LATEST:
        assert rows(kept, model) == rows(recompute, model), model
    # 应急 from before the county's first 应急 day moves the production baseline (reports before it)
    [(first,)] = kept.cursor().execute("SELECT min(since) FROM stg_county_states WHERE is_emergency "
                                       "AND county_code = ?", [county]).fetchall()
    baseline = kept.cursor().execute(f"SELECT sum(baseline_output_wan_yuan) FROM {calls['production_daily']}",
                                     {"at": latest}).fetchone()[0]
    store.switch_county_state(store.store_path(path), county, "应急", "测试员", since=first - dt.timedelta(days=3))
    assert rows(kept, "production_daily") == rows(recompute, "production_daily")
    assert kept.cursor().execute(f"SELECT sum(baseline_output_wan_yuan) FROM {calls['production_daily']}",
                                 {"at": latest}).fetchone()[0] != baseline
    same_production({}, {"county": county})
    kept.close()

    # A reader opened after the switches keeps them; its kept rows answer exactly the call they were
    # computed for (emptied here), and a microsecond either side is computed.
    kept = db.connect(path, s)
    assert kept.wait_kept() == latest
    tick = dt.timedelta(microseconds=1)
    for model in db.KEPT_AT_LATEST:
        assert rows(kept, model) == rows(recompute, model), model
        kept.cursor().execute(f"DELETE FROM {db.kept_table(model, latest)}")
        assert [count(kept, model, at) for at in (latest - tick, latest, latest + tick)] \
            == [count(recompute, model, latest - tick), 0, count(recompute, model, latest + tick)], model
    # any other write-back (an audit row moves the version) leaves them kept
    version = store.version(store.store_path(path))
    store.record(store.store_path(path), "测试员", "其他回写")
    assert store.version(store.store_path(path)) > version
    assert kept.cursor() and kept.wait_kept() == latest
    assert [count(kept, m, latest) for m in db.KEPT_AT_LATEST] == [0] * len(db.KEPT_AT_LATEST)

    # An issue write-back after the data moves the default time: kept again there in the background,
    # equal to computing; the old time is computed again.
    issue = queries.issue_status(recompute.cursor(), latest, open_only=True).query("state == '待交办'").iloc[0]
    later = latest + dt.timedelta(hours=2)
    version = issues.apply(store.store_path(path), issue.issue_id, "escalate", issue.state, 0, "甲", at=later,
                           note="报上级")
    assert freshness.latest_time(kept.cursor()) == later and kept.wait_kept() == later
    for model in db.KEPT_AT_LATEST:
        assert rows(kept, model, later) == rows(recompute, model, later), model
        assert rows(kept, model) == rows(recompute, model), model
        kept.cursor().execute(f"DELETE FROM {db.kept_table(model, later)}")
        assert [count(kept, model, at) for at in (latest, later)] == [count(recompute, model, latest), 0], model

    # A write-back mirrored while they are computed (here a switch, mirrored by another thread's
    # cursor): that round is dropped, never pointing a macro at rows of the older state, and the next
    # keeps the newer one (dropped, not failed: nothing logged).
    compute, rounds, at = kept._compute_kept, [], later + dt.timedelta(hours=1)
    [(state,)] = kept.cursor().execute("SELECT county_state FROM county_states_at(?) WHERE county_code = ?",
                                       [at, county]).fetchall()
    before = within(recompute, at)

    def meanwhile(cur, table, call):
        if not rounds:
            store.switch_county_state(store.store_path(path), county, {"应急": "常态", "常态": "应急"}[state], "测试员",
                                      since=later)
            kept.refresh_writebacks()
        rounds.append(table)
        compute(cur, table, call)
    kept._compute_kept = meanwhile
    issues.apply(store.store_path(path), issue.issue_id, "assign", "升级", version, "甲", at=at, department="工信局")
    assert kept.cursor() and kept.wait_kept() == at
    assert len(rounds) == 2 * len(db.kept_tables(at))
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert within(kept, at) == within(recompute, at) != before
    for model in db.KEPT_AT_LATEST:
        assert rows(kept, model, at) == rows(recompute, model, at), model

    # A query naming a directly kept model reads its table itself (queries._run → db.kept_sql), not
    # through the macro (made to compute here, while the table is emptied).
    def trend(reader, **scope):
        return queries.coverage_trend(reader.cursor(), at.date() - dt.timedelta(days=2), at.date(), at, **scope)
    county = kept.cursor().execute("SELECT any_value(county_code) FROM stg_enterprises").fetchone()[0]
    for scope in ({}, {"county": county}):
        assert trend(kept, **scope).equals(trend(recompute, **scope)) and len(trend(kept, **scope)) == 3
    # a trend's own day is read from the table too, not through the macro (made to compute here)
    params = db.KEPT_AT_LATEST["testing_days"].params
    kept.cursor().execute(f"DELETE FROM {db.kept_table('testing_days', at)}")
    kept.cursor().execute(f"CREATE OR REPLACE MACRO testing_days({params}) AS TABLE SELECT * FROM testing_days_live({params})")
    assert list(trend(kept)["day"]) == list(trend(recompute)["day"])[:2]
    kept.cursor().execute(f"DELETE FROM {db.kept_table('enterprise_risk', at)}")
    kept.cursor().execute("CREATE OR REPLACE MACRO enterprise_risk(as_of) AS TABLE "
                          "SELECT * FROM enterprise_risk_live(as_of)")
    assert count(kept, "enterprise_risk", at) == count(recompute, "enterprise_risk", at) > 0
    assert queries.risk_map(kept.cursor(), at)["enterprises"].empty
    kept.cursor().execute(f"DELETE FROM {db.kept_table('staff_testing', at - dt.timedelta(hours=24))}")
    assert queries.coverage(kept.cursor(), at - dt.timedelta(hours=24)).empty
    assert not queries.coverage(recompute.cursor(), at - dt.timedelta(hours=24)).empty
    assert len(queries.risk_map(kept.cursor(), at + tick)["enterprises"]) == count(recompute, "enterprise_risk", at)
    kept.close()
    recompute.close()


def test_a_time_a_user_browses_is_kept_too_one_at_a_time(tmp_path, demo_db):
    """Reader.keep_also: the models kept at a browsed time (equal to computing, read from the table), kept while the default time is asked for too, dropped when another time is
    browsed, and kept again after a write-back changes one of them."""
    path = tmp_path / "fourguard.duckdb"
    shutil.copyfile(demo_db.db_path, path)
    s = Settings(db_path=path, demo_dir=demo_db.demo_dir)
    kept, recompute = db.connect(path, s), db.connect(path, s, recompute_rollups=True)
    latest = kept.wait_kept()
    first, second = ((latest - dt.timedelta(days=days, hours=1)).replace(minute=17) for days in (3, 1))

    rows = model_rows

    def tables(at):
        return {t for t, in kept.cursor().execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE ?",
                                                  [db.kept_table("%", at)]).fetchall()}

    kept.keep_also(first)
    assert kept.wait_kept() == latest
    browsed = {n for n, t in db.kept_tables(first, browsed=True) if t == first}
    assert tables(first) == {db.kept_table(n, first) for n in browsed} and "production_daily" not in browsed
    for model in db.DIRECT:
        assert rows(kept, model, first) == rows(recompute, model, first), model
    day = first.date()  # the trend's day and the headline's 24 h before are kept for that time too
    pd.testing.assert_frame_equal(*(queries.coverage_trend(r.cursor(), day - dt.timedelta(days=6), day, first)
                                    for r in (kept, recompute)))
    pd.testing.assert_frame_equal(wall.headline(kept.cursor(), first), wall.headline(recompute.cursor(), first))
    kept.cursor().execute(f"DELETE FROM {db.kept_table('enterprise_risk', first)}")
    assert queries.risk_map(kept.cursor(), first)["enterprises"].empty  # read from the kept table
    kept.keep_also(latest)  # a wall at the default time meanwhile
    assert kept.wait_kept() == latest and queries.risk_map(kept.cursor(), first)["enterprises"].empty

    # an issue write-back (before the data time: the default time stays) drops and keeps again the
    # models that read issues, at both times
    issue = queries.issue_status(recompute.cursor(), latest, open_only=True).query("state == '待交办'").iloc[0]
    issues.apply(store.store_path(path), issue.issue_id, "escalate", issue.state, 0, "甲", at=first - dt.timedelta(hours=1),
                 note="报上级")
    assert kept.cursor() and kept.wait_kept() == latest
    assert len(queries.risk_map(kept.cursor(), first)["enterprises"]) == len(rows(recompute, "enterprise_risk", first))
    for model in ("issue_status", "issue_closure", "enterprise_risk", "sentinel_alerts"):
        assert rows(kept, model, first) == rows(recompute, model, first), model
        assert rows(kept, model, latest) == rows(recompute, model, latest), model
    assert tables(first) == {db.kept_table(n, first) for n in browsed}

    kept.keep_also(second)  # another time browsed: the first one's tables are gone
    assert kept.wait_kept() == latest
    assert not tables(first) and tables(second) == {db.kept_table(n, second) for n in browsed}
    for model in db.DIRECT:
        assert rows(kept, model, second) == rows(recompute, model, second), model
        assert rows(kept, model, first) == rows(recompute, model, first), model
    kept.close()
    recompute.close()


def test_kept_models_know_what_they_read_from_their_sql():
    """The write-back tables each kept model reads (a write-back to one makes it compute until kept
    again) and the order they are kept in both come from the SQL text, through every macro between."""
    assert {w for w in db.READS["enterprise_risk"] if w.startswith("wb_")} \
        == {"wb_county_switches", "wb_issue_events", "wb_app_issues"}
    assert not {w for w in db.READS["place_status"] if w.startswith("wb_")}
    assert "stg_county_states" in db.READS["staff_testing"]  # class_rules → enterprise_status → county_states_at
    order = db.KEPT_ORDER.index
    assert order("staff_testing") < order("enterprise_testing") < order("enterprise_risk")
    assert order("issue_status") < order("enterprise_risk")
    at = dt.datetime(2022, 6, 9, 23, 59, 59)
    assert db.kept_sql("SELECT * FROM enterprise_risk($as_of) AS r JOIN whitelist($as_of) USING (credit_code)", at) \
        == ("SELECT * FROM kept_enterprise_risk_20220609_235959_000000 AS r "
            "JOIN kept_whitelist_20220609_235959_000000 USING (credit_code)")
    assert db.kept_sql("SELECT * FROM county_risk($as_of, $sector)", at) is None
    assert ("staff_testing", at - dt.timedelta(hours=24)) in db.kept_tables(at)
    assert ("enterprise_risk", at - dt.timedelta(hours=24)) not in db.kept_tables(at)
    assert db.kept_sql("SELECT * FROM staff_testing($as_of - INTERVAL 1 DAY)", at) is None


def test_a_reader_caps_duckdb_memory_and_spills_to_its_own_folder(demo_db):
    """Scale: uncapped, a province-wide 14-day trend took 15 GB; the app's readers are capped."""
    r = db.connect(demo_db.db_path, demo_db)
    limit, spill = r.cursor().execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchall()[0]
    assert limit == "953.6 MiB"  # 1 GB
    assert "fourguard-reader-" in spill
    r.close()
    assert not __import__("os").path.exists(spill)  # removed with the reader


def test_a_reader_stops_keeping_when_closed_or_when_python_exits(demo_db, caplog):
    """Closing a reader in the middle of keeping interrupts it and waits; a process that exits while
    its reader keeps exits cleanly (a thread inside DuckDB while Python finalizes aborts it)."""
    r = db.connect(demo_db.db_path, demo_db)
    r.close()
    assert r._keeper is None
    assert not [rec for rec in caplog.records if rec.levelname == "ERROR"]
    code = ("import sys; from fourguard import db; from fourguard.config import Settings; "
            f"r = db.connect({str(demo_db.db_path)!r}, Settings(db_path={str(demo_db.db_path)!r})); "
            "assert r._keeper is not None; print('exiting')")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent, capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "exiting"), done.stderr
