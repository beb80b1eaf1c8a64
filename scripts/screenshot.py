"""Start the dashboard headless on a database and screenshot pages with Debian's chromium.

    python scripts/screenshot.py --db data/store/fourguard.duckdb --out screenshots [--size 1920x1080] [PATH...]

PATH is a page's URL path (e.g. "" for the home page, "coverage?county=411322").
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, running_app, wait_until_idle  # noqa: E402


def shoot(base: str, paths: list[str], out: Path, width: int, height: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        for path in paths:
            page.goto(f"{base}/{path}")
            wait_until_idle(page)
            name = (path or "home").replace("/", "_").replace("?", "__").replace("&", "_").replace("=", "-")
            f = out / f"{name}_{width}x{height}.png"
            page.screenshot(path=str(f), full_page=True)
            files.append(f)
        browser.close()
    return files


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--out", default=str(ROOT / "screenshots"))
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("paths", nargs="*", default=[""])
    args = ap.parse_args()
    width, height = map(int, args.size.split("x"))
    with running_app(Path(args.db)) as base:
        for f in shoot(base, args.paths, Path(args.out), width, height):
            print(f)


if __name__ == "__main__":
    main()
