"""A real browser (Debian chromium + playwright) loads every page of the running app."""
from __future__ import annotations

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, running_app, wait_until_idle

playwright = pytest.importorskip("playwright.sync_api")

# url path, and what must have rendered there besides the absence of errors
PAGES = [
    ("", "[data-testid='stMetric']"),
    ("coverage", ".js-plotly-plot"),
    ("overdue", "[data-testid='stDataFrame']"),
    ("risk_map", "canvas"),
    ("production", ".js-plotly-plot"),
    ("data", "[data-testid='stDataFrame']"),
]


@pytest.fixture(scope="module")
def browser_page(demo_db):
    with running_app(demo_db.db_path) as base, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        yield base, page, requests
        browser.close()


@pytest.mark.parametrize("path,rendered", PAGES)
def test_page_loads_without_errors_and_offline(browser_page, path, rendered):
    base, page, requests = browser_page
    requests.clear()
    page.goto(f"{base}/{path}")
    wait_until_idle(page)
    assert page.query_selector_all("[data-testid='stException']") == []
    assert "Page not found" not in page.inner_text("body")
    assert page.query_selector(rendered) is not None, f"{rendered} missing on /{path}"
    # Nothing leaves the machine: no CDN scripts, no map tiles or styles.
    outside = [u for u in requests if not u.startswith((base, "data:", "blob:"))]
    assert outside == []
    # No horizontal scroll at 1920×1080.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_enterprise_page_from_a_deep_link(browser_page, demo_db):
    from fourguard import db, freshness, queries
    con = db.connect(demo_db.db_path, demo_db).cursor()
    code = queries.enterprises_by_overdue(con, freshness.latest_data_at(con)).iloc[0]["credit_code"]
    base, page, _ = browser_page
    page.goto(f"{base}/enterprise?ent={code}")
    wait_until_idle(page)
    assert page.query_selector_all("[data-testid='stException']") == []
    assert code in page.inner_text("body")


def test_concurrent_first_deep_links_after_a_server_start(demo_db):
    """The first sessions after a start arrive in Streamlit's legacy pages/ mode; each is routed
    through app.py (sign-in, navigation) and renders its page, with no half-imported module."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from playwright.async_api import async_playwright

    paths = ["coverage", "overdue", "production", "issues", "data", "coverage"]

    async def open_page(browser, base, path):
        page = await (await browser.new_context()).new_page()
        await page.goto(f"{base}/{path}")
        await page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=180_000)
        await page.wait_for_function("!document.querySelector(\"[data-testid='stStatusWidget']\")",
                                     timeout=180_000)
        return (await page.locator("[data-testid='stException']").all_inner_texts(),
                await page.locator("[data-testid='stSidebarNav'] [aria-current='page']").all_inner_texts())

    async def main(base):
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                return await asyncio.gather(*(open_page(browser, base, p) for p in paths))
            finally:
                await browser.close()

    with running_app(demo_db.db_path) as base, ThreadPoolExecutor(1) as pool:
        # Its own thread: the module's sync playwright keeps an event loop running in this one.
        results = pool.submit(asyncio.run, main(base)).result()
    assert [errors for errors, _ in results] == [[]] * len(paths)
    # Routed through app.py: its navigation, with the page current under its Chinese title (a legacy
    # run names pages after their files, e.g. "overdue").
    assert [[c.split()[-1] for c in current] for _, current in results] == [["覆盖率"], ["超时未检"], ["生产经营"], ["问题办结"],
                                                   ["数据状态"], ["覆盖率"]]
