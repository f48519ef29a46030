"""Shared page pieces: page setup, friendly errors, sign-in gate, hackathon picker."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import streamlit as st

from components import auth
from components.api_client import (
    APIError,
    APIUnreachableError,
    AuthenticationError,
    RateLimitError,
)
from components.formatters import status_label

log = logging.getLogger("vibejudge.dashboard")
T = TypeVar("T")

HACK = "vj_hack_id"
HACK_LIST = "vj_hack_list"
PAGE_SIZE = 20

PAGES = {
    "app.py": ("Home", "🏠"),
    "pages/1_Create_Hackathon.py": ("Create hackathon", "🛠️"),
    "pages/2_Live_Dashboard.py": ("Live dashboard", "📡"),
    "pages/3_Results.py": ("Results", "🏆"),
    "pages/4_Intelligence.py": ("Intelligence", "🧠"),
}


def setup_page(title: str, icon: str) -> None:
    st.set_page_config(page_title=f"{title} · VibeJudge", page_icon=icon, layout="wide")
    # Failures are shown by the pages themselves; never a traceback.
    st.set_option("client.showErrorDetails", "none")


def nav_link(page: str, label: str | None = None) -> None:
    """A link to another page of the app."""
    default_label, icon = PAGES[page]
    try:
        st.page_link(page, label=label or default_label, icon=icon)
    except Exception:
        # Outside the multipage app (a page run on its own) page_link cannot resolve
        # the target; a relative URL works in every layout.
        url_path = "./" if page == "app.py" else page.split("/", 1)[1][:-3].split("_", 1)[1]
        st.markdown(f"{icon} [{label or default_label}]({url_path})")


def show_error(exc: BaseException, doing: str = "") -> None:
    """One short, friendly message for a failure, with what to do next."""
    prefix = f"Could not {doing}: " if doing else ""
    if isinstance(exc, APIUnreachableError):
        st.error(f"{prefix}{exc.friendly}", icon="🔌")
    elif isinstance(exc, AuthenticationError):
        st.error(f"{prefix}Your API key was not accepted ({exc.detail or 'unauthorized'}). "
                 "It may have been revoked or replaced: sign out and sign in with a current key.",
                 icon="🔑")
    elif isinstance(exc, RateLimitError):
        st.warning(f"{prefix}{exc.friendly}", icon="⏱️")
    elif isinstance(exc, APIError):
        st.error(f"{prefix}{exc.friendly}")
    else:
        log.exception("unexpected failure", exc_info=exc)
        st.error(f"{prefix}Something unexpected went wrong ({type(exc).__name__}). "
                 "Reload the page; if it happens again, tell the VibeJudge team.")


def call(fn: Callable[..., T], *args: Any, doing: str = "", **kwargs: Any) -> T | None:
    """Run an API call; on failure show the friendly message and return None."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # Streamlit's own control flow derives from BaseException
        show_error(exc, doing)
        return None


@contextmanager
def guard() -> Iterator[None]:
    """Catch anything a page body lets escape, so no traceback reaches the page."""
    try:
        yield
    except Exception as exc:
        show_error(exc)


def sidebar() -> None:
    with st.sidebar:
        if auth.is_signed_in():
            org = auth.organizer()
            st.markdown(f"**Signed in as** {org.get('name', '—')}")
            if org.get("organization"):
                st.caption(org["organization"])
            st.caption(f"API: {st.session_state.get(auth.BASE, '')}")
            if st.button("Sign out", key="sidebar_sign_out"):
                auth.sign_out()
                st.rerun()
        else:
            st.caption("Not signed in")


def require_auth() -> Any:
    """Return the API client, or explain how to sign in and stop the page."""
    auth.try_env_sign_in()
    sidebar()
    if not auth.is_signed_in():
        st.warning("🔒 Sign in with your VibeJudge API key on the home page to use this page.")
        nav_link("app.py", "Go to sign-in")
        st.stop()
    return auth.get_client()


def _load_hackathons(client: Any, reset: bool = False) -> dict:
    state = st.session_state.get(HACK_LIST)
    if state is None or reset:
        page = client.list_hackathons(limit=PAGE_SIZE)
        state = {"items": list(page.get("hackathons", [])), "cursor": page.get("next_cursor"),
                 "has_more": bool(page.get("has_more"))}
        st.session_state[HACK_LIST] = state
    return state


def _load_more(client: Any) -> None:
    state = st.session_state[HACK_LIST]
    page = client.list_hackathons(limit=PAGE_SIZE, cursor=state["cursor"])
    known = {h["hack_id"] for h in state["items"]}
    state["items"].extend(h for h in page.get("hackathons", []) if h["hack_id"] not in known)
    state["cursor"] = page.get("next_cursor")
    state["has_more"] = bool(page.get("has_more"))


def forget_hackathon_list() -> None:
    st.session_state.pop(HACK_LIST, None)


def pick_hackathon(client: Any, page_key: str) -> dict | None:
    """A selectbox of the organizer's hackathons, paged with "Load more".

    The choice is shared by all pages and can come from the ``hack_id`` URL
    query parameter. Returns the chosen HackathonListItem or None.
    """
    wanted = st.session_state.get(HACK) or st.query_params.get("hack_id")
    try:
        state = _load_hackathons(client)
    except Exception as exc:
        show_error(exc, "load your hackathons")
        return None
    items = {h["hack_id"]: h for h in state["items"]}
    if wanted and wanted not in items:
        try:
            hack = client.get_hackathon(wanted)
            items[wanted] = {k: hack.get(k) for k in ("hack_id", "name", "status",
                                                      "submission_count")}
            state["items"].append(items[wanted])
        except Exception:
            wanted = None
    if not items:
        st.info("You have no hackathons yet.")
        nav_link("pages/1_Create_Hackathon.py", "Create your first hackathon")
        return None
    ids = list(items)
    widget_key = f"hack_picker_{page_key}"
    if st.session_state.get(widget_key) not in ids:
        st.session_state[widget_key] = wanted if wanted in ids else ids[0]
    cols = st.columns([5, 1, 1])
    with cols[0]:
        chosen = st.selectbox(
            "Hackathon", ids, key=widget_key,
            format_func=lambda h: (f"{items[h]['name']} · {status_label(items[h].get('status'))}"
                                   f" · {items[h].get('submission_count', 0)} submissions"),
        )
    with cols[1]:
        if st.button("Load more", key=f"more_{page_key}", disabled=not state["has_more"],
                     help="Load the next page of your hackathons"):
            try:
                _load_more(client)
            except Exception as exc:
                show_error(exc, "load more hackathons")
            else:
                st.rerun()
    with cols[2]:
        if st.button("Refresh", key=f"refresh_{page_key}"):
            forget_hackathon_list()
            st.rerun()
    st.session_state[HACK] = chosen
    if st.query_params.get("hack_id") != chosen:
        st.query_params["hack_id"] = chosen
    return items[chosen]
