"""The bench's floor measures a real load: it appends exactly the rows fourguard's ingest loads."""
from __future__ import annotations

from fourguard import bench


def test_the_floor_appends_the_rows_the_ingest_loads(demo_db, tmp_path):
    rows: list[bench.Row] = []
    loaded, appended = bench.bench_ingest(demo_db.db_path, demo_db.demo_dir, tmp_path, rows)
    day, files = bench.day_files(demo_db.demo_dir)
    assert loaded > 20_000 and appended == loaded
    steps = {r.step: r for r in rows}
    assert f"fourguard ingest, tests of {day}" in steps
    floor = [r for r in rows if r.step.startswith("  floor: ")]
    assert len(floor) == 5 and all(r.times[0] > 0 for r in floor)
    assert steps["  then the checkpoint of both (not counted: a load could leave it for later)"].times[0] > 0
    total = steps["floor: and the least span rollup"].times[0]
    assert abs(total - sum(r.times[0] for r in floor)) < 1e-9
    assert not list(tmp_path.glob("*.duckdb"))  # the bench's copies are removed
