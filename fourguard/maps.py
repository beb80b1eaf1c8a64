"""The risk map as a pydeck Deck: county polygons and enterprise points, fully offline.

No tiles and no style from a CDN: `map_provider=None` alone makes the Streamlit frontend fall back
to a Carto style on the network, so the base map is a Mapbox GL style carried in a data: URL with
one background layer. County boundaries come from data/regions (GCJ-02, like the registry's
lng/lat), so polygons and points line up without any conversion.
"""
from __future__ import annotations

import functools
import json
import math
import urllib.parse

import numpy as np
import pandas as pd
import pydeck as pdk
import shapely
from pydeck.bindings.json_tools import default_serialize
from pydeck.types import String

from . import palette, regions
from .formats import fmt_int, fmt_pct
from .risk import level_bounds

BACKGROUND = "#f4f6f8"
DARK_BACKGROUND = "#0b1622"       # risk_deck(dark=True): the wall's dark screen


def _map_style(background: str) -> str:
    """A Mapbox GL style with one background layer, as a data: URL (nothing to fetch)."""
    return "data:application/json;charset=utf-8," + urllib.parse.quote(json.dumps({
        "version": 8, "sources": {},
        "layers": [{"id": "bg", "type": "background", "paint": {"background-color": background}}]}))


MAP_STYLE, MAP_STYLE_DARK = _map_style(BACKGROUND), _map_style(DARK_BACKGROUND)
NO_DATA = (176, 190, 197)         # counties with no whitelist enterprise in scope
NO_DATA_LABEL = "无白名单企业数据"
COUNTY_ALPHA, POINT_ALPHA = 140, 235
POINT_METRES = 80                 # radius = 80 m × √headcount
COUNTY_LAYER, ENTERPRISE_LAYER = "counties", "enterprises"
VIEW_PX = (1100, 540)             # the map's size on a 1920×1080 screen, for the initial fit
TOOLTIP = {
    "html": "<b>{tip_title}</b><div style='white-space:pre-line;margin-top:4px'>{tip_body}</div>",
    "style": {"backgroundColor": "#263238", "color": "white", "fontSize": "13px", "maxWidth": "360px"},
}


def county_codes(county: str | None = None, city: str | None = None) -> list[str]:
    """Counties the map shows: the one county, the city's counties, else the whole province."""
    c = regions.counties()
    if county:
        return [county] if county in set(c["code"]) else []
    return list(c.loc[c["city_code"] == city, "code"] if city else c["code"])


@functools.lru_cache(maxsize=4)
def _shapes(path) -> tuple[dict, list[dict], np.ndarray]:
    """{code: index}, properties and shapely geometries of the county boundaries, in file order."""
    features = regions.county_geojson()["features"]
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    props = [f["properties"] for f in features]
    return {p["code"]: i for i, p in enumerate(props)}, props, geoms


def _county_shapes():
    return _shapes(regions.region_file("_counties.geojson"))


def fit_view(codes: list[str], size: tuple[int, int] = VIEW_PX) -> pdk.ViewState:
    """A view showing every county in codes (Web Mercator, deck.gl's 512-pixel world)."""
    index, _, geoms = _county_shapes()
    picked = [index[c] for c in codes if c in index]
    boxes = shapely.bounds(geoms[picked]) if picked else np.array([[110.3, 31.4, 116.7, 36.4]])
    west, south = boxes[:, 0].min(), boxes[:, 1].min()
    east, north = boxes[:, 2].max(), boxes[:, 3].max()

    def merc_y(lat):
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dx = (east - west) / 360.0
    dy = (merc_y(north) - merc_y(south)) / (2 * math.pi)
    zoom = math.log2(min(size[0] / (512 * max(dx, 1e-6)), size[1] / (512 * max(dy, 1e-6)))) - 0.15
    lat = math.degrees(2 * math.atan(math.exp((merc_y(north) + merc_y(south)) / 2)) - math.pi / 2)
    return pdk.ViewState(longitude=round((west + east) / 2, 5), latitude=round(lat, 5),
                         zoom=round(min(zoom, 12), 2), pitch=0, bearing=0)


# ---------------------------------------------------------------- tooltips (plain text, no streamlit)

def _count(values: pd.Series) -> pd.Series:
    """Counts as Chinese readers expect (formats.fmt_int), a missing count as 0."""
    return values.fillna(0).map(fmt_int)


def _pct(values: pd.Series) -> pd.Series:
    return values.map(fmt_pct)


def _level_text(scored: pd.DataFrame) -> pd.Series:
    note = scored["risk_note"].where(scored["risk_note"] == "", "（" + scored["risk_note"] + "）")
    return "风险分 " + scored["risk_score"].map("{:.1f}".format) + " · 等级 " + scored["risk_level"] + note


def county_tips(scored: pd.DataFrame) -> pd.DataFrame:
    """tip_title / tip_body for county rows of risk.score()."""
    s = scored
    if s.empty:  # string arithmetic on empty columns of other dtypes would fail
        return pd.DataFrame({"tip_title": pd.Series(dtype=object), "tip_body": pd.Series(dtype=object)})
    body = ("状态：" + s["county_state"]
            + "\n白名单企业 " + _count(s["count_enterprises"]) + " 家 · 员工 " + _count(s["count_employees"]) + " 人"
            + "\n检测覆盖率 " + _pct(s["coverage_rate"]) + " · 超时未检 " + _count(s["count_overdue"]) + " 人"
            + "\n阳性（近7天）" + _count(s["count_positives"]) + " 人 · 聚集性疫情 " + _count(s["count_clusters"]) + " 起"
            + "\n红黄码扫码（24小时）" + _count(s["count_red_yellow_24h"]) + " 次 · 复核超时 "
            + _count(s["count_recheck_over_limit"]) + " 人次"
            + "\n诉求超期 " + _count(s["count_issues_overdue"]) + " 件 · 停产超期 " + _count(s["count_shutdown_alerts"]) + " 家"
            + "\n" + _level_text(s))
    return pd.DataFrame({"tip_title": s["county_name"] + "（" + s["city_name"] + "）", "tip_body": body})


def enterprise_tips(scored: pd.DataFrame) -> pd.DataFrame:
    """tip_title / tip_body for enterprise rows of risk.score()."""
    s = scored
    if s.empty:
        return pd.DataFrame({"tip_title": pd.Series(dtype=object), "tip_body": pd.Series(dtype=object)})
    body = (s["county_name"] + " · " + s["sector"]
            + "\n员工人数 " + _count(s["headcount"]) + " 人 · 在册 " + _count(s["count_employees"]) + " 人"
            + "\n超时未检 " + _count(s["count_overdue"]) + " 人（占 " + _pct(s["overdue_share"]) + "）"
            + "\n" + _level_text(s) + "\n点击打开企业详情")
    return pd.DataFrame({"tip_title": s["enterprise_name"], "tip_body": body})


# ---------------------------------------------------------------- layers and the deck

class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation and keeps Chinese as is.

    pydeck serialises with indent=2, one coordinate per line, which multiplies the size of polygon
    data several times; st.pydeck_chart sends whatever `to_json()` returns.
    """

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"),
                          ensure_ascii=False)


def _rgba(levels: pd.Series, alpha: int) -> list[list[int]]:
    return [[*palette.RGB[level], alpha] for level in levels]


def county_features(counties: pd.DataFrame, codes: list[str], zoom: float = 12) -> dict:
    """GeoJSON of the counties in codes, each with its colour and tooltip (grey without data).

    Boundaries are simplified to half a pixel at the given zoom: a province's full-detail
    polygons would make every rerun ship megabytes for detail nobody can see.
    """
    index, props, geoms = _county_shapes()
    codes = [c for c in codes if c in index]
    tolerance = 0.5 * 360.0 / (512 * 2 ** zoom)
    shapes = shapely.simplify(geoms[[index[c] for c in codes]], tolerance, preserve_topology=True)
    scored = counties.set_index("county_code")
    tips = county_tips(counties).set_index(counties["county_code"])
    fills = dict(zip(counties["county_code"], _rgba(counties["risk_level"], COUNTY_ALPHA)))
    features = []
    for code, text in zip(codes, shapely.to_geojson(shapes)):
        p, has = props[index[code]], code in scored.index
        features.append({"type": "Feature", "geometry": json.loads(text), "properties": {
            "code": code, "name": p["name"],
            "fill": fills.get(code, [*NO_DATA, COUNTY_ALPHA]),
            "level": scored.at[code, "risk_level"] if has else NO_DATA_LABEL,
            "tip_title": tips.at[code, "tip_title"] if has else f"{p['name']}（{p['city_name']}）",
            "tip_body": tips.at[code, "tip_body"] if has else NO_DATA_LABEL}})
    return {"type": "FeatureCollection", "features": features}


def enterprise_points(enterprises: pd.DataFrame) -> list[dict]:
    """One record per enterprise: position, radius (metres, area ∝ headcount), colour, tooltip."""
    e = enterprises
    tips = enterprise_tips(e)
    # Metres, so points grow as the map zooms in: 100 staff ≈ 800 m, 2,500 ≈ 4 km.
    radius = POINT_METRES * np.sqrt(e["headcount"].fillna(0).clip(lower=1).astype(float))
    return pd.DataFrame({
        "credit_code": e["credit_code"], "lng": e["lng"].astype(float), "lat": e["lat"].astype(float),
        "radius": radius.round(0), "color": _rgba(e["risk_level"], POINT_ALPHA),
        "tip_title": tips["tip_title"], "tip_body": tips["tip_body"],
    }).to_dict(orient="records")


def risk_deck(counties: pd.DataFrame, enterprises: pd.DataFrame, county: str | None = None,
              city: str | None = None, dark: bool = False, size: tuple[int, int] = VIEW_PX) -> pdk.Deck:
    """The risk map of a scope: scored counties and enterprises (queries.risk_map) over their polygons.

    dark: dark background and borders (the wall); size: the map's pixels, for the initial fit."""
    codes = county_codes(county, city)
    view = fit_view(codes, size)
    border = [*bytes.fromhex(DARK_BACKGROUND[1:])] if dark else [255, 255, 255]
    polygons = pdk.Layer(
        "GeoJsonLayer", id=COUNTY_LAYER, data=county_features(counties, codes, view.zoom), pickable=True,
        stroked=True, filled=True, get_fill_color="properties.fill", get_line_color=border,
        line_width_min_pixels=1, auto_highlight=True, highlight_color=[38, 50, 56, 60])
    points = pdk.Layer(
        "ScatterplotLayer", id=ENTERPRISE_LAYER, data=enterprise_points(enterprises), pickable=True,
        get_position=["lng", "lat"], get_radius="radius", radius_units=String("meters"), radius_min_pixels=1.5,
        radius_max_pixels=28, get_fill_color="color", stroked=True, get_line_color=border,
        line_width_min_pixels=1, auto_highlight=True)
    return CompactDeck(layers=[polygons, points], initial_view_state=view, map_provider=None,
                       map_style=MAP_STYLE_DARK if dark else MAP_STYLE, tooltip=TOOLTIP)


def picked(selection) -> tuple[str | None, str | None]:
    """(layer, code) of the object clicked on the map: a county code or an enterprise credit code."""
    objects = (selection or {}).get("objects") or {}
    for feature in objects.get(COUNTY_LAYER) or []:
        return COUNTY_LAYER, (feature.get("properties") or {}).get("code")
    for point in objects.get(ENTERPRISE_LAYER) or []:
        return ENTERPRISE_LAYER, point.get("credit_code")
    return None, None


def click_action(selection, current_county: str | None, counties: pd.DataFrame) -> tuple[str, str] | None:
    """What a click asks for: ("county", code) to filter the app, ("enterprise", code) to open it, or None.

    A click on the county already shown, or on a grey county (no data in scope), asks for nothing:
    the selection outlives the rerun, so acting on it again would loop.
    """
    layer, code = picked(selection)
    if layer == ENTERPRISE_LAYER and code:
        return "enterprise", code
    if layer == COUNTY_LAYER and code and code != current_county and code in set(counties["county_code"]):
        return "county", code
    return None


def legend_html(s=None) -> str:
    """The colour scale with its score ranges, as HTML for st.markdown."""
    lows = (0, *level_bounds(s))
    highs = (*level_bounds(s), 100)
    chip = ("<span style='display:inline-block;width:14px;height:14px;border-radius:3px;"
            "background:{c};vertical-align:-2px;margin-right:6px'></span>")
    rows = [chip.format(c=palette.COLORS[name]) + f"{name}　{lo:g}–{hi:g} 分"
            for name, lo, hi in zip(palette.LEVELS, lows, highs)]
    rows.append(chip.format(c="#%02x%02x%02x" % NO_DATA) + NO_DATA_LABEL)
    return "<div style='line-height:1.9'>" + "<br>".join(rows) + "</div>"

