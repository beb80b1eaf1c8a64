"""Load run: N concurrent browser sessions against the running app on loopback, each opening every page.

    python scripts/load_run.py --db COPY.duckdb [--sessions 5] [--rounds 3] [--pages "" coverage ...]

Starts the dashboard (tests/browser.running_app, no-login demo mode) on a COPY of a database, opens
one chromium with N contexts (N independent users) and has each visit every page K times, in its
own order so the sessions spread over the pages. A visit is timed from navigation until the page's
script run is over (the last moment Streamlit's running indicator was seen; charts may still be
drawing for a moment after). Prints latency p50/p95/max per page and every error seen: exception
boxes, browser console errors, HTTP failures, pages that never finished. Not a test: a measurement.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import async_playwright  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402

PAGES = ["", "coverage", "overdue", "risk_map", "production", "enterprise", "issues", "issue-desk",
         "emergency", "wall", "briefing", "data"]
QUIET_S = 2.0          # no running indicator for this long: the run is over (as tests/browser.wait_until_idle)
TIMEOUT_S = 180.0
# Noise that is not the app's: Streamlit probes /<page>/_stcore/health and host-config before the root
# ones when a page is opened by its URL (streamlit/streamlit#7074), and leaving a page aborts its
# in-flight requests. Counted, but apart from the errors.
KNOWN = {"/_stcore/health": "Streamlit 深链接探测（streamlit#7074）", "/_stcore/host-config": "Streamlit 深链接探测（streamlit#7074）",
         "ERR_ABORTED": "离开页面时中止的请求"}


def known(text: str) -> str | None:
    return next((why for mark, why in KNOWN.items() if mark in text), None)


async def visit(page, url: str) -> tuple[float, str | None]:
    """Open `url`, wait until the script run is over; (seconds until it was, error or None)."""
    t0 = time.perf_counter()
    try:
        await page.goto(url, timeout=TIMEOUT_S * 1000)
        await page.wait_for_selector("[data-testid='stMainBlockContainer'] [data-testid='stElementContainer']",
                                     timeout=TIMEOUT_S * 1000)
    except Exception as exc:  # noqa: BLE001 — a page that never renders is a finding, not a crash
        return time.perf_counter() - t0, f"没有渲染：{str(exc).splitlines()[0]}"
    done = time.perf_counter()
    while time.perf_counter() - t0 < TIMEOUT_S:
        if await page.query_selector("[data-testid='stStatusWidget']"):
            done = None
        elif done is None:
            done = time.perf_counter()
        elif time.perf_counter() - done > QUIET_S:
            return done - t0, None
        await asyncio.sleep(0.1)
    return time.perf_counter() - t0, f"{TIMEOUT_S:.0f} 秒内没有结束运行"


async def session(n: int, browser, base: str, paths: list[str], rounds: int, size: tuple[int, int],
                  latencies: dict, errors: list) -> None:
    """One user: its own browser context, every page `rounds` times, starting at page n."""
    ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = await ctx.new_page()
    where = {"path": ""}
    page.on("console", lambda m: m.type == "error" and errors.append(
        (n, where["path"], "控制台", f"{m.text[:200]} {m.location.get('url', '')}".strip())))
    page.on("pageerror", lambda e: errors.append((n, where["path"], "脚本错误", str(e)[:200])))
    page.on("requestfailed", lambda r: errors.append((n, where["path"], "请求失败", f"{r.failure} {r.url}")))
    page.on("response", lambda r: r.status >= 400 and errors.append((n, where["path"], "HTTP", f"{r.status} {r.url}")))
    order = paths[n % len(paths):] + paths[:n % len(paths)]
    for _ in range(rounds):
        for path in order:
            where["path"] = path
            seconds, problem = await visit(page, f"{base}/{path}")
            latencies[path].append(seconds)
            if problem:
                errors.append((n, path, "未完成", problem))
            for box in await page.query_selector_all("[data-testid='stException']"):
                errors.append((n, path, "异常框", (await box.inner_text()).splitlines()[0][:200]))
    await ctx.close()


def default_enterprise(db: Path) -> str | None:
    """The enterprise with most overdue staff, so the detail page has something to show."""
    from fourguard import db as fdb, freshness, queries
    from fourguard.config import Settings

    con = fdb.connect(db, Settings(db_path=db), keep=False).cursor()
    ranked = queries.enterprises_by_overdue(con, freshness.latest_data_at(con))
    return None if ranked.empty else ranked.iloc[0]["credit_code"]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def report(latencies: dict, errors: list, paths: list[str], sessions: int, rounds: int, seconds: float,
           app_rss_mb: float | None) -> str:
    noise = [e for e in errors if known(e[3])]
    errors = [e for e in errors if not known(e[3])]
    by_page = defaultdict(int)
    for _, path, _, _ in errors:
        by_page[path] += 1
    lines = [f"{sessions} 个并发会话 × {rounds} 轮 × {len(paths)} 页 = {sum(map(len, latencies.values()))} 次访问，"
             f"用时 {seconds:.0f} 秒" + (f"，应用进程内存峰值约 {app_rss_mb:,.0f} MB" if app_rss_mb else ""),
             "",
             f"{'页面':<28}{'次数':>6}{'p50 秒':>9}{'p95 秒':>9}{'最大 秒':>9}{'首次 秒':>9}{'错误':>6}"]
    for path in paths:
        v = latencies[path]
        lines.append(f"{'/' + path:<30}{len(v):>6}{statistics.median(v):>9.1f}{pct(v, 0.95):>9.1f}{max(v):>9.1f}"
                     f"{v[0]:>9.1f}{by_page[path]:>6}")
    everything = [x for v in latencies.values() for x in v]
    lines.append(f"{'全部':<28}{len(everything):>6}{statistics.median(everything):>9.1f}"
                 f"{pct(everything, 0.95):>9.1f}{max(everything):>9.1f}{'':>9}{len(errors):>6}")
    lines += ["", f"错误 {len(errors)} 个" + ("：" if errors else "")]
    seen = defaultdict(int)
    for _, path, kind, text in errors:
        seen[(path, kind, text)] += 1
    lines += [f"  /{path} [{kind}] ×{count}: {text}" for (path, kind, text), count in sorted(seen.items())]
    why = defaultdict(int)
    for e in noise:
        why[known(e[3])] += 1
    lines += [f"另有已知的无害记录：{'；'.join(f'{w} {c} 个' for w, c in sorted(why.items()))}"] if noise else []
    return "\n".join(lines)


async def run(db: Path, sessions: int, rounds: int, paths: list[str], size: tuple[int, int]) -> str:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list = []
    # As deployed: no sign-in (demo mode, said explicitly) and no file watcher reloading modules.
    with running_app(db, {"FOURGUARD_AUTH": "demo", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}) as base:
        try:
            from scripts.soak_wall import app_process
            app = app_process(base)
        except Exception:  # noqa: BLE001 — memory is a bonus figure
            app = None
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            t0 = time.perf_counter()
            peak = [0.0]

            async def watch_memory():
                while app is not None:
                    try:
                        peak[0] = max(peak[0], app.memory_info().rss / 2**20)
                    except Exception:  # noqa: BLE001
                        return
                    await asyncio.sleep(0.5)

            watcher = asyncio.create_task(watch_memory())
            await asyncio.gather(*(session(n, browser, base, paths, rounds, size, latencies, errors)
                                   for n in range(sessions)))
            watcher.cancel()
            seconds = time.perf_counter() - t0
            await browser.close()
    return report(latencies, errors, paths, sessions, rounds, seconds, peak[0] or None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="a COPY of the database (the app may write beside it)")
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--pages", nargs="*", default=None, help="URL paths (default: every page)")
    args = ap.parse_args()
    db = Path(args.db)
    paths = args.pages if args.pages is not None else PAGES
    code = default_enterprise(db)
    paths = [f"enterprise?ent={code}" if p == "enterprise" and code else p for p in paths]
    width, height = map(int, args.size.split("x"))
    print(asyncio.run(run(db, args.sessions, args.rounds, paths, (width, height))))


if __name__ == "__main__":
    main()
