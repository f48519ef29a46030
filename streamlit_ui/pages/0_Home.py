"""Home: sign in, or the welcome page with the judging agents and links."""

import sys
from pathlib import Path

_UI_DIR = str(Path(__file__).resolve().parent.parent)
if _UI_DIR not in sys.path:
    sys.path.insert(0, _UI_DIR)

import streamlit as st  # noqa: E402

from components import auth, ui  # noqa: E402
from components.api_client import APIError  # noqa: E402
from components.formatters import AGENT_INFO  # noqa: E402


def sign_in_form() -> None:
    st.subheader("Sign in")
    st.write("Paste the API key you received when you registered as an organizer.")
    env_error = st.session_state.get(auth.ENV_ERROR)
    if env_error:
        st.warning(env_error)
    api_key = st.text_input("API key", type="password", key="sign_in_key",
                            placeholder="vj_live_...")
    with st.expander("Advanced"):
        base_url = st.text_input(
            "API base URL", value=auth.default_base_url(), key="sign_in_base_url",
            help="The VibeJudge API: its API Gateway stage URL, with or without /api/v1 "
                 "(appended when missing). Defaults to the API_BASE_URL setting.",
        )
        note = auth.base_url_note(base_url)
        if note:
            st.caption(note)
    if st.button("Sign in", type="primary", key="sign_in_button"):
        try:
            with st.spinner("Checking your key…"):
                org = auth.sign_in(api_key, base_url)
        except ValueError as exc:
            st.error(str(exc))
        except APIError as exc:
            ui.show_error(exc, "sign in")
        else:
            st.success(f"Signed in as {org.get('name', 'organizer')}.")
            st.rerun()
    st.caption("Lost your key? Sign in to the VibeJudge API with your email to get a new one; "
               "that replaces every key you had before.")


def home() -> None:
    org = auth.organizer()
    # hackathon_count is not kept up to date by the API: not shown.
    st.success(f"Welcome, {org.get('name', 'organizer')}"
               + (f" ({org['organization']})" if org.get("organization") else "")
               + f" · tier {org.get('tier', 'free')}")
    st.subheader("What the dashboard does")
    cols = st.columns(2)
    pages = [p for p in ui.PAGES if p != ui.HOME]
    blurbs = [
        "Set up a hackathon: rubric, agents, AI policy, budget; then add team repositories.",
        "Estimate the cost, start the analysis and watch it progress live.",
        "Leaderboard, statistics and every team's scorecard with evidence.",
        "Top performers, hiring signals, technology trends and recommendations.",
    ]
    for i, (page, blurb) in enumerate(zip(pages, blurbs)):
        with cols[i % 2]:
            ui.nav_link(page)
            st.caption(blurb)
    st.subheader("The four judging agents")
    st.write("Each submission's repository is reviewed by up to four AI agents. The rubric "
             "maps every scoring dimension to one of them.")
    agent_cols = st.columns(4)
    for col, (name, info) in zip(agent_cols, AGENT_INFO.items()):
        with col:
            st.markdown(f"#### {info['icon']} {info['label']}")
            st.caption(f"`{name}`")
            st.write(info["summary"])
    if st.button("Sign out", key="home_sign_out"):
        auth.sign_out()
        st.rerun()


def main() -> None:
    st.title("⚖️ VibeJudge organizer dashboard")
    st.caption("AI judging for hackathons")
    ui.sidebar()
    if auth.is_signed_in():
        home()
    else:
        sign_in_form()


with ui.guard():
    main()
