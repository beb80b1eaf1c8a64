"""Soak the wall: let it refresh many times in chromium and report the app process's memory.

    python scripts/soak_wall.py --db data/store/fourguard.duckdb [--refresh 2] [--seconds 180 | --refreshes N]
                                [--size 1920x1080] [--query "city=411300&rotate=10"]

Prints the app server's RSS (and the page's JS heap) after the first render and at the end, the
number of refreshes seen and whether every refresh drew the whole screen without an error.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402

PANELS = (".wall-header", ".wall-tiles", ".wall-ranking", ".wall-states", ".st-key-wall_map canvas",
          ".st-key-wall_trend .main-svg", ".wall-alerts")
MB = 1024 * 1024


def app_process(base: str) -> psutil.Process:
    """The streamlit server that running_app started for `base` (a child of this process)."""
    port = base.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        try:
            cmd = child.cmdline()
        except psutil.Error:
            continue
        if "streamlit" in " ".join(cmd) and port in cmd:
            return child
    raise RuntimeError(f"no streamlit process serving {base}")


def screen_state(page) -> dict:
    """What the wall shows now: its refresh stamp, missing panels, warning panels, error boxes."""
    return page.evaluate("""(panels) => ({
        refreshed: document.querySelector('.wall-header')?.dataset.refreshed ?? null,
        missing: panels.filter(s => !document.querySelector(s)),
        warnings: document.querySelectorAll('.wall-warning').length,
        exceptions: document.querySelectorAll("[data-testid='stException']").length,
        heap: performance.memory ? performance.memory.usedJSHeapSize : null,
    })""", list(PANELS))


def soak(db: Path, refresh: int = 2, refreshes: int | None = None, seconds: float | None = 180,
         size: tuple[int, int] = (1920, 1080), query: str = "", warmup: int = 3, browser=None, log=print) -> dict:
    """Run the wall until `refreshes` refreshes (or `seconds`) have passed; returns what was measured.

    "before" is taken after `warmup` refreshes: the first render's peak (DuckDB working memory for
    the uncached queries) is released afterwards and would hide any growth. `browser`: a playwright
    chromium to use (a test's), else one is launched."""
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(running_app(db))
        proc = app_process(base)
        if browser is None:
            pw = stack.enter_context(sync_playwright())
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--enable-precise-memory-info"])
            stack.callback(browser.close)
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        stack.callback(page.close)
        page.goto(f"{base}/wall?refresh={refresh}" + (f"&{query}" if query else ""))
        page.wait_for_selector(".st-key-wall_map canvas", timeout=600_000)
        log(f"first render: RSS {proc.memory_info().rss / MB:.1f} MB")
        seen, bad = {screen_state(page)["refreshed"]}, []
        while len(seen) <= warmup:
            page.wait_for_timeout(250)
            seen.add(screen_state(page)["refreshed"])
        first = screen_state(page)
        rss_before, started, peak = proc.memory_info().rss, time.time(), 0
        log(f"after {warmup} refreshes: RSS {rss_before / MB:.1f} MB, JS heap {(first['heap'] or 0) / MB:.1f} MB")
        seen, last = {first["refreshed"]}, first
        while (refreshes is None or len(seen) <= refreshes) and (seconds is None or time.time() - started < seconds):
            page.wait_for_timeout(250)
            state = screen_state(page)
            if state["refreshed"] and state["refreshed"] not in seen:
                seen.add(state["refreshed"])
                if state["missing"] or state["warnings"] or state["exceptions"]:
                    bad.append(state)
                peak = max(peak, proc.memory_info().rss)
                if len(seen) % 25 == 0:
                    log(f"{len(seen) - 1} refreshes: RSS {proc.memory_info().rss / MB:.1f} MB, "
                        f"JS heap {(state['heap'] or 0) / MB:.1f} MB")
            last = state
        rss_after = proc.memory_info().rss
    result = {"refreshes": len(seen) - 1, "seconds": round(time.time() - started, 1),
              "rss_before_mb": round(rss_before / MB, 1), "rss_after_mb": round(rss_after / MB, 1),
              "rss_peak_mb": round(max(peak, rss_after) / MB, 1),
              "heap_before_mb": round((first["heap"] or 0) / MB, 1), "heap_after_mb": round((last["heap"] or 0) / MB, 1),
              "bad_refreshes": bad}
    log(f"{result['refreshes']} refreshes in {result['seconds']} s: RSS {result['rss_before_mb']} → "
        f"{result['rss_after_mb']} MB (peak {result['rss_peak_mb']}), JS heap {result['heap_before_mb']} → {result['heap_after_mb']} MB, "
        f"refreshes with a missing panel, warning or error: {len(bad)}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--refresh", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--refreshes", type=int, default=None)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--query", default="", help="more URL parameters, e.g. city=411300&rotate=10")
    args = ap.parse_args()
    width, height = map(int, args.size.split("x"))
    result = soak(Path(args.db), args.refresh, args.refreshes, None if args.refreshes else args.seconds,
                  (width, height), args.query)
    sys.exit(1 if result["bad_refreshes"] or not result["refreshes"] else 0)


if __name__ == "__main__":
    main()
