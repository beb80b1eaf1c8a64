"""Live operation: a load runs beside an app process that keeps reading and writing back."""
from __future__ import annotations

import multiprocessing as mp
import time

import duckdb

from fourguard import db, ingest, store
from fourguard.config import Settings
from tests.feedfiles import write_feed
from tests.test_ingest import REGISTRY, ROSTER, sample


def app_process(db_path: str, key: str, ready, updated, stop, out) -> None:
    """Like a dashboard: read every 20 ms (reconnecting on a new snapshot) and write back often."""
    seen, writes, errors, version = [], 0, [], 0
    try:
        s = Settings(db_path=db_path, hash_key=key)
        reader = db.connect(db_path, s)
        while not stop.is_set():
            try:
                if not reader.is_current():
                    reader.close()
                    reader = db.connect(db_path, s)
                seen.append(reader.cursor().execute("SELECT count(*) FROM raw.tests").fetchone()[0])
                if seen[-1] != seen[0]:
                    updated.set()
                version = store.append_issue_event(store.store_path(db_path), "SB1", version, "县指挥部",
                                                   None, "已交办", department="县工信局")
                writes += 1
                ready.set()
            except Exception as exc:  # any failure is a finding, reported to the test
                errors.append(repr(exc))
            time.sleep(0.02)
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        out.put({"seen": seen, "writes": writes, "errors": errors})


def test_load_beside_a_reading_and_writing_app(tmp_path):
    s = Settings(db_path=tmp_path / "fg.duckdb", hash_key="k")
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY),
                         write_feed(tmp_path / "roster.csv", "roster", ROSTER),
                         write_feed(tmp_path / "t0.csv", "tests", [sample("S0")])], s.db_path, s)
    big = write_feed(tmp_path / "big.csv", "tests", [sample(f"S{i}") for i in range(1, 150_001)])

    ctx = mp.get_context("spawn")
    ready, updated, stop, out = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=app_process, args=(str(s.db_path), "k", ready, updated, stop, out))
    proc.start()
    assert ready.wait(timeout=180), "the app process never served a read"
    [rep] = ingest.ingest_paths([big], s.db_path, s)
    updated.wait(timeout=180)  # the app notices the new snapshot on a later read
    time.sleep(0.5)  # and goes on reading and writing for a moment after
    stop.set()
    result = out.get(timeout=180)
    proc.join(timeout=60)

    assert rep.inserted == 150_000
    assert result["errors"] == []
    seen = result["seen"]
    assert seen[0] == 1 and seen[-1] == 150_001  # the new data appears once the load commits
    assert seen == sorted(seen) and set(seen) == {1, 150_001}  # never a half-loaded count
    # Every write-back made before, during and after the load is there.
    con = store._open(store.store_path(s.db_path))
    assert con.execute("SELECT count(*) FROM issue_events").fetchone()[0] == result["writes"] > 10
    con.close()
    # And the reader mirrors them into its views.
    reader = db.connect(s.db_path, s)
    assert reader.cursor().execute("SELECT count(*) FROM wb_issue_events").fetchone()[0] == result["writes"]


def test_conflicting_write_back_is_refused_with_what_changed(tmp_path):
    path = store.store_path(tmp_path / "fg.duckdb")
    v = store.append_issue_event(path, "SB9", 0, "甲", None, "已交办", department="县工信局")
    try:
        store.append_issue_event(path, "SB9", 0, "乙", None, "已交办", department="县交通运输局")
    except store.Conflict as exc:
        assert "甲" in str(exc) and exc.changes["department"] == "县工信局"
    else:
        raise AssertionError("the stale write was accepted")
    assert v == 1


def test_readers_keep_their_snapshot_until_they_reconnect(tmp_path):
    s = Settings(db_path=tmp_path / "fg.duckdb", hash_key="k")
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY[:1])], s.db_path, s)
    old = db.connect(s.db_path, s)
    ingest.ingest_paths([write_feed(tmp_path / "reg2.csv", "registry", REGISTRY[1:])], s.db_path, s)
    assert not old.is_current()
    assert old.cursor().execute("SELECT count(*) FROM raw.enterprises").fetchone()[0] == 1
    assert db.connect(s.db_path, s).cursor().execute("SELECT count(*) FROM raw.enterprises").fetchone()[0] == 2
    # The snapshot file is a complete DuckDB database on its own (no WAL left beside it).
    assert not s.db_path.with_name(s.db_path.name + ".wal").exists()
    duckdb.connect(str(s.db_path), read_only=True).close()
