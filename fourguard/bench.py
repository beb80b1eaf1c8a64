"""python -m fourguard bench: how fast and how big, measured — not asserted in tests.

Steps (each printed as a row of one table at the end):
1. the data: reuse a generated demo folder and its database, or generate and ingest them;
2. one day of tests: DuckDB merely reading the day's CSV files into a table with every column as
   text, beside fourguard's ingest of the same files (validated, hashed, deduplicated, merged)
   into a copy of the database from which that day's tests were removed first; and the floor: the
   least work any correct load of those files does (bench_floor), stage by stage, beside the same
   read_csv;
3. every page's data: the queries one render of the page makes (recorded by running the page once
   through Streamlit's AppTest), replayed uncached `--repeat` times, for the whole scope and for one
   county, at the latest data time and at a time between loads (first computed, then once the
   reader has kept that time, as it does when a user browses to it); beside each, the same
   queries once on a reader that recomputes the rollups from the raw feeds (the speed-up);
4. memory: this process's resident size after the pages, and its peak.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import resource
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil

from . import config, db, freshness, queries, rollups
from .config import REPO_DIR, Settings

PAGES = ["01_overview.py", "02_coverage.py", "03_overdue.py", "04_risk_map.py", "05_production.py",
         "08_issues.py", "09_issue_desk.py", "10_wall.py", "12_briefing.py"]


@dataclass
class Row:
    step: str
    times: list[float]
    note: str = ""

    def cells(self) -> list[str]:
        if not self.times:
            return [self.step, "—", "—", "—", self.note]
        return [self.step, f"{statistics.median(self.times):.3f}", f"{min(self.times):.3f}",
                f"{max(self.times):.3f}", self.note]


def _timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def ensure_data(scale: str, days: int, data_dir: Path, db_path: Path, rows: list[Row]) -> None:
    """Generate the demo feeds and ingest them unless both are already there."""
    from . import demo, ingest

    if not any(data_dir.glob("核酸检测_*")):
        secs, _ = _timed(demo.generate, scale, days, 42, data_dir)
        rows.append(Row(f"generate {scale} demo ({days} days)", [secs]))
    if not db_path.exists():
        secs, reports = _timed(ingest.ingest_paths, [data_dir], db_path, Settings(db_path=db_path))
        loaded = sum(r.loaded for r in reports)
        rows.append(Row("ingest every feed", [secs], f"{loaded:,} rows"))


def day_files(data_dir: Path) -> tuple[str, list[Path]]:
    """The last day's test files (核酸检测_YYYYMMDD_*.csv)."""
    by_day: dict[str, list[Path]] = {}
    for p in data_dir.glob("核酸检测_*.csv"):
        by_day.setdefault(p.stem.split("_")[1], []).append(p)
    day = max(by_day)
    return day, sorted(by_day[day])


def _utf8_copies(files: list[Path], workdir: Path) -> tuple[list[Path], float, int]:
    """DuckDB reads UTF-8 only: each GB18030 or UTF-16 file (as providers send them) as a UTF-8 copy,
    for the baselines; (paths, seconds fourguard's own encoding check of every file took, with the
    copies it makes in the same pass, files copied)."""
    from . import readers

    out, secs, copies = [], 0.0, 0
    for f in files:
        took, (_, _, copy) = _timed(readers._check_encoding, f, workdir)
        secs += took
        if copy is not None:
            f = copy.path
            copies += 1
        out.append(f)
    return out, secs, copies


def _day_before(db_path: Path, day: str, files: list[Path], target: Path) -> None:
    """A copy of the database from which the day's tests were removed, its rollups as they stood before."""
    from . import ingest

    shutil.copyfile(db_path, target)
    day_start = dt.datetime.strptime(day, "%Y%m%d")
    with duckdb.connect() as w:
        w.execute("ATTACH ? AS raw", [str(target)])
        db.create_raw_tables(w)
        db._regions_table(w)
        w.execute("DELETE FROM raw.tests WHERE sampled_at >= ? AND sampled_at < ?",
                  [day_start, day_start + dt.timedelta(days=1)])
        w.execute("DELETE FROM raw.ingest_log WHERE file_sha256 IN (SELECT unnest(?))",
                  [[ingest.file_sha256(f) for f in files]])
        rollups.rebuild(w, Settings(db_path=target))
        w.execute("CHECKPOINT raw")


def bench_ingest(db_path: Path, data_dir: Path, workdir: Path, rows: list[Row]) -> tuple[int, int]:
    """Raw read_csv of one day of tests beside fourguard's ingest of the same files, and the floor;
    (rows fourguard loaded, rows the floor appended)."""
    from . import ingest

    day, files = day_files(data_dir)
    # The baseline is DuckDB's parse alone: non-UTF-8 files are read from UTF-8 copies made untimed.
    # Each file into its own table (their title rows and header aliases differ).
    utf8, transcode_secs, copies = _utf8_copies(files, workdir)
    secs = 0.0
    con = duckdb.connect()
    for i, f in enumerate(utf8):
        secs += _timed(con.execute, f"CREATE TEMP TABLE t{i} AS SELECT * FROM read_csv(?, all_varchar = true)",
                       [str(f)])[0]
    n = sum(con.execute(f"SELECT count(*) FROM t{i}").fetchall()[0][0] for i in range(len(files)))
    con.close()
    rows.append(Row(f"read_csv all_varchar, tests of {day}", [secs],
                    f"{n:,} rows in {len(files)} files ({copies} read from a UTF-8 copy, made untimed)"))
    raw_secs = secs
    rows.append(Row("  encoding check of each file, GB18030 → UTF-8 (inside fourguard's ingest)", [transcode_secs],
                    f"{len(files)} files checked, {copies} transcoded; DuckDB 2.0 reads no GB18030 (no offline "
                    "encodings extension)"))

    before = workdir / "before.duckdb"
    secs, _ = _timed(_day_before, db_path, day, files, before)
    rows.append(Row("set up: the database without that day (bench)", [secs],
                    f"{db_path.stat().st_size / 2**30:.2f} GB, rollups rebuilt"))
    work = workdir / "bench.duckdb"
    shutil.copyfile(before, work)
    secs, reports = _timed(ingest.ingest_paths, files, work, Settings(db_path=work))
    loaded = sum(r.loaded for r in reports)
    rows.append(Row(f"fourguard ingest, tests of {day}", [secs],
                    f"{loaded:,} rows; {secs / raw_secs:.1f}× read_csv (target ≤ 4×)"))
    work.unlink()
    shutil.copyfile(before, work)
    appended = bench_floor(work, utf8, raw_secs, rows)
    work.unlink()
    before.unlink()
    return loaded, appended


def bench_floor(work: Path, files: list[Path], raw_secs: float, rows: list[Row]) -> int:
    """The least work any correct load of the day does, each stage timed on the database without it: the
    files parsed straight into typed, checked, hashed rows (fourguard's checks in one pass, nothing
    quarantined), the new rows appended, one commit made durable (fsynced; its checkpoint, which a
    load could leave for later, timed apart and not counted); then the least span rollup (each
    person's latest span closed, the new spans appended) in its own transaction. No staff spans,
    testing_days, quarantine, transcoding or snapshot copy: each of those only adds. The rows appended
    (returned) are the ones fourguard's ingest loads from the same files."""
    from . import feeds, readers, validate

    feed = feeds.FEEDS["tests"]
    s = Settings(db_path=work)
    con = duckdb.connect(config={"threads": os.cpu_count() or 2, "memory_limit": "1GB"})
    con.execute("SET checkpoint_threshold = '1TB'")  # no checkpoint inside a commit: timed on its own
    db._regions_table(con)
    con.execute("ATTACH ? AS raw", [str(work)])
    checked, times = validate.checked_sql(feed), {}

    def stage(name, sql, params=None):
        secs, out = _timed(con.execute, sql, params)
        times[name] = times.get(name, 0.0) + secs
        return out

    for i, f in enumerate(files):
        with open(f, encoding="utf-8-sig", newline="") as fh:
            head = [next(csv.reader([fh.readline()]), []) for _ in range(readers.HEAD_ROWS)]
        idx, _, mapping = readers._find_header(head, f.name)
        types = "{" + ", ".join(f"'c{j}': 'VARCHAR'" for j in range(len(head[idx]))) + "}"
        mapped = [f"c{j} AS {name}" for j, name in sorted(mapping.items())]
        mapped += [f"NULL::VARCHAR AS {c.name}" for c in feed.columns if c.name not in mapping.values()]
        con.execute(f"CREATE OR REPLACE TEMP VIEW src AS SELECT {', '.join(mapped)}, "
                    f"row_number() OVER () + {idx + 1} AS _line, NULL::UHUGEINT AS _person_key, "
                    f"NULL::VARCHAR AS _id_masked, NULL::BIGINT AS _qid FROM read_csv({validate.lit(f)}, "
                    f"header = false, skip = {idx + 1}, columns = {types}, quote = '\"', escape = '\"', "
                    "strict_mode = false)")
        stage("parse, type, check, hash (one pass)", f"CREATE TEMP TABLE v{i} AS {checked}",
              {"hash_key": s.hash_key, "now_limit": dt.datetime.now()})
    cols = "sample_id, person_key, id_masked, name, sampled_at, result, resulted_at, tube, pool_id, site"
    valid = " UNION ALL ".join(f"SELECT {cols} FROM v{i} WHERE _reason_code IS NULL" for i in range(len(files)))
    [(lo, hi)] = con.execute(f"SELECT min(sampled_at), max(sampled_at) FROM ({valid})").fetchall()
    con.execute("BEGIN")
    [(appended,)] = stage(
        "append the rows not loaded before (by key)", f"INSERT INTO raw.tests SELECT *, 'bench', now()::TIMESTAMP FROM ({valid}) "
        "AS g WHERE NOT EXISTS (SELECT 1 FROM raw.tests AS t WHERE t.sampled_at BETWEEN ? AND ? "
        "AND t.sample_id = g.sample_id AND t.person_key = g.person_key)", [lo, hi]).fetchall()
    stage("commit (durable, fsynced)", "COMMIT")
    con.execute("BEGIN")
    stage("spans: latest closed, new appended", f"""
        CREATE TEMP TABLE firsts AS SELECT person_key, min(sampled_at) AS first_at FROM ({valid}) GROUP BY 1;
        CREATE TEMP TABLE closing AS SELECT s.person_key, s.sampled_at, s.result, s.tube, f.first_at
            FROM raw.test_spans AS s JOIN firsts AS f ON s.person_key = f.person_key
            AND s.next_sampled_at IS NULL AND s.sampled_at < f.first_at;
        DELETE FROM raw.test_spans AS s USING closing AS c WHERE s.person_key = c.person_key
            AND s.sampled_at = c.sampled_at;
        INSERT INTO raw.test_spans SELECT * FROM closing;
        INSERT INTO raw.test_spans SELECT person_key, sampled_at, result, tube,
            lead(sampled_at) OVER (PARTITION BY person_key ORDER BY sampled_at) FROM ({valid})""")
    stage("spans: commit (durable, fsynced)", "COMMIT")
    deferred = _timed(con.execute, "CHECKPOINT raw")[0]
    con.close()
    for name, secs in times.items():
        rows.append(Row(f"  floor: {name}", [secs], f"{secs / raw_secs:.2f}× read_csv"))
    rows.append(Row("  then the checkpoint of both (not counted: a load could leave it for later)", [deferred],
                    f"{deferred / raw_secs:.2f}× read_csv"))
    load = sum(v for k, v in times.items() if not k.startswith("spans"))
    total = sum(times.values())
    rows.append(Row("floor: validated, hashed, deduplicated, durable", [load],
                    f"{appended:,} rows; {load / raw_secs:.2f}× read_csv"))
    rows.append(Row("floor: and the least span rollup", [total],
                    f"{total / raw_secs:.2f}× read_csv, before staff spans, testing_days, quarantine, "
                    "transcoding and the snapshot copy"))
    return appended


def record_page(page: str, params: dict) -> list[list[tuple]]:
    """The ui.query calls one render of the page makes, as steps in order: each step the
    (function, arguments) run one after another, or a ui.query_all group run side by side."""
    from streamlit.testing.v1 import AppTest

    from . import ui

    steps, real_bind, real_together = [], ui._within_area, ui._together

    def bind(fn, args, kwargs):
        bound = real_bind(fn, args, kwargs)
        steps.append([(fn, dict(bound))])
        return bound

    def together(bound):
        del steps[-len(bound):]  # bound one by one just before
        steps.append(list(bound))
        return real_together(bound)
    ui._within_area, ui._together = bind, together
    try:
        at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=900)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()       # the home page first (as a browser does), not counted
        steps.clear()
        at.switch_page(f"pages/{page}").run()
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].message}")
    finally:
        ui._within_area, ui._together = real_bind, real_together
    for reader in list(db._READERS):  # the app's own reader keeps in the background: not while timing
        reader.wait_kept()
    seen, out = set(), []
    for step in steps:  # a call already made is a cache hit in the app
        step = [(fn, kw) for fn, kw in step if _call_key(fn, kw) not in seen]
        seen.update(_call_key(fn, kw) for fn, kw in step)
        if step:
            out.append(step)
    return out


def _call_key(fn, kw: dict) -> tuple:
    return fn.__module__, fn.__name__, repr(sorted(kw.items(), key=lambda i: i[0]))


def replay(con, steps: list[list[tuple]]) -> None:
    """Run one page's recorded calls uncached, groups side by side as the page runs them."""
    for step in steps:
        queries.gather(con, *(lambda c, fn=fn, kw=kw: fn(c, **kw) for fn, kw in step))


def bench_pages(db_path: Path, repeat: int, rows: list[Row], scopes: list[tuple[str, dict]]) -> None:
    os.environ["FOURGUARD_DB"] = str(db_path)
    config._SETTINGS = None
    secs, reader = _timed(db.connect, db_path)
    rows.append(Row("open a reader on the snapshot", [secs], "pages answer from here on"))
    secs, kept_at = _timed(reader.wait_kept)
    rows.append(Row("keep the models at the latest time (background)", [secs],
                    f"{len(db.KEPT_AT_LATEST)} models at {kept_at}; again after each write-back that moves it; "
                    "meanwhile those calls are computed"))
    recompute = db.connect(db_path, recompute_rollups=True)
    con, raw_con = reader.cursor(), recompute.cursor()
    totals, recomputed = [0.0, 0.0], {}
    for label, params in scopes:
        passes = [(label, None)]
        if "as_of" in params:  # a time a user browses to: first computed, then kept (Reader.keep_also)
            passes = [(f"{label}, computed", None), (f"{label}, kept", queries.as_of_time(params["as_of"]))]
        for name, browse in passes:
            if browse is not None:
                t0 = time.perf_counter()
                reader.keep_also(browse)
                reader.wait_kept()
                rows.append(Row(f"keep the models at {label} (background, once browsed)", [time.perf_counter() - t0],
                                f"{len(db.kept_tables(browse, browsed=True))} tables; meanwhile the pages "
                                "compute (the row above)"))
            for page in PAGES:
                if not (REPO_DIR / "pages" / page).exists():
                    continue
                try:
                    steps = record_page(page, params)
                except RuntimeError as exc:
                    rows.append(Row(f"page data {page} · {name}", [], f"页面出错：{exc}"))
                    continue
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    replay(con, steps)
                    times.append(time.perf_counter() - t0)
                if (label, page) not in recomputed:
                    recomputed[label, page] = _timed(replay, raw_con, steps)[0]
                secs = recomputed[label, page]
                if (name, browse) == passes[-1]:  # each scope's final figures count
                    totals[0] += statistics.median(times)
                    totals[1] += secs
                calls, together = sum(map(len, steps)), sum(len(step) for step in steps if len(step) > 1)
                rows.append(Row(f"page data {page} · {name}", times,
                                f"{calls} queries{f' ({together} side by side)' if together else ''}; "
                                f"recomputed from raw feeds {secs:.3f} s ({secs / statistics.median(times):.1f}×)"))
    rows.append(Row("speed-up over recomputing from the raw feeds", [],
                    f"every page, every scope: {totals[0]:.2f} s with rollups, {totals[1]:.2f} s recomputed "
                    f"({totals[1] / totals[0]:.1f}×)"))
    reader.close()
    recompute.close()


def print_table(rows: list[Row], header: str) -> None:
    print(header)
    cols = ["step", "median s", "min s", "max s", "note"]
    table = [cols] + [r.cells() for r in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(cols))]
    for i, r in enumerate(table):
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("-|-".join("-" * w for w in widths))


def run(scale: str = "province", days: int = 14, data_dir: Path | None = None, db_path: Path | None = None,
        repeat: int = 5, county: str | None = None, skip_ingest: bool = False,
        skip_pages: bool = False) -> list[Row]:
    data_dir = Path(data_dir or Path(tempfile.gettempdir()) / f"fourguard_bench_{scale}")
    db_path = Path(db_path or data_dir.with_suffix(".duckdb"))
    rows: list[Row] = []
    ensure_data(scale, days, data_dir, db_path, rows)
    with tempfile.TemporaryDirectory(dir=db_path.parent) as work:
        if not skip_ingest:
            bench_ingest(db_path, data_dir, Path(work), rows)
    if not skip_pages:
        reader = db.connect(db_path, keep=False)
        con = reader.cursor()
        latest = freshness.latest_data_at(con)
        county = county or con.execute(
            "SELECT county_code FROM stg_enterprises GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        reader.close()
        between = (latest - dt.timedelta(days=3)).replace(minute=17)
        scopes = [("whole scope", {}), (f"county {county}", {"county": county}),
                  (f"whole scope, {between:%m-%d %H:%M}", {"as_of": between.strftime("%Y-%m-%dT%H:%M")})]
        bench_pages(db_path, repeat, rows, scopes)
    rows.append(Row("memory: resident now / peak (MB)", [], f"{_rss_mb():.0f} / "
                    f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"))
    cpu = psutil.cpu_count()
    mem = psutil.virtual_memory().total / 2**30
    print_table(rows, f"fourguard bench · {scale} · {db_path} · {cpu} cores, {mem:.0f} GB · repeat {repeat}")
    return rows
