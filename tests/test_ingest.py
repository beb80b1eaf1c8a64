"""Ingestion: formats, encodings, title rows, validation reasons, idempotence, refusals, atomicity."""
from __future__ import annotations

import datetime as dt
import errno
import json
import os
import signal
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from fourguard import ingest
from fourguard.__main__ import main as cli
from fourguard.config import Settings
from stdnum.cn import uscc

from tests.feedfiles import credit_code, id_number, write_feed

E1 = credit_code("411322", 1)
E2 = credit_code("411523", 2)
P1 = id_number("411322", "19900101", 123)
P2 = id_number("411523", "19850505", 456)
REGISTRY = [
    dict(credit_code=E1, name="方城甲食品有限公司", county_code="411322", sector="工业生产", headcount=120,
         annual_output_wan_yuan=5000, lng=113.0, lat=33.25, cadre="张三", listed_on="2022-05-01"),
    dict(credit_code=E2, name="新县乙物流有限公司", county_code="411523", sector="交通运输", headcount=30,
         annual_output_wan_yuan=800, lng=114.8, lat=31.6, cadre="李四", listed_on="2022-05-01",
         removed_on="2022-06-05"),
]
ROSTER = [dict(id_number=P1, name="王五", credit_code=E1, job_type="普通岗位"),
          dict(id_number=P2, name="赵六", credit_code=E2, job_type="流动接触岗位")]


def sample(sample_id="S1", person=P1, sampled_at="2022-06-08 08:00:00", **kw):
    return {**dict(sample_id=sample_id, id_number=person, name="王五", sampled_at=sampled_at, result="阴性",
                   resulted_at="2022-06-08 14:00:00", tube="单管"), **kw}


@pytest.fixture
def s(tmp_path) -> Settings:
    return Settings(db_path=tmp_path / "store" / "fg.duckdb", hash_key="test-key")


@pytest.fixture
def base(tmp_path, s):
    """A database holding the registry and the roster."""
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY),
                         write_feed(tmp_path / "roster.csv", "roster", ROSTER)], s.db_path, s)
    return s


def rows(s: Settings, sql: str, params=()):
    con = duckdb.connect(str(s.db_path), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("fmt,encoding,title,english", [
    ("csv", "utf-8", None, False),
    ("csv", "utf-8-sig", None, False),
    ("csv", "gb18030", "方城县核酸检测台账", False),
    ("csv", "utf-8", None, True),
    ("xlsx", None, "方城县核酸检测台账（2022年6月8日）", False),
    ("parquet", None, None, False),
])
def test_tests_feed_in_every_format(tmp_path, base, fmt, encoding, title, english):
    path = write_feed(tmp_path / f"t.{fmt}", "tests", [sample(), sample("S2", P2, "2022/6/8 9:05")],
                      fmt=fmt, encoding=encoding or "utf-8", title=title, english=english)
    [rep] = ingest.ingest_paths([path], base.db_path, base)
    assert (rep.status, rep.feed, rep.inserted, rep.quarantined) == ("loaded", "tests", 2, 0)
    got = rows(base, "SELECT sample_id, id_masked, sampled_at FROM tests ORDER BY sample_id")
    assert got == [("S1", P1[:4] + "*" * 10 + P1[-4:], dt.datetime(2022, 6, 8, 8, 0)),
                   ("S2", P2[:4] + "*" * 10 + P2[-4:], dt.datetime(2022, 6, 8, 9, 5))]


@pytest.mark.parametrize("text,expected", [
    ("2022-06-09 08:05:00", dt.datetime(2022, 6, 9, 8, 5)),
    ("2022/6/9 8:05", dt.datetime(2022, 6, 9, 8, 5)),
    ("2022年6月9日 08:05", dt.datetime(2022, 6, 9, 8, 5)),
    ("2022-06-09T08:05:00", dt.datetime(2022, 6, 9, 8, 5)),
    ("44721.336805555555", dt.datetime(2022, 6, 9, 8, 5)),  # Excel serial day
    ("20220609", dt.datetime(2022, 6, 9)),
])
def test_timestamp_formats(tmp_path, base, text, expected):
    path = write_feed(tmp_path / "t.csv", "tests", [sample(sampled_at=text)])
    ingest.ingest_paths([path], base.db_path, base)
    assert rows(base, "SELECT sampled_at FROM tests") == [(expected,)]


def test_time_parsing_tries_only_the_formats_a_value_can_match():
    """parse_ts_sql tries each value against the formats with its separator and colon count only:
    it must parse exactly what trying every format in TS_FORMATS' order parses."""
    from fourguard import validate

    t = dt.datetime(2022, 6, 9, 8, 5, 7, 250000)
    values = [t.strftime(f) for f in validate.TS_FORMATS]
    values += ["2022/6/9 8:05", "2022-6-9 8:5:7", "2022年6月9日8:05", "2022年6月9日 8时5分", "2022/06-09 08:05",
               "2022-06-09 08:05:07:01", "2022.6.9", "2022-06-09T08:05:07.5", "2022年6月9日 08:05:07.5",
               "08:05 2022-06-09", "2022-06-09 8:05 ", "2022 06 09", "9/6/2022 08:05", "2022-06-31 08:05"]
    con = duckdb.connect()
    every = f"try_strptime(v, {validate.lit_list(validate.TS_FORMATS)})"
    got = con.execute(f"SELECT v, {validate.parse_ts_sql('v')}, {every} FROM unnest(?) AS u(v)", [values]).fetchall()
    assert [(v, a) for v, a, _ in got] == [(v, b) for v, _, b in got]
    assert sum(a is not None for _, a, _ in got) == len(validate.TS_FORMATS) + 6


def test_excel_date_cells_and_serial_numbers(tmp_path, base):
    path = write_feed(tmp_path / "t.xlsx", "tests", [sample("S1", sampled_at=dt.datetime(2022, 6, 9, 8, 5)),
                                                      sample("S2", sampled_at=44721.5)], fmt="xlsx", title="台账")
    [rep] = ingest.ingest_paths([path], base.db_path, base)
    assert rep.inserted == 2
    assert rows(base, "SELECT sampled_at FROM tests ORDER BY 1") == [(dt.datetime(2022, 6, 9, 8, 5),),
                                                                     (dt.datetime(2022, 6, 9, 12, 0),)]


@pytest.mark.parametrize("change,reason_code,words", [
    (dict(id_number="4.11322E+17"), "id_sci_notation", "科学计数法"),
    (dict(id_number=P1[:-1] + ("0" if P1[-1] != "0" else "1")), "id_check_digit", "校验位"),
    (dict(id_number=P1[:17]), "id_format", "18位"),
    (dict(id_number=""), "missing_id_number", "为空"),
    (dict(sampled_at="2022-13-45 25:00"), "time_format_sampled_at", "无法识别"),
    (dict(sampled_at="2099-06-09 08:00:00"), "time_future_sampled_at", "晚于当前时间"),
    (dict(result="阴"), "enum_result", "不在允许范围"),
    (dict(tube="鼻拭子"), "enum_tube", "不在允许范围"),
])
def test_bad_test_rows_are_quarantined_with_reason(tmp_path, base, change, reason_code, words):
    path = write_feed(tmp_path / "t.csv", "tests", [sample("OK"), {**sample("BAD"), **change}])
    [rep] = ingest.ingest_paths([path], base.db_path, base)
    assert (rep.inserted, rep.quarantined, rep.reasons) == (1, 1, {reason_code: 1})
    [(line, code, reason, raw)] = rows(base, "SELECT line, reason_code, reason, raw_row FROM quarantine")
    assert (line, code) == (3, reason_code) and words in reason
    assert json.loads(raw)["样本编号"] == "BAD"
    assert P1 not in raw and P1 not in reason  # never the clear ID


def test_excel_number_id_cell_is_rejected_as_such(tmp_path, base):
    path = write_feed(tmp_path / "r.xlsx", "roster",
                      [dict(id_number=411322199001011234, name="钱七", credit_code=E1, job_type="普通岗位")],
                      fmt="xlsx")
    [rep] = ingest.ingest_paths([path], base.db_path, base)
    assert rep.reasons == {"id_excel_number": 1}
    [(reason,)] = rows(base, "SELECT reason FROM quarantine")
    assert "存成了数字" in reason


@pytest.mark.parametrize("feed,row,reason_code", [
    ("registry", {**REGISTRY[0], "credit_code": E1[:-1] + ("0" if E1[-1] != "0" else "1")}, "credit_check_digit"),
    ("registry", {**REGISTRY[0], "county_code": "419999"}, "county_unknown"),
    ("registry", {**REGISTRY[0], "headcount": "很多"}, "number_headcount"),
    ("registry", {**REGISTRY[0], "removed_on": "2022-04-01"}, "removed_before_listed"),
    ("roster", {**ROSTER[0], "credit_code": credit_code("411322", 99)}, "ref_credit_code"),
    ("roster", {**ROSTER[0], "job_type": "管理岗"}, "enum_job_type"),
    ("production", dict(credit_code=E1, report_date="2022-06-08", status="停工"), "enum_status"),
    ("scans", dict(place_code="HN000000000000", id_number=P1, scanned_at="2022-06-08 08:00",
                   health_code="绿码"), "ref_place_code"),
    ("county_state", dict(county_code="411322", state="封控", since="2022-06-01 00:00"), "enum_state"),
])
def test_bad_rows_of_other_feeds(tmp_path, base, feed, row, reason_code):
    [rep] = ingest.ingest_paths([write_feed(tmp_path / "f.csv", feed, [row])], base.db_path, base)
    assert rep.reasons == {reason_code: 1}


def test_tests_of_people_on_no_roster_are_kept(tmp_path, base):
    stranger = id_number("411302", "20000101", 9)
    [rep] = ingest.ingest_paths([write_feed(tmp_path / "t.csv", "tests", [sample(person=stranger)])],
                                base.db_path, base)
    assert (rep.inserted, rep.quarantined) == (1, 0)


def test_loading_twice_and_overlapping_files_add_nothing(tmp_path, base):
    a = write_feed(tmp_path / "a.csv", "tests", [sample("S1"), sample("S2", P2)])
    b = write_feed(tmp_path / "b.csv", "tests", [sample("S2", P2), sample("S3")], encoding="gb18030")
    ingest.ingest_paths([a], base.db_path, base)
    again, overlap = ingest.ingest_paths([a, b], base.db_path, base)
    assert again.status == "skipped"
    assert (overlap.inserted, overlap.unchanged) == (1, 1)
    assert rows(base, "SELECT count(*) FROM tests") == [(3,)]


def test_a_later_export_updates_a_result(tmp_path, base):
    ingest.ingest_paths([write_feed(tmp_path / "a.csv", "tests", [sample(result="待复核")])], base.db_path, base)
    [rep] = ingest.ingest_paths([write_feed(tmp_path / "b.csv", "tests", [sample(result="阳性")])], base.db_path, base)
    assert (rep.inserted, rep.updated) == (0, 1)
    assert rows(base, "SELECT result FROM tests") == [("阳性",)]


def test_dependency_order_whatever_the_order_given(tmp_path, s):
    files = [write_feed(tmp_path / "1.csv", "tests", [sample()]),
             write_feed(tmp_path / "2.csv", "roster", ROSTER),
             write_feed(tmp_path / "3.csv", "registry", REGISTRY)]
    reports = ingest.ingest_paths(files, s.db_path, s)
    assert [r.feed for r in reports] == ["registry", "roster", "tests"]
    assert all(r.quarantined == 0 for r in reports)


def test_files_read_while_the_copy_is_made_load_as_they_would_in_turn(tmp_path, base, monkeypatch):
    """While the working copy is made, the files whose checks read nothing an earlier file of the run
    writes are read and validated against the database as it stands (ingest.check_ahead): the
    reports and the rows are those of loading every file in its turn."""
    e3 = credit_code("411322", 3)
    p3 = id_number("411322", "19950303", 789)
    ingest.ingest_paths([write_feed(tmp_path / "old.csv", "tests", [sample("S0")])], base.db_path, base)
    turn = Settings(db_path=tmp_path / "turn" / "fg.duckdb", hash_key=base.hash_key)
    turn.db_path.parent.mkdir()
    shutil.copyfile(base.db_path, turn.db_path)
    nul = write_feed(tmp_path / "nul.csv", "tests", [sample("S9")])
    nul.write_bytes(nul.read_bytes() + b"S10,\x00\n")
    files = [write_feed(tmp_path / "reg2.csv", "registry", [{**REGISTRY[0], "credit_code": e3, "name": "方城丙有限公司"}]),
             write_feed(tmp_path / "roster2.csv", "roster", [dict(id_number=p3, name="孙七", credit_code=e3,
                                                                   job_type="普通岗位")]),
             write_feed(tmp_path / "t1.csv", "tests", [sample("S1"), sample("S2", p3, "2022-06-08 09:00:00"),
                                                       sample("S3", P1, "2022-06-08 25:00")]),
             tmp_path / "t2.csv", nul, tmp_path / "old.csv"]
    files[3].write_bytes(files[2].read_bytes())  # the same content twice in one run
    in_turn = ingest.ingest_paths(files, turn.db_path, turn)

    release, ahead = threading.Event(), {}
    real_copy, real_writable, real_ahead = ingest.copy_file, ingest.Work.writable, ingest.check_ahead

    def slow_copy(src, dst):  # done only once every file that can go ahead has
        assert release.wait(30)
        return real_copy(src, dst)

    def writable(work):
        release.set()
        return real_writable(work)

    def check_ahead(con, path, *a):
        ahead[path.name] = real_ahead(con, path, *a)
        return ahead[path.name]

    monkeypatch.setattr(ingest, "copy_file", slow_copy)
    monkeypatch.setattr(ingest.Work, "writable", writable)
    monkeypatch.setattr(ingest, "check_ahead", check_ahead)
    early = ingest.ingest_paths(files, base.db_path, base)
    # the roster waits for the run's registry file; the rest went ahead, the refused and the loaded
    # ones only to be done again in their turn
    assert {name: a is not None for name, a in ahead.items()} == {
        "reg2.csv": True, "t1.csv": True, "t2.csv": True, "nul.csv": False, "old.csv": False}

    def summary(r):
        return (Path(r.file).name, r.status, r.feed, r.rows_read, r.inserted, r.updated, r.unchanged, r.quarantined,
                r.reasons, r.message)
    assert [summary(r) for r in early] == [summary(r) for r in in_turn]
    assert [summary(r)[:5] for r in early] == [
        ("reg2.csv", "loaded", "registry", 1, 1), ("roster2.csv", "loaded", "roster", 1, 1),
        ("nul.csv", "refused", None, 0, 0), ("old.csv", "skipped", None, 0, 0),
        ("t1.csv", "loaded", "tests", 3, 2), ("t2.csv", "skipped", None, 0, 0)]
    assert "NUL" in early[2].message and early[4].reasons == {"time_format_sampled_at": 1}
    for table, cols in (("tests", "sample_id, person_key, sampled_at, result, source_file"),
                        ("employees", "person_key, credit_code, name"), ("enterprises", "credit_code, name"),
                        ("quarantine", "file, line, reason_code, reason, raw_row"),
                        ("ingest_log", "file, file_sha256, status, rows_read, rows_inserted, message, max_data_at")):
        assert rows(base, f"SELECT {cols} FROM {table} ORDER BY ALL") == rows(turn, f"SELECT {cols} FROM {table} ORDER BY ALL")
    assert rows(base, "SELECT count(*) FROM tests") == [(3,)]


def test_a_copy_that_fails_while_files_are_read_ahead_loads_nothing(tmp_path, base, monkeypatch):
    """A working copy that fails (a full disk) fails the run once the files read meanwhile need it:
    the database is as it was and no half copy is left."""
    before = rows(base, "SELECT count(*), max(file) FROM ingest_log")
    size = base.db_path.stat().st_size
    read = []

    def full_disk(src, dst):
        Path(dst).write_bytes(b"\0" * 4096)
        time.sleep(0.5)  # the files are read meanwhile
        raise OSError(28, "No space left on device")

    real = ingest.check_ahead
    monkeypatch.setattr(ingest, "copy_file", full_disk)
    monkeypatch.setattr(ingest, "check_ahead", lambda con, path, *a: read.append(path.name) or real(con, path, *a))
    with pytest.raises(OSError, match="No space"):
        ingest.ingest_paths([write_feed(tmp_path / "t.csv", "tests", [sample()])], base.db_path, base)
    assert read == ["t.csv"]
    assert rows(base, "SELECT count(*), max(file) FROM ingest_log") == before
    assert rows(base, "SELECT count(*) FROM tests") == [(0,)] and base.db_path.stat().st_size == size
    assert not base.db_path.with_name(base.db_path.name + ".next").exists()


def test_the_working_copy_is_exact_with_or_without_copy_file_range(tmp_path, monkeypatch):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20) + b"end")
    ingest.copy_file(src, tmp_path / "a.bin")  # copy_file_range (here ext4: copied in the kernel)
    assert (tmp_path / "a.bin").read_bytes() == src.read_bytes()
    calls = []

    def unsupported(*a):
        calls.append(a)
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    monkeypatch.setattr(ingest.os, "copy_file_range", unsupported)
    ingest.copy_file(src, tmp_path / "b.bin")  # another file system: shutil.copyfile
    assert (tmp_path / "b.bin").read_bytes() == src.read_bytes() and len(calls) == 1
    monkeypatch.setattr(ingest.os, "copy_file_range", lambda *a: 0)  # "copied nothing": plainly again
    ingest.copy_file(src, tmp_path / "c.bin")
    assert (tmp_path / "c.bin").read_bytes() == src.read_bytes()

    def full(*a):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(ingest.os, "copy_file_range", full)
    with pytest.raises(OSError, match="No space"):
        ingest.copy_file(src, tmp_path / "d.bin")


def test_quarantined_rows_retry_when_the_reference_arrives(tmp_path, s, monkeypatch):
    ingest.ingest_paths([write_feed(tmp_path / "r.csv", "roster", ROSTER)], s.db_path, s)
    assert rows(s, "SELECT count(*) FROM quarantine WHERE retryable AND resolved_at IS NULL") == [(2,)]
    # A run that brings no registry or place-code rows cannot resolve them: no retry is attempted.
    retries = []
    real = ingest.retry_quarantine
    monkeypatch.setattr(ingest, "retry_quarantine", lambda *a: retries.append(1) or real(*a))
    ingest.ingest_paths([write_feed(tmp_path / "t.csv", "tests", [sample()])], s.db_path, s)
    assert retries == []
    reports = ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY)], s.db_path, s)
    assert [r.status for r in reports] == ["loaded", "retried"] and retries == [1]
    assert rows(s, "SELECT name, id_masked FROM employees ORDER BY name") == [
        ("王五", P1[:4] + "*" * 10 + P1[-4:]), ("赵六", P2[:4] + "*" * 10 + P2[-4:])]
    assert rows(s, "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL") == [(0,)]


def test_scans_held_for_an_unknown_place_code_load_once_the_place_arrives(tmp_path, s):
    scan = dict(place_code="PC-NEW", id_number=P1, scanned_at="2022-06-08 08:00", health_code="绿码")
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY),
                         write_feed(tmp_path / "s.csv", "scans", [scan])], s.db_path, s)
    assert rows(s, "SELECT reason_code FROM quarantine WHERE resolved_at IS NULL") == [("ref_place_code",)]
    reports = ingest.ingest_paths([write_feed(tmp_path / "p.csv", "places", [
        dict(place_code="PC-NEW", credit_code=E1, place_name="新大门", kind="出入口")])], s.db_path, s)
    assert [(r.status, r.inserted) for r in reports] == [("loaded", 1), ("retried", 1)]
    assert rows(s, "SELECT place_code, health_code FROM scans") == [("PC-NEW", "绿码")]


@pytest.mark.parametrize("content,words", [
    ("a,b,c\n1,2,3\n", "找不到可识别的表头"),
    ("样本编号,身份证号,姓名,检测结果,检测方式\nS1,x,y,阴性,单管\n", "缺少必需列：采样时间"),
    ("", "空"),
    (b"\x00\x01\x02binary\xff\xfe" * 100, "编码"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old-xls", ".xls"),
])
def test_bad_files_are_refused_by_name_and_others_still_load(tmp_path, base, content, words):
    bad = tmp_path / "坏文件.csv"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    good = write_feed(tmp_path / "good.csv", "tests", [sample()])
    reports = {Path(r.file).name: r for r in ingest.ingest_paths([bad, good], base.db_path, base)}
    assert reports["坏文件.csv"].status == "refused"
    assert "坏文件.csv" in reports["坏文件.csv"].message and words in reports["坏文件.csv"].message
    assert reports["good.csv"].inserted == 1


def test_cli_exits_nonzero_when_a_file_is_refused(tmp_path, base, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n", encoding="utf-8")
    assert cli(["ingest", str(bad), "--db", str(base.db_path)]) == 1
    assert "bad.csv" in capsys.readouterr().out


def test_no_clear_id_number_anywhere_in_the_database(tmp_path, base):
    bad = {**sample("BAD"), "result": "阴"}
    ingest.ingest_paths([write_feed(tmp_path / "t.csv", "tests", [sample(), bad])], base.db_path, base)
    con = duckdb.connect(str(base.db_path), read_only=True)
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        text = json.dumps(con.execute(f"SELECT * FROM {table}").fetchall(), default=str, ensure_ascii=False)
        assert P1 not in text and P2 not in text, table
    con.close()


def test_a_killed_load_leaves_the_database_as_it_was(tmp_path, base):
    before = rows(base, "SELECT count(*) FROM enterprises")[0][0], base.db_path.read_bytes()
    big = write_feed(tmp_path / "big.csv", "tests",
                     [sample(f"S{i}", sampled_at="2022-06-08 08:00:00") for i in range(200_000)])
    env = {**os.environ, "FOURGUARD_HASH_KEY": "test-key"}
    proc = subprocess.Popen([sys.executable, "-m", "fourguard", "ingest", str(big), "--db", str(base.db_path)],
                            env=env, cwd=Path(__file__).parent.parent, stdout=subprocess.DEVNULL)
    work = base.db_path.with_name(base.db_path.name + ".next")
    deadline = time.time() + 60
    while not work.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert base.db_path.read_bytes() == before[1]
    # The next load starts clean from the untouched original and completes.
    [rep] = ingest.ingest_paths([write_feed(tmp_path / "t.csv", "tests", [sample()])], base.db_path, base)
    assert rep.inserted == 1 and not work.exists()
    assert rows(base, "SELECT count(*) FROM tests") == [(1,)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_feed_is_recognised_in_large_files_whatever_the_byte_boundary(tmp_path, encoding, pad):
    from fourguard import readers
    people = [dict(id_number=P1, name="欧阳" + "娜" * (1 + (i + pad) % 3), credit_code=E1, job_type="普通岗位")
              for i in range(3000)]
    path = write_feed(tmp_path / "r.csv", "roster", people, encoding=encoding, title="方城县员工花名册" + "x" * pad)
    assert path.stat().st_size > 1 << 16
    assert readers.peek_feed(path).name == "roster"


def test_id_check_digit_sql_agrees_with_stdnum():
    """The SQL check digit against python-stdnum's, for bodies giving each of the 11 check characters
    (X included) and for the extremes of every digit position."""
    import random

    from stdnum.cn import ric

    from fourguard import validate
    rnd = random.Random(7)
    bodies = ["0" * 17, "9" * 17] + ["".join(rnd.choice("0123456789") for _ in range(17)) for _ in range(3000)]
    ids = [b + ric.calc_check_digit(b + "0") for b in bodies]
    assert {i[-1] for i in ids} == set("0123456789X")
    sql = f"SELECT n, {validate._id_check_sql('CAST(left(n, 17) AS BIGINT)')} FROM unnest(?) AS t(n)"
    got = dict(duckdb.connect().execute(sql, [ids]).fetchall())
    assert [got[i] for i in ids] == [i[-1] for i in ids]


def test_all_digit_credit_code_survives_quarantine_and_retry(tmp_path, s):
    body = "91411322000000000"  # all digits: must not be mistaken for an ID and masked
    digits = body + uscc.calc_check_digit(body)
    roster = [dict(id_number=P1, name="王五", credit_code=digits, job_type="普通岗位")]
    ingest.ingest_paths([write_feed(tmp_path / "r.csv", "roster", roster)], s.db_path, s)
    [(raw,)] = rows(s, "SELECT raw_row FROM quarantine")
    assert json.loads(raw)["统一社会信用代码"] == digits
    registry = [{**REGISTRY[0], "credit_code": digits}]
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", registry)], s.db_path, s)
    assert rows(s, "SELECT credit_code FROM employees") == [(digits,)]


FEED_ROWS = {  # one valid row per feed, and a value that shows it was typed correctly
    "registry": (REGISTRY[0], "SELECT headcount FROM enterprises", 120),
    "county_state": (dict(county_code="411322", state="应急", since="2022年6月1日 08:00"),
                     "SELECT since FROM county_states", dt.datetime(2022, 6, 1, 8, 0)),
    "sector_output": (dict(county_code="411322", sector="工业生产", sector_output_wan_yuan="12,345.5"),
                      "SELECT sector_output_wan_yuan FROM sector_outputs", 12345.5),
    "roster": (ROSTER[0], "SELECT job_type FROM employees", "普通岗位"),
    "places": (dict(place_code="HN411322000001", credit_code=E1, place_name="1号门", kind="出入口"),
               "SELECT place_code FROM places", "HN411322000001"),
    "production": (dict(credit_code=E1, report_date="2022/6/8", status="闭环生产", output_wan_yuan=12.5,
                        capacity_pct="85%", on_duty=100, power_kwh=3000),
                   "SELECT capacity_pct FROM production", 85.0),
    "issues": (dict(issue_id="SB1", credit_code=E1, category="物流运输", detail="原料运输车辆通行证办理难",
                    reported_at="2022-06-08 09:00", source="12345热线"),
               "SELECT reported_at FROM issues", dt.datetime(2022, 6, 8, 9, 0)),
    "tests": (sample(), "SELECT resulted_at FROM tests", dt.datetime(2022, 6, 8, 14, 0)),
    "scans": (dict(place_code="HN411322000001", id_number=P1, scanned_at="2022-06-08 07:55", health_code="黄码"),
              "SELECT health_code FROM scans", "黄码"),
}


@pytest.mark.parametrize("feed", list(FEED_ROWS))
@pytest.mark.parametrize("fmt,encoding,title", [("csv", "gb18030", "某县台账"), ("csv", "utf-8-sig", None),
                                                ("xlsx", None, "某县台账"), ("parquet", None, None)])
def test_every_feed_in_every_format(tmp_path, base, feed, fmt, encoding, title):
    row, query, expected = FEED_ROWS[feed]
    places = write_feed(tmp_path / "places.csv", "places", [FEED_ROWS["places"][0]])
    path = write_feed(tmp_path / f"f.{fmt}", feed, [row], fmt=fmt, encoding=encoding or "utf-8", title=title)
    reports = ingest.ingest_paths([path, places], base.db_path, base)
    mine = next(r for r in reports if Path(r.file).name == path.name)
    assert (mine.feed, mine.quarantined, mine.loaded + mine.unchanged) == (feed, 0, 1)
    assert rows(base, query)[0][0] == expected
