"""The demo generator: deterministic, valid where it should be, dirty where it says, realistic."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from stdnum.cn import ric, uscc

from fourguard import demo, feeds, regions

DAYS = 4
# 2022-06-09 08:05:00 | 2022/6/9 8:05 | 2022年6月9日 08:05
TS_RE = re.compile(r"(\d{4})(?:-|/|年)(\d{1,2})(?:-|/|月)(\d{1,2})日? (\d{1,2}):(\d{2})(?::(\d{2}))?")
ID_KINDS = ("id_excel", "id_checksum", "id_17")
valid_id = functools.lru_cache(maxsize=None)(ric.is_valid)  # stdnum looks the region up: cache per person


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One county-scale demo shared by the read-only tests: (summary, out_dir, seconds)."""
    out = tmp_path_factory.mktemp("demo_a")
    calls = []
    t0 = time.perf_counter()
    summary = demo.generate("county", DAYS, 11, out, progress=lambda f, msg: calls.append((f, msg)))
    summary["progress_calls"] = calls
    return summary, out, time.perf_counter() - t0


@pytest.fixture(scope="module")
def tables(run):
    """Every file read back the way ingestion reads it: feed -> list of {column: text} rows."""
    summary, out, _ = run
    by_feed = defaultdict(list)
    for f in summary["files"]:
        by_feed[f["feed"]] += read_rows(out / f["file"])[1]
    return by_feed


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decode(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", data[3:].decode("utf-8")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030", data.decode("gb18030")


def raw_rows(path: Path, limit: int | None = None) -> list[list[str]]:
    """Cells as text; with limit, only the first rows (enough to see titles and headers)."""
    if path.suffix == ".xlsx":
        ws = openpyxl.load_workbook(path, read_only=True).active
        return [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True, max_row=limit)]
    if limit:
        head = path.read_bytes()[:8192].removeprefix(b"\xef\xbb\xbf")
        enc = "utf-8" if decode_ok(head, "utf-8") else "gb18030"
        return list(csv.reader(io.StringIO(head.decode(enc, errors="ignore"))))[:limit]
    return list(csv.reader(io.StringIO(decode(path)[1])))


def decode_ok(data: bytes, enc: str) -> bool:
    try:
        codecs.getincrementaldecoder(enc)().decode(data, final=False)   # the cut may split a character
        return True
    except UnicodeDecodeError:
        return False


def read_rows(path: Path, limit: int | None = None) -> tuple[int, list[dict]]:
    """(header row index, rows as {canonical column: text}) after skipping title rows."""
    rows = raw_rows(path, limit)
    for i, row in enumerate(rows[:5]):
        if feeds.looks_like_header(row):
            feed, mapping, missing = feeds.match_feed(row)
            assert not missing, (path.name, missing)
            return i, [{col: r[pos] for pos, col in mapping.items()} for r in rows[i + 1:] if any(r)]
    raise AssertionError(f"{path.name}: no header row")


def parse_ts(text: str) -> dt.datetime | None:
    """One of the three export formats; None for anything else."""
    m = TS_RE.fullmatch(text)
    if not m:
        return None
    try:
        return dt.datetime(*(int(g or 0) for g in m.groups()))
    except ValueError:
        return None


def test_same_seed_gives_identical_bytes(run, tmp_path):
    summary, out, _ = run
    again = demo.generate("county", DAYS, 11, tmp_path)
    assert [f["file"] for f in again["files"]] == [f["file"] for f in summary["files"]]
    for f in summary["files"]:  # XLSX included: the document date is fixed
        assert sha256(tmp_path / f["file"]) == sha256(out / f["file"]), f["file"]


def test_different_seed_differs(run, tmp_path):
    summary, out, _ = run
    other = demo.generate("county", DAYS, 12, tmp_path)
    differ = [f["file"] for f in other["files"]
              if not (out / f["file"]).exists() or sha256(tmp_path / f["file"]) != sha256(out / f["file"])]
    assert "白名单企业台账.xlsx" in differ
    assert sum(name.startswith("核酸检测_") for name in differ) == DAYS


def test_id_numbers_valid_except_the_dirty_rows(run, tables):
    summary, _, _ = run
    for feed in ("roster", "tests", "scans"):
        bad = [r["id_number"] for r in tables[feed] if not valid_id(r["id_number"])]
        expected = {k: v for k, v in summary["dirty"][feed].items() if k in ID_KINDS}
        assert len(bad) == sum(expected.values()), feed
        assert sum(bool(re.fullmatch(r"4\.\d{5}E\+17", b)) for b in bad) == expected.get("id_excel", 0)
        assert sum(len(b) == 17 for b in bad) == expected.get("id_17", 0)
        assert sum(len(b) == 18 for b in bad) == expected.get("id_checksum", 0)


def test_valid_ids_look_real(tables):
    ids = [r["id_number"] for r in tables["roster"] if valid_id(r["id_number"])]
    assert len(ids) == len(set(ids))  # each person on exactly one roster
    births = [ric.get_birth_date(i) for i in ids]
    assert min(births).year >= 1962 and max(births).year <= 2004
    assert all(i.startswith("41") for i in ids)
    # today's code where it existed in the birth year (stdnum checks that), else the code of then:
    # most older 方城县 people carry 412922 (南阳地区方城县, before 1994)
    today = set(regions.counties()["code"])
    assert 0.1 < np.mean([i[:6] in today for i in ids]) < 0.9
    assert np.mean([i[:6] in ("411322", "412922") for i in ids]) > 0.5


def test_credit_codes_valid_unique_and_local(tables):
    reg = tables["registry"]
    codes = [r["credit_code"] for r in reg]
    assert len(set(codes)) == len(codes)
    for r in reg:
        assert uscc.is_valid(r["credit_code"])
        assert r["credit_code"][:8] == "91" + r["county_code"]
    for feed in ("roster", "places", "production", "issues"):
        assert all(uscc.is_valid(r["credit_code"]) for r in tables[feed]), feed


def test_enterprises_sit_inside_their_county(tables):
    reg = tables["registry"]
    lng = np.array([float(r["lng"]) for r in reg])
    lat = np.array([float(r["lat"]) for r in reg])
    assert list(regions.counties_of_points(lng, lat)) == [r["county_code"] for r in reg]


def test_encodings_are_what_the_summary_says(run):
    summary, out, _ = run
    seen = set()
    for f in summary["files"]:
        if f["encoding"] == "xlsx":
            continue
        data = (out / f["file"]).read_bytes()
        seen.add(f["encoding"])
        if f["encoding"] == "gb18030":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            data.decode("gb18030")
        elif f["encoding"] == "utf-8-sig":
            assert data[:3] == b"\xef\xbb\xbf"
            data.decode("utf-8")
        else:
            assert data[:3] != b"\xef\xbb\xbf"
            data.decode("utf-8")
    assert seen == {"gb18030", "utf-8-sig", "utf-8"}


@pytest.mark.parametrize("name, title", [
    ("白名单企业台账.xlsx", "方城县白名单企业台账（截至2022年6月9日）"),
    ("场所码台账.xlsx", "方城县白名单企业场所码台账"),
    ("企业诉求.xlsx", "方城县白名单企业诉求台账"),
])
def test_xlsx_has_a_title_row_above_the_header(run, name, title):
    _, out, _ = run
    rows = raw_rows(out / name)
    assert rows[0][0].startswith(title)
    header_at, data = read_rows(out / name)
    assert header_at >= 1 and data


def test_layouts_vary_and_one_file_uses_english_headers(run):
    summary, out, _ = run
    headers = {}
    for f in summary["files"]:
        if f["feed"] in ("tests", "scans"):
            at, _ = read_rows(out / f["file"], limit=5)
            headers[f["file"]] = tuple(raw_rows(out / f["file"], limit=5)[at])
    assert len({h for name, h in headers.items() if name.startswith("核酸检测_")}) >= 2
    assert any(h[0] == "sample_id" for h in headers.values())


def test_timestamps_inside_the_period(run, tables):
    summary, _, _ = run
    start, end = dt.datetime.fromisoformat(summary["start"]), demo.END
    bad = 0
    for feed, cols in (("tests", ("sampled_at", "resulted_at")), ("scans", ("scanned_at",))):
        for r in tables[feed]:
            for c in cols:
                if r[c] == demo.BAD_TS:
                    bad += 1
                    continue
                t = parse_ts(r[c])
                assert t is not None and start <= t < end, (feed, c, r[c])
    assert bad == summary["dirty"]["tests"]["bad_time"] + summary["dirty"]["scans"]["bad_time"]


def test_dirty_rows_of_every_kind_and_few(run):
    summary, _, _ = run
    kinds = {"roster": {"id_excel", "id_checksum", "unknown_credit_code"},
             "tests": {"id_excel", "id_checksum", "id_17", "bad_time", "bad_result"},
             "scans": {"id_excel", "id_checksum", "bad_time", "unknown_place_code"}}
    for feed, expected in kinds.items():
        assert set(summary["dirty"][feed]) == expected
        assert all(n >= 3 for n in summary["dirty"][feed].values())
        assert sum(summary["dirty"][feed].values()) < 0.005 * summary["rows"][feed]


def test_scans_of_unknown_place_codes_are_the_dirty_ones(run, tables):
    summary, _, _ = run
    known = {r["place_code"] for r in tables["places"] if r["place_code"]}
    unknown = sum(r["place_code"] not in known for r in tables["scans"])
    assert unknown == summary["dirty"]["scans"]["unknown_place_code"]


def test_positive_pools_get_rechecks_and_one_is_late(tables):
    """R8: every 待复核 pool member gets a 单管 recheck; one pool waits longer than 6 h."""
    tests = [r for r in tables["tests"] if parse_ts(r["sampled_at"]) and valid_id(r["id_number"])]
    pending = [r for r in tests if r["result"] == "待复核"]
    assert pending and all(r["tube"] == "混管" for r in pending)
    singles = defaultdict(list)
    for r in tests:
        if r["tube"] == "单管":
            singles[r["id_number"]].append(parse_ts(r["sampled_at"]))
    waits = defaultdict(list)
    for r in pending:
        result_at = parse_ts(r["resulted_at"])
        later = [t for t in singles[r["id_number"]] if t >= result_at]
        assert later, r
        waits[r["pool_id"]].append((min(later) - result_at).total_seconds() / 3600)
    slow = [p for p, w in waits.items() if max(w) > 6]
    assert len(slow) == 1


def test_exactly_one_cluster(tables):
    """R15: ≥ 2 confirmed (单管) positives in one enterprise within 48 h happens exactly once."""
    employer = {r["id_number"]: r["credit_code"] for r in tables["roster"]}
    positives = defaultdict(list)
    for r in tables["tests"]:
        if r["result"] == "阳性" and r["tube"] == "单管":
            positives[employer[r["id_number"]]].append(parse_ts(r["sampled_at"]))
    clusters = [c for c, ts in positives.items() if len(ts) >= 2 and max(ts) - min(ts) <= dt.timedelta(hours=48)]
    assert len(clusters) == 1
    assert sum(len(ts) for ts in positives.values()) >= 4


def test_county_switches_to_emergency(tables):
    states = [(r["county_code"], r["state"]) for r in tables["county_state"]]
    assert ("411322", "常态") in states and ("411322", "应急") in states


def test_registry_texture(tables):
    reg = tables["registry"]
    assert {r["sector"] for r in reg} == set(feeds.SECTORS)
    heads = np.array([int(r["headcount"]) for r in reg])
    assert 0.6 < np.mean((heads >= 20) & (heads <= 300)) and (heads >= 1000).sum() >= 3
    huts = {r["has_sampling_hut"] for r, h in zip(reg, heads) if h >= 1000}
    assert huts == {"是", "否"}
    assert len({r["name"] for r in reg}) == len(reg)
    assert sum(bool(r.get("removed_on")) for r in reg) >= 2


def test_every_place_kind_listed_and_some_codes_missing(tables):
    places = tables["places"]
    assert {r["kind"] for r in places} == set(feeds.PLACE_KINDS)
    assert 0 < sum(not r["place_code"] for r in places) < 0.2 * len(places)
    assert all(r["place_code"].startswith("HN") and len(r["place_code"]) == 14 for r in places if r["place_code"])


def test_issues_reach_every_state_later_on(tmp_path):
    summary = demo.generate("county", 14, 5, tmp_path)
    _, rows = read_rows(tmp_path / "企业诉求.xlsx")
    states = {r.get("status") for r in rows}
    assert states - {""} == set(feeds.ISSUE_STATES)
    now = demo.END
    overdue = [r for r in rows if r.get("status") in ("已交办", "办理中", "重办", "升级", "退回")
               and r.get("deadline_at") and dt.datetime.fromisoformat(r["deadline_at"]) < now]
    assert overdue
    assert all(r["issue_id"].startswith("SB2022") and len(r["issue_id"]) == 15 for r in rows)
    assert summary["rows"]["tests"] > 200_000


def test_progress_is_reported_from_0_to_1(run):
    summary, _, _ = run
    fractions = [f for f, _ in summary["progress_calls"]]
    assert fractions[0] == 0 and fractions[-1] == 1 and fractions == sorted(fractions)
    assert len(fractions) > DAYS and all(re.search("[\u4e00-\u9fff]", m) for _, m in summary["progress_calls"])


def test_county_scale_is_small_and_fast(run):
    summary, _, seconds = run
    assert summary["enterprises"] == 300
    assert 27_000 < summary["employees"] < 33_000
    assert seconds < 10
