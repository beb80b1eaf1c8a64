"""python -m fourguard bench: how fast and how big, measured — not asserted in tests.

Steps (each printed as a row of one table at the end):
1. the data: reuse a generated demo folder and its database, or generate and ingest them;
2. one day of tests: DuckDB merely reading the day's CSV files into a table with every column as
   text, beside fourguard's ingest of the same files (validated, hashed, deduplicated, merged)
   into a copy of the database from which that day's tests were removed first;
3. every page's data: the queries one render of the page makes (recorded by running the page once
   through Streamlit's AppTest), replayed uncached `--repeat` times, for the whole scope and for one
   county, at the latest data time and at a time between loads (first computed, then once the
   reader has kept that time, as it does when a user browses to it); beside each, the same
   queries once on a reader that recomputes the rollups from the raw feeds (the speed-up);
4. memory: this process's resident size after the pages, and its peak.
"""
from __future__ import annotations

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


def bench_ingest(db_path: Path, data_dir: Path, workdir: Path, rows: list[Row]) -> None:
    """Raw read_csv of one day of tests beside fourguard's ingest of the same files."""
    from . import ingest, readers

    day, files = day_files(data_dir)
    # DuckDB reads UTF-8 only: a GB18030 or UTF-16 file (as providers send them) is read from a UTF-8
    # copy made beforehand, untimed, so the baseline is DuckDB's parse alone. Each file into its own
    # table (their title rows and header aliases differ).
    copies, secs = 0, 0.0
    con = duckdb.connect()
    for i, f in enumerate(files):
        encoding = readers.detect_encoding(f)
        if encoding not in ("utf-8", "utf-8-sig"):
            f, _ = readers._clean_copy(f, encoding, workdir, False)
            copies += 1
        secs += _timed(con.execute, f"CREATE TEMP TABLE t{i} AS SELECT * FROM read_csv(?, all_varchar = true)",
                       [str(f)])[0]
    n = sum(con.execute(f"SELECT count(*) FROM t{i}").fetchall()[0][0] for i in range(len(files)))
    con.close()
    rows.append(Row(f"read_csv all_varchar, tests of {day}", [secs],
                    f"{n:,} rows in {len(files)} files ({copies} read from a UTF-8 copy, made untimed)"))
    raw_secs = secs

    work = workdir / "bench.duckdb"
    secs, _ = _timed(shutil.copyfile, db_path, work)
    rows.append(Row("copy the database (bench set-up)", [secs], f"{db_path.stat().st_size / 2**30:.2f} GB"))
    day_start = dt.datetime.strptime(day, "%Y%m%d")
    with duckdb.connect() as w:
        w.execute("ATTACH ? AS raw", [str(work)])
        db.create_raw_tables(w)
        db._regions_table(w)
        shas = [ingest.file_sha256(f) for f in files]
        w.execute("DELETE FROM raw.tests WHERE sampled_at >= ? AND sampled_at < ?",
                  [day_start, day_start + dt.timedelta(days=1)])
        w.execute("DELETE FROM raw.ingest_log WHERE file_sha256 IN (SELECT unnest(?))", [shas])
        rollups.rebuild(w, Settings(db_path=work))  # the rollups as they stood before that day arrived
        w.execute("CHECKPOINT raw")
    secs, reports = _timed(ingest.ingest_paths, files, work, Settings(db_path=work))
    loaded = sum(r.loaded for r in reports)
    rows.append(Row(f"fourguard ingest, tests of {day}", [secs],
                    f"{loaded:,} rows; {secs / raw_secs:.1f}× read_csv (target ≤ 4×)"))


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
        repeat: int = 5, county: str | None = None, skip_ingest: bool = False) -> list[Row]:
    data_dir = Path(data_dir or Path(tempfile.gettempdir()) / f"fourguard_bench_{scale}")
    db_path = Path(db_path or data_dir.with_suffix(".duckdb"))
    rows: list[Row] = []
    ensure_data(scale, days, data_dir, db_path, rows)
    with tempfile.TemporaryDirectory(dir=db_path.parent) as work:
        if not skip_ingest:
            bench_ingest(db_path, data_dir, Path(work), rows)
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
