"""Shared fixtures: a county-scale demo database built once per test session, app settings."""
from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from fourguard import config, db, demo, ingest
from fourguard.config import Settings

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Settings:
    """方城县, 14 days, seed 42: generated, then loaded by the real ingestion (read-only for tests)."""
    base = tmp_path_factory.mktemp("demo")
    s = Settings(db_path=base / "store" / "fourguard.duckdb", demo_dir=base / "feeds")
    demo.generate("county", 14, 42, s.demo_dir)
    ingest.ingest_paths([s.demo_dir], s.db_path, s)
    return s


@pytest.fixture(scope="module")
def demo_con(demo_db):
    """A cursor on the demo database, one per test module (tests only read it)."""
    r = db.connect(demo_db.db_path, demo_db)
    yield r.cursor()
    r.close()


@pytest.fixture
def clear_streamlit_caches():
    """Streamlit caches outlive an AppTest run (streamlit/streamlit#9139)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app_on(monkeypatch, clear_streamlit_caches):
    """Point the app (AppTest runs in this process) at a database; returns its settings."""
    def use(s: Settings) -> Settings:
        monkeypatch.setenv("FOURGUARD_DB", str(s.db_path))
        monkeypatch.setenv("FOURGUARD_DEMO_DIR", str(s.demo_dir))
        monkeypatch.setenv("FOURGUARD_DEMO_SCALE", s.demo_scale)
        monkeypatch.setattr(config, "_SETTINGS", None)
        return config.settings()
    return use


@pytest.fixture
def downloads(monkeypatch):
    """file name → the data given to st.download_button (a callable: built only when clicked)."""
    got = {}
    original = st.download_button

    def record(label, data, **kwargs):
        got[kwargs["file_name"]] = data
        return original(label, data, **kwargs)
    monkeypatch.setattr(st, "download_button", record)
    return got


def run_page(page: str, **params) -> AppTest:
    """Run app.py with URL parameters, switch to pages/<page>, and fail on any exception."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{page}").run()
    assert not at.exception, at.exception
    return at
