"""The daily briefing (日报/通报) for one scope and time: gathered once, written as XLSX and as PDF.

`build` takes every number from the models the pages use (wall.headline, queries.risk_map,
queries.overdue_ranking, alerts.alerts, queries.shutdown_episodes, closure.*) and every figure from
charts.py / risk.py, so the briefing says what the dashboard says. The PDF is HTML laid out by
WeasyPrint (Pango and fontconfig): it embeds subsets of Noto Sans CJK, so the text is real,
searchable and extractable. No streamlit here.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import alerts, charts, closure, export, palette, queries, risk, wall
from .export import Column

TREND_DAYS = 7          # the coverage trend's days up to as_of
CHART_ROWS = 15         # bars in the ranking and department charts
PDF_ROWS = 20           # rows a section shows in the PDF; the XLSX keeps every row
# Charts are laid out narrower than on a slide (960 px for the 182 mm of an A4 text width), so their
# text prints at about 7 pt; still drawn 3200 px wide.
CHART_WIDTH, CHART_HEIGHT = 960, 400


@dataclass
class Section:
    """One part of the briefing: a table (written in full to its sheet), a line of text, a chart."""

    key: str
    title: str
    table: export.Table
    note: str = ""
    chart: str | None = None      # key into Briefing.figures
    empty: str = "无"             # what an empty table means, in words


@dataclass
class Briefing:
    """Everything the two files hold; the figures are drawn to PNG once, when first needed."""

    title: str
    scope: str
    as_of: dt.datetime
    headline: pd.DataFrame
    sections: list[Section]
    figures: dict                 # chart key → (plotly figure, title)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    _images: dict | None = field(default=None, repr=False)

    @property
    def subtitle(self) -> str:
        return f"{self.scope} · 数据时间 {self.as_of:%Y-%m-%d %H:%M}"

    def images(self) -> dict[str, bytes]:
        """chart key → PNG (3200×1800), drawn in one browser session."""
        if self._images is None:
            keys = list(self.figures)
            pngs = export.figure_images([(fig, title, self.subtitle, CHART_WIDTH, CHART_HEIGHT)
                                         for fig, title in self.figures.values()])
            self._images = dict(zip(keys, pngs))
        return self._images

    def file_name(self, ext: str) -> str:
        """四保日报_南阳市_20220609-2359.pdf"""
        return export.file_name("四保日报", self.scope.replace(" · ", "_"), as_of=self.as_of, ext=ext)


def scope_names(con, county=None, city=None, sector=None) -> tuple[str, str]:
    """(title scope, label): ('南阳市方城县', '南阳市 · 方城县 · 工业生产'); the whole database is 河南省."""
    areas = queries.areas(con)
    names = {**dict(zip(areas.city_code, areas.city_name)), **dict(zip(areas.county_code, areas.county_name))}
    if county and not city:
        city = dict(zip(areas.county_code, areas.city_code)).get(county)
    parts = [names.get(city, city)] if city else ["河南省"]
    if county:
        parts.append(names.get(county, county))
    label = " · ".join([*parts, *([sector] if sector else [])])
    return "".join(parts) + (f"·{sector}" if sector else ""), label


def _levels(t: export.Table, label: str = "等级") -> export.Table:
    """Colour a level column with the risk palette (dark text on yellow, as on the risk map)."""
    j = next(i for i, c in enumerate(t.columns) if c.label == label)
    for i, level in enumerate(t.rows[j]):
        if level in palette.COLORS:
            t.colors[(i, j)] = (palette.COLORS[level], "#212121" if level == "中" else "#ffffff")
    return t


def _table(df: pd.DataFrame, columns: dict) -> export.Table:
    """A table of the given columns: {column: (label, kind)} in order."""
    return export.table(df.reset_index(drop=True), columns, column_order=list(columns), hide_index=True)


def build(con, as_of, county=None, city=None, sector=None) -> Briefing:
    """Gather the briefing for a scope at as_of (every figure from the pages' own models)."""
    t = queries.as_of_time(as_of)
    scope = dict(county=county, city=city, sector=sector)
    short, label = scope_names(con, **scope)
    title = f"四保白名单企业监测日报（{short}）{t.year}年{t.month}月{t.day}日"
    trend_start = t.date() - dt.timedelta(days=TREND_DAYS - 1)
    head, data, trend, overdue, found, shut, issues, by_dept, summary = queries.gather(
        con, lambda c: wall.headline(c, t, **scope), lambda c: queries.risk_map(c, t, **scope),
        lambda c: queries.coverage_trend(c, trend_start, t.date(), t, **scope),
        lambda c: queries.overdue_ranking(c, t, "count", **scope), lambda c: alerts.alerts(c, t, **scope),
        lambda c: queries.shutdown_episodes(c, t, alerts_only=True, **scope),
        lambda c: closure.issue_closure(c, t, **scope), lambda c: closure.closure_by(c, t, "department", **scope),
        lambda c: closure.closure_summary(c, t, **scope))
    sections, figures = [], {}

    # 风险排名: the counties of the scope, or within one county its enterprises
    kind = "enterprise" if county else "county"
    scored = data["enterprises"] if county else data["counties"]
    rank = risk.table(scored, kind, with_county=False)
    name = risk.NAMES[kind][2]
    rank.insert(0, "排名", range(1, len(rank) + 1))
    counts = scored["risk_level"].value_counts() if not scored.empty else pd.Series(dtype=int)
    columns = {"排名": ("排名", "int"), name: (name, "text"), **({"状态": ("县区状态", "text")} if kind == "county" else {}),
               "风险分": ("风险分", "float", 1), "等级": ("等级", "text"), "主要因素": ("主要因素", "text")}
    if not rank.empty:
        figures["ranking"] = (risk.components_figure(rank.head(CHART_ROWS), name),
                              f"{name}风险排名" + (f"（前{CHART_ROWS}）" if len(rank) > CHART_ROWS else ""))
    levels = "、".join(f"{lv} {int(counts.get(lv, 0))}" for lv in reversed(palette.LEVELS))
    sections.append(Section("ranking", f"{name}风险排名", _levels(_table(rank, columns)),
                            f"{name}风险等级：{levels}（{'家' if county else '个'}）；等级由风险分（0–100）决定，"
                            "聚集性疫情直接为高、有阳性病例至少为较高。",
                            "ranking" if not rank.empty else None, "本范围内没有白名单企业"))

    # 检测覆盖率趋势 (chart only; the numbers are the headline's)
    if not trend.empty and trend["count_employees"].any():
        figures["coverage"] = (charts.coverage_trend(trend), f"近{TREND_DAYS}天检测覆盖率")

    total_overdue = int(overdue["count_overdue"].sum()) if not overdue.empty else 0
    sections.append(Section("overdue", "超时未检最多的企业", _table(overdue, {
        "enterprise_name": ("企业", "text"), "county_name": ("县（市、区）", "text"), "sector": ("行业", "text"),
        "count_employees": ("在册员工", "int"), "count_overdue": ("超时未检", "int"),
        "overdue_share": ("超时比例", "rate", 1), "count_never_tested": ("从未检测", "int"),
        "max_hours_since_sample": ("最长未检（小时）", "float", 1)}),
        f"共 {len(overdue):,} 家企业有超时未检员工，合计 {total_overdue:,} 人；按超时人数排列。",
        empty="本范围内所有员工都在检测间隔内"))

    by_kind = "、".join(f"{k} {n}" for k, n in alerts.counts(found).items() if n)
    sections.append(Section("alerts", "电子哨预警", _levels(_table(found, {
        "alert_at": ("时间", "datetime"), "level": ("等级", "text"), "kind": ("类型", "text"),
        "enterprise_name": ("企业", "text"), "county_name": ("县（市、区）", "text"), "detail": ("详情", "text")})),
        f"共 {len(found):,} 条（{by_kind or '无'}），最严重、最新的在前。",
        empty="当前没有电子哨预警"))

    shut = shut.assign(state=shut["is_ongoing"].map({True: "停产中", False: "已复产"}))
    limit = int(queries.rule_settings(con)["shutdown_limit_days"])
    sections.append(Section("shutdowns", f"停产超{limit}天的企业", _table(shut, {
        "enterprise_name": ("企业", "text"), "county_name": ("县（市、区）", "text"), "sector": ("行业", "text"),
        "started_on": ("停产开始", "date"), "length_days": ("停产天数", "int"), "state": ("状态", "text")}),
        f"停产须经批准、原则上不超过{limit}天（R9）：共 {len(shut):,} 家仍在停产或近期结束。",
        empty=f"没有停产超过{limit}天的企业"))

    issues = closure.filter_issues(issues, "已超期")
    sections.append(Section("issues", "超期未办结的诉求", _table(issues, {
        "issue_id": ("诉求编号", "text"), "enterprise_name": ("企业", "text"), "county_name": ("县（市、区）", "text"),
        "category": ("类别", "text"), "department": ("责任单位", "text"), "deadline_at": ("办理时限", "datetime"),
        "overdue_hours": ("超期（小时）", "float", 1), "detail": ("诉求内容", "text")}),
        f"共 {len(issues):,} 件未办结且已过办理时限，超期最久的排在前面。", empty="没有超期未办结的诉求"))

    sections.append(Section("departments", "各责任单位办结情况", _table(by_dept, {
        "name": ("责任单位", "text"), "count_total": ("诉求", "int"), "count_open": ("未办结", "int"),
        "count_overdue": ("已超期", "int"), "count_closed": ("已办结", "int"), "closure_rate": ("办结率", "rate", 1),
        "on_time_rate": ("按时办结率", "rate", 1)}),
        f"诉求 {summary['total']:,} 件，办结率 {export.display(summary['closure_rate'], Column('', 'rate', 1)) or '—'}，"
        f"按时办结率 {export.display(summary['on_time_rate'], Column('', 'rate', 1)) or '—'}；"
        "已超期未办结最多的单位在前。",
        "departments" if not by_dept.empty else None, empty="本范围内没有企业诉求"))
    if not by_dept.empty:
        figures["departments"] = (charts.issue_closure_by(by_dept, "责任单位", top=CHART_ROWS),
                                  "各责任单位办结情况")
    return Briefing(title, label, t, head, sections, figures)


HEADLINE_COLUMNS = ("指标", "当前", "昨日同时", "较昨日", "单位")


def _better(r) -> str | None:
    """up / down / None; pandas 3 reads the None of the headline frame as NaN, which is not None."""
    return r.better if isinstance(r.better, str) else None


def _tone(r) -> str:
    """good / bad / flat for a headline row (wall.delta_tone)."""
    return wall.delta_tone(r.delta, _better(r))


def _write_headline(wb, ws, b: Briefing, fm: export.Formats, first_row: int) -> None:
    """The headline as numbers (rates as 0.0 %, counts as 12,345), the change green or red by whether it is good."""
    for j, label in enumerate(HEADLINE_COLUMNS):
        ws.write_string(first_row, j, label, fm.header)
    tones = {"good": palette.COLORS["低"], "bad": palette.COLORS["高"]}
    for i, r in enumerate(b.headline.itertuples(index=False), start=first_row + 1):
        rate = r.unit == "%"
        number, change = ("0.0%", "+0.0%;-0.0%;0.0%") if rate else ("#,##0", "+#,##0;-#,##0;0")
        ws.write_string(i, 0, r.label)
        for j, v in ((1, r.value), (2, r.previous)):
            if v is not None and not pd.isna(v):
                ws.write_number(i, j, float(v), fm.get(None, num_format=number))
        if r.delta is not None and not pd.isna(r.delta):
            tone = tones.get(_tone(r))
            ws.write_number(i, 3, float(r.delta), fm.get(None, (None, tone), num_format=change))
        ws.write_string(i, 4, "百分比" if rate else r.unit)
    ws.set_column(0, 0, 20)
    ws.set_column(1, 4, 12)


# ---------------------------------------------------------------- XLSX

def write_xlsx(b: Briefing, target):
    """One sheet per section; the first, 概要, holds title, scope, time, the headline and the coverage chart.
    `target` is a path or a binary file object."""
    import xlsxwriter

    images = b.images()
    wb = xlsxwriter.Workbook(target if hasattr(target, "write") else str(target),
                             {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True})
    fm = export.Formats(wb)
    ws = wb.add_worksheet("概要")
    ws.write_string(0, 0, b.title, wb.add_format({"bold": True, "font_size": 16}))
    ws.write_string(1, 0, f"范围：{b.scope}　数据时间：{b.as_of:%Y-%m-%d %H:%M}　生成时间：{b.generated_at:%Y-%m-%d %H:%M}",
                    wb.add_format({"font_color": palette.NEUTRAL}))
    _write_headline(wb, ws, b, fm, first_row=3)
    if "coverage" in images:
        _insert_chart(ws, 3, 6, images["coverage"])
    for s in b.sections:
        sheet = wb.add_worksheet(export.sheet_name(s.title))
        export.write_sheet(wb, sheet, s.table, fm)
        if s.table.rows.empty:
            sheet.write_string(1, 0, s.empty)
        if s.chart in images:
            _insert_chart(sheet, 0, len(s.table.columns) + 1, images[s.chart])
    wb.close()
    return target


def _insert_chart(ws, row: int, col: int, png: bytes) -> None:
    """A chart image beside a table, 960 px wide (the PNG is 3200 px: sharp when zoomed or printed)."""
    ws.insert_image(row, col, "chart.png", {"image_data": io.BytesIO(png), "x_scale": 0.3, "y_scale": 0.3,
                                            "object_position": 3})


# ---------------------------------------------------------------- PDF

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
  @top-left { content: string(doctitle); font: 8pt 'Noto Sans CJK SC'; color: #78909c; }
  @bottom-center { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font: 8pt 'Noto Sans CJK SC';
                   color: #78909c; } }
@page :first { @top-left { content: none; } }
html { font-family: 'Noto Sans CJK SC', sans-serif; font-size: 9pt; color: #263238; }
h1 { font-size: 17pt; margin: 0 0 2mm; string-set: doctitle content(); }
h2 { font-size: 12pt; margin: 7mm 0 1.5mm; padding-left: 2mm; border-left: 1.2mm solid #1565c0;
     break-after: avoid; }
.meta { color: #607d8b; margin-bottom: 4mm; }
.note { color: #455a64; margin: 0 0 2mm; }
.empty { color: #2e7d32; margin: 0 0 2mm; }
.tiles { display: flex; flex-wrap: wrap; gap: 2mm; }
.tile { width: 34mm; border: 0.3mm solid #cfd8dc; border-radius: 1.5mm; padding: 1.5mm 2mm; }
.tile .label { color: #607d8b; font-size: 8pt; }
.tile .value { font-size: 14pt; font-weight: bold; }
.tile .delta { font-size: 7.5pt; color: #607d8b; }
.tile .delta.good { color: #2e7d32; } .tile .delta.bad { color: #c62828; }
table { border-collapse: collapse; width: 100%; font-size: 8pt; }
thead { display: table-header-group; }
th { background: #eceff1; text-align: left; font-weight: bold; }
th, td { border: 0.2mm solid #cfd8dc; padding: 0.8mm 1.2mm; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
th.nw, td.nw { white-space: nowrap; }
.lead { break-inside: avoid; break-after: avoid; }
tr { break-inside: avoid; }
img.chart { width: 100%; margin: 1mm 0 2mm; }
.more { color: #78909c; font-size: 7.5pt; margin-top: 1mm; }
"""


def _e(text) -> str:
    return html.escape("" if text is None else str(text))


def _html_table(t: export.Table, limit: int = PDF_ROWS) -> str:
    # short columns (codes, names of counties, levels, numbers) never wrap; long text does
    texts = [[export.display(v, c, t.placeholder) for v in t.rows[j].head(limit)] for j, c in enumerate(t.columns)]
    short = [max([export.text_width(c.label), *map(export.text_width, col)]) <= 16 for c, col in zip(t.columns, texts)]
    head = "".join(f"<th{' class=nw' if s else ''}>{_e(c.label)}</th>" for c, s in zip(t.columns, short))
    body = []
    for i, row in enumerate(t.rows.head(limit).itertuples(index=False)):
        cells = []
        for j, (v, c) in enumerate(zip(row, t.columns)):
            bg, fg = t.colors.get((i, j), (None, None))
            style = f" style='background:{bg};color:{fg}'" if bg else ""
            css = "num" if c.kind not in ("text", "bool") else "nw" if short[j] else ""
            cells.append(f"<td class='{css}'{style}>{_e(texts[j][i])}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<div class='more'>共 {len(t.rows):,} 行，此处列出前 {limit} 行；完整名单见同名 Excel 文件。</div>"
            if len(t.rows) > limit else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _img(png: bytes) -> str:
    return f"<img class='chart' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def to_html(b: Briefing) -> str:
    """The briefing as one HTML document (A4 print CSS)."""
    images = b.images()
    tiles = "".join(
        f"<div class='tile'><div class='label'>{_e(r.label)}</div><div class='value'>{_e(wall.fmt_value(r.value, r.unit))}</div>"
        f"<div class='delta {_tone(r)}'>较昨日 {_e(wall.fmt_delta(r.delta, r.unit))}</div></div>"
        for r in b.headline.itertuples(index=False))
    parts = [f"<h1>{_e(b.title)}</h1>",
             f"<div class='meta'>范围：{_e(b.scope)}　数据时间：{b.as_of:%Y-%m-%d %H:%M}　"
             f"生成时间：{b.generated_at:%Y-%m-%d %H:%M}</div>",
             "<h2>概要（较昨日同一时间）</h2>", f"<div class='tiles'>{tiles}</div>"]
    if "coverage" in images:
        parts.append(_img(images["coverage"]))
    for s in b.sections:   # a heading stays with its note and chart (.lead is never split)
        if s.table.rows.empty:
            parts.append(f"<div class='lead'><h2>{_e(s.title)}</h2><p class='empty'>{_e(s.empty)}。</p></div>")
            continue
        chart = _img(images[s.chart]) if s.chart in images else ""
        parts.append(f"<div class='lead'><h2>{_e(s.title)}</h2><p class='note'>{_e(s.note)}</p>{chart}</div>")
        parts.append(_html_table(s.table))
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{_e(b.title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")


def write_pdf(b: Briefing, target):
    """A4 PDF with page numbers; Noto Sans CJK subsets embedded (WeasyPrint). `target`: a path or a binary file."""
    from weasyprint import HTML

    HTML(string=to_html(b)).write_pdf(target if hasattr(target, "write") else str(target))
    return target


def files(b: Briefing) -> dict[str, bytes]:
    """Both files in memory, for a download: {"xlsx": …, "pdf": …}."""
    out = {}
    for ext, writer in (("xlsx", write_xlsx), ("pdf", write_pdf)):
        buf = io.BytesIO()
        writer(b, buf)
        out[ext] = buf.getvalue()
    return out


def write(b: Briefing, out_dir) -> tuple[Path, Path]:
    """Both files into a folder, named 四保日报_<scope>_<time>.xlsx / .pdf."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_xlsx(b, out / b.file_name("xlsx")), write_pdf(b, out / b.file_name("pdf"))


def tile(r) -> dict:
    """st.metric arguments for one headline row: the value, its change since yesterday, the change's colour."""
    text = wall.fmt_delta(r.delta, r.unit).replace("▲", "+").replace("▼", "-")
    known = r.delta is not None and not pd.isna(r.delta)
    return {"label": r.label, "value": wall.fmt_value(r.value, r.unit) + ("" if r.unit == "%" else f" {r.unit}"),
            "delta": text if known else None, "delta_description": "较昨日" if known else None,
            "delta_color": {"up": "normal", "down": "inverse"}.get(_better(r), "off") if known and r.delta else "off",
            "delta_arrow": "auto" if known and r.delta else "off"}
