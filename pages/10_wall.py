"""一屏掌控: the command-center wall — the whole scope on one dark screen that refreshes itself.

URL: city=411300 or county=411322 (none: the province) · refresh=60 (seconds) · rotate=30 (seconds
per city of the province, or per county of a city) · sector=… · as_of=2022-06-09T18:00 (a replay).
"""
import datetime as dt
import logging
import time
from types import SimpleNamespace

import pandas as pd
import streamlit as st

from fourguard import alerts, clock, feeds, freshness, maps, queries, ui, wall
from fourguard.config import settings

log = logging.getLogger("fourguard.wall")
st.html(wall.css())
screen = st.components.v2.component(
    "fourguard_wall_screen", js=wall.screen_js(), isolate_styles=False,
    html="<div class='wall-clock'><div class='wall-clock-time'></div><div class='wall-clock-date'></div></div>")
viewport = screen(key="wall_screen", on_viewport_change=lambda: None).viewport or {}
width, height = int(viewport.get("width", 1920)), int(viewport.get("height", 1080))


def context() -> SimpleNamespace:
    """The URL's request read against the areas of the current snapshot (re-read at every refresh)."""
    try:
        areas = ui.query(queries.areas)
    except Exception:  # the board says what is wrong; the refresh settings need no database
        log.exception("wall: areas unreadable")
        areas = pd.DataFrame(columns=["city_code", "city_name", "county_code", "county_name"])
    req, notes = wall.request(dict(st.query_params), areas, feeds.SECTORS, ui.current_user().area())
    names = {**dict(zip(areas.city_code, areas.city_name)), **dict(zip(areas.county_code, areas.county_name))}
    return SimpleNamespace(areas=areas, req=req, notes=notes, names=names,
                           scope={"county": req.county, "city": req.city, "sector": req.sector},
                           place=names.get(req.county) or names.get(req.city) or "全省")


def guarded(c, title: str, draw, *args) -> None:
    """Draw one panel; when its data cannot be read, a warning panel in its place and the rest stays.

    Each draw_* reads all its data before it draws anything, and every refresh draws the same
    elements in the same places, so a refresh updates the screen in place (no st.empty swap: that
    would remount the map and the chart each time)."""
    with st.container():
        try:
            draw(c, *args)
        except Exception as exc:
            log.exception("wall panel %s failed", title)
            st.html(wall.warning_html(title, f"暂时无法显示（{type(exc).__name__}），{c.req.run_every} 秒后自动重试"))


def in_view(c, as_of, view: dict) -> dict:
    """The scope's scored counties and enterprises (one cached query), cut to the focus."""
    scored = ui.query(queries.risk_map, as_of, **c.scope)
    return {k: wall.in_area(df, view["county"], view["city"]) for k, df in scored.items()}


def draw_header(c, as_of, focus, rotation, warnings) -> None:
    label = " · ".join(x for x in (c.place, c.req.sector) if x)
    st.html(wall.header_html(f"{c.place}四保白名单企业 · 一屏掌控", label, as_of, c.names.get(focus), rotation,
                             warnings, c.notes, dt.datetime.now(queries.LOCAL_TZ)))


def draw_tiles(c, as_of) -> None:
    st.html(wall.tiles_html(ui.query(wall.headline, as_of, **c.scope)))


def draw_ranking(c, as_of, view: dict) -> None:
    kind = "enterprise" if view["county"] else "county"
    rows, counts = wall.ranking(in_view(c, as_of, view)["enterprises" if kind == "enterprise" else "counties"], kind)
    where = c.names.get(view["county"]) or c.names.get(view["city"]) or c.place
    st.html(wall.ranking_html(rows, counts, kind, f"{where}{'企业' if kind == 'enterprise' else '县区'}风险排名"))


def draw_states(c, as_of) -> None:
    st.html(wall.states_html(wall.county_states(ui.query(queries.risk_map, as_of, **c.scope)["counties"])))


def draw_alerts(c, as_of) -> None:
    found = ui.query(alerts.alerts, as_of, **c.scope)
    st.html(wall.alerts_html(found, alerts.counts(found), alerts.level_counts(found)))


def draw_map(c, as_of, view: dict) -> None:
    data, size = in_view(c, as_of, view), wall.map_pixels(width, height)
    deck = maps.risk_deck(data["counties"], wall.risky(data["enterprises"]), view["county"], view["city"],
                          dark=True, size=size)
    with st.container(key="wall_map"):
        st.html(wall.head_html("风险地图", "县区按风险着色 · 圆点为中及以上风险企业", wall.legend_html()))
        st.pydeck_chart(deck, height=size[1], width="stretch")


def trend_span(as_of) -> tuple:
    """The trend panel's (start, end, as_of): the last wall.TREND_DAYS days up to as_of."""
    return as_of.date() - dt.timedelta(days=wall.TREND_DAYS - 1), as_of.date(), as_of


def draw_trend(c, as_of, view: dict) -> None:
    fig = wall.trend_figure(ui.query(queries.coverage_trend, *trend_span(as_of), **view), width, height)
    with st.container(key="wall_trend"):
        st.html(wall.head_html("核酸检测覆盖率趋势", f"近{wall.TREND_DAYS}天 · 每日24时，当日截至 {as_of:%H:%M}"))
        st.plotly_chart(fig, width="stretch", theme=None, config={"staticPlot": True, "displayModeBar": False})


@st.fragment(run_every=context().req.run_every)
def board() -> None:
    c = context()
    req = c.req
    try:
        con = ui.cursor()
        as_of = req.as_of or ui.query(freshness.latest_time)
        warnings = wall.feed_warnings(con, clock.now(con), settings().stale_after_hours)
    except Exception as exc:
        log.exception("wall: database unreadable")
        now = dt.datetime.now(queries.LOCAL_TZ)
        st.html(wall.header_html(f"{c.place}四保白名单企业 · 一屏掌控", c.place, now, None, None,
                                 ["数据库暂时无法读取"], c.notes, now))
        st.html(wall.warning_html("一屏掌控", f"数据库暂时无法读取（{type(exc).__name__}），"
                                             f"{req.run_every} 秒后自动重试", "full"))
        return
    now = time.time()
    codes = wall.focus_areas(c.areas, req.county, req.city) if req.rotate else []
    i = wall.rotation_index(len(codes), req.rotate, now)
    focus = codes[i] if codes else None
    view = {"county": req.county or (focus if req.city else None), "city": req.city or focus, "sector": req.sector}
    rotation = (i, len(codes), req.rotate, now % req.rotate) if codes else None
    try:  # every panel's data at once; the panels then read it from the cache
        ui.query_all((wall.headline, as_of, c.scope), (queries.risk_map, as_of, c.scope),
                     (alerts.alerts, as_of, c.scope), (queries.coverage_trend, *trend_span(as_of), view))
    except Exception:  # each panel retries its own query and shows its own warning
        log.exception("wall: panel data")
    guarded(c, "一屏掌控", draw_header, as_of, focus, rotation, warnings)
    guarded(c, "核心指标", draw_tiles, as_of)
    left, middle, right = st.columns([24, 46, 30], gap="small")
    with left:  # cheapest first: after a new load the screen fills in this order while the rest computes
        guarded(c, "风险排名", draw_ranking, as_of, view)
        guarded(c, "县区状态", draw_states, as_of)
    with right:
        guarded(c, "电子哨预警", draw_alerts, as_of)
    with middle:
        guarded(c, "风险地图", draw_map, as_of, view)
        guarded(c, "检测覆盖率趋势", draw_trend, as_of, view)


board()
