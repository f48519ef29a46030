"""What the dashboard loads and does at start-up: a fresh container pays for every import
on its first page (bench/startup.sh measures it; docs/IMAGE-SIZE.md has the figures).

Each check runs the whole app (``app.py`` and its navigation, signed in with the operator's
key) in a fresh interpreter, so that nothing imported by other tests can hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

UI_DIR = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "pyarrow", "numpy", "dateutil")

# Runs in a fresh interpreter: the app on one page, then which heavy modules are loaded.
PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest

page = sys.argv[1]
at = AppTest.from_file("app.py", default_timeout=120)
at.run()
if page != "home":
    at.switch_page(page).run()
print(json.dumps({
    "exceptions": [e.value for e in at.exception],
    "success": [e.value for e in at.success],
    "headings": [e.value for e in at.subheader] + [e.value for e in at.title],
    "dataframes": len(at.dataframe),
    "loaded": sorted(m for m in %r if m in sys.modules),
}))
""" % (HEAVY,)


def run_page(seeded, page: str) -> dict:
    backend, key, _ = seeded
    env = dict(os.environ, API_BASE_URL=backend.base_url, VIBEJUDGE_API_KEY=key,
               PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", PROBE, page], cwd=UI_DIR, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_home_page_imports_no_dataframe_or_date_library(seeded):
    result = run_page(seeded, "home")
    assert result["exceptions"] == []
    assert any("Welcome, Ada Organizer" in s for s in result["success"]), result
    assert "The four judging agents" in result["headings"], result
    assert result["loaded"] == [], (
        f"the Home page imported {result['loaded']}: import them where they are used "
        "(streamlit_ui/components), not at the top of a module the Home page loads")


def test_a_page_with_tables_still_gets_them(seeded):
    # The other side of the check above: a page that shows dataframes loads pandas and
    # pyarrow (through st.dataframe) and parses dates, so the check can see those imports.
    result = run_page(seeded, "pages/3_Results.py")
    assert result["exceptions"] == []
    assert result["dataframes"] > 0
    assert {"pandas", "pyarrow", "dateutil"} <= set(result["loaded"]), result

