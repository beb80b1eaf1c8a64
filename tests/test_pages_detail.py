"""The enterprise and data pages: what they show for the demo county."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from stdnum.cn import ric

from fourguard import db, enterprise, freshness, queries
from tests.conftest import run_page


@pytest.fixture
def demo(demo_db, app_on):
    return app_on(demo_db)


def test_data_page_lists_every_feed_and_the_quarantine(demo):
    at = run_page("07_data.py")
    feeds_table = at.dataframe[0].value
    assert list(feeds_table["数据类型"]) == ["白名单企业", "县区状态", "行业产值统计", "员工花名册", "场所码台账",
                                          "生产经营日报", "企业诉求", "核酸检测", "场所码扫码记录"]
    con = db.connect(demo.db_path, demo).cursor()
    assert feeds_table["行数"].tolist() == freshness.feed_overview(con)["行数"].tolist()
    # The demo's dirty rows are in the quarantine browser, with masked IDs only.
    held = at.dataframe[-1].value
    assert len(held) == min(1000, queries.quarantined_rows(con)) > 0
    standalone = held["原始数据"].str.findall(r"(?<![0-9A-Z])\d{17}[\dX](?![0-9A-Z])").explode().dropna()
    assert not any(ric.is_valid(x) for x in standalone)


def test_feed_status_flags_a_lagging_feed(demo):
    con = db.connect(demo.db_path, demo).cursor()
    newest = freshness.latest_data_at(con)
    status = freshness.feed_status(con, newest, {"default": 24, "production": 1})
    states = dict(zip(status["feed"], status["状态"]))
    # Reports are dated by day (midnight), so they trail the newest scan by hours: over a 1-hour allowance.
    assert states["production"] == "数据滞后" and states["tests"] == "正常"
    later = freshness.feed_status(con, dt.datetime.now() + dt.timedelta(days=400), {"default": 24})
    assert set(later["状态"]) == {"导入滞后"}


def test_enterprise_page_shows_the_enterprise_and_its_counts(demo):
    con = db.connect(demo.db_path, demo).cursor()
    as_of = freshness.latest_data_at(con)
    ranked = queries.enterprises_by_overdue(con, as_of)
    code = ranked.iloc[0]["credit_code"]
    at = run_page("06_enterprise.py", ent=code)
    staff = queries.employee_status(con, as_of, credit_code=code)
    shown = {m.label: m.value for m in at.metric}
    assert shown["在册员工"] == f"{len(staff):,}"
    assert shown["超时未检"] == f"{int(staff['is_overdue'].sum()):,}"
    assert at.subheader[0].value == enterprise.profile(con, code, as_of)["enterprise_name"]


def test_enterprise_page_says_when_the_code_is_unknown(demo):
    at = run_page("06_enterprise.py", ent="91411322000000000X")
    assert any("没有统一社会信用代码为" in w.value for w in at.warning)


def test_enterprise_trend_matches_the_status_at_each_day(demo):
    con = db.connect(demo.db_path, demo).cursor()
    as_of = freshness.latest_data_at(con)
    code = queries.enterprises_by_overdue(con, as_of).iloc[0]["credit_code"]
    trend = enterprise.coverage_trend(con, code, as_of.date() - dt.timedelta(days=4), as_of.date() + dt.timedelta(days=3),
                                      as_of)
    assert len(trend) == 5 and trend["is_listed"].all()             # no day after as_of's date
    assert trend["check_at"].iloc[-1] == as_of
    assert (trend["check_at"].iloc[:-1] == trend["day"].iloc[:-1] + pd.Timedelta(days=1, microseconds=-1)).all()
    for row in trend.itertuples():
        staff = queries.employee_status(con, row.check_at, credit_code=code)
        assert (row.count_employees, row.count_within_interval) == (len(staff), int(staff["is_within_interval"].sum()))
