"""Risk scores, the risk map deck and the 风险地图 page, on a small world built for them.

Two counties of 信阳市 at T = 2022-06-10 12:00 (tests/crafted.py helpers):
- 新县 (XIN): 应急 from T − 2 h; 新县甲厂 has two positives 20 h apart (an R15 cluster), one
  never-tested employee and one whose last sample is 29 h old (overdue under 应急's daily rule);
  新县乙店 is quiet.
- 罗山县 (LUO): 常态; 罗山丙厂 has an overdue employee, a positive who is also on 罗山丁司's roster
  (one person, two rosters), two 红码 scans, a pooled positive never rechecked and an issue past its
  deadline; 罗山丁司 is shut down since 06-05 (R9 alert).
"""
from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from dataclasses import replace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from fourguard import db, maps, palette, queries, regions, risk
from fourguard.config import Settings, load_settings
from fourguard.ingest import ingest_paths
from tests.conftest import ROOT
from tests.crafted import H, T, World

XIN, LUO, CITY = "411523", "411521", "411500"
AS_OF = T - H  # the newest sample: the page's default as_of


def risk_world() -> World:
    w = World()
    w.county_state(XIN, "常态", dt.datetime(2022, 5, 1))
    w.county_state(XIN, "应急", T - 2 * H)
    w.county_state(LUO, "常态", dt.datetime(2022, 5, 1))
    w.enterprise("新县甲厂", XIN, headcount=300)
    for name, at, result in [("甲一", T - 30 * H, "阳性"), ("甲二", T - 10 * H, "阳性"), ("甲三", T - 5 * H, "阴性")]:
        w.person(name, "新县甲厂")
        w.sample(name, at, result=result)
    w.person("甲四", "新县甲厂")                      # never tested: overdue
    w.enterprise("新县乙店", XIN, sector="商贸流通", headcount=20)
    w.person("乙一", "新县乙店")
    w.sample("乙一", T - H)
    w.enterprise("罗山丙厂", LUO, headcount=800)
    w.enterprise("罗山丁司", LUO, sector="交通运输", headcount=50)
    w.person("丙一", "罗山丙厂")
    w.sample("丙一", T - 60 * H)                      # overdue
    for name in ("丙二", "丙三", "丙四", "丙五"):
        w.person(name, "罗山丙厂")
        w.sample(name, T - 3 * H)
    w.sample("丙二", T - 20 * H, result="阳性")
    w.rows["roster"].append({"id_number": w.ids["丙二"], "name": "丙二", "credit_code": w.credit["罗山丁司"],
                             "job_type": "普通岗位"})   # the same person on a second roster
    w.sample("丙四", T - 12 * H, result="阳性", tube="混管", resulted_at=T - 10 * H, pool_id="P1")
    w.place("罗山丙厂", "大门", "出入口", code="LS-GATE")
    w.stranger("路人", county=LUO)
    w.scan("LS-GATE", "丙三", T - 3 * H, health="红码")
    w.scan("LS-GATE", "路人", T - 2 * H, health="黄码")
    w.issue("R1", "罗山丙厂", dt.datetime(2022, 6, 1, 9))   # due 06-09 23:59:59: overdue
    w.person("丁一", "罗山丁司")
    w.sample("丁一", T - 2 * H)
    for day in range(5, 11):
        w.report("罗山丁司", f"2022-06-{day:02d}", "停产")
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Settings:
    folder = tmp_path_factory.mktemp("risk")
    s = Settings(db_path=folder / "store" / "fourguard.duckdb", demo_dir=folder / "demo")
    ingest_paths(risk_world().write(folder / "feeds"), s.db_path, s)
    return s


@pytest.fixture(scope="module")
def con(world):
    r = db.connect(world.db_path, world)
    yield r.cursor()
    r.close()


@pytest.fixture(scope="module")
def city_map(con):
    return queries.risk_map(con, AS_OF, city=CITY)


def row(df: pd.DataFrame, key: str, value: str) -> dict:
    return df.set_index(key).loc[value].to_dict()


# ---------------------------------------------------------------- numbers agree with metrics()

@pytest.mark.parametrize("scope", [{"county": XIN}, {"county": LUO}, {"county": LUO, "sector": "交通运输"},
                                   {"county": LUO, "sector": "工业生产"}])
def test_county_facts_agree_with_metrics(con, scope):
    m = queries.metrics(con, AS_OF, **scope)
    counties = queries.risk_map(con, AS_OF, **scope)["counties"]
    assert len(counties) == 1
    c = counties.iloc[0]
    assert c["count_enterprises"] == m["enterprises"]
    assert c["count_employees"] == m["employees"]
    assert c["count_overdue"] == m["overdue_employees"]
    assert c["coverage_rate"] == pytest.approx(m["coverage_rate"], abs=1e-4)
    assert c["count_positives"] == m["positives"]
    assert c["count_clusters"] == m["clusters"]
    assert c["count_recheck_over_limit"] == m["recheck_over_6h"]
    assert c["count_shutdown_alerts"] == m["shutdown_over_3d"]
    assert c["count_red_yellow_24h"] == m["place_codes"]["red_yellow_scans_24h"]
    assert c["count_issues_overdue"] == m["issues"]["overdue"]


def test_the_world_has_what_the_docstring_says(city_map):
    c = city_map["counties"].set_index("county_code")
    xin = c.loc[XIN, ["county_state", "count_positives", "count_clusters", "count_overdue"]].tolist()
    assert xin == ["应急", 2, 1, 2]
    # 丙二 is on two rosters: one positive person for the county, one per enterprise.
    assert c.loc[LUO, ["count_positives", "count_recheck_over_limit", "count_red_yellow_24h",
                       "count_issues_overdue", "count_shutdown_alerts"]].tolist() == [1, 1, 2, 1, 1]
    e = city_map["enterprises"].set_index("enterprise_name")
    assert e["count_positives"].to_dict() == {"新县甲厂": 2, "新县乙店": 0, "罗山丙厂": 1, "罗山丁司": 1}


def test_county_in_emergency_with_a_cluster_is_high(city_map):
    xin = row(city_map["counties"], "county_code", XIN)
    assert xin["risk_level"] == "高"
    assert xin["value_positives"] == 1.0 and xin["value_emergency"] == 1.0
    assert xin["risk_note"] == "聚集性疫情"          # its score alone is below 75
    assert xin["risk_score"] < 75
    plant = row(city_map["enterprises"], "enterprise_name", "新县甲厂")
    assert plant["risk_level"] == "高"
    # 2 of 5 overdue is past the 20 % full point: 25 points; the table says why it is red.
    top = risk.table(city_map["counties"]).iloc[0]
    assert (top["县区"], top["等级"], top["风险分"]) == ("新县", "高", 65.0)
    assert top["主要因素"] == "［聚集性疫情］阳性/聚集30分、超时未检25分"


def test_a_positive_raises_a_quiet_row_to_the_positive_level(city_map):
    shop = row(city_map["enterprises"], "enterprise_name", "罗山丁司")
    assert shop["risk_score"] < 50 and shop["risk_level"] == "较高" and shop["risk_note"] == "有阳性病例"
    quiet = row(city_map["enterprises"], "enterprise_name", "新县乙店")
    assert quiet["risk_note"] == "" and quiet["risk_level"] == palette.level_of(quiet["risk_score"])


@pytest.mark.parametrize("kind", ["counties", "enterprises"])
def test_components_sum_to_the_score(city_map, kind):
    df = city_map[kind]
    points = df[[f"points_{k}" for k in risk.COMPONENTS]].sum(axis=1)
    assert (points - df["risk_score"]).abs().max() < 1e-9
    assert df["risk_score"].between(0, 100).all()
    values = df[[f"value_{k}" for k in risk.COMPONENTS]]
    assert ((values >= 0) & (values <= 1)).all().all()


# ---------------------------------------------------------------- weights and bounds are configuration

FACTS = pd.DataFrame([{
    "count_employees": 100, "count_overdue": 10, "count_positives": 0, "count_clusters": 0,
    "count_red_yellow_24h": 5, "is_emergency": True, "count_recheck_over_limit": 0,
    "count_issues_overdue": 0, "count_shutdown_alerts": 0}])
# Defaults: overdue 10 % of 20 % → 0.5 × 25 = 12.5; red/yellow 5 of 10 → 0.5 × 10 = 5; 应急 10.


@pytest.mark.parametrize("weights, bounds, score, level", [
    ({}, {}, 27.5, "中"),
    ({"emergency": 0}, {}, (12.5 + 5) * 100 / 90, "低"),                 # weights are relative
    ({k: 0 for k in risk.COMPONENTS} | {"overdue": 1}, {}, 50.0, "较高"),
    ({k: 2 * v for k, v in Settings().risk_weights.items()}, {}, 27.5, "中"),
    ({}, {"overdue_share": 0.1}, 25 + 5 + 10, "中"),
    ({}, {"red_yellow": 2}, 12.5 + 10 + 10, "中"),
    ({}, {"medium": 30}, 27.5, "低"),
    ({}, {"medium": 27.5}, 27.5, "中"),                                  # a bound belongs to the level above
    ({}, {"medium": 10, "elevated": 15, "high": 20}, 27.5, "高"),
])
def test_weights_and_bounds_from_settings_change_the_score(weights, bounds, score, level):
    base = Settings()
    s = replace(base, risk_weights={**base.risk_weights, **weights}, risk_bounds={**base.risk_bounds, **bounds})
    out = risk.score(FACTS, s).iloc[0]
    assert out["risk_score"] == pytest.approx(score)
    assert out["risk_level"] == level


@pytest.mark.parametrize("bounds, level", [
    ({}, "高"),
    ({"cluster_level": "中"}, "较高"),                          # a cluster has positives: their floor holds
    ({"cluster_level": "中", "positive_level": "低"}, "中"),
    ({"cluster_level": "低", "positive_level": "低"}, "中"),     # floors only raise: 30 points is 中
])
def test_the_cluster_and_positive_floors_are_configuration(bounds, level):
    s = replace(Settings(), risk_bounds={**Settings().risk_bounds, **bounds})
    facts = FACTS.assign(count_overdue=0, count_red_yellow_24h=0, is_emergency=False,
                         count_positives=2, count_clusters=1)
    assert risk.score(facts, s).iloc[0]["risk_level"] == level   # 30 points alone: 中


def test_a_toml_file_overrides_single_weights(tmp_path):
    path = tmp_path / "fourguard.toml"
    path.write_text('[risk_weights]\nemergency = 0\n[risk_bounds]\nhigh = 80\n', encoding="utf-8")
    s = load_settings(path)
    assert s.risk_weights["emergency"] == 0 and s.risk_weights["positives"] == 30
    assert risk.level_bounds(s) == (25.0, 50.0, 80.0)


# ---------------------------------------------------------------- the deck

def deck_json(deck) -> dict:
    return json.loads(deck.to_json())


def layer(spec: dict, kind: str) -> dict:
    return next(x for x in spec["layers"] if x["@@type"] == kind)


@pytest.mark.parametrize("scope, counties", [
    ({"city": CITY}, sorted(regions.counties().query("city_code == @CITY")["code"])),
    ({"county": LUO}, [LUO]),
    ({}, sorted(regions.counties()["code"])),
])
def test_deck_has_one_feature_per_county_and_one_point_per_enterprise(con, scope, counties):
    data = queries.risk_map(con, AS_OF, **scope)
    deck = maps.risk_deck(data["counties"], data["enterprises"], scope.get("county"), scope.get("city"))
    spec = deck_json(deck)
    features = layer(spec, "GeoJsonLayer")["data"]["features"]
    assert sorted(f["properties"]["code"] for f in features) == counties
    points = layer(spec, "ScatterplotLayer")["data"]
    assert len(points) == queries.metrics(con, AS_OF, **scope)["enterprises"]
    grey = [f["properties"]["code"] for f in features if f["properties"]["level"] == maps.NO_DATA_LABEL]
    assert set(grey) == set(counties) - {XIN, LUO}


def test_deck_colours_follow_the_palette(city_map):
    spec = deck_json(maps.risk_deck(city_map["counties"], city_map["enterprises"], city=CITY))
    features = layer(spec, "GeoJsonLayer")["data"]["features"]
    fill = {f["properties"]["code"]: f["properties"]["fill"][:3] for f in features}
    assert fill[XIN] == list(palette.RGB["高"]) and fill[LUO] == list(palette.RGB["较高"])
    point = {p["credit_code"]: p for p in layer(spec, "ScatterplotLayer")["data"]}
    big = city_map["enterprises"].set_index("enterprise_name").loc["罗山丙厂"]
    assert point[big["credit_code"]]["color"][:3] == list(palette.RGB[big["risk_level"]])
    assert "新县（信阳市）" in json.dumps(spec, ensure_ascii=False)          # tooltip titles in Chinese


def test_deck_is_offline(city_map):
    deck = maps.risk_deck(city_map["counties"], city_map["enterprises"], city=CITY)
    assert deck.map_provider is None
    assert deck.map_style.startswith("data:application/json")
    text = deck.to_json()
    assert "http" not in text
    style = json.loads(urllib.parse.unquote(deck.map_style.split(",", 1)[1]))
    assert [x["type"] for x in style["layers"]] == ["background"] and style["sources"] == {}


def test_initial_view_fits_the_scope():
    luo = maps.fit_view([LUO])
    city = maps.fit_view(maps.county_codes(city=CITY))
    province = maps.fit_view(maps.county_codes())
    assert province.zoom < city.zoom < luo.zoom
    assert 114.0 < luo.longitude < 115.0 and 31.8 < luo.latitude < 32.6   # 罗山县


@pytest.mark.parametrize("selection, expected", [
    ({"indices": {}, "objects": {}}, (None, None)),
    ({"objects": {"counties": [{"type": "Feature", "properties": {"code": LUO}}]}}, ("counties", LUO)),
    ({"objects": {"enterprises": [{"credit_code": "X1", "lng": 1, "lat": 2}]}}, ("enterprises", "X1")),
    (None, (None, None)),
])
def test_picked_reads_the_click(selection, expected):
    assert maps.picked(selection) == expected


def county_click(code: str) -> dict:
    return {"indices": {"counties": [0]}, "objects": {"counties": [{"properties": {"code": code}}]}}


@pytest.mark.parametrize("selection, current, expected", [
    (county_click(LUO), None, ("county", LUO)),
    (county_click(LUO), LUO, None),              # the county already shown: nothing to do
    (county_click("411502"), None, None),        # a grey county (no data): nothing, else the rerun loops
    ({"objects": {"enterprises": [{"credit_code": "X1"}]}}, LUO, ("enterprise", "X1")),
    ({"indices": {}, "objects": {}}, None, None),
])
def test_click_action(city_map, selection, current, expected):
    assert maps.click_action(selection, current, city_map["counties"]) == expected


# ---------------------------------------------------------------- the page

def deck_on_page(at) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[0].proto.json)


def open_page(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/04_risk_map.py").run()
    assert not at.exception, at.exception
    return at


def test_page_renders_the_province(world, app_on):
    app_on(world)
    at = open_page()
    spec = deck_on_page(at)
    assert len(layer(spec, "GeoJsonLayer")["data"]["features"]) == len(regions.counties())
    assert len(layer(spec, "ScatterplotLayer")["data"]) == 4
    assert "http" not in at.get("deck_gl_json_chart")[0].proto.json
    shown = {m.label: m.value for m in at.metric}
    assert shown["较高及以上风险县区"] == "2 / 2"
    table = at.dataframe[0].value
    assert list(table["县区"]) == ["新县", "罗山县"]     # highest level first


def test_url_county_filters_the_map(world, app_on):
    app_on(world)
    at = open_page(county=LUO)
    spec = deck_on_page(at)
    assert [f["properties"]["code"] for f in layer(spec, "GeoJsonLayer")["data"]["features"]] == [LUO]
    codes = {p["credit_code"] for p in layer(spec, "ScatterplotLayer")["data"]}
    names = queries.risk_map(db.connect(world.db_path, world).cursor(), AS_OF, county=LUO)["enterprises"]
    assert codes == set(names["credit_code"]) and len(codes) == 2


def test_set_scope_filters_the_map_to_the_county(world, app_on):
    """What a click on a county does: ui.set_scope(county=…) → the next run shows that county only."""
    app_on(world)
    at = open_page()
    at.session_state["_pending_scope"] = {"county": XIN, "city": None}
    at.run()
    assert not at.exception, at.exception
    spec = deck_on_page(at)
    assert [f["properties"]["code"] for f in layer(spec, "GeoJsonLayer")["data"]["features"]] == [XIN]
    assert len(layer(spec, "ScatterplotLayer")["data"]) == 2
    assert at.query_params["county"] == XIN          # and the URL carries it to every page
    assert {m.label: m.value for m in at.metric}["较高及以上风险县区"] == "1 / 1"


def test_a_scope_without_enterprises_says_what_is_missing(world, app_on):
    app_on(world)
    at = open_page(city=CITY, sector="文化旅游")
    assert "没有白名单企业数据" in at.info[0].value
    spec = deck_on_page(at)
    features = layer(spec, "GeoJsonLayer")["data"]["features"]
    assert features and all(f["properties"]["level"] == maps.NO_DATA_LABEL for f in features)
    assert layer(spec, "ScatterplotLayer")["data"] == []
