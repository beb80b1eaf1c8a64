"""The daily briefing: gathered from the pages' own models, written as XLSX and PDF and read back
(openpyxl, pypdf), from the CLI end to end and from its page in one click."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from fourguard import alerts, closure, freshness, palette, queries, report, wall
from fourguard.__main__ import main
from tests.conftest import run_page

COUNTY = "411322"   # 方城县, the county of the demo database


@pytest.fixture(scope="module")
def as_of(demo_con) -> dt.datetime:
    return freshness.latest_data_at(demo_con)


@pytest.fixture(scope="module")
def briefing(demo_con, as_of) -> report.Briefing:
    return report.build(demo_con, as_of, county=COUNTY)


@pytest.mark.parametrize("scope, short, label", [
    ({}, "河南省", "河南省"),
    ({"city": "411300"}, "南阳市", "南阳市"),
    ({"county": COUNTY}, "南阳市方城县", "南阳市 · 方城县"),
    ({"county": COUNTY, "sector": "工业生产"}, "南阳市方城县·工业生产", "南阳市 · 方城县 · 工业生产"),
])
def test_scope_names(demo_con, scope, short, label):
    assert report.scope_names(demo_con, **scope) == (short, label)


def test_the_briefing_says_what_the_pages_say(briefing, demo_con, as_of):
    assert briefing.title == f"四保白名单企业监测日报（南阳市方城县）{as_of.year}年{as_of.month}月{as_of.day}日"
    pd.testing.assert_frame_equal(briefing.headline, wall.headline(demo_con, as_of, county=COUNTY))
    s = {x.key: x for x in briefing.sections}
    assert list(s) == ["ranking", "overdue", "alerts", "shutdowns", "issues", "departments"]
    # within a county the ranking is of its enterprises, most risky first, every one of them
    scored = queries.risk_map(demo_con, as_of, county=COUNTY)["enterprises"]
    ranking = s["ranking"].table.frame
    assert len(ranking) == len(scored) and ranking["排名"].tolist() == list(range(1, len(scored) + 1))
    assert ranking["风险分"].is_monotonic_decreasing or ranking["等级"].iloc[0] == "高"
    level = list(ranking.columns).index("等级")
    assert all(s["ranking"].table.colors[(i, level)][0] == palette.COLORS[v] for i, v in enumerate(ranking["等级"]))
    overdue = queries.overdue_ranking(demo_con, as_of, "count", county=COUNTY)
    assert s["overdue"].table.frame["超时未检"].tolist() == overdue["count_overdue"].tolist()
    assert len(s["alerts"].table.rows) == len(alerts.alerts(demo_con, as_of, county=COUNTY)) > 0
    issues = closure.filter_issues(closure.issue_closure(demo_con, as_of, county=COUNTY), "已超期")
    assert s["issues"].table.frame["诉求编号"].tolist() == issues["issue_id"].tolist()
    by = closure.closure_by(demo_con, as_of, "department", county=COUNTY)
    assert s["departments"].table.frame["诉求"].sum() == by["count_total"].sum() == \
        queries.metrics(demo_con, as_of, county=COUNTY)["issues"]["total"]
    assert set(briefing.figures) == {"ranking", "coverage", "departments"}


@pytest.mark.parametrize("delta, better, color, arrow", [
    (5, "up", "normal", "auto"), (5, "down", "inverse", "auto"), (-3, None, "off", "auto"),
    (-3, float("nan"), "off", "auto"),     # wall.headline's None reads back as NaN under pandas 3
    (0, "up", "off", "off"), (None, "up", "off", "off"),
])
def test_tiles_colour_the_change_by_whether_it_is_good(delta, better, color, arrow):
    row = pd.Series({"label": "超时未检", "value": 120, "previous": None, "delta": delta, "unit": "人",
                     "better": better})
    t = report.tile(row)
    assert t["value"] == "120 人" and t["delta_color"] == color and t["delta_arrow"] == arrow
    assert t["delta"] == (None if delta is None else wall.fmt_delta(delta, "人").replace("▲", "+").replace("▼", "-"))


def test_cli_writes_both_files_and_they_read_back(demo_db, demo_con, as_of, tmp_path, capsys):
    assert main(["report", "--db", str(demo_db.db_path), "--as-of", f"{as_of:%Y-%m-%d %H:%M}",
                 "--county", COUNTY, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    stamp = f"{as_of:%Y%m%d-%H%M}"
    assert printed == [str(tmp_path / f"四保日报_南阳市_方城县_{stamp}.{ext}") for ext in ("xlsx", "pdf")]
    head = wall.headline(demo_con, as_of.replace(second=0, microsecond=0), county=COUNTY)

    wb = openpyxl.load_workbook(printed[0])
    assert wb.sheetnames == ["概要", "企业风险排名", "超时未检最多的企业", "电子哨预警", "停产超3天的企业",
                             "超期未办结的诉求", "各责任单位办结情况"]
    ws = wb["概要"]
    assert ws["A1"].value.startswith("四保白名单企业监测日报（南阳市方城县）")
    assert [c.value for c in ws[4]] == list(report.HEADLINE_COLUMNS)
    for i, r in enumerate(head.itertuples(index=False), start=5):
        assert ws.cell(i, 1).value == r.label
        assert ws.cell(i, 2).value == pytest.approx(r.value)
        assert ws.cell(i, 2).number_format == ("0.0%" if r.unit == "%" else "#,##0")
        color = ws.cell(i, 4).font.color.rgb if ws.cell(i, 4).font.color is not None else None
        tone = {"good": "FF2E7D32", "bad": "FFC62828"}.get(report._tone(r))
        assert color == tone or (tone is None and color not in ("FF2E7D32", "FFC62828"))
        if not isinstance(r.better, str):       # 白名单企业, 在册员工: neither direction is good
            assert tone is None
    assert len(ws._images) == 1                          # the coverage trend
    for name in wb.sheetnames[1:]:
        assert wb[name].freeze_panes == "A2"
    assert len(wb["企业风险排名"]._images) == 1 and len(wb["各责任单位办结情况"]._images) == 1
    overdue = queries.overdue_ranking(demo_con, as_of, "count", county=COUNTY)
    assert wb["超时未检最多的企业"].max_row == len(overdue) + 1   # the XLSX keeps every row

    pdf = PdfReader(printed[1])
    n = len(pdf.pages)
    assert n >= 3 and all(abs(float(p.mediabox.width) - 595.28) < 1 for p in pdf.pages)  # A4
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert f"四保白名单企业监测日报（南阳市方城县）{as_of.year}年{as_of.month}月{as_of.day}日" in text
    for r in head.itertuples(index=False):               # every headline figure, as the tiles show it
        assert r.label in text and wall.fmt_value(r.value, r.unit) in text
    for i, page in enumerate(pdf.pages, start=1):
        assert f"第 {i} 页 / 共 {n} 页" in page.extract_text()
    fonts = {f.get_object()["/BaseFont"] for p in pdf.pages for f in p["/Resources"]["/Font"].values()}
    assert fonts and all("Noto-Sans-CJK-SC" in f for f in fonts)   # embedded subsets, no fallback font
    assert overdue.iloc[0]["enterprise_name"] in text


def test_the_briefing_page_previews_and_makes_both_files_in_one_click(demo_db, app_on, downloads, demo_con, as_of):
    app_on(demo_db)
    at = run_page("12_briefing.py", county=COUNTY)
    shown = {m.label: m.value for m in at.metric}
    for r in wall.headline(demo_con, as_of, county=COUNTY).itertuples(index=False):
        assert shown[r.label] == report.tile(r)["value"]
    assert at.subheader[0].value.startswith("四保白名单企业监测日报（南阳市方城县）")
    button = next(b for b in at.button if b.label.startswith("生成日报"))
    button.click().run(timeout=300)
    assert not at.exception, at.exception
    stamp = f"{as_of:%Y%m%d-%H%M}"
    xlsx, pdf = (downloads[f"四保日报_南阳市_方城县_{stamp}.{ext}"] for ext in ("xlsx", "pdf"))
    assert pdf.startswith(b"%PDF") and len(PdfReader(io.BytesIO(pdf)).pages) >= 3
    assert openpyxl.load_workbook(io.BytesIO(xlsx)).sheetnames[0] == "概要"
