"""VibeJudge organizer dashboard: the entry point (`streamlit run streamlit_ui/app.py`).

Registers the pages with ``st.navigation`` (Home first), signs in with the
operator's key when one is configured, then runs the page (each page draws the
sidebar: what the entry point draws is not kept across reruns by Streamlit's AppTest).
"""

import sys
from pathlib import Path

# The directory of this file holds ``components``; put it on the path first.
_UI_DIR = str(Path(__file__).resolve().parent)
if _UI_DIR not in sys.path:
    sys.path.insert(0, _UI_DIR)

from components import auth, ui  # noqa: E402

page = ui.navigation()
auth.try_env_sign_in()
page.run()
