"""Exports: every file is read back — CSV (UTF-8 BOM, neutralised formulas, the page's numbers), XLSX
(openpyxl: values, number formats, frozen header, colours), PNG (size, not blank) and SVG (Chinese text),
and in a real browser the download buttons hand over the files."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
import streamlit as st
from PIL import Image

from fourguard import charts, db, export, freshness, palette, queries, store
from tests.conftest import run_page

D = dt.datetime


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with the UTF-8 BOM (Excel, WPS)"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


# ---------------------------------------------------------------- formula neutralisation (OWASP CSV injection)

@pytest.mark.parametrize("text, csv_cell", [
    ("=1+2", "'=1+2"),
    ("+8613800000000", "'+8613800000000"),
    ("-5", "'-5"),                       # text that looks like a negative number is still text
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\tcmd", "'\tcmd"),
    ("\r=1", "'\r=1"),
    ("=HYPERLINK(\"http://x\",\"点我\")", "'=HYPERLINK(\"http://x\",\"点我\")"),
    ("a=b", "a=b"),                      # only the first character matters
    ("南阳市", "南阳市"),
])
def test_text_cells_that_a_spreadsheet_would_run_are_neutralised(text, csv_cell):
    t = export.table(pd.DataFrame({"detail": [text], "n": [-3.5]}), {"detail": "内容", "n": "差值"})
    rows = read_csv(export.to_csv(t))
    assert rows[1] == [csv_cell, "-3.5"]            # the negative number stays a number
    ws = read_xlsx(export.to_xlsx(t))
    cell, number = ws["A2"], ws["B2"]
    # a string cell, never a formula (openpyxl leaves the OOXML escape of a CR that Excel reads back as CR)
    assert cell.value.replace("_x000D_", "\r") == text and cell.data_type == "s"
    assert cell.quotePrefix == export.is_formula_like(text)
    assert number.value == -3.5 and number.data_type == "n"


# ---------------------------------------------------------------- headers, formats and hidden columns as shown

FRAME = pd.DataFrame({
    "code": ["A", "B", "C"],
    "name": ["方城县", "新县", "=cmd"],
    "count_employees": [12345, 0, 7],
    "coverage_pct": [91.234, 100.0, None],          # values × 100, shown "%.1f%%"
    "overdue_share": [0.1234, 0.5, 0.0],            # a fraction, recognised by its name
    "hours": [1.25, 30.0, None],
    "sampled_at": pd.to_datetime(["2022-06-09 08:05:00", None, "2022-06-01 23:59:59"]),
    "started_on": pd.to_datetime(["2022-06-05", "2022-06-06", "2022-06-07"]),
    "is_overdue": [True, False, True],
})
CONFIG = {
    "code": None,
    "name": "县（市、区）",
    "count_employees": st.column_config.NumberColumn("在册员工", format="localized"),
    "coverage_pct": st.column_config.NumberColumn("覆盖率", format="%.1f%%"),
    "overdue_share": "超时比例",
    "hours": st.column_config.NumberColumn("距最近采样（小时）", format="%.1f"),
    "sampled_at": st.column_config.DatetimeColumn("最近采样", format="YYYY-MM-DD HH:mm"),
    "started_on": st.column_config.DateColumn("停产开始", format="YYYY-MM-DD"),
    "is_overdue": st.column_config.CheckboxColumn("已超期"),
}
HEADERS = ["县（市、区）", "在册员工", "覆盖率", "超时比例", "距最近采样（小时）", "最近采样", "停产开始", "已超期"]


def test_csv_holds_the_shown_columns_under_the_shown_headers():
    rows = read_csv(export.to_csv(export.table(FRAME, CONFIG, hide_index=True, placeholder="从未检测")))
    assert rows[0] == HEADERS                       # "code" is hidden (None), the index too
    assert rows[1] == ["方城县", "12345", "91.2%", "12.3%", "1.2", "2022-06-09 08:05", "2022-06-05", "是"]
    assert rows[2] == ["新县", "0", "100.0%", "50.0%", "30.0", "从未检测", "2022-06-06", "否"]
    assert rows[3][0] == "'=cmd" and rows[3][2] == "从未检测"


def test_xlsx_has_typed_cells_number_formats_a_frozen_header_and_a_filter():
    ws = read_xlsx(export.to_xlsx(export.table(FRAME, CONFIG, hide_index=True), "覆盖率"))
    assert ws.title == "覆盖率"
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:H4"
    b2, c2, d2, e2, f2, g2 = (ws[a] for a in ("B2", "C2", "D2", "E2", "F2", "G2"))
    assert (b2.value, b2.number_format) == (12345, "#,##0")
    assert c2.value == pytest.approx(0.91234) and c2.number_format == "0.0%"
    assert d2.value == pytest.approx(0.1234) and d2.number_format == "0.0%"
    assert (e2.value, e2.number_format) == (1.25, "#,##0.0")
    assert (f2.value, f2.number_format) == (D(2022, 6, 9, 8, 5), "yyyy-mm-dd hh:mm")
    assert (g2.value, g2.number_format) == (D(2022, 6, 5), "yyyy-mm-dd")
    assert ws["H2"].value == "是" and ws["C4"].value is None
    assert ws.column_dimensions["A"].width >= 12  # 县（市、区）: CJK characters count double


@pytest.mark.parametrize("page, table, scope, ext, expected", [
    ("覆盖率", "县区", "南阳市", "csv", "覆盖率_县区_南阳市_20220609-2359.csv"),
    ("超时未检", "企业排名", "方城县_工业生产", "xlsx", "超时未检_企业排名_方城县_工业生产_20220609-2359.xlsx"),
    ("", "按行业/领域", "全省", "png", "按行业领域_全省_20220609-2359.png"),
])
def test_file_names_say_page_table_scope_and_data_time(page, table, scope, ext, expected):
    assert export.file_name(page, table, scope, as_of=D(2022, 6, 9, 23, 59), ext=ext) == expected


def test_a_styled_frame_keeps_its_values_and_its_colours():
    frame = pd.DataFrame({"县区": ["卧龙区", "方城县"], "等级": ["高", "低"], "风险分": [81.26, 12.0]})
    styled = frame.style.map(lambda v: f"background-color: {palette.COLORS.get(v, '')}; color: white",
                             subset=["等级"])
    t = export.table(styled, {"风险分": st.column_config.NumberColumn("风险分", format="%.1f")}, hide_index=True)
    assert read_csv(export.to_csv(t))[1:] == [["卧龙区", "高", "81.3"], ["方城县", "低", "12.0"]]
    ws = read_xlsx(export.to_xlsx(t))
    assert ws["B2"].fill.fgColor.rgb == "FF" + palette.COLORS["高"][1:].upper()
    assert ws["B3"].fill.fgColor.rgb == "FF" + palette.COLORS["低"][1:].upper()
    assert ws["A2"].fill.fill_type is None


# ---------------------------------------------------------------- pages: the buttons hand over what the page shows

def built(downloads: dict, part: str, ext: str) -> tuple[str, bytes]:
    names = [n for n in downloads if part in n and n.endswith(f".{ext}")]
    assert len(names) == 1, (part, ext, list(downloads))
    data = downloads[names[0]]
    return names[0], data() if callable(data) else data


def test_overdue_ranking_downloads_equal_the_page_and_the_query(demo_db, app_on, downloads):
    app_on(demo_db)
    at = run_page("03_overdue.py", county="411322")
    con = db.connect(demo_db.db_path, demo_db).cursor()
    as_of = freshness.latest_data_at(con)
    want = queries.overdue_ranking(con, as_of, "count", county="411322")
    assert len(want) > 5
    name, data = built(downloads, "企业排名", "csv")
    assert name.endswith(f"企业排名_方城县_{as_of:%Y%m%d-%H%M}.csv")
    rows = read_csv(data)
    assert rows[0] == ["企业", "县（市、区）", "行业", "在册员工", "超时未检", "超时比例", "最长未检（小时）"]
    assert len(rows) - 1 == len(want)
    shown = next(d.value for d in at.dataframe if "max_hours_since_sample" in d.value.columns)
    for row, (_, w), (_, s) in zip(rows[1:], want.iterrows(), shown.iterrows()):
        assert row[0] == w["enterprise_name"] == s["enterprise_name"]
        assert int(row[3]) == w["count_employees"] and int(row[4]) == w["count_overdue"] == s["count_overdue"]
        assert row[5] == f"{w['overdue_share'] * 100:.1f}%" and float(row[6]) == pytest.approx(w["max_hours_since_sample"])
    _, data = built(downloads, "企业排名", "xlsx")
    ws = read_xlsx(data)
    assert ws.freeze_panes == "A2" and ws.max_row == len(want) + 1
    assert [ws.cell(2, j).value for j in (1, 4, 5)] == [want.iloc[0]["enterprise_name"],
                                                        want.iloc[0]["count_employees"], want.iloc[0]["count_overdue"]]
    assert ws["F2"].value == pytest.approx(want.iloc[0]["overdue_share"]) and ws["F2"].number_format == "0.0%"
    # Each file handed out is recorded: who, when, scope and what.
    audit = store.read_audit(store.store_path(demo_db.db_path))
    exports = audit[(audit.action == "export") & audit.detail.str.contains(name.rsplit(".", 1)[0])]
    assert len(exports) == 2 and set(exports.scope.str[:6]) == {"411322"}


def test_every_table_and_chart_of_the_coverage_page_has_its_downloads(demo_db, app_on, downloads):
    app_on(demo_db)
    at = run_page("02_coverage.py")
    files = [n for n in downloads if not n.startswith("总览_")]  # run_page opens the app (总览) first
    tables = [n for n in files if n.endswith(".csv")]
    assert len(tables) == len(at.dataframe) and len(tables) >= 4
    assert {n.rsplit(".", 1)[0] for n in tables} == {n.rsplit(".", 1)[0] for n in files if n.endswith(".xlsx")}
    charts_ = [n for n in files if n.endswith(".png")]
    assert len(charts_) == 3 and all(n.replace(".png", ".svg") in files for n in charts_)
    # the coverage table's counts are the page's
    _, data = built(downloads, "检测覆盖率", "csv")
    rows = read_csv(data)
    shown = next(d.value for d in at.dataframe if "coverage_pct" in d.value.columns)
    assert [int(r[1]) for r in rows[1:]] == shown["count_employees"].tolist()
    assert [r[4] for r in rows[1:]] == [f"{v:.1f}%" for v in shown["coverage_pct"]]


def test_risk_tables_export_their_level_colours(demo_db, app_on, downloads):
    app_on(demo_db)
    run_page("04_risk_map.py")
    ws = read_xlsx(built(downloads, "风险最高的企业", "xlsx")[1])
    headers = [c.value for c in ws[1]]
    assert "code" not in headers and headers[:3] == ["企业", "县区", "风险分"]
    level = headers.index("等级") + 1
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(r, level)
        assert cell.fill.fgColor.rgb == "FF" + palette.COLORS[cell.value][1:].upper()


# ---------------------------------------------------------------- figures (kaleido: two renders, ~1–3 s each)

@pytest.fixture(scope="module")
def coverage_figure():
    df = pd.DataFrame({"name": ["方城县", "新县", "唐河县"], "coverage_rate": [0.93, 0.81, 0.66],
                       "count_employees": [1000, 800, 500], "count_within_interval": [930, 648, 330],
                       "count_overdue": [70, 152, 170]})
    return charts.coverage_bars(df)


def test_png_is_presentation_sized_and_not_blank(coverage_figure):
    png = export.figure_image(coverage_figure, "png", "检测覆盖率", "南阳市 · 数据时间 2022-06-09 23:59")
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.size == (3200, 1800)
    colors = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colors) > 50                                     # text and bars, anti-aliased
    white = max(colors)[0] / (im.size[0] * im.size[1])
    assert 0.5 < white < 0.99                                   # mostly background, clearly drawn on
    blue = tuple(int(palette.SEQUENCE[0][i:i + 2], 16) for i in (1, 3, 5))
    assert any(c == blue for _, c in colors)                    # the bars in the house colour


def test_svg_carries_the_chinese_text_in_the_cjk_font(coverage_figure):
    svg = export.figure_image(coverage_figure, "svg", "检测覆盖率", "南阳市 · 数据时间 2022-06-09 23:59").decode()
    assert svg.lstrip().startswith("<svg")
    for text in ("检测覆盖率", "方城县", "唐河县", "南阳市"):
        assert text in svg
    assert "Noto Sans CJK SC" in svg


def test_for_export_names_the_font_everywhere_and_keeps_the_data():
    fig = go.Figure(go.Bar(x=["甲", "乙"], y=[1, 2], textfont={"size": 11}))
    fig.add_annotation(text="说明", font={"size": 12})
    spec = export.for_export(fig, "标题", "副标题")
    assert spec["data"][0]["x"] == ["甲", "乙"]                  # arrays survive as lists
    assert spec["data"][0]["textfont"]["family"] == export.FONT
    assert spec["layout"]["annotations"][0]["font"]["family"] == export.FONT
    assert spec["layout"]["title"]["text"] == "标题" and spec["layout"]["title"]["subtitle"]["text"] == "副标题"
    assert (spec["layout"]["width"], spec["layout"]["height"]) == (export.FIG_WIDTH, export.FIG_HEIGHT)


# ---------------------------------------------------------------- the real app: a click hands over the file

def test_download_buttons_in_the_browser(demo_db):
    playwright = pytest.importorskip("playwright.sync_api")
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, running_app, wait_until_idle

    with running_app(demo_db.db_path) as base, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, accept_downloads=True)
        page.goto(f"{base}/overdue?county=411322")
        wait_until_idle(page)
        with page.expect_download(timeout=60_000) as got:
            page.get_by_role("button", name="下载 CSV").first.click()
        name = got.value.suggested_filename
        assert name.startswith("超时未检_企业排名_方城县_") and name.endswith(".csv")   # the page's title
        rows = read_csv(Path(got.value.path()).read_bytes())
        assert rows[0][:2] == ["企业", "县（市、区）"] and len(rows) > 5
        with page.expect_download(timeout=120_000) as got:
            page.get_by_role("button", name="下载 PNG").first.click()
        assert got.value.suggested_filename.startswith("超时未检_超时未检按检测规则_方城县_")
        assert Image.open(got.value.path()).size == (3200, 1800)
        assert page.query_selector_all("[data-testid='stException']") == []
        browser.close()
