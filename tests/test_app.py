"""The Streamlit app: every page renders without an exception, and the first start builds data."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fourguard import ingest
from fourguard.config import Settings
from tests.feedfiles import write_feed
from tests.test_ingest import REGISTRY, ROSTER, sample

ROOT = Path(__file__).parent.parent
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))


@pytest.fixture
def small_db(tmp_path, app_on):
    s = app_on(Settings(db_path=tmp_path / "fg.duckdb", demo_dir=tmp_path / "demo"))
    ingest.ingest_paths([write_feed(tmp_path / "reg.csv", "registry", REGISTRY),
                         write_feed(tmp_path / "roster.csv", "roster", ROSTER),
                         write_feed(tmp_path / "t.csv", "tests", [sample()])], s.db_path, s)
    return s


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(small_db, page):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(f"pages/{page}").run()
    assert not at.exception, at.exception


def test_overview_shows_the_loaded_numbers(small_db):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    # Registry: E1 listed, E2 removed on 2022-06-05, before the newest sample (2022-06-08 08:00).
    assert shown["白名单企业"] == "1"
    assert shown["在册员工"] == "1"
    assert shown["核酸检测覆盖率"] == "100.0%"


def test_first_start_builds_the_embedded_default(tmp_path, app_on):
    s = app_on(Settings(db_path=tmp_path / "store" / "fg.duckdb", demo_dir=tmp_path / "demo", demo_scale="county"))
    assert not s.db_path.exists()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    assert not at.exception, at.exception
    assert s.db_path.exists()
    shown = {m.label: m.value for m in at.metric}
    assert shown["白名单企业"] not in ("0", "—")


def test_a_query_at_another_time_asks_the_reader_to_keep_it(monkeypatch):
    """ui._fetch hands every query's as_of to Reader.keep_also (which keeps a browsed time)."""
    import datetime as dt

    from fourguard import queries, ui

    asked = []

    class Reader:
        snapshot, _wb_version = 1, 1

        def refresh_writebacks(self):
            pass

        def keep_also(self, at):
            asked.append(at)
    monkeypatch.setattr(ui, "reader", Reader)
    monkeypatch.setattr(ui, "_cached", lambda *args: "rows")
    assert ui._fetch(queries.metrics, {"as_of": "2022-06-06T23:17", "county": None}) == "rows"
    assert ui._fetch(queries.areas, {}) == "rows"
    assert asked == [dt.datetime(2022, 6, 6, 23, 17)]
