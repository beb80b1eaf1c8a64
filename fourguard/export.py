"""Files users take away: a table as CSV or XLSX, a figure as PNG or SVG. No streamlit here.

A table is exported as the page shows it: the visible columns in order under their Chinese headers
(st.column_config labels), numbers as numbers with the page's precision, rates as 0.0 %, times as
2022-06-09 08:05. Text that a spreadsheet could run as a formula (OWASP "CSV injection": a cell
starting with = + - @ tab or CR) is neutralised: a leading ' in CSV, a string cell with Excel's
quote prefix in XLSX. Figures are drawn server-side by kaleido in Debian's chromium with the
Noto CJK font named explicitly, at presentation resolution.
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import math
import os
import re
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import pandas as pd

FONT = "Noto Sans CJK SC, sans-serif"
# A figure is laid out at 1280×720 CSS px (the size it has on a wide screen, so text keeps its
# proportions) and rendered 3200 pixels wide (scale 2.5): 3200×1800, sharp on a projector or a slide.
FIG_WIDTH, FIG_HEIGHT, FIG_PIXELS = 1280, 720, 3200
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
_PRINTF = re.compile(r"%[-+ 0#,]*\d*(?:\.(\d+))?([dif])")


# ---------------------------------------------------------------- tables

@dataclass(frozen=True)
class Column:
    """One exported column: the header users read and how its values are written."""

    label: str
    kind: str = "text"      # text · int · float · rate (a 0..1 fraction) · datetime · date · bool
    decimals: int = 0


@dataclass
class Table:
    """Rows ready to write: one frame column per Column, plus optional cell colours from a Styler."""

    columns: list[Column]
    rows: pd.DataFrame                                   # positional, values already converted
    placeholder: str | None = None                       # shown for a missing value, as on the page
    colors: dict = field(default_factory=dict)           # (row, col) → (background, text colour)

    @property
    def frame(self) -> pd.DataFrame:
        """The rows under their Chinese headers."""
        out = self.rows.copy()
        out.columns = [c.label for c in self.columns]
        return out


def neutralise(text: str) -> str:
    """A text cell as CSV writes it: a leading ' before = + - @ tab CR, so no spreadsheet runs it."""
    return "'" + text if text.startswith(FORMULA_START) else text


def is_formula_like(text) -> bool:
    return isinstance(text, str) and text.startswith(FORMULA_START)


def _column(key, values: pd.Series, config) -> Column | None:
    """The Column for one frame column from its st.column_config entry (None = hidden)."""
    label, type_config = str(key), {}
    if isinstance(config, str):
        label = config
    elif isinstance(config, tuple):          # (label, kind[, decimals]): the report's shorthand
        return Column(config[0], config[1], config[2] if len(config) > 2 else _decimals(config[1]))
    elif isinstance(config, dict):
        if config.get("hidden"):
            return None
        label = config.get("label") or label
        type_config = config.get("type_config") or {}
    kind = type_config.get("type")
    fmt = type_config.get("format")
    if kind == "number":
        return _number_column(label, str(key), values, fmt)
    if kind in ("datetime", "date"):
        return Column(label, kind)
    if kind == "checkbox":
        return Column(label, "bool")
    if kind in ("text", "link", "selectbox", "list", "multiselect", "json"):
        return Column(label, "text")
    return _inferred(label, str(key), values)


def _decimals(kind: str) -> int:
    return {"float": 2, "rate": 1}.get(kind, 0)


def _number_column(label: str, key: str, values: pd.Series, fmt: str | None) -> Column:
    if fmt == "percent":
        return Column(label, "rate", 1)
    m = _PRINTF.search(fmt or "")
    if m:
        if "%%" in fmt[m.end():]:                  # "%.1f%%": the values are already × 100
            return Column(label, "rate100", int(m.group(1) or 0))
        if m.group(2) in "di":
            return Column(label, "int")
        return Column(label, "float", int(m.group(1) or 0))
    return _inferred(label, key, values, number=True)


def _inferred(label: str, key: str, values: pd.Series, number: bool = False) -> Column:
    """Without a format: by dtype (and a _rate / _share name for fractions)."""
    if pd.api.types.is_bool_dtype(values):
        return Column(label, "bool")
    if pd.api.types.is_datetime64_any_dtype(values):
        times = values.dropna()
        midnight = len(times) and (times == times.dt.normalize()).all()
        return Column(label, "date" if midnight else "datetime")
    if pd.api.types.is_numeric_dtype(values) or number:
        if key.endswith(("_rate", "_share")):
            return Column(label, "rate", 1)
        numbers = pd.to_numeric(values, errors="coerce").dropna()
        if pd.api.types.is_integer_dtype(values) or (number and (numbers == numbers.round()).all()):
            return Column(label, "int")
        # as many decimals as the values carry (a rounded column keeps its rounding), at most 4
        places = next((d for d in range(5) if (numbers.round(d) - numbers).abs().max() < 1e-9), 4) \
            if len(numbers) else 2
        return Column(label, "float", places)
    sample = values.dropna()
    if len(sample) and sample.map(lambda v: isinstance(v, dt.datetime)).all():
        return Column(label, "datetime")
    if len(sample) and sample.map(lambda v: isinstance(v, dt.date)).all():
        return Column(label, "date")
    return Column(label, "text")


def _convert(values: pd.Series, col: Column) -> pd.Series:
    """Values as they are written: numbers (rates as fractions), naive datetimes, 是/否, text."""
    if col.kind in ("int", "float", "rate", "rate100"):
        out = pd.to_numeric(values, errors="coerce").astype("float64")
        return out / 100 if col.kind == "rate100" else out
    if col.kind in ("datetime", "date"):
        out = pd.to_datetime(values, errors="coerce")
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        return out.astype(object).where(out.notna(), None)
    if col.kind == "bool":
        return values.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                          else ("是" if bool(v) else "否"))
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):  # already text: no per-cell call
        return values.astype(object).where(values.notna(), None)
    return values.map(_text)


def _text(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, (list, tuple)):
        return "、".join(str(x) for x in v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def table(data, column_config: dict | None = None, *, column_order=None, hide_index: bool | None = None,
          placeholder: str | None = None) -> Table:
    """What st.dataframe(data, column_config=…, column_order=…, hide_index=…) shows, ready to write.

    `data` may be a DataFrame, a pandas Styler (its cell colours are kept) or a list of dicts."""
    styler = data if hasattr(data, "data") and hasattr(data, "map") and not isinstance(data, pd.DataFrame) else None
    frame = styler.data if styler is not None else pd.DataFrame(data)
    config = dict(column_config or {})
    show_index = hide_index is False or (hide_index is None and not isinstance(frame.index, pd.RangeIndex))
    keys = list(column_order) if column_order is not None else list(frame.columns)
    columns, series, positions = [], [], []
    if show_index:
        index_config = config.get("_index", frame.index.name or "")
        col = _column(frame.index.name or "", frame.index.to_series(), index_config)
        if col is not None:
            columns.append(col)
            series.append(_convert(frame.index.to_series().reset_index(drop=True), col))
    for key in keys:
        if key not in frame.columns or (key in config and config[key] is None):
            continue
        values = frame[key].reset_index(drop=True)
        col = _column(key, values, config.get(key))
        if col is None:
            continue
        columns.append(col)
        series.append(_convert(values, col))
        positions.append((len(columns) - 1, list(frame.columns).index(key)))
    rows = pd.concat(series, axis=1, ignore_index=True) if series else pd.DataFrame(index=range(len(frame)))
    colors = _styler_colors(styler, dict((src, dst) for dst, src in positions)) if styler is not None else {}
    return Table(columns, rows, placeholder, colors)


def _styler_colors(styler, column_map: dict) -> dict:
    """Background and text colours a Styler sets per cell (e.g. the 风险地图 等级 column)."""
    try:
        ctx = styler._compute().ctx     # pandas has no public accessor for computed cell styles
    except Exception:  # noqa: BLE001 — colours are a nicety; the values export regardless
        return {}
    out = {}
    for (r, c), props in ctx.items():
        style = {k.strip().lower(): v.strip() for k, v in props}
        if c in column_map and ("background-color" in style or "color" in style):
            out[(r, column_map[c])] = (style.get("background-color") or None, style.get("color") or None)
    return out


def _cell_text(value, col: Column, placeholder: str | None) -> str:
    """One cell as CSV text (and as the width estimate for XLSX)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return placeholder or ""
    if col.kind == "int":
        return f"{value:.0f}"
    if col.kind == "float":
        return f"{value:.{col.decimals}f}"
    if col.kind in ("rate", "rate100"):
        return f"{value * 100:.{col.decimals}f}%"
    if col.kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M")
    if col.kind == "date":
        return value.strftime("%Y-%m-%d")
    return neutralise(str(value))


def display(value, col: Column, placeholder: str | None = None) -> str:
    """One cell as a reader sees it in a report: 12,345 · 91.2% · 2022-06-09 08:05."""
    if col.kind in ("int", "float") and not (value is None or (isinstance(value, float) and math.isnan(value))):
        return f"{value:,.{0 if col.kind == 'int' else col.decimals}f}"
    text = _cell_text(value, col, placeholder)
    return text[1:] if text.startswith("'") and col.kind == "text" else text


def to_csv(t: Table) -> bytes:
    """UTF-8 with BOM (Excel and WPS then read the Chinese correctly), CRLF line ends."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(c.label) for c in t.columns])
    for row in t.rows.itertuples(index=False):
        w.writerow([_cell_text(v, c, t.placeholder) for v, c in zip(row, t.columns)])
    return buf.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- XLSX

NUMBER_FORMATS = {"int": "#,##0", "datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}
HEADER_FILL = "#eceff1"


def _number_format(col: Column) -> str | None:
    if col.kind == "float":
        return "#,##0" + ("." + "0" * col.decimals if col.decimals else "")
    if col.kind in ("rate", "rate100"):
        return "0" + ("." + "0" * col.decimals if col.decimals else "") + "%"
    return NUMBER_FORMATS.get(col.kind)


def text_width(text: str) -> int:
    """Display width: a CJK character is two columns wide."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


class Formats:
    """xlsxwriter formats, one per (kind, decimals, colours), made on first use."""

    def __init__(self, workbook):
        self.wb, self.cache = workbook, {}
        self.header = workbook.add_format({"bold": True, "bg_color": HEADER_FILL, "border": 1,
                                           "border_color": "#b0bec5", "valign": "vcenter", "text_wrap": True})

    def get(self, col: Column | None, colors=(None, None), quote: bool = False, **extra):
        key = (col.kind if col else None, col.decimals if col else 0, colors, quote, tuple(sorted(extra.items())))
        if key not in self.cache:
            props = {**extra}
            if col and (nf := _number_format(col)):
                props["num_format"] = nf
            if colors[0]:
                props["bg_color"] = colors[0]
            if colors[1]:
                props["font_color"] = colors[1]
            if quote:
                props["quote_prefix"] = True
            self.cache[key] = self.wb.add_format(props)
        return self.cache[key]


def write_sheet(workbook, worksheet, t: Table, formats: Formats | None = None, first_row: int = 0) -> None:
    """The table from row first_row (A1 by default): header row (frozen, autofilter), typed cells with
    number formats, column widths."""
    fm = formats or Formats(workbook)
    widths = [text_width(c.label) for c in t.columns]
    for j, c in enumerate(t.columns):
        worksheet.write_string(first_row, j, c.label, fm.header)
    for i, row in enumerate(t.rows.itertuples(index=False), start=first_row + 1):
        for j, (v, c) in enumerate(zip(row, t.columns)):
            colors = t.colors.get((i - first_row - 1, j), (None, None))
            missing = v is None or (isinstance(v, float) and math.isnan(v))
            if missing:
                if t.placeholder:
                    worksheet.write_string(i, j, t.placeholder, fm.get(None, colors))
                elif colors != (None, None):
                    worksheet.write_blank(i, j, None, fm.get(c, colors))
            elif c.kind in ("int", "float", "rate", "rate100"):
                worksheet.write_number(i, j, float(v), fm.get(c, colors))
            elif c.kind in ("datetime", "date"):
                worksheet.write_datetime(i, j, pd.Timestamp(v).to_pydatetime(), fm.get(c, colors))
            else:   # text is always a string cell: never a formula, whatever it starts with
                worksheet.write_string(i, j, str(v), fm.get(c, colors, quote=is_formula_like(v)))
            if i <= first_row + 1000:
                widths[j] = max(widths[j], text_width(_cell_text(v, c, t.placeholder)))
    for j, w in enumerate(widths):
        worksheet.set_column(j, j, min(max(w + 2, 8), 60))
    worksheet.freeze_panes(first_row + 1, 0)
    if t.columns:
        worksheet.autofilter(first_row, 0, first_row + max(len(t.rows), 1), len(t.columns) - 1)


def sheet_name(name: str) -> str:
    """A valid Excel sheet name (31 characters, none of []:*?/\\)."""
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "Sheet1"


def to_xlsx(t: Table, name: str = "数据") -> bytes:
    """One sheet holding the table."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    write_sheet(wb, wb.add_worksheet(sheet_name(name)), t)
    wb.close()
    return buf.getvalue()


def file_name(*parts, as_of: dt.datetime | None = None, ext: str = "csv") -> str:
    """覆盖率_县区_南阳市_20220609-2359.csv: the non-empty parts, the data time, no path characters."""
    words = [re.sub(r'[\\/:*?"<>|\s]+', "", str(p)) for p in parts if p]
    if as_of is not None:
        words.append(f"{as_of:%Y%m%d-%H%M}")
    return "_".join(w for w in words if w) + f".{ext}"


# ---------------------------------------------------------------- figures

def for_export(fig, title: str | None = None, subtitle: str | None = None,
               width: int = FIG_WIDTH, height: int = FIG_HEIGHT) -> dict:
    """The figure as a dict to render: CJK font named everywhere, white template, a title and a
    subtitle (scope and data time) when given and the figure has none of its own, laid out at
    width × height CSS px (taller when the figure itself is, e.g. 30 ranked bars)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    f = go.Figure(fig)
    f.update_layout(template=pio.templates["plotly_white"], font_family=FONT, paper_bgcolor="white",
                    width=width, height=max(height, int(f.layout.height or 0)))
    if f.layout.plot_bgcolor is None:
        f.update_layout(plot_bgcolor="white")
    has_title = bool(f.layout.title.text)
    if title and not has_title:
        f.update_layout(title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 17}})
        has_title = True
    if subtitle and has_title:
        f.update_layout(title={"subtitle": {"text": subtitle, "font": {"size": 12, "color": "#607d8b"}}})
    m = f.layout.margin   # a slide needs some white around the plot
    f.update_layout(margin={"l": max(m.l or 0, 32), "r": max(m.r or 0, 32), "b": max(m.b or 0, 24)})
    if has_title:   # room for title, subtitle and the legend above the plot
        f.update_layout(margin={"t": max(m.t or 0, 104 if subtitle else 72)},
                        title={"x": 32 / width, "xref": "container", "y": 0.98, "yref": "container",
                               "yanchor": "top"})
        if f.layout.legend.orientation == "h" and (f.layout.legend.y or 0) >= 1:
            f.update_layout(legend={"y": 1.0, "yanchor": "bottom"})
    spec = json.loads(pio.to_json(f, validate=False))   # plotly's encoder: arrays, dates, NaN
    _name_font(spec)
    return spec


def _name_font(node) -> None:
    """Put the CJK family on every font a figure sets (titles, legends, annotations, text)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, dict) and (k == "font" or k.endswith("font")):
                v["family"] = FONT
            _name_font(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _name_font(v)


def browser_path() -> str:
    """Debian's chromium (or BROWSER_PATH): kaleido never downloads a browser here."""
    path = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("图表导出需要 chromium：apt-get install -y chromium fonts-noto-cjk")
    return path




async def _render_all(specs: list[dict], fmt: str) -> list[bytes]:
    import kaleido

    # mathjax=False: the default page loads MathJax from a CDN, and the runtime is offline.
    async with kaleido.Kaleido(page_generator=kaleido.PageGenerator(mathjax=False), n=1, timeout=120,
                               path=browser_path()) as k:
        out = []
        for spec in specs:
            w, h = spec["layout"]["width"], spec["layout"]["height"]
            out.append(await k.calc_fig(spec, opts={"format": fmt, "width": w, "height": h,
                                                    "scale": FIG_PIXELS / w if fmt == "png" else 1}))
        return out


def render(specs: list[dict], fmt: str = "png") -> list[bytes]:
    """Several figures (for_export dicts) in one browser session; blocking, safe in any thread."""
    if not specs:
        return []
    result: list = []

    def run():
        try:
            result.append(asyncio.run(_render_all(specs, fmt)))
        except BaseException as exc:  # noqa: BLE001 — re-raised in the caller's thread
            result.append(exc)

    t = threading.Thread(target=run, name="kaleido-render")  # its own event loop, whatever the caller runs
    t.start()
    t.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


_IMAGES: OrderedDict = OrderedDict()   # (figure JSON, format) → bytes, the most recent 48
_IMAGES_LOCK = threading.Lock()


def figure_images(figures: list[tuple], fmt: str = "png") -> list[bytes]:
    """Figures given as for_export arguments (fig, title, subtitle[, width, height]) as PNG (3200 px
    wide) or SVG, cached per figure content; the ones not cached yet are drawn in one browser session."""
    keys = [(json.dumps(for_export(*item), sort_keys=True), fmt) for item in figures]
    with _IMAGES_LOCK:
        got = {k: _IMAGES[k] for k in keys if k in _IMAGES}
        for k in got:
            _IMAGES.move_to_end(k)
    missing = list(dict.fromkeys(k for k in keys if k not in got))
    if missing:
        got.update(zip(missing, render([json.loads(spec) for spec, _ in missing], fmt)))
        with _IMAGES_LOCK:
            _IMAGES.update((k, got[k]) for k in missing)
            while len(_IMAGES) > 48:
                _IMAGES.popitem(last=False)
    return [got[k] for k in keys]


def figure_image(fig, fmt: str = "png", title: str | None = None, subtitle: str | None = None) -> bytes:
    """One figure as PNG (3200×1800 px) or SVG, cached per figure content."""
    return figure_images([(fig, title, subtitle)], fmt)[0]
