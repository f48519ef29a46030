"""The real thing: `streamlit run streamlit_ui/app.py` from a container-like layout,
driven by headless Chromium (Debian's `chromium`, through Playwright, which never
downloads a browser of its own) at 1440x900 through an organizer's session. The
screenshots of every page land in artifacts/ at the repository root.

Every wait is on a condition (an element, the app going idle, the health endpoint),
never a fixed delay.
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

from components.api_client import format_reset


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
               "hack_id": hack_id, "backend": backend, "key": key}
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


TIMEOUT_MS = 180_000  # generous: the machine may be busy; every wait is on a condition
VIEWPORT = {"width": 1440, "height": 900}


# The app has settled: no run in progress (the status widget shows none) and no element
# left over from an earlier run (Streamlit marks those data-stale until the run ends).
SETTLED = """() => {
    const busy = document.querySelector('[data-testid="stStatusWidget"]');
    const running = busy && busy.getBoundingClientRect().height > 0;
    return !running && !document.querySelector('[data-stale="true"]');
}"""
# Every data grid (a canvas) and every Plotly chart on the page has been laid out.
PAINTED = """() => [...document.querySelectorAll(
        '[data-testid="stDataFrame"] canvas, [data-testid="stPlotlyChart"] .main-svg')]
    .every(e => e.getBoundingClientRect().height > 0)"""


def idle(page) -> None:
    """Wait until the app has settled after the last action (callers first wait for
    what that action shows, so the run it started has begun)."""
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)


def go(page, label: str, heading: str) -> None:
    """Open a page from the sidebar navigation (same session) and wait for its heading."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=label, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for(timeout=TIMEOUT_MS)
    idle(page)


def shot(page, name: str) -> Path:
    """The page as first seen (1440x900), then all of it at the same width."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"dashboard-{name}.png"
    _painted(page)
    page.screenshot(path=str(path))
    # Streamlit scrolls inside its main container, not the document: grow the
    # viewport to the content's height for the full page.
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], "
        "[data-testid=\"stMain\"] *')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height,
                                                                      VIEWPORT["height"])})
    _painted(page)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-full.png"))
    page.set_viewport_size(VIEWPORT)
    return path


def _painted(page) -> None:
    idle(page)
    page.wait_for_function(PAINTED, timeout=TIMEOUT_MS)


def search(page, text: str, expect_caption: str) -> None:
    box = page.get_by_label("Search teams")
    box.fill(text)
    box.press("Enter")
    page.get_by_text(expect_caption, exact=True).wait_for(timeout=TIMEOUT_MS)
    idle(page)


def pick(page, label: str, option: str) -> None:
    from playwright.sync_api import expect

    box = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_text(label, exact=True))
    combo = box.get_by_role("combobox")
    combo.click()
    combo.fill(option)  # the selectbox filters its options by what is typed
    page.get_by_role("option", name=option, exact=True).click()
    expect(combo).to_have_value(option)
    idle(page)


def team(page, entry: dict) -> None:
    """Show a team's scorecard and wait for it."""
    pick(page, "Team", f"#{entry['rank']} {entry['team_name']}")
    page.get_by_role("heading", name=entry["team_name"], exact=True).wait_for()
    idle(page)


def test_an_organizer_session_in_chromium(dashboard):
    from playwright.sync_api import expect, sync_playwright

    wait_healthy(dashboard["url"], dashboard["proc"], dashboard["log"])
    health = requests.get(f"{dashboard['url']}/_stcore/health", timeout=5)
    assert health.status_code == 200 and health.text == "ok"
    backend, spring = dashboard["backend"], dashboard["hack_id"]
    board = backend._leaderboard(backend.hackathons[spring])["leaderboard"]
    shots = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(TIMEOUT_MS)

            # Home: the first navigation entry is "Home", and viewers get no Deploy button.
            page.goto(dashboard["url"])
            page.get_by_role("heading", name="The four judging agents").wait_for()
            idle(page)
            nav = page.get_by_test_id("stSidebarNav")
            expect(nav.get_by_role("link").first).to_have_accessible_name("Home")
            expect(nav).not_to_contain_text("app")
            expect(page.get_by_text("Welcome, Ada Organizer")).to_be_visible()
            expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
            shots.append(shot(page, "home"))

            # Create a second hackathon; the submissions added next land in it.
            go(page, "Create hackathon", "🛠️ Create a hackathon")
            name = page.get_by_label("Name", exact=True)
            name.fill("Winter Hack")
            name.press("Enter")
            page.get_by_text("Everything checks out.").wait_for()
            idle(page)
            page.get_by_role("button", name="Create hackathon").click()
            page.get_by_text("Submissions go to Winter Hack").wait_for()
            idle(page)
            area = page.get_by_label("Submissions", exact=True)
            area.fill("Zeta Team, https://github.com/zeta/app")
            area.press("Control+Enter")
            add = page.get_by_role("button", name="Add 1 submission(s) to Winter Hack")
            add.wait_for()
            idle(page)
            add.click()
            page.get_by_text("Added 1 submission(s) to Winter Hack; it now has 1.").wait_for()
            idle(page)
            shots.append(shot(page, "create"))
            winter = next(h for h, v in backend.hackathons.items() if v["name"] == "Winter Hack")
            zeta = [s for s in backend.submissions.values() if s["team_name"] == "Zeta Team"]
            assert [s["hack_id"] for s in zeta] == [winter]

            # Live dashboard: follows the hackathon just created; then back to Spring.
            go(page, "Live dashboard", "📡 Live dashboard")
            page.get_by_text("No analysis has run for this hackathon yet.").wait_for()
            page.get_by_role("button", name="Estimate cost").click()
            page.get_by_text("Submissions to analyze").wait_for()
            idle(page)
            page.get_by_text("I understand this analysis will spend up to $0.0780.").click()
            expect(page.get_by_role("button", name="Start analysis")).to_be_enabled()
            idle(page)
            shots.append(shot(page, "live-estimate"))
            pick(page, "Hackathon", "Spring Hack 2026 · 🏁 Completed")
            page.get_by_text("Analysis complete.").wait_for()
            idle(page)
            expect(page.get_by_text("Spent $0.3250 of the $50.00 budget")).to_be_visible()
            shots.append(shot(page, "live"))

            # Results: ten interactions, within the request budget.
            go(page, "Results", "🏆 Results")
            page.get_by_role("heading", name="Leaderboard").wait_for()
            total = len(board)
            everyone = f"Showing {total} of {total} team(s), page 1 of 1."
            # Ten interactions, each with a visible result to wait for.
            search(page, "Gamma", "Showing 1 of 1 team(s), page 1 of 1.")
            search(page, "", everyone)
            team(page, board[1])
            page.get_by_text("Costs", exact=True).click()
            page.get_by_text("The detailed cost breakdown is unavailable").wait_for()
            idle(page)
            team(page, board[2])
            search(page, "Alpha", "Showing 1 of 1 team(s), page 1 of 1.")
            search(page, "", everyone)
            team(page, board[0])
            search(page, "Delta", "Showing 1 of 1 team(s), page 1 of 1.")
            search(page, "", everyone)
            page.get_by_text("Actionable feedback (1)").click()
            page.get_by_text("What works:").first.wait_for()
            idle(page)
            session_requests = len(backend.requests_log)
            page.evaluate("window.scrollTo(0, 0)")
            shots.append(shot(page, "results"))

            go(page, "Intelligence", "🧠 Intelligence")
            page.get_by_role("heading", name="Top performers").wait_for()
            shots.append(shot(page, "intelligence"))

            # The daily quota runs out: the page says so, with the reset time.
            backend.exhaust_quota(dashboard["key"])
            go(page, "Results", "🏆 Results")
            page.get_by_role("button", name="Refresh").click()
            reset = format_reset(backend.quota_reset())
            page.get_by_text(f"It resets at {reset}").first.wait_for()
            idle(page)
            shots.append(shot(page, "quota"))
            body = page.inner_text("body")
            exceptions = page.locator('[data-testid="stException"]').count()
        except BaseException:
            # What the page looked like when a wait gave up.
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"), full_page=True)
            raise
        finally:
            browser.close()

    assert exceptions == 0
    assert "Traceback" not in body and "Something unexpected" not in body
    assert "used up" in body and "wait a little" not in body
    assert session_requests < 40, [f"{m} {p}" for m, p, _ in backend.requests_log]
    assert backend.count_requests("GET", r"/submissions/[^/]+/costs$") == 1
    for path in shots:
        assert path.stat().st_size > 20_000
    assert "Traceback" not in dashboard["log"].read_text()
    # The browser session signed in with an authenticated call, never /health or login.
    assert backend.count_requests("GET", r"^/api/v1/organizers/me$") >= 1
    assert backend.count_requests("POST", r"/organizers/login") == 0
