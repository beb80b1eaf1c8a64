"""The command-center wall (一屏掌控): headline figures with their change since yesterday, the county
ranking, the rotation of the focus, feed warnings, and the wall's panels as HTML.

Connection-in functions return plain frames like queries.py and take every number from the rules'
own models (queries.metrics, risk, alerts). The *_html builders turn them into panels sized in
viewport units (wall.css), so 1920×1080 and 3840×2160 show the same screen. No streamlit here.
"""
from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import charts, closure, freshness, palette, queries, risk
from .formats import fmt_int, fmt_pct
from .queries import SCOPE, _params, _run, as_of_time

ASSETS = Path(__file__).parent
# key, label, unit, which direction is good (None: neither) — the headline tiles, in screen order
HEADLINE = (
    ("enterprises", "白名单企业", "家", None),
    ("employees", "在册员工", "人", None),
    ("coverage_48h", "核酸检测覆盖率", "%", "up"),
    ("overdue_employees", "超时未检", "人", "down"),
    ("positives", "阳性病例", "人", "down"),
    ("clusters", "聚集性疫情", "起", "down"),
    ("red_yellow_scans_24h", "红黄码扫码·24小时", "次", "down"),
    ("producing_normally", "正常生产（含闭环）", "家", "up"),
    ("open_issues", "未办结诉求", "件", "down"),
    ("closure_rate", "诉求办结率", "%", "up"),
)
PRODUCING = ("正常生产", "闭环生产")
ESSENTIAL_FEEDS = ("registry", "roster", "tests", "scans", "production")  # the wall is blind without them
REFRESH_DEFAULT, REFRESH_MIN, ROTATE_MIN, INTERVAL_MAX = 60, 2, 5, 24 * 3600
TREND_DAYS = 7
RANK_ROWS = 12        # rows the ranking panel has room for
ALERT_ROWS_SHOWN = 9  # alerts that fit the panel without scrolling
ALERT_ROWS_MAX = 80   # alerts in the scrolling list (the rest are counted)
ALERT_PINNED_MAX = 3  # clusters (severity 1) pinned above the scrolling list
SECONDS_PER_ALERT = 3.0


# ---------------------------------------------------------------- figures

def producing(con, as_of, county=None, city=None, sector=None) -> int:
    """Whitelisted enterprises whose latest production report says 正常生产 or 闭环生产 (enterprise_status)."""
    sql = f"SELECT count(*) FROM enterprise_status($as_of) WHERE {SCOPE} AND list_contains($producing, production_status)"
    return int(_run(con, sql, _params(as_of, county, city, sector, producing=list(PRODUCING))).fetchone()[0])


def figures(con, as_of, county=None, city=None, sector=None) -> dict:
    """The headline figures at one time, from the functions queries.metrics() takes them from (and
    only those: the wall computes them twice a refresh, now and 24 h before)."""
    t = as_of_time(as_of)
    testing, positives, issues, red_yellow, producing_now = queries.gather(
        con, lambda c: queries.testing_figures(c, t, county, city, sector),
        lambda c: queries.positive_figures(c, t, county, city, sector),
        lambda c: closure.closure_summary(c, t, county, city, sector),
        lambda c: queries.red_yellow_count(c, t, county, city, sector),
        lambda c: producing(c, t, county, city, sector))
    return {
        "enterprises": testing["enterprises"], "employees": testing["employees"],
        "coverage_48h": testing["coverage_rate"], "overdue_employees": testing["overdue_employees"],
        "positives": positives["positives"], "clusters": positives["clusters"],
        "red_yellow_scans_24h": red_yellow, "producing_normally": producing_now,
        "open_issues": issues["open"], "closure_rate": issues["closure_rate"],
    }


def headline(con, as_of, county=None, city=None, sector=None) -> pd.DataFrame:
    """One row per headline figure: key, label, value, previous (as_of − 24 h), delta, unit, better."""
    t = as_of_time(as_of)
    now, before = queries.gather(con, lambda c: figures(c, t, county, city, sector),
                                 lambda c: figures(c, t - dt.timedelta(hours=24), county, city, sector))
    rows = []
    for key, label, unit, better in HEADLINE:
        value, previous = now[key], before[key]
        delta = None if value is None or previous is None else round(value - previous, 4)
        rows.append({"key": key, "label": label, "value": value, "previous": previous, "delta": delta,
                     "unit": unit, "better": better})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- scope, rotation, ranking, states

@dataclass(frozen=True)
class Request:
    """What the wall's URL asks for: scope codes, seconds between refreshes and between focus changes."""

    city: str | None = None
    county: str | None = None
    sector: str | None = None
    refresh: int = REFRESH_DEFAULT
    rotate: int = 0
    as_of: dt.datetime | None = None

    @property
    def run_every(self) -> int:
        """Seconds between reruns: the refresh, or sooner when the focus must move on."""
        return min(self.refresh, self.rotate) if self.rotate else self.refresh


def _seconds(text, default: int, low: int) -> int:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(value) else int(min(max(value, low), INTERVAL_MAX))


def request(query: dict, areas: pd.DataFrame, sectors, area: dict | None = None) -> tuple[Request, list[str]]:
    """Read the URL parameters (city, county, sector, refresh, rotate, as_of) within the user's area
    ({"county": …} / {"city": …} / {}: auth.User.area); unknown values fall back with a note saying so."""
    notes = []
    counties = dict(zip(areas["county_code"], areas["city_code"]))
    county, city = query.get("county") or None, query.get("city") or None
    if county and county not in counties:
        notes.append(f"县区代码 {county} 无白名单企业数据，已改为显示上级范围")
        county = None
    if county:
        city = counties[county]
    if city and city not in set(areas["city_code"]):
        notes.append(f"省辖市代码 {city} 无白名单企业数据，已改为显示全省")
        city = None
    area = area or {}
    inside = (county == area["county"] if "county" in area else
              (city == area["city"]) if "city" in area else True)
    if not inside:
        if county or city:
            notes.append("所请求的范围不在您的管辖范围内，已显示您的管辖范围")
        county = area.get("county")
        city = counties.get(county) if county else area.get("city")
    sector = query.get("sector") or None
    if sector and sector not in sectors:
        notes.append(f"行业 {sector} 不存在，已显示全部行业")
        sector = None
    try:
        as_of = dt.datetime.fromisoformat(query["as_of"]) if query.get("as_of") else None
    except ValueError:
        notes.append(f"时间 {query['as_of']} 无法识别，已显示最新数据")
        as_of = None
    refresh = _seconds(query.get("refresh"), REFRESH_DEFAULT, REFRESH_MIN)
    rotate = _seconds(query.get("rotate"), 0, ROTATE_MIN) if query.get("rotate") not in (None, "", "0") else 0
    return Request(city, county, sector, refresh, rotate, as_of), notes


def focus_areas(areas: pd.DataFrame, county=None, city=None) -> list[str]:
    """The codes a rotation cycles through: the province's cities, a city's counties; none in a county."""
    if county:
        return []
    if city:
        return list(dict.fromkeys(areas.loc[areas["city_code"] == city, "county_code"]))
    return list(dict.fromkeys(areas["city_code"]))


def rotation_index(count: int, rotate_seconds: int, now: float) -> int:
    """Which of `count` areas has the focus at epoch second `now`: the clock decides, so every wall
    and every refresh agrees and a reload does not restart at the first."""
    if count <= 0 or rotate_seconds <= 0:
        return 0
    return int(now // rotate_seconds) % count


def ranking(scored: pd.DataFrame, kind: str, limit: int = RANK_ROWS) -> tuple[pd.DataFrame, dict]:
    """The top `limit` rows of risk.table (highest level, then score) and the count per level of all rows."""
    counts = scored["risk_level"].value_counts() if not scored.empty else pd.Series(dtype=int)
    return risk.table(scored, kind, limit=limit), {lv: int(counts.get(lv, 0)) for lv in reversed(palette.LEVELS)}


def in_area(df: pd.DataFrame, county=None, city=None) -> pd.DataFrame:
    """The rows of a county (or of a city), all rows when neither is given."""
    if county:
        return df[df["county_code"] == county]
    return df[df["city_code"] == city] if city else df


def risky(enterprises: pd.DataFrame) -> pd.DataFrame:
    """Enterprises above the lowest risk level: the points the wall's map shows."""
    return enterprises[enterprises["risk_level"] != palette.LEVELS[0]]


def county_states(counties: pd.DataFrame) -> pd.DataFrame:
    """The scope's counties with their 常态/应急 state at as_of (risk_map counties): 应急 first, newest switch first."""
    cols = ["county_code", "county_name", "city_name", "county_state", "county_state_since"]
    df = counties[cols].copy()
    df["_e"] = df["county_state"] == "应急"
    return df.sort_values(["_e", "county_state_since", "county_code"], ascending=[False, False, True],
                          na_position="last").drop(columns="_e").reset_index(drop=True)


def failed_loads(con) -> pd.DataFrame:
    """Files the latest ingest run refused (file, message): a feed that failed to load."""
    return con.execute(
        "SELECT regexp_extract(file, '[^/\\\\]+$') AS file, message FROM raw.ingest_log "
        "WHERE status = 'refused' AND run_id = (SELECT arg_max(run_id, started_at) FROM raw.ingest_log) "
        "ORDER BY file").df()


def feed_warnings(con, now: dt.datetime, stale_after_hours: dict) -> list[str]:
    """One line per problem with the feeds at `now`: late loads, lagging data, essential feeds never
    loaded (freshness.feed_status), and files the latest ingest refused."""
    status = freshness.feed_status(con, now, stale_after_hours)
    out = [f"{r.数据类型}{r.状态}：{r.说明}" for r in status.itertuples(index=False)
           if r.状态 in ("导入滞后", "数据滞后") or (r.状态 == "未导入" and r.feed in ESSENTIAL_FEEDS)]
    out += [f"导入失败：{r.file}（{r.message}）" for r in failed_loads(con).itertuples(index=False)]
    return out


# ---------------------------------------------------------------- formatting (numbers as Chinese readers expect)

def fmt_value(value, unit: str) -> str:
    """93.3% for rates, 12,345 / 12.3万 for counts, — when unknown."""
    return fmt_pct(value) if unit == "%" else fmt_int(value)


def fmt_delta(delta, unit: str) -> str:
    """▲12 / ▼0.4个百分点 / 持平, the change since yesterday."""
    if delta is None or pd.isna(delta):
        return "无昨日数据"
    if delta == 0:
        return "持平"
    arrow = "▲" if delta > 0 else "▼"
    if unit == "%":
        return f"{arrow}{abs(delta) * 100:.1f}个百分点"
    return f"{arrow}{fmt_value(abs(delta), unit)}{unit}"


def delta_tone(delta, better: str | None) -> str:
    """good / bad / flat: whether the change goes the way that is good for this figure."""
    if delta is None or pd.isna(delta) or delta == 0 or better is None or pd.isna(better):
        return "flat"
    return "good" if (delta > 0) == (better == "up") else "bad"


# ---------------------------------------------------------------- panels as HTML (sizes in wall.css)

def css() -> str:
    """The wall's stylesheet, with the palette's colours as CSS variables."""
    colors = "".join(f"--lv{i}:{palette.COLORS[lv]};" for i, lv in enumerate(palette.LEVELS))
    return f"<style>:root{{{colors}}}\n{(ASSETS / 'wall.css').read_text(encoding='utf-8')}</style>"


def screen_js() -> str:
    """The clock and viewport reporter (a components.v2 script)."""
    return (ASSETS / "wall.js").read_text(encoding="utf-8")


def _e(text) -> str:
    return html.escape("" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text))


def _level_chip(level: str, text: str | None = None) -> str:
    return f"<span class='chip lv{palette.LEVELS.index(level)}'>{_e(text or level)}</span>"


def head_html(title: str, sub: str = "", extra: str = "") -> str:
    """A panel's title line."""
    return (f"<div class='wall-head'><b>{_e(title)}</b><span class='sub'>{_e(sub)}</span>"
            f"<span class='extra'>{extra}</span></div>")


def header_html(title: str, scope_label: str, as_of: dt.datetime, focus: str | None,
                rotation: tuple[int, int, int, float] | None, warnings: list[str], notes: list[str],
                refreshed: dt.datetime) -> str:
    """The top bar: title, scope, data time and when the screen last refreshed; the feeds' state (a
    red banner when one is late or failed); the focus and the time left before it moves on."""
    state = (f"<div class='wall-stale'>⚠ 数据告警 {len(warnings)} 项：" + "；".join(_e(w) for w in warnings) + "</div>"
             if warnings else "<div class='wall-fresh'>● 各类数据按时更新</div>")
    rot = ""
    if focus:
        rot = f"<div class='wall-focus'>焦点 <b>{_e(focus)}</b>"
        if rotation:
            i, n, seconds, elapsed = rotation
            rot += (f"<span class='sub'>{i + 1}/{n} · 每{seconds}秒轮换</span><div class='wall-rot'>"
                    f"<i style='animation-duration:{seconds}s;animation-delay:-{elapsed:.1f}s'></i></div>")
        rot += "</div>"
    note = f"<div class='wall-note'>{_e('；'.join(notes))}</div>" if notes else ""
    return (f"<div class='wall-header' data-refreshed='{refreshed:%H:%M:%S}'><div class='wall-title'>"
            f"<b>{_e(title)}</b><span class='sub'>{_e(scope_label)} · 数据截至 {as_of:%Y-%m-%d %H:%M}"
            f" · 刷新于 {refreshed:%H:%M:%S}</span>{note}</div>"
            f"<div class='wall-state'>{state}</div>{rot}<div class='wall-clock-slot'></div></div>")


def tiles_html(figs: pd.DataFrame) -> str:
    """The headline tiles: label, value, change since yesterday coloured by whether it is good."""
    tiles = []
    for r in figs.itertuples(index=False):
        alarm = " alarm" if r.key in ("positives", "clusters") and (r.value or 0) > 0 else ""
        tiles.append(
            f"<div class='tile{alarm}' data-key='{r.key}'><div class='label'>{_e(r.label)}</div>"
            f"<div class='value'>{_e(fmt_value(r.value, r.unit))}</div>"
            f"<div class='delta {delta_tone(r.delta, r.better)}'><span class='vs'>较昨日</span>"
            f"{_e(fmt_delta(r.delta, r.unit))}</div></div>")
    return f"<div class='wall-tiles'>{''.join(tiles)}</div>"


def ranking_html(rows: pd.DataFrame, counts: dict, kind: str, title: str) -> str:
    """Ranked rows (risk.table) with a bar per score and the level colours, plus the count per level."""
    name = risk.NAMES[kind][2]
    legend = "".join(_level_chip(lv, f"{lv} {n}") for lv, n in counts.items())
    body = []
    for i, r in enumerate(rows.itertuples(index=False)):
        d = r._asdict()
        score, level = float(d["风险分"]), d["等级"]
        state = "<span class='chip emergency'>应急</span>" if d.get("状态") == "应急" else ""
        body.append(
            f"<div class='rank-row'><span class='no'>{i + 1}</span><span class='name'>{_e(d[name])}{state}</span>"
            f"<span class='bar'><i class='lv{palette.LEVELS.index(level)}' style='width:{max(score, 1):.0f}%'></i></span>"
            f"<span class='score'>{score:.1f}</span>{_level_chip(level)}</div>")
    if not body:
        body.append("<div class='empty'>当前范围内没有白名单企业数据</div>")
    return (f"<div class='wall-panel wall-ranking'>{head_html(title, '', legend)}"
            f"<div class='rank-list'>{''.join(body)}</div></div>")


def states_html(states: pd.DataFrame, max_chips: int = 24) -> str:
    """Each county's 常态/应急 state; with more counties than room, the 应急 ones and a count of the rest."""
    emergency = states[states["county_state"] == "应急"]
    shown = states if len(states) <= max_chips else emergency.head(max_chips - 1)
    chips = []
    for r in shown.itertuples(index=False):
        if r.county_state == "应急":
            since = "" if pd.isna(r.county_state_since) else f"{r.county_state_since:%m-%d %H:%M}起"
            chips.append(f"<div class='state emergency'><b>{_e(r.county_name)}</b><span>应急 {since}</span></div>")
        else:
            chips.append(f"<div class='state normal'><b>{_e(r.county_name)}</b><span>常态</span></div>")
    rest = len(states) - len(shown)
    if rest:
        chips.append(f"<div class='state normal rest'><b>其余 {rest} 个县区</b><span>常态</span></div>")
    if states.empty:
        chips.append("<div class='empty'>当前范围内没有县区数据</div>")
    sub = f"应急 {len(emergency)} · 常态 {len(states) - len(emergency)}"
    return (f"<div class='wall-panel wall-states'>{head_html('县区状态（平急转换）', sub)}"
            f"<div class='state-grid'>{''.join(chips)}</div></div>")


def _alert_html(r) -> str:
    return (f"<div class='alert lv{palette.LEVELS.index(r.level)}'><div class='a1'>{_level_chip(r.level, r.kind)}"
            f"<b>{_e(r.enterprise_name)}</b><span class='where'>{_e(r.county_name)}</span>"
            f"<span class='at'>{r.alert_at:%m-%d %H:%M}</span></div><div class='a2'>{_e(r.detail)}</div></div>")


def alerts_html(df: pd.DataFrame, counts: dict, total_by_level: dict) -> str:
    """The 电子哨 list (alerts.alerts order): clusters pinned on top, the rest scrolling endlessly (CSS)
    when there are more than the panel has room for."""
    top = df[df["severity"] == 1].head(ALERT_PINNED_MAX)
    rest = df[df["severity"] != 1].head(ALERT_ROWS_MAX)
    pinned = "".join(_alert_html(r) for r in top.itertuples(index=False))
    rows = "".join(_alert_html(r) for r in rest.itertuples(index=False))
    kinds = "".join(f"<span class='kind{' zero' if n == 0 else ''}'>{_e(k)} <b>{n:,}</b></span>"
                    for k, n in counts.items())
    levels = "".join(_level_chip(lv, f"{lv} {n:,}") for lv, n in total_by_level.items())
    more = len(df) - len(top) - len(rest)
    foot = f"<div class='alert-foot'>另有 {more:,} 条较早或较轻的预警未滚动显示</div>" if more > 0 else ""
    if df.empty:
        body = "<div class='empty ok'>当前没有电子哨预警</div>"
    elif len(rest) <= ALERT_ROWS_SHOWN - len(top):
        body = f"<div class='ticker still'>{rows}</div>"
    else:  # the list twice, moved up by one list's height: an endless scroll without a jump
        body = (f"<div class='ticker' style='animation-duration:{len(rest) * SECONDS_PER_ALERT:.0f}s'>"
                f"{rows}{rows}</div>")
    pinned = f"<div class='pinned'>{pinned}</div>" if pinned else ""
    return (f"<div class='wall-panel wall-alerts'>{head_html('电子哨预警', f'共 {len(df):,} 条', levels)}"
            f"<div class='kinds'>{kinds}</div>{pinned}<div class='ticker-box'>{body}</div>{foot}</div>")


def warning_html(title: str, message: str, css_class: str = "") -> str:
    """A panel that says what could not be shown and that the screen keeps trying."""
    return (f"<div class='wall-panel wall-warning {css_class}'>{head_html(title)}"
            f"<div class='msg'>⚠ {_e(message)}</div></div>")


def legend_html() -> str:
    """The risk colours, one chip per level, for the map panel's title line."""
    return "".join(_level_chip(lv) for lv in palette.LEVELS)


# ---------------------------------------------------------------- the two panels drawn in pixels

def map_pixels(width: int, height: int) -> tuple[int, int]:
    """The map's size in pixels on a width × height viewport (wall.css: middle column, 46vh panel)."""
    column = (width * (1 - 2 * 0.006) - 2 * 0.006 * width) * 46 / 100
    return int(column - 2 * 0.007 * width - 2), int(height * (0.46 - 0.016 - 0.03 - 0.003) - 8)


def trend_figure(df: pd.DataFrame, width: int, height: int):
    """charts.coverage_trend on the dark screen, its text scaled with the viewport (1 at 1920×1080)."""
    k = min(width / 1920, height / 1080)
    fig = charts.style(charts.coverage_trend(df), height=int(height * (0.297 - 0.016 - 0.03 - 0.003) - 8),
                       legend=False, pct_axis="y", dark=True)
    fig.update_layout(font_size=15 * k, margin={"l": 8 * k, "r": 20 * k, "t": 12 * k, "b": 8 * k})
    fig.update_traces(textfont_size=15 * k, marker_size=9 * k, line_width=3 * k)
    fig.update_xaxes(title_text=None, showgrid=False, automargin=True)
    return fig.update_yaxes(title_text=None, automargin=True)
