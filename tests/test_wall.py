"""The wall (一屏掌控): headline changes, the 电子哨 list, rotation, the page, and the screen in a browser."""
from __future__ import annotations

import datetime as dt
import re
import shutil

import pandas as pd
import pytest
from stdnum.cn import ric

from fourguard import alerts, db, enterprise, feeds, freshness, ingest, queries, wall
from fourguard.config import Settings
from tests.conftest import run_page

# 2022-06-08 10:00 on the demo county: every kind of alert is present (the 06-01 pool's missed
# rechecks are still inside the 7-day look-back; the 06-05 shutdown is in its 4th day).
ALL_KINDS_AT = dt.datetime(2022, 6, 8, 10, 0)


@pytest.fixture
def demo(demo_db, app_on):
    return app_on(demo_db)


# ---------------------------------------------------------------- headline

def producing_by_hand(demo_con, t: dt.datetime, county=None, city=None, sector=None) -> int:
    """Whitelisted enterprises whose latest report on or before t's date is 正常生产 or 闭环生产 (pandas)."""
    listed = demo_con.execute("SELECT credit_code, county_code, city_code, sector FROM whitelist(?)", [t]).df()
    for col, value in (("county_code", county), ("city_code", city), ("sector", sector)):
        if value:
            listed = listed[listed[col] == value]
    reports = demo_con.execute("SELECT credit_code, report_date, status FROM stg_production").df()
    reports = reports[pd.to_datetime(reports.report_date) <= pd.Timestamp(t.date())]
    latest = reports.sort_values("report_date").groupby("credit_code").tail(1)
    return int(latest[latest.credit_code.isin(listed.credit_code)].status.isin(["正常生产", "闭环生产"]).sum())


@pytest.mark.parametrize("scope", [{}, {"county": "411322"}, {"city": "411300", "sector": "工业生产"}])
def test_headline_is_metrics_now_and_a_day_before(demo_con, scope):
    t = freshness.latest_data_at(demo_con)
    h = wall.headline(demo_con, t, **scope).set_index("key")
    assert list(h.index) == [k for k, *_ in wall.HEADLINE]
    for at, column in ((t, "value"), (t - dt.timedelta(hours=24), "previous")):
        m = queries.metrics(demo_con, at, **scope)
        expected = {"enterprises": m["enterprises"], "employees": m["employees"],
                    "coverage_48h": m["coverage_rate"], "overdue_employees": m["overdue_employees"],
                    "positives": m["positives"], "clusters": m["clusters"],
                    "red_yellow_scans_24h": m["place_codes"]["red_yellow_scans_24h"],
                    "open_issues": m["issues"]["open"], "closure_rate": m["issues"]["closure_rate"]}
        assert h[column].drop("producing_normally").to_dict() == expected
    assert h.at["producing_normally", "value"] == producing_by_hand(demo_con, t, **scope) > 0
    assert (h["delta"] - (h["value"] - h["previous"])).abs().max() < 1e-9
    # The demo's last day differs from the one before, so the deltas are not all zero.
    assert (h["delta"] != 0).any()


@pytest.mark.parametrize("delta, better, tone", [
    (5, "up", "good"), (-5, "up", "bad"), (5, "down", "bad"), (-0.012, "down", "good"),
    (0, "up", "flat"), (3, None, "flat"), (None, "up", "flat")])
def test_a_change_is_coloured_by_whether_it_is_good(delta, better, tone):
    assert wall.delta_tone(delta, better) == tone


@pytest.mark.parametrize("value, unit, text, delta, delta_text", [
    (0.9331, "%", "93.3%", 0.012, "▲1.2个百分点"),
    (168901, "人", "16.9万", -1044, "▼1,044人"),
    (1692, "家", "1,692", 0, "持平"),
    (None, "%", "—", None, "无昨日数据"),
])
def test_figures_read_as_chinese_readers_expect(value, unit, text, delta, delta_text):
    assert wall.fmt_value(value, unit) == text
    assert wall.fmt_delta(delta, unit) == delta_text


# ---------------------------------------------------------------- the 电子哨 list

def test_alerts_hold_every_kind_most_severe_then_newest_first(demo_con):
    df = alerts.alerts(demo_con, ALL_KINDS_AT)
    assert set(df["kind"]) == set(alerts.KINDS)
    assert list(df.columns[:4]) == ["alert_at", "severity", "level", "kind"]
    assert df["severity"].is_monotonic_increasing
    for _, group in df.groupby("severity"):
        assert group["alert_at"].is_monotonic_decreasing
    assert df.iloc[0]["kind"] == "聚集性疫情" and df.iloc[0]["level"] == "高"
    assert set(df.loc[df.kind.isin(["阳性", "复核超时"]), "severity"]) == {2}


def test_alert_counts_are_the_rules_own_counts(demo_con):
    t = ALL_KINDS_AT
    df, m = alerts.alerts(demo_con, t), queries.metrics(demo_con, t)
    by_kind = df.groupby("kind")
    assert by_kind.size()["聚集性疫情"] == m["clusters"]
    assert by_kind.size()["阳性"] == len(queries.positive_cases(demo_con, t))
    assert by_kind.size()["复核超时"] == m["recheck_over_6h"]
    assert by_kind.size()["红黄码进入"] == m["place_codes"]["red_yellow_scans_24h"]
    assert by_kind.size()["诉求逾期"] == m["issues"]["overdue"]
    assert df.loc[df.kind == "停产超时", "credit_code"].nunique() == m["shutdown_over_3d"]
    # Overdue testing: one row per enterprise, saying how many of its staff are overdue.
    overdue = queries.enterprises_by_overdue(demo_con, t)
    rows = df[df.kind == "超时未检"].set_index("credit_code")
    assert sorted(rows.index) == sorted(overdue.credit_code)
    counts = rows["detail"].str.extract(r"^(\d+) 人")[0].astype(int)
    assert counts.to_dict() == dict(zip(overdue.credit_code, overdue.count_overdue))
    assert counts.sum() == m["overdue_employees"]


def test_alerts_show_masked_ids_only(demo_con):
    details = " ".join(alerts.alerts(demo_con, ALL_KINDS_AT)["detail"])
    assert "**********" in details
    assert not [x for x in re.findall(r"(?<![0-9A-Z])\d{17}[\dX](?![0-9A-Z])", details) if ric.is_valid(x)]


def test_one_enterprise_gets_its_own_rows_of_the_one_list(demo_con):
    df = alerts.alerts(demo_con, ALL_KINDS_AT)
    code = df.loc[df.kind == "聚集性疫情", "credit_code"].iloc[0]
    own = alerts.alerts(demo_con, ALL_KINDS_AT, credit_code=code)
    pd.testing.assert_frame_equal(own.reset_index(drop=True), df[df.credit_code == code].reset_index(drop=True))
    assert enterprise.alerts(demo_con, code, ALL_KINDS_AT).to_dict("list") == own[["alert_at", "kind", "detail"]].to_dict("list")
    assert len(alerts.alerts(demo_con, ALL_KINDS_AT, limit=5)) == 5


def test_alerts_html_pins_clusters_and_scrolls_the_rest(demo_con):
    df = alerts.alerts(demo_con, ALL_KINDS_AT)
    page = wall.alerts_html(df, alerts.counts(df), alerts.level_counts(df))
    pinned = page.split("<div class='pinned'>")[1].split("<div class='ticker-box'>")[0]
    assert pinned.count("class='alert ") == (df.severity == 1).sum()
    rest = min(len(df) - (df.severity == 1).sum(), wall.ALERT_ROWS_MAX)
    assert page.count("class='alert ") == (df.severity == 1).sum() + 2 * rest  # the scrolling list twice
    assert "animation-duration" in page
    quiet = wall.alerts_html(df.head(3), alerts.counts(df.head(3)), alerts.level_counts(df.head(3)))
    assert "ticker still" in quiet and "animation-duration" not in quiet


# ---------------------------------------------------------------- scope and rotation

AREAS = pd.DataFrame({"city_code": ["411300", "411300", "411500", "411500", "411700"],
                      "city_name": ["南阳市", "南阳市", "信阳市", "信阳市", "驻马店市"],
                      "county_code": ["411322", "411330", "411523", "411502", "411721"],
                      "county_name": ["方城县", "桐柏县", "新县", "浉河区", "西平县"]})


@pytest.mark.parametrize("scope, clock, rotate, expected", [
    ({}, 0, 30, "411300"),
    ({}, 29.9, 30, "411300"),
    ({}, 30, 30, "411500"),
    ({}, 95, 30, "411300"),          # 3rd slot wraps to the first of three cities
    ({}, 1_654_750_000, 60, ["411300", "411500", "411700"][(1_654_750_000 // 60) % 3]),
    ({"city": "411500"}, 10, 10, "411502"),
    ({"city": "411500"}, 20, 10, "411523"),
])
def test_the_clock_picks_the_focus(scope, clock, rotate, expected):
    codes = wall.focus_areas(AREAS, **scope)
    assert codes[wall.rotation_index(len(codes), rotate, clock)] == expected


def test_a_county_scope_does_not_rotate():
    assert wall.focus_areas(AREAS, county="411322", city="411300") == []
    assert wall.rotation_index(0, 30, 100) == 0


@pytest.mark.parametrize("query, area, expected, noted", [
    ({}, None, dict(city=None, county=None, refresh=60, rotate=0), False),
    ({"county": "411330", "refresh": "5", "rotate": "20"}, None,
     dict(city="411300", county="411330", refresh=5, rotate=20), False),
    ({"city": "411500", "refresh": "0.5", "rotate": "1"}, None,
     dict(city="411500", county=None, refresh=wall.REFRESH_MIN, rotate=wall.ROTATE_MIN), False),
    ({"refresh": "abc", "rotate": "0"}, None, dict(refresh=60, rotate=0), False),
    ({"county": "999999"}, None, dict(city=None, county=None), True),
    ({}, {"city": "411500"}, dict(city="411500", county=None), False),
    ({"city": "411300"}, {"city": "411500"}, dict(city="411500", county=None), True),
    ({"county": "411523"}, {"city": "411500"}, dict(city="411500", county="411523"), False),
    ({"city": "411500"}, {"county": "411523"}, dict(city="411500", county="411523"), True),
])
def test_url_parameters_within_the_users_area(query, area, expected, noted):
    req, notes = wall.request(query, AREAS, feeds.SECTORS, area)
    assert {k: getattr(req, k) for k in expected} == expected
    assert bool(notes) == noted
    assert req.run_every == (min(req.refresh, req.rotate) if req.rotate else req.refresh)


# ---------------------------------------------------------------- the page (AppTest)

def html_of(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


@pytest.mark.parametrize("params", [{}, {"county": "411322"}, {"city": "411300", "rotate": "30", "refresh": "15"}])
def test_wall_page_renders_every_panel_for_its_scope(demo, demo_con, params):
    at = run_page("10_wall.py", **params)
    page = html_of(at)
    for panel in ("wall-header", "wall-tiles", "wall-ranking", "wall-states", "wall-alerts"):
        assert f"class='{panel}" in page or f"wall-panel {panel}" in page, panel
    assert "wall-panel wall-warning" not in page
    t = freshness.latest_time(demo_con)
    m = queries.metrics(demo_con, t, county=params.get("county"), city=params.get("city"))
    assert f"data-key='enterprises'><div class='label'>白名单企业</div><div class='value'>{m['enterprises']:,}<" in page
    assert f"<div class='value'>{m['overdue_employees']:,}<" in page
    place = "方城县" if "county" in params else "南阳市" if "city" in params else "全省"
    assert f"<b>{place}四保白名单企业 · 一屏掌控</b>" in page
    if "rotate" in params:
        assert "焦点 <b>方城县</b>" in page and "1/1 · 每30秒轮换" in page
    assert at.get("plotly_chart") and at.get("deck_gl_json_chart")


def broken_query(demo_con, as_of, **scope):
    """Stands in for a query whose data cannot be read (module level: ui.query finds it by name)."""
    raise OSError("disk gone")


def test_a_panel_that_fails_shows_a_warning_and_the_rest_stays(demo, monkeypatch):
    monkeypatch.setattr(alerts, "alerts", broken_query)
    at = run_page("10_wall.py")
    page = html_of(at)
    assert "电子哨预警" in page and "暂时无法显示（OSError）" in page
    assert "wall-tiles" in page and "wall-ranking" in page


def test_an_unreadable_database_shows_a_warning_not_an_exception(tmp_path, app_on):
    bad = tmp_path / "fg.duckdb"
    bad.write_bytes(b"this is not a duckdb file" * 100)
    app_on(Settings(db_path=bad, demo_dir=tmp_path / "demo"))
    at = run_page("10_wall.py")
    assert "数据库暂时无法读取" in html_of(at)


def test_feed_warnings_name_late_and_lagging_feeds(demo_con):
    t = freshness.latest_data_at(demo_con)
    assert wall.feed_warnings(demo_con, t, {"default": 24}) == []
    late = wall.feed_warnings(demo_con, dt.datetime.now() + dt.timedelta(days=400), {"default": 24})  # no load since
    assert any(w.startswith("核酸检测导入滞后") for w in late)
    # Reports are dated by day, so with a 1-hour allowance the production feed lags the scans.
    lagging = wall.feed_warnings(demo_con, t, {"default": 24, "production": 1})
    assert lagging and all(w.startswith("生产经营日报数据滞后") for w in lagging)


@pytest.mark.parametrize("warnings, shown", [
    ([], "各类数据按时更新"),
    (["核酸检测导入滞后：已 30 小时未导入（允许 24 小时）"], "⚠ 数据告警 1 项：核酸检测导入滞后：已 30 小时未导入"),
])
def test_the_header_turns_red_when_a_feed_is_late(warnings, shown):
    t = dt.datetime(2022, 6, 9, 23, 59)
    page = wall.header_html("全省四保白名单企业 · 一屏掌控", "全省", t, "南阳市", (2, 18, 30, 12.5), warnings, [], t)
    assert shown in page
    assert ("wall-stale" in page) == bool(warnings)
    assert "焦点 <b>南阳市</b><span class='sub'>3/18 · 每30秒轮换" in page
    assert "animation-duration:30s;animation-delay:-12.5s" in page   # the bar shows the time left


def test_a_refused_file_is_a_feed_warning(demo_db, tmp_path):
    copy = tmp_path / "fg.duckdb"
    shutil.copy(demo_db.db_path, copy)
    s = Settings(db_path=copy, demo_dir=demo_db.demo_dir)
    bad = tmp_path / "核酸检测_0610.csv"
    bad.write_text("甲,乙\n1,2\n", encoding="utf-8")
    ingest.ingest_paths([bad], copy, s)
    r = db.connect(copy, s)
    warnings = wall.feed_warnings(r.cursor(), freshness.latest_data_at(r.cursor()), {"default": 24})
    r.close()
    assert len(warnings) == 1 and warnings[0].startswith("导入失败：核酸检测_0610.csv（")


# ---------------------------------------------------------------- the screen in a real browser

playwright = pytest.importorskip("playwright.sync_api")
from tests.browser import CHROMIUM, CHROMIUM_ARGS, running_app, wait_until_idle  # noqa: E402

PANELS = (".wall-header", ".wall-clock", ".wall-tiles", ".wall-ranking", ".wall-states", ".st-key-wall_map",
          ".st-key-wall_map canvas", ".st-key-wall_trend", ".st-key-wall_trend .main-svg", ".wall-alerts")
# Text that must never be cut: it has no ellipsis on purpose.
WHOLE_TEXT = (".tile .value", ".tile .label", ".wall-title b", ".wall-head b", ".wall-clock-time")
FIT = """([panels, texts]) => {
  const W = innerWidth, H = innerHeight, s = document.scrollingElement, main = document.querySelector('[data-testid=stMain]');
  const box = sel => { const e = document.querySelector(sel); if (!e) return null; const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height,
            over: [e.scrollWidth - e.clientWidth, e.scrollHeight - e.clientHeight]}; };
  const cut = texts.flatMap(sel => [...document.querySelectorAll(sel)]).filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => e.textContent);
  return {W, H, page: [s.scrollWidth, s.scrollHeight], main: [main.scrollWidth, main.scrollHeight],
          boxes: Object.fromEntries(panels.map(p => [p, box(p)])), cut,
          exceptions: document.querySelectorAll("[data-testid='stException']").length,
          font: parseFloat(getComputedStyle(document.querySelector('.tile .value')).fontSize)};
}"""


@pytest.fixture(scope="module")
def wall_app(demo_db):
    with running_app(demo_db.db_path) as base, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield base, browser
        browser.close()


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
@pytest.mark.parametrize("query", ["", "?county=411322&rotate=20"])
def test_every_panel_fits_the_screen_at_both_resolutions(wall_app, size, query):
    base, browser = wall_app
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{base}/wall{query}")
    wait_until_idle(page)
    for sel in PANELS:  # the first run learns the viewport, the next one sizes the map and chart for it
        page.wait_for_selector(sel, timeout=60_000)
    fit = page.evaluate(FIT, [list(PANELS), list(WHOLE_TEXT)])
    page.close()
    W, H = size
    assert fit["exceptions"] == 0
    assert fit["page"][0] <= W and fit["page"][1] <= H, fit["page"]
    assert fit["main"][0] <= W and fit["main"][1] <= H, fit["main"]
    for sel, b in fit["boxes"].items():
        assert b is not None, f"{sel} missing"
        assert b["width"] > 0 and b["height"] > 0, sel
        assert b["left"] >= 0 and b["top"] >= 0 and b["right"] <= W + 0.5 and b["bottom"] <= H + 0.5, (sel, b)
        assert max(b["over"]) <= 1, (sel, b["over"])        # nothing inside a panel spills over
    assert fit["cut"] == []
    # Viewport units: on 4K the same screen at twice the size, not tiny text (tile values are 4.4vh).
    assert fit["font"] == pytest.approx(0.044 * H, rel=0.02)
    assert [u for u in requests if not u.startswith((base, "data:", "blob:"))] == []


def test_the_wall_keeps_refreshing_with_flat_memory(demo_db, wall_app):
    from scripts.soak_wall import soak
    result = soak(demo_db.db_path, refresh=2, refreshes=20, seconds=300, browser=wall_app[1], log=lambda *_: None)
    assert result["refreshes"] >= 20
    assert result["bad_refreshes"] == []
    assert result["rss_after_mb"] - result["rss_before_mb"] < 150
