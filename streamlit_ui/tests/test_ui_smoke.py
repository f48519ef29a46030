"""The real thing: `streamlit run streamlit_ui/app.py` from a container-like layout,
driven by headless Chromium (Debian's `chromium`, through Playwright, which never
downloads a browser of its own). The screenshot lands in artifacts/ at the repo root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


UI_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = UI_DIR.parent
ARTIFACTS = REPO_ROOT / "artifacts"
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser")


def chromium_path() -> str:
    """The system Chromium's real binary (Debian's /usr/bin/chromium is a wrapper script)."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit
    for candidate in CHROMIUM_CANDIDATES:
        found = candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) \
            else shutil.which(candidate)
        if found:
            return found
    raise RuntimeError("Chromium not found: install Debian's `chromium` package or set "
                       "CHROMIUM_PATH to a Chromium binary")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard(tmp_path, seeded):
    """Copy streamlit_ui/ alone into an /app-like directory and serve it from there."""
    backend, key, hack_id = seeded
    app_dir = tmp_path / "app"
    shutil.copytree(UI_DIR, app_dir / "streamlit_ui",
                    ignore=shutil.ignore_patterns("tests", "__pycache__"))
    port = free_port()
    env = dict(os.environ, API_BASE_URL=backend.base_url, VIBEJUDGE_API_KEY=key,
               HOME=str(tmp_path), PYTHONDONTWRITEBYTECODE="1")
    log_path = tmp_path / "streamlit.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_ui/app.py",
             "--server.headless=true", "--server.address=127.0.0.1", f"--server.port={port}",
             "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
            cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        yield {"url": f"http://127.0.0.1:{port}", "proc": proc, "log": log_path,
               "hack_id": hack_id, "backend": backend}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
        try:
            resp = requests.get(f"{url}/_stcore/health", timeout=2)
            if resp.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"streamlit not healthy after {timeout} s:\n{log.read_text()}")


def test_streamlit_serves_the_signed_in_leaderboard(dashboard):
    from playwright.sync_api import sync_playwright

    wait_healthy(dashboard["url"], dashboard["proc"], dashboard["log"])
    health = requests.get(f"{dashboard['url']}/_stcore/health", timeout=5)
    assert health.status_code == 200 and health.text == "ok"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard-leaderboard.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{dashboard['url']}/Results?hack_id={dashboard['hack_id']}")
            page.get_by_role("heading", name="Leaderboard").wait_for(timeout=120_000)
            page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=120_000)
            page.get_by_text("Gamma Ray", exact=True).first.wait_for(state="attached",
                                                                     timeout=120_000)
            # The data grid paints on a canvas after layout settles.
            page.wait_for_timeout(4000)
            page.screenshot(path=str(shot), full_page=True)
            body = page.inner_text("body")
            exceptions = page.locator('[data-testid="stException"]').count()

            # The home page: the agents and a working link to every page.
            page.goto(dashboard["url"])
            page.get_by_role("heading", name="The four judging agents").wait_for(
                timeout=120_000)
            for label in ("Create hackathon", "Live dashboard", "Results", "Intelligence"):
                # Page links render a moment after the rest of the page.
                page.get_by_role("link", name=label, exact=True).first.wait_for(timeout=120_000)
            home = page.inner_text("body")
            page.get_by_role("link", name="Live dashboard", exact=True).first.click()
            page.get_by_text("Analysis complete.").wait_for(timeout=120_000)
            live = page.inner_text("body")
            exceptions += page.locator('[data-testid="stException"]').count()
        finally:
            browser.close()

    assert exceptions == 0
    assert "Signed in as" in body and "Ada Organizer" in body
    for text in ("Results", "Score distribution", "Mean", "Median", "Scorecard"):
        assert text in body
    assert "Traceback" not in body and "Something unexpected" not in body
    assert shot.stat().st_size > 20_000
    for text in ("Bug Hunter", "Performance", "Innovation", "AI Detection", "Create hackathon",
                 "Results", "Intelligence", "Welcome, Ada Organizer"):
        assert text in home
    for text in ("Cost estimate", "Start analysis", "Analysis complete", "Participants"):
        assert text in live
    assert "Traceback" not in dashboard["log"].read_text()
    # The browser session signed in with an authenticated call, never /health or login.
    backend = dashboard["backend"]
    assert backend.count_requests("GET", r"^/api/v1/organizers/me$") >= 1
    assert backend.count_requests("POST", r"/organizers/login") == 0
