"""The coverage, overdue and production pages: their queries against metrics() and by hand, the
daily macros against the per-instant views, and the pages themselves through AppTest."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from fourguard import db, freshness, queries, ui
from fourguard.config import Settings
from fourguard.ingest import ingest_paths
from tests import crafted
from tests.crafted import EMERGENCY, LATER, NORMAL, SWITCHED, H, T

ROOT = Path(__file__).parent.parent
D = dt.datetime


@pytest.fixture(scope="module")
def crafted_db(tmp_path_factory) -> Settings:
    db_path, s, _, _ = crafted.build(tmp_path_factory.mktemp("crafted_pages"))
    return s


@pytest.fixture(scope="module")
def crafted_con(crafted_db):
    r = db.connect(crafted_db.db_path, crafted_db)
    yield r.cursor()
    r.close()


@pytest.fixture(scope="module", params=["rollup", "recomputed"])
def daily_con(request, crafted_db):
    """The crafted database read through the rollups, and recomputing every day from the raw feeds."""
    r = db.connect(crafted_db.db_path, crafted_db, recompute_rollups=request.param == "recomputed")
    yield r.cursor()
    r.close()


def daily_rows(con, start, end, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    sql, extra = queries.testing_daily_sql(con, start, end, as_of, county, city, sector)
    return queries._frame(con, sql + " ORDER BY day, credit_code", {"as_of": queries.as_of_time(as_of), **extra})


# ---------------------------------------------------------------- coverage: one query over the range

@pytest.mark.parametrize("as_of", [
    T,                       # 方城食品 closed loop from its 06-10 report; 新县 应急 from T - 2 h
    T - 6 * H,               # before 新县 switched
    T + 2 * H,               # 商城县 switched at T + 1 h
    D(2022, 6, 5, 0, 0),     # 方城县's 应急 ends exactly now
    D(2022, 6, 11, 8, 30),   # 方城纺织 closed loop from 06-11; 中原甲/中原丙 removed
])
def test_testing_daily_agrees_with_employee_status_at_every_check(daily_con, as_of):
    daily = daily_rows(daily_con, dt.date(2022, 6, 1), dt.date(2022, 6, 12), as_of)
    assert daily["check_at"].max() == as_of            # later days are not seen
    earlier = daily.loc[daily["day"] < pd.Timestamp(as_of.date()), ["day", "check_at"]].drop_duplicates()
    assert len(earlier) == (as_of.date() - dt.date(2022, 6, 1)).days
    # every earlier day at its 24:00: the last microsecond, so a sample at 23:59:59 counts
    assert (earlier["check_at"] == earlier["day"] + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)).all()
    for check_at, got in daily.groupby("check_at"):
        want = queries.enterprise_testing(daily_con, check_at.to_pydatetime())
        cols = ["credit_code", "count_employees", "count_within_interval", "count_overdue"]
        pd.testing.assert_frame_equal(got[cols].sort_values("credit_code").reset_index(drop=True),
                                      want[cols].sort_values("credit_code").reset_index(drop=True),
                                      check_dtype=False, obj=f"check at {check_at}")


def test_testing_daily_reads_the_rollup_for_earlier_days(crafted_con):
    rolled, live = queries._day_segments(crafted_con, dt.date(2022, 6, 1), dt.date(2022, 6, 12), T)
    assert rolled is not None and rolled[1] == T.date() - dt.timedelta(days=1)
    assert live[-1] == (T.date(), T.date())             # as_of's own date is judged live, at as_of


@pytest.mark.parametrize("scope", [{"county": NORMAL}, {"city": "411500"}, {"sector": "城市运行保障"}])
def test_testing_daily_scope_arguments_equal_filtering_the_result(daily_con, scope):
    scoped = daily_rows(daily_con, dt.date(2022, 6, 1), dt.date(2022, 6, 12), T, **scope)
    everything = daily_rows(daily_con, dt.date(2022, 6, 1), dt.date(2022, 6, 12), T)
    column, value = next(iter(scope.items()))
    filtered = everything[everything[f"{column}_code" if column != "sector" else "sector"] == value]
    assert len(scoped) > 0
    pd.testing.assert_frame_equal(scoped.reset_index(drop=True), filtered.reset_index(drop=True))


def test_coverage_trend_ends_at_as_of_with_the_cli_rate(crafted_con):
    trend = queries.coverage_trend(crafted_con, dt.date(2022, 6, 1), dt.date(2022, 6, 20), T, county=NORMAL)
    assert trend["check_at"].iloc[-1] == T
    assert trend["coverage_rate"].iloc[-1] == queries.metrics(crafted_con, T, county=NORMAL)["coverage_rate"]
    assert trend["is_partial_history"].iloc[0]         # the first sample is after 06-01 12:00 - 48 h


@pytest.mark.parametrize("scope", [{}, {"county": "411322"}, {"sector": "交通运输"}, {"city": "411300"}])
def test_coverage_overview_agrees_with_metrics(demo_con, scope):
    t = freshness.latest_data_at(demo_con)
    o, m = queries.coverage_overview(demo_con, t, **scope), queries.metrics(demo_con, t, **scope)
    for key in ("employees", "tested_in_interval", "coverage_rate", "overdue_employees", "place_codes",
                "sampling_huts"):
        assert o[key] == m[key], key
    assert dict(zip(o["output"]["sector"], o["output"]["output_share"])) == m["output_coverage_by_sector"]
    counties = o["levels"][o["levels"]["level"] == "county"]
    assert dict(zip(counties["code"], counties["count_overdue"])) == m["overdue_by_county"]


def test_gather_runs_its_jobs_side_by_side_in_order(demo_con):
    import threading

    both = threading.Barrier(2, timeout=10)   # broken (an error) unless the two jobs run at once

    def job(n):
        def run(con):
            both.wait()
            return con.execute("SELECT ? * 10", [n]).fetchone()[0]
        return run
    assert queries.gather(demo_con, job(1), job(2)) == [10, 20]
    assert queries.gather(demo_con, lambda con: 7) == [7]

    def broken(con):
        con.execute("SELECT * FROM no_such_table")
    with pytest.raises(Exception, match="no_such_table"):
        queries.gather(demo_con, lambda con: 1, broken)


FRAME_CASES = """
SELECT * FROM (VALUES
    ('a', NULL::VARCHAR, 1::INTEGER, NULL::INTEGER, 2::BIGINT, 3::UTINYINT, 1.5::DOUBLE, true, NULL::BOOLEAN,
     TIMESTAMP '2022-06-01 10:00:00.123456', DATE '2022-06-01', INTERVAL 3 HOUR, [1, 2], 3.25::DECIMAL(10, 2),
     {'k': 1}, TIMESTAMPTZ '2022-06-01 10:00:00+08'),
    (NULL, NULL, 2, 5, 3, 4, NULL, false, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(s, s_null, i, i_null, b, u, d, bo, bo_null, ts, dte, iv, lst, dec, st, tstz)
"""


@pytest.mark.parametrize("sql", [FRAME_CASES, f"{FRAME_CASES} WHERE false", "SELECT 1 AS x, 2 AS x"])
def test_frames_have_the_dtypes_duckdb_gives(demo_con, sql):
    pd.testing.assert_frame_equal(queries._frame(demo_con, sql, {}), demo_con.execute(sql).df())


@pytest.mark.parametrize("model", ["enterprise_risk", "sentinel_alerts", "employee_status", "issue_closure",
                                   "shutdown_episodes", "place_status", "enterprise_testing", "recheck_obligations"])
def test_frames_of_the_models_equal_duckdbs_own(demo_con, model):
    t = freshness.latest_data_at(demo_con)
    columns = "* EXCLUDE (person_key)" if model in ("employee_status", "recheck_obligations") else "*"  # UHUGEINT: .df() has none
    sql = f"SELECT {columns} FROM {model}($as_of) ORDER BY ALL"
    fast = queries._frame(demo_con, sql, {"as_of": t, "county": None})
    assert len(fast) > 0
    pd.testing.assert_frame_equal(fast, demo_con.execute(sql, {"as_of": t}).df())


def test_place_zone_requirements_count_enterprises_lacking_each_zone(demo_con):
    t = freshness.latest_data_at(demo_con)
    zones = queries.place_zone_requirements(demo_con, t).set_index("required_zone")
    gaps = queries.place_coverage(demo_con, t, gaps_only=True)
    assert zones.loc["出入口", "count_lacking"] == (~gaps["has_entrance_code"]).sum()
    assert zones.loc["生活区", "count_lacking"] == (~gaps["has_living_code"]).sum()
    kinds = queries.place_codes_by_kind(demo_con, t)
    summary = queries.place_code_summary(demo_con, t)
    assert (kinds["count_places"].sum(), kinds["count_coded"].sum(), kinds["count_active_24h"].sum()) == \
        (summary["listed"], summary["registered"], summary["active_24h"])


# ---------------------------------------------------------------- overdue

@pytest.mark.parametrize("county, expected", [
    (NORMAL, {"normal": 3, "mobile": 1, "emergency": 0, "closed_loop": 1}),  # 张二 张五 张六 / 张三 / 李一
    (EMERGENCY, {"normal": 0, "mobile": 0, "emergency": 1, "closed_loop": 0}),  # 赵一 (保供岗位, 30 h)
    (SWITCHED, {"normal": 0, "mobile": 0, "emergency": 1, "closed_loop": 0}),   # app switch
    (LATER, {"normal": 0, "mobile": 0, "emergency": 0, "closed_loop": 0}),      # 应急 only after T
])
def test_overdue_by_rule(crafted_con, county, expected):
    df = queries.overdue_by_rule(crafted_con, T, county=county).set_index("interval_rule_code")
    assert df["count_overdue"].to_dict() == expected
    assert df["interval"].to_dict() == {"normal": "48小时", "mobile": "24小时", "emergency": "每日",
                                        "closed_loop": "每日"}
    assert df["count_overdue"].sum() == queries.metrics(crafted_con, T, county=county)["overdue_employees"]


@pytest.mark.parametrize("person, interval, why", [
    ("李一", "每日", "闭环生产：每日一检"),
    ("张三", "24小时", "流动接触岗位：24小时一检"),
    ("张二", "48小时", "常态：48小时一检"),
    ("张五", "48小时", "常态：48小时一检"),
])
def test_overdue_staff_say_which_interval_applies_and_why(crafted_con, person, interval, why):
    staff = queries.employee_status(crafted_con, T, county=NORMAL)
    code = staff.loc[staff["person_name"] == person, "credit_code"].iloc[0]
    rows = queries.overdue_staff(crafted_con, T, code).set_index("person_name")
    assert (rows.loc[person, "interval_text"], rows.loc[person, "interval_rule"]) == (interval, why)
    assert rows["id_masked"].str.contains(r"\*{6,}").all()
    assert rows["is_never_tested"].iloc[0] == rows["is_never_tested"].any()   # never tested first


def test_overdue_ranking_by_count_and_by_share(demo_con):
    t = freshness.latest_data_at(demo_con)
    by_count = queries.overdue_ranking(demo_con, t, "count")
    by_share = queries.overdue_ranking(demo_con, t, "share")
    assert by_count["count_overdue"].is_monotonic_decreasing
    assert by_share["overdue_share"].is_monotonic_decreasing
    assert set(by_count["credit_code"]) == set(by_share["credit_code"])
    assert by_count["count_overdue"].sum() == queries.metrics(demo_con, t)["overdue_employees"]


# ---------------------------------------------------------------- production: baseline, mix, shutdowns

@pytest.fixture(scope="module")
def production_con(tmp_path_factory):
    """Two counties: 甲县 switches to 应急 on 06-03 12:00, 乙县 never does."""
    w = crafted.World()
    a, b = "411322", "411321"
    w.enterprise("甲厂", a)
    w.enterprise("乙厂", b)
    w.enterprise("乙店", b, sector="商贸流通", listed="2022-06-04")
    w.enterprise("乙站", b, sector="交通运输")
    w.county_state(a, "常态", D(2022, 5, 1))
    w.county_state(a, "应急", D(2022, 6, 3, 12))
    rows = [("甲厂", d, "正常生产", 100 + 10 * i, 90, 50) for i, d in enumerate(["01", "02"])]
    rows += [("甲厂", d, "闭环生产", 60, 50, 30) for d in ["03", "04", "05", "06"]]
    rows += [("乙厂", d, "正常生产", out, 80, 40) for d, out in [("01", 10), ("02", 20), ("03", 30), ("04", 40)]]
    rows += [("乙厂", "05", "部分停产", 5, 20, 10)]                       # no report on 06-06: 未上报
    rows += [("乙站", d, "停产", None, None, 0) for d in ["02", "03", "04", "05", "06"]]   # 5 days, ongoing
    rows += [("乙店", "06", "正常生产", 8, 70, 6)]
    for name, day, status, out, cap, duty in rows:
        w.rows["production"].append({"credit_code": w.credit[name], "report_date": f"2022-06-{day}", "status": status,
                                     "output_wan_yuan": out, "capacity_pct": cap, "on_duty": duty})
    for day, status in [("2022-05-20", "停产"), ("2022-05-21", "正常生产")]:            # an old, closed episode
        w.rows["production"].append({"credit_code": w.credit["乙站"], "report_date": day, "status": status})
    folder = tmp_path_factory.mktemp("production")
    s = Settings(db_path=folder / "store" / "fourguard.duckdb")
    ingest_paths(w.write(folder / "feeds"), s.db_path, s)
    r = db.connect(s.db_path, s)
    yield r.cursor()
    r.close()


AS_OF = D(2022, 6, 6, 12)


def overview(con, **scope):
    return queries.production_overview(con, dt.date(2022, 6, 2), dt.date(2022, 6, 9), AS_OF, **scope)


def test_production_baseline_before_the_first_emergency_else_the_first_three_days(production_con):
    daily = production_con.execute("SELECT * FROM production_daily(DATE '2022-06-02', DATE '2022-06-09', ?)",
                                   [AS_OF]).df()
    assert daily["day"].max() == pd.Timestamp("2022-06-06")                     # nothing after as_of's date
    first = daily.groupby("enterprise_name").first()
    assert first.loc["甲厂", "baseline_basis"] == "应急前"                     # 06-01 and 06-02
    assert first.loc["甲厂", "baseline_output_wan_yuan"] == pytest.approx(105)
    assert first.loc["乙厂", "baseline_basis"] == "区间前3天"                  # 06-02 … 06-04
    assert first.loc["乙厂", "baseline_output_wan_yuan"] == pytest.approx(30)
    assert pd.isna(first.loc["乙店", "baseline_basis"])                         # listed 06-04, reported 06-06 only
    assert overview(production_con)["basis"] == {"应急前": 1, "区间前3天": 2, "无基线": 1}


def test_production_status_mix_counts_unreported_days(production_con):
    mix = overview(production_con)["mix"]
    day6 = mix[mix["day"] == pd.Timestamp("2022-06-06")].set_index("status")["count_enterprises"].to_dict()
    assert day6 == {"闭环生产": 1, "停产": 1, "正常生产": 1, queries.UNREPORTED: 1}
    assert mix[mix["day"] == pd.Timestamp("2022-06-03")]["count_enterprises"].sum() == 3  # 乙店 not listed yet


def test_production_trend_compares_like_with_like(production_con):
    trend = overview(production_con)["trend"]
    assert production_con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'production_days_now'"
                                  ).fetchone()[0] == 0  # its scratch table is gone
    day5 = trend.set_index("day").loc[pd.Timestamp("2022-06-05")]
    assert day5["output_wan_yuan"] == pytest.approx(60 + 5)          # 甲厂 and 乙厂; 乙站 reports no output
    assert day5["baseline_output_wan_yuan"] == pytest.approx(105 + 30)
    assert day5["on_duty_all"] == 30 + 10 + 0


def test_shutdowns_in_range_keep_the_breach_and_drop_old_episodes(production_con):
    df = queries.shutdowns_in_range(production_con, AS_OF, dt.date(2022, 6, 2), dt.date(2022, 6, 9))
    assert df[["enterprise_name", "length_days", "is_ongoing", "is_breach"]].values.tolist() == \
        [["乙站", 5, True, True]]                                   # the 05-20 episode is outside the range


# ---------------------------------------------------------------- the pages (AppTest)

def run_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}").run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_coverage_headline_is_the_cli_number(demo_db, app_on, demo_con):
    app_on(demo_db)
    t = freshness.latest_data_at(demo_con)
    at = run_page("02_coverage.py")
    assert metric(at, "核酸检测覆盖率") == ui.fmt_pct(queries.metrics(demo_con, t)["coverage_rate"])
    assert metric(at, "千人以上企业有采样屋") == "{with_hut} / {required}".format(**queries.metrics(demo_con, t)["sampling_huts"])


def test_coverage_headline_follows_the_county_in_the_url(crafted_db, app_on, crafted_con):
    app_on(crafted_db)
    t = freshness.latest_data_at(crafted_con)
    everywhere = ui.fmt_pct(queries.metrics(crafted_con, t)["coverage_rate"])
    county = ui.fmt_pct(queries.metrics(crafted_con, t, county=NORMAL)["coverage_rate"])
    assert everywhere != county
    assert metric(run_page("02_coverage.py"), "核酸检测覆盖率") == everywhere
    assert metric(run_page("02_coverage.py", county=NORMAL), "核酸检测覆盖率") == county


def test_overdue_ranking_top_row_and_selection_open_the_enterprise(demo_db, app_on, demo_con):
    app_on(demo_db)
    t = freshness.latest_data_at(demo_con)
    at = run_page("03_overdue.py")
    assert metric(at, "超时未检") == f"{ui.fmt_int(queries.metrics(demo_con, t)['overdue_employees'])} 人"
    top = at.dataframe[0].value.iloc[0]
    code = queries.overdue_ranking(demo_con, t).iloc[0]["credit_code"]
    sql_count, = demo_con.execute("SELECT count(*) FROM employee_status(?) WHERE credit_code = ? AND is_overdue",
                                  [t, code]).fetchone()
    assert top["count_overdue"] == sql_count

    at.session_state["overdue_ranking_count"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    staff = at.dataframe[1].value
    assert len(staff) == sql_count and staff["id_masked"].str.contains(r"\*{6,}").all()
    at.button[0].click().run()                              # 打开企业详情 → pages/06_enterprise.py?ent=…
    assert dict(at.query_params) == {"ent": code}


def test_overdue_ranking_follows_its_order_control(demo_db, app_on, demo_con):
    """The page reads the ranking before drawing the control (side by side with the rule chart), in
    the order the control holds."""
    app_on(demo_db)
    t = freshness.latest_data_at(demo_con)
    at = run_page("03_overdue.py")
    by_share = queries.overdue_ranking(demo_con, t, "share")
    assert at.dataframe[0].value.iloc[0]["enterprise_name"] != by_share.iloc[0]["enterprise_name"]
    at.segmented_control(key="overdue_order").set_value("share").run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    assert shown["enterprise_name"].tolist() == by_share["enterprise_name"].tolist()
    assert shown["overdue_pct"].is_monotonic_decreasing


def test_production_lists_the_demo_breach(demo_db, app_on, demo_con):
    app_on(demo_db)
    t = freshness.latest_data_at(demo_con)
    breach = queries.shutdown_episodes(demo_con, t, alerts_only=True).iloc[0]
    at = run_page("05_production.py")
    table = next(d.value for d in at.dataframe if "breach" in d.value.columns)
    row = table[table["enterprise_name"] == breach["enterprise_name"]].iloc[0]
    assert (row["length_days"], row["ongoing"], row["breach"]) == (breach["length_days"], "停产中", "⚠ 超3天")
    assert metric(at, "停产超3天（预警）") == f"{queries.metrics(demo_con, t)['shutdown_over_3d']} 家"


# ---------------------------------------------------------------- charts

def test_output_chart_says_a_missing_total_instead_of_drawing_zero(crafted_con):
    from fourguard import charts

    df = queries.output_coverage_by_sector(crafted_con, T)
    fig = charts.output_coverage(df, 0.7)
    missing = set(df.loc[df["output_share"].isna(), "sector"])
    assert missing and {a.x for a in fig.layout.annotations if "未导入" in a.text} == missing
    bars = dict(zip(fig.data[0].x, fig.data[0].y))
    assert all(bars[s] is None or pd.isna(bars[s]) for s in missing)
    assert fig.layout.font.family == charts.FONT


def test_trend_charts_mark_partial_days_and_emergency_periods(crafted_con):
    from fourguard import charts

    trend = queries.coverage_trend(crafted_con, dt.date(2022, 5, 25), dt.date(2022, 6, 10), T)
    periods = queries.emergency_periods(crafted_con, NORMAL, dt.date(2022, 5, 25), dt.date(2022, 6, 10), T)
    assert periods[["started_at", "ended_at"]].values.tolist() == [[pd.Timestamp("2022-06-01"), pd.Timestamp("2022-06-05")]]
    fig = charts.mark_emergency(charts.coverage_trend(trend), periods)
    assert [s.type for s in fig.layout.shapes] == ["rect"]
    assert len(fig.layout.xaxis.tickvals) <= 17                      # 17 days, labels thinned to ~16
    assert fig.data[0].marker.color[0] == charts.palette.NEUTRAL     # no samples 48 h before 05-25
