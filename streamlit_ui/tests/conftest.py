"""Shared fixtures: the fake backend over HTTP and Streamlit AppTest helpers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Cached reads must not expire in the middle of a test that counts requests, however
# slow the machine: a day. Set before the dashboard's modules are imported.
os.environ["VIBEJUDGE_CACHE_TTL"] = "86400"

TESTS_DIR = Path(__file__).resolve().parent
UI_DIR = TESTS_DIR.parent
for path in (str(UI_DIR), str(TESTS_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

from fake_backend import FakeBackend, seed_demo  # noqa: E402

PAGES = {
    "home": "pages/0_Home.py",
    "create": "pages/1_Create_Hackathon.py",
    "live": "pages/2_Live_Dashboard.py",
    "results": "pages/3_Results.py",
    "intel": "pages/4_Intelligence.py",
}


@pytest.fixture
def page_files() -> dict[str, str]:
    """Page name -> its file, relative to app.py (for AppTest.switch_page)."""
    return dict(PAGES)


@pytest.fixture
def backend():
    """A fake backend with limits high enough not to get in a test's way."""
    with FakeBackend(rate_limit_per_second=10_000, daily_quota=1_000_000) as fake:
        yield fake


@pytest.fixture
def seeded(backend):
    """(backend, api_key, hack_id) with five analyzed submissions."""
    key, hack_id = seed_demo(backend)
    return backend, key, hack_id


@pytest.fixture
def app_env(monkeypatch, backend):
    """Point the dashboard at the fake backend, with no operator key."""
    monkeypatch.setenv("API_BASE_URL", backend.base_url)
    monkeypatch.delenv("VIBEJUDGE_API_KEY", raising=False)
    return backend


@pytest.fixture
def open_page(monkeypatch, app_env):
    """open_page(name, key=None) -> an AppTest of the whole app (``app.py`` and its
    navigation) showing that page, after one run.

    With a key, the session signs in through the documented VIBEJUDGE_API_KEY.
    """
    from streamlit.testing.v1 import AppTest

    def _open(name: str, key: str | None = None, query: dict | None = None):
        if key:
            monkeypatch.setenv("VIBEJUDGE_API_KEY", key)
        else:
            monkeypatch.delenv("VIBEJUDGE_API_KEY", raising=False)
        at = AppTest.from_file(str(UI_DIR / "app.py"), default_timeout=60)
        for k, v in (query or {}).items():
            at.query_params[k] = v
        at.run()
        if name != "home":
            at.switch_page(PAGES[name]).run()
        return at

    return _open
