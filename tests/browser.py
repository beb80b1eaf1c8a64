"""Run the dashboard on a loopback port and drive Debian's chromium with playwright."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(db: Path, extra_env: dict | None = None):
    """`streamlit run app.py` on 127.0.0.1 against `db`; yields the base URL, stops it afterwards."""
    port = free_port()
    env = {**os.environ, "FOURGUARD_DB": str(db), **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.headless", "true", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("streamlit did not start")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_until_idle(page, timeout_s: float = 180) -> None:
    """Wait until the script run is over: content rendered and no 'running' indicator for 2 s."""
    page.wait_for_selector("[data-testid='stMainBlockContainer'] [data-testid='stElementContainer']",
                           timeout=timeout_s * 1000)
    deadline, quiet_since = time.time() + timeout_s, None
    while time.time() < deadline:
        if page.query_selector("[data-testid='stStatusWidget']"):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 2:
            page.wait_for_timeout(1500)  # plotly and deck.gl draw after the script run ends
            return
        page.wait_for_timeout(200)
    raise TimeoutError("the page kept running")
