"""Twenty processes write back on the same few issues at once, each retrying a refused (stale) write the
way an official does — reload, submit again: no update is lost, none is applied twice."""
from __future__ import annotations

import multiprocessing as mp
import random
import sqlite3
from collections import Counter
from pathlib import Path

from fourguard import issues, store

WRITERS, WRITES_EACH = 20, 5
ISSUES = ("I1", "I2", "I3")


def current(path: Path, issue_id: str) -> tuple[str, int]:
    """What the form shows after a reload: the issue's state and version, fresh from the store."""
    con = store._open(path)
    try:
        row = con.execute("SELECT to_state FROM issue_events WHERE issue_id = ? ORDER BY event_id DESC LIMIT 1",
                          (issue_id,)).fetchone()
        return row[0], store.issue_version(con, issue_id)
    finally:
        con.close()


def official(path: str, writer: int, start, out) -> None:
    """One person: WRITES_EACH progress notes on random issues; a Conflict means reload and submit again."""
    rng = random.Random(writer)
    done, conflicts = [], 0
    start.wait()
    for n in range(WRITES_EACH):
        issue_id = rng.choice(ISSUES)
        note = f"writer {writer} note {n}"
        while True:
            state, version = current(Path(path), issue_id)
            try:
                new = issues.apply(Path(path), issue_id, "progress", state, version, f"干部{writer}", note=note)
                done.append((issue_id, new, note))
                break
            except store.Conflict:
                conflicts += 1
    out.put((done, conflicts))


def test_twenty_concurrent_write_backs_lose_no_update(tmp_path):
    path = store.store_path(tmp_path / "fg.duckdb")
    for issue_id in ISSUES:  # each issue 办理中 (version 2) before the rush
        issues.apply(path, issue_id, "start", "已交办", issues.apply(path, issue_id, "assign", "待交办", 0, "县指挥部",
                                                                  department="县工信局"), "县工信局")
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=official, args=(str(path), w, start, out)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    writes = [w for done, _ in results for w in done]
    assert len(writes) == WRITERS * WRITES_EACH  # every write eventually succeeded
    assert sum(c for _, c in results) > 0, "the writers never raced: the test proved nothing"

    con = sqlite3.connect(path)
    per_issue = Counter(issue_id for issue_id, _, _ in writes)
    for issue_id in ISSUES:
        notes = [n for (n,) in con.execute("SELECT note FROM issue_events WHERE issue_id = ? AND to_state = '办理中' "
                                           "AND from_state = '办理中' ORDER BY event_id", (issue_id,))]
        mine = sorted(note for i, _, note in writes if i == issue_id)
        assert sorted(notes) == mine  # each successful write is there exactly once, nothing else
        versions = sorted(v for i, v, _ in writes if i == issue_id)
        assert versions == list(range(3, 3 + per_issue[issue_id]))  # versions 3..N handed out once each
        assert con.execute("SELECT version FROM issue_versions WHERE issue_id = ?", (issue_id,)).fetchone() == \
            (2 + per_issue[issue_id],)
    # One audit row per write (plus the six set-up writes), and none for a refused attempt.
    assert con.execute("SELECT count(*) FROM audit").fetchone()[0] == len(writes) + 2 * len(ISSUES)
    assert con.execute("SELECT count(*) FROM issue_events").fetchone()[0] == len(writes) + 2 * len(ISSUES)
    con.close()
