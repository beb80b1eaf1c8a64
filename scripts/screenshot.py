"""Start the dashboard headless on a database and screenshot pages with Debian's chromium.

    python scripts/screenshot.py --db data/store/fourguard.duckdb --out screenshots [--size 1920x1080] [PATH...]

PATH is a page's URL path (e.g. "" for the home page, "coverage?county=411322").
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(db: Path, port: int) -> subprocess.Popen:
    """streamlit run app.py on 127.0.0.1:port against `db`; returns once it answers."""
    env = {**os.environ, "FOURGUARD_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.headless", "true", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start")


def wait_until_idle(page, timeout_s: float = 180) -> None:
    """Wait until the script run is over: content rendered and no 'running' indicator for 2 s."""
    page.wait_for_selector("[data-testid='stMainBlockContainer'] [data-testid='stElementContainer']",
                           timeout=timeout_s * 1000)
    deadline, quiet_since = time.time() + timeout_s, None
    while time.time() < deadline:
        running = page.query_selector("[data-testid='stStatusWidget']")
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 2:
            return
        page.wait_for_timeout(200)


def shoot(base: str, paths: list[str], out: Path, width: int, height: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        for path in paths:
            page.goto(f"{base}/{path}")
            page.wait_for_selector("[data-testid='stAppViewContainer']", timeout=120_000)
            wait_until_idle(page)
            name = (path.split("?")[0] or "home").replace("/", "_")
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
    port = free_port()
    proc = start_app(Path(args.db), port)
    try:
        for f in shoot(f"http://127.0.0.1:{port}", args.paths, Path(args.out), width, height):
            print(f)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
