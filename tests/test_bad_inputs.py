"""Bad days: every file of the corpus (tests/badinputs.py) loads or is refused as stated, nothing else
changes, no clear ID number is kept; 2 GB files are handled in bounded memory; HTML shows as text."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from fourguard import ingest
from fourguard.config import Settings
from tests.badinputs import BASE, CLEAR_IDS, CORPUS, HTML, BadInput
from tests.conftest import run_page
from tests.feedfiles import write_feed
from tests.test_ingest import E1, sample
from tests.test_kill_safety import state, without_log
from tests.test_personal_data import Leaks, digit_runs, file_text

ROOT = Path(__file__).parent.parent
KEY = "test-key"
HEADER = "样本编号,身份证号,姓名,采样时间,检测结果,结果时间,检测方式\n"


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """The database every bad file arrives at: registry, roster, a test and an issue."""
    d = tmp_path_factory.mktemp("base")
    s = Settings(db_path=d / "fg.duckdb", hash_key=KEY)
    reports = ingest.ingest_paths([write_feed(d / f"{feed}.csv", feed, rows) for feed, rows in BASE.items()],
                                  s.db_path, s)
    assert all(r.status == "loaded" and r.quarantined == 0 for r in reports)
    return s.db_path


def copy_of(base: Path, tmp_path: Path) -> Settings:
    db = tmp_path / "store" / "fg.duckdb"
    db.parent.mkdir()
    shutil.copyfile(base, db)
    return Settings(db_path=db, hash_key=KEY)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_bad_input(case: BadInput, base_db, tmp_path):
    s = copy_of(base_db, tmp_path)
    before = without_log(state(s.db_path))
    bad = tmp_path / case.name
    bad.write_bytes(case.make())
    good = write_feed(tmp_path / "good.csv", "tests", [sample("G1")])
    reports = {Path(r.file).name: r for r in ingest.ingest_paths([bad, good], s.db_path, s)}
    rep = reports[case.name]
    assert reports["good.csv"].inserted == 1  # the other file of the same run still loads
    after = without_log(state(s.db_path))
    con = duckdb.connect(str(s.db_path), read_only=True)
    if case.outcome == "refused":
        assert rep.status == "refused"
        assert case.name in rep.message and all(w in rep.message for w in case.words), rep.message
        new_tests = set(after.pop("tests")) - set(before.pop("tests"))
        assert [row[0] for row in new_tests] == ["G1"]
        assert after == before  # nothing of the refused file anywhere
    else:
        assert rep.status == "loaded", rep.message
        assert (rep.inserted, rep.updated, rep.unchanged, rep.quarantined) == case.counts
        assert rep.reasons == case.reasons
        assert con.execute("SELECT count(*) FROM quarantine WHERE file = ?", [str(bad)]).fetchone()[0] == case.counts[3]
    if case.check:
        sql, expected = case.check
        assert con.execute(sql).fetchall() == expected
    # The log keeps the outcome under the file's name, and nothing anywhere holds a clear ID.
    assert con.execute("SELECT status FROM ingest_log WHERE file = ?", [str(bad)]).fetchall() == [(rep.status,)]
    con.close()
    leaks = Leaks(set(CLEAR_IDS))
    assert leaks(digit_runs(s.db_path, set(CLEAR_IDS)) + rep.line()) == []
    assert leaks(file_text(s.db_path)) == []


def test_loading_a_bad_file_again_changes_nothing(base_db, tmp_path):
    s = copy_of(base_db, tmp_path)
    cases = [c for c in CORPUS if c.name in ("cut_mid_row.csv", "bad_ids.csv", "nul_byte.csv")]
    paths = []
    for case in cases:
        paths.append(tmp_path / case.name)
        paths[-1].write_bytes(case.make())
    ingest.ingest_paths(paths, s.db_path, s)
    once = without_log(state(s.db_path))
    again = ingest.ingest_paths(paths, s.db_path, s)
    assert sorted(r.status for r in again) == ["refused", "skipped", "skipped"]
    assert without_log(state(s.db_path)) == once


def test_a_later_export_wins_across_files_and_runs(base_db, tmp_path):
    """Files of one run load in name order (exports carry their date); a later run updates an earlier one."""
    s = copy_of(base_db, tmp_path)
    early = write_feed(tmp_path / "核酸检测_20220608.csv", "tests", [sample("S1", result="待复核")])
    late = write_feed(tmp_path / "核酸检测_20220609.csv", "tests", [sample("S1", result="阳性")])
    reports = ingest.ingest_paths([late, early], s.db_path, s)
    assert [Path(r.file).name for r in reports] == [early.name, late.name]
    con = duckdb.connect(str(s.db_path), read_only=True)
    assert con.execute("SELECT result FROM tests WHERE sample_id = 'S1'").fetchall() == [("阳性",)]
    con.close()
    again = write_feed(tmp_path / "核酸检测_20220610.csv", "tests", [sample("S1", result="阴性")])
    [rep] = ingest.ingest_paths([again], s.db_path, s)
    assert (rep.inserted, rep.updated) == (0, 1)


# ---- 2 GB files: refused or loaded, in bounded memory

def run_ingest(path: Path, db: Path, memory_limit: str | None = None) -> tuple[int, str, float, float]:
    """`python -m fourguard ingest` in a child process: (exit code, stdout, peak RSS in MB, seconds).

    The peak is the child's own VmHWM, read as it exits: its ru_maxrss would include the pytest
    process it was forked from.
    """
    patch = f"import fourguard.ingest as i; i.INGEST_MEMORY_LIMIT = {memory_limit!r}; " if memory_limit else ""
    code = (f"{patch}import atexit, re, sys; atexit.register(lambda: print('VmHWM', re.search(r'VmHWM:\\s*(\\d+)', "
            "open('/proc/self/status').read()).group(1), file=sys.stderr)); "
            "from fourguard.__main__ import main; sys.exit(main(sys.argv[1:]))")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, "ingest", str(path), "--db", str(db)], cwd=ROOT,
                          env={**os.environ, "FOURGUARD_HASH_KEY": KEY}, capture_output=True, text=True)
    peak_kb = int(re.search(r"VmHWM (\d+)", proc.stderr).group(1))
    return proc.returncode, proc.stdout, peak_kb / 1024, time.perf_counter() - t0


def write_rows(path: Path, n: int) -> Path:
    """A valid tests feed of n distinct rows, written in blocks (a generator, not a list of n rows)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for start in range(0, n, 100_000):
            fh.write("".join(f"S{i:010d},{CLEAR_IDS[i % 2]},王五,2022-06-08 08:00:00,阴性,2022-06-08 14:00:00,单管\n"
                             for i in range(start, min(n, start + 100_000))))
    return path


def test_a_2gb_sparse_file_is_refused_quickly_in_bounded_memory(base_db, tmp_path):
    s = copy_of(base_db, tmp_path)
    before = without_log(state(s.db_path))
    big = tmp_path / "核酸检测_2GB.csv"
    with open(big, "wb") as fh:  # a header, the start of a row, then 2 GB of holes (NUL bytes on reading)
        fh.write((HEADER + "S1,").encode())
        fh.truncate(2 << 30)
    code, out, rss_mb, seconds = run_ingest(big, s.db_path)
    assert code == 1 and big.name in out and "NUL" in out, out
    assert rss_mb < 400 and seconds < 60, (rss_mb, seconds)
    assert without_log(state(s.db_path)) == before


def test_a_large_file_loads_in_bounded_memory(base_db, tmp_path):
    """1M rows with the load's memory capped at 256 MB: peak RSS stays ~0.45 GB (uncapped it is ~0.9 GB)."""
    s = copy_of(base_db, tmp_path)
    big = write_rows(tmp_path / "核酸检测_大.csv", 1_000_000)
    code, out, rss_mb, seconds = run_ingest(big, s.db_path, memory_limit="256MB")
    assert code == 0 and "新增 1,000,000" in out, out
    assert rss_mb < 650, rss_mb
    assert not list(tmp_path.rglob("*.tmp")) and not (ROOT / ".tmp").exists()  # spill files are cleaned up


@pytest.mark.skipif(not os.environ.get("FOURGUARD_BIG_TESTS"), reason="2 GB of rows: set FOURGUARD_BIG_TESTS=1")
def test_a_2gb_file_of_rows_loads_in_bounded_memory(base_db, tmp_path):
    s = copy_of(base_db, tmp_path)
    big = write_rows(tmp_path / "核酸检测_2GB.csv", 24_000_000)
    assert big.stat().st_size > 2 << 30
    code, out, rss_mb, seconds = run_ingest(big, s.db_path)
    print(f"2 GB: {seconds:.0f} s, peak RSS {rss_mb:.0f} MB")
    assert code == 0 and "新增 24,000,000" in out, out
    assert rss_mb < 2500, rss_mb


# ---- HTML in issue text is shown as text

def test_html_in_an_issue_is_shown_as_text(base_db, tmp_path, app_on):
    s = copy_of(base_db, tmp_path)
    issue = dict(issue_id="H1", credit_code=E1, category="其他", detail=HTML, reported_at="2022-06-08 07:00")
    ingest.ingest_paths([write_feed(tmp_path / "h.csv", "issues", [issue])], s.db_path, s)
    app_on(s)
    at = run_page("06_enterprise.py", ent=E1)
    shown = [df.value for df in at.dataframe if "诉求编号" in df.value.columns]
    assert shown and HTML in set(shown[0]["内容"])  # the exact text, not parsed into markup
    markup = [m.value for m in at.markdown] + [m.value for m in at.caption]
    assert not any("<script" in m or "onerror" in m for m in markup)
