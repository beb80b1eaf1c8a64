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
