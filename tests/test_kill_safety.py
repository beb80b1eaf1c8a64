"""Kill safety: SIGKILL an ingest or a write-back at each step; the database and the write store stay
consistent (as before, or as after), and running the same operation again gives one clean run's result.

The child processes are the real CLI / store code with one function wrapped to kill the process at
that point (no hooks in the product); test_ingest.py has the timing-based kill of a plain load.
"""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from fourguard import ingest, issues, store
from fourguard.config import Settings
from tests.feedfiles import credit_code, write_feed
from tests.test_ingest import E1, P1, P2, REGISTRY, ROSTER, sample

ROOT = Path(__file__).parent.parent
KEY = "test-key"
E3 = credit_code("411302", 3)

# The child: the real CLI (or a write-back), with one step wrapped to SIGKILL the process there.
DRIVER = r'''
import os, shutil, signal, sys
import duckdb
from fourguard import ingest, issues, readers, store
stage, args = sys.argv[1], sys.argv[2:]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def kill_after(module, name, calls=1):
    original, seen = getattr(module, name), [0]
    def wrapped(*a, **kw):
        result = original(*a, **kw)
        seen[0] += 1
        if seen[0] == calls:
            die()
        return result
    setattr(module, name, wrapped)

def kill_before(module, name, calls=1):
    original, seen = getattr(module, name), [0]
    def wrapped(*a, **kw):
        seen[0] += 1
        if seen[0] == calls:
            die()
        return original(*a, **kw)
    setattr(module, name, wrapped)

class Killing:
    """A connection that dies just before (or after) running a statement starting with `word`."""
    def __init__(self, con, word, after=False):
        self._con, self._word, self._after = con, word, after
    def execute(self, sql, *a):
        hit = sql.lstrip().upper().startswith(self._word)
        if hit and not self._after:
            die()
        result = self._con.execute(sql, *a)
        if hit:
            die()
        return result
    def __getattr__(self, name):
        return getattr(self._con, name)

def half_copy(src, dst):
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(fin.read(os.path.getsize(src) // 2))
    die()

if stage == "copying":
    ingest.copy_file = half_copy
elif stage == "reading":
    kill_after(readers, "read_source")
elif stage == "merging":
    kill_after(ingest, "_merge")
elif stage == "quarantining":
    kill_after(ingest, "_quarantine")
elif stage == "second_file":
    kill_before(ingest, "ingest_file", calls=2)
elif stage == "retrying":
    kill_after(ingest, "_merge", calls=4)     # the retry's merge, after the three files
elif stage in ("checkpoint", "detached"):
    connect = duckdb.connect
    word, after = ("CHECKPOINT", False) if stage == "checkpoint" else ("DETACH", True)
    ingest.duckdb = type("D", (), {"connect": staticmethod(lambda *a, **k: Killing(connect(*a, **k), word, after)),
                                   "Error": duckdb.Error})
elif stage == "before_rename":
    kill_before(os, "replace")
elif stage == "after_rename":
    kill_after(os, "replace")
elif stage.startswith("wb_"):
    word = {"wb_event": "INSERT INTO ISSUE_VERSIONS", "wb_audit": "INSERT INTO AUDIT", "wb_commit": "COMMIT",
            "wb_committed": "COMMIT"}[stage]
    opened = store._open
    store._open = lambda path: Killing(opened(path), word, after=stage == "wb_committed")
    issues.apply(args[0], "I1", "assign", "待交办", 0, "甲", department="县工信局")
    sys.exit(0)
from fourguard.__main__ import main
sys.exit(main(args))
'''

INGEST_STAGES = ["copying", "reading", "merging", "quarantining", "second_file", "retrying", "checkpoint",
                 "detached", "before_rename", "after_rename"]


def child(stage: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, stage, *args], cwd=ROOT,
                            env={**os.environ, "FOURGUARD_HASH_KEY": KEY},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def state(db: Path) -> dict[str, list]:
    """Every feed table, the quarantine and the log's outcomes, without the times a run stamps."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
            cols = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = ? ORDER BY ordinal_position", [name]).fetchall()]
            if name == "ingest_log":
                cols = ["file", "file_sha256", "status", "rows_read", "rows_inserted", "rows_updated", "rows_unchanged",
                        "rows_quarantined"]
            keep = [f"{c} IS NOT NULL" if c == "resolved_at" else c for c in cols
                    if c not in ("loaded_at", "quarantined_at")]
            out[name] = sorted(con.execute(f"SELECT {', '.join(keep)} FROM {name}").fetchall(), key=repr)
        return out
    finally:
        con.close()


def without_log(st: dict) -> dict:
    return {k: v for k, v in st.items() if k != "ingest_log"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """A database with data and a held row, the folder one ingest loads, and that ingest's clean result."""
    d = tmp_path_factory.mktemp("kill")
    base = d / "base" / "fg.duckdb"
    s = Settings(db_path=base, hash_key=KEY)
    held = dict(id_number=P2, name="赵六", credit_code=E3, job_type="保供岗位")  # waits for E3's registry row
    ingest.ingest_paths([write_feed(d / "reg.csv", "registry", REGISTRY),
                         write_feed(d / "ros.csv", "roster", ROSTER + [held]),
                         write_feed(d / "t0.csv", "tests", [sample("S0")])], base, s)
    op = d / "op"
    op.mkdir()
    write_feed(op / "白名单企业_新增.csv", "registry",
               [{**REGISTRY[0], "credit_code": E3, "name": "宛城丙制药有限公司", "county_code": "411302"}])
    write_feed(op / "企业诉求.csv", "issues", [dict(issue_id="I1", credit_code=E1, category="用工需求",
                                                 detail="缺普工20人", reported_at="2022-06-08 09:00")])
    write_feed(op / "核酸检测_20220608.csv", "tests",
               [sample(f"S{i}", P1 if i % 2 else P2) for i in range(1, 20_001)]
               + [sample("BAD1", result="阴"), sample("BAD2", sampled_at="2099-01-01 00:00")], encoding="gb18030")
    clean = d / "clean" / "fg.duckdb"
    clean.parent.mkdir()
    shutil.copyfile(base, clean)
    reports = ingest.ingest_paths([op], clean, Settings(db_path=clean, hash_key=KEY))
    assert [r.status for r in reports] == ["loaded", "loaded", "loaded", "retried"]
    return base, op, state(clean)


def fresh(scenario, tmp_path) -> tuple[Path, Path, dict]:
    base, op, clean = scenario
    db = tmp_path / "store" / "fg.duckdb"
    db.parent.mkdir()
    shutil.copyfile(base, db)
    return db, op, clean


@pytest.mark.parametrize("stage", INGEST_STAGES)
def test_an_ingest_killed_at_any_step_is_as_before_or_after_and_repeatable(scenario, tmp_path, stage):
    db, op, clean = fresh(scenario, tmp_path)
    before = state(db)
    proc = child(stage, "ingest", str(op), "--db", str(db))
    assert proc.wait(timeout=300) == -signal.SIGKILL, proc.stderr.read()
    work = db.with_name(db.name + ".next")
    if stage == "after_rename":
        assert state(db) == clean  # the new snapshot is complete the moment it has its name
    else:
        assert state(db) == before  # a half-made copy is never seen
        assert stage == "copying" or work.exists()  # the kill left a .next behind …
    # … which the next run discards: it loads every file again from the untouched original.
    reports = ingest.ingest_paths([op], db, Settings(db_path=db, hash_key=KEY))
    assert [r.status for r in reports] == (["skipped"] * 3 if stage == "after_rename" else ["loaded"] * 3 + ["retried"])
    assert not work.exists()
    after = state(db)
    assert without_log(after) == without_log(clean)
    loaded = [row for row in after["ingest_log"] if row[2] == "loaded"]
    assert loaded == [row for row in clean["ingest_log"] if row[2] == "loaded"]  # each file loaded once


@pytest.mark.parametrize("delay", [0.0, 0.4, 1.2, 3.0])
def test_an_ingest_killed_at_a_random_moment_is_as_before_or_after(scenario, tmp_path, delay):
    """Whatever DuckDB was doing (copying, loading, checkpointing, renaming) when the kill came."""
    db, op, clean = fresh(scenario, tmp_path)
    before = state(db)
    proc = child("none", "ingest", str(op), "--db", str(db))
    work = db.with_name(db.name + ".next")
    deadline = time.time() + 120
    while not work.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert without_log(state(db)) in (without_log(before), without_log(clean))
    ingest.ingest_paths([op], db, Settings(db_path=db, hash_key=KEY))
    assert without_log(state(db)) == without_log(clean) and not work.exists()


# ---- write-backs

def store_state(path: Path) -> dict[str, list]:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {"events": con.execute("SELECT issue_id, actor, from_state, to_state, department FROM issue_events "
                                      "ORDER BY event_id").fetchall(),
                "versions": con.execute("SELECT * FROM issue_versions ORDER BY 1").fetchall(),
                "audit": con.execute("SELECT actor, action, scope, detail FROM audit ORDER BY audit_id").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("stage", ["wb_event", "wb_audit", "wb_commit", "wb_committed"])
def test_a_write_back_killed_mid_transaction_is_all_or_nothing_and_repeatable(tmp_path, stage):
    path = store.store_path(tmp_path / "fg.duckdb")
    issues.apply(path, "I0", "assign", "待交办", 0, "乙", department="县发改委")  # the store holds something
    before = store_state(path)
    proc = child(stage, str(path))
    assert proc.wait(timeout=120) == -signal.SIGKILL, proc.stderr.read()
    if stage == "wb_committed":  # killed after COMMIT: the write is there, whole
        assert store.version(path) == 2 and store_state(path)["versions"] == [("I0", 1), ("I1", 1)]
        # Submitting the same form again is refused, not applied twice.
        with pytest.raises(store.Conflict):
            issues.apply(path, "I1", "assign", "待交办", 0, "甲", department="县工信局")
    else:
        assert store_state(path) == before and store.version(path) == 1
        assert issues.apply(path, "I1", "assign", "待交办", 0, "甲", department="县工信局") == 1
    clean = store.store_path(tmp_path / "clean.duckdb")
    issues.apply(clean, "I0", "assign", "待交办", 0, "乙", department="县发改委")
    issues.apply(clean, "I1", "assign", "待交办", 0, "甲", department="县工信局")
    got, want = store_state(path), store_state(clean)
    assert got["events"] == want["events"] and got["versions"] == want["versions"]
    assert [a[:3] for a in got["audit"]] == [a[:3] for a in want["audit"]]
