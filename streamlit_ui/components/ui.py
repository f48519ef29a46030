"""Shared page pieces: navigation, friendly errors, sign-in gate, quota, hackathon picker."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import streamlit as st

from components import auth, data
from components.api_client import (
    APIError,
    APIUnreachableError,
    AuthenticationError,
    BudgetExceededError,
    Quota,
    QuotaExceededError,
    RateLimitError,
    format_reset,
)
from components.formatters import status_label

log = logging.getLogger("vibejudge.dashboard")
T = TypeVar("T")

HACK = "vj_hack_id"
HACK_LIST = "vj_hack_list"
PAGE_SIZE = 20

HOME = "pages/0_Home.py"
# file -> (title, icon, URL path). The paths keep the links of the earlier page layout.
PAGES = {
    HOME: ("Home", "🏠", ""),
    "pages/1_Create_Hackathon.py": ("Create hackathon", "🛠️", "Create_Hackathon"),
    "pages/2_Live_Dashboard.py": ("Live dashboard", "📡", "Live_Dashboard"),
    "pages/3_Results.py": ("Results", "🏆", "Results"),
    "pages/4_Intelligence.py": ("Intelligence", "🧠", "Intelligence"),
}


def navigation() -> Any:
    """Register every page with ``st.navigation`` (Home first) and return the current one."""
    pages = [st.Page(path, title=title, icon=icon, url_path=url_path or None,
                     default=path == HOME)
             for path, (title, icon, url_path) in PAGES.items()]
    page = st.navigation(pages)
    st.set_page_config(page_title=f"{page.title} · VibeJudge", page_icon=page.icon,
                       layout="wide")
    # Failures are shown by the pages themselves; never a traceback.
    st.set_option("client.showErrorDetails", "none")
    return page


def nav_link(page: str, label: str | None = None) -> None:
    """A link to another page of the app."""
    default_label, icon, url_path = PAGES[page]
    try:
        st.page_link(page, label=label or default_label, icon=icon)
    except Exception:
        # Outside the navigation (a page run on its own) page_link cannot resolve
        # the target; a relative URL works in every layout.
        st.markdown(f"{icon} [{label or default_label}](./{url_path})")


def show_error(exc: BaseException, doing: str = "") -> None:
    """One short, friendly message for a failure, with what to do next."""
    prefix = f"Could not {doing}: " if doing else ""
    if isinstance(exc, APIUnreachableError):
        st.error(f"{prefix}{exc.friendly}", icon="🔌")
    elif isinstance(exc, AuthenticationError):
        if auth.is_signed_in():
            advice = ("It may have been revoked or replaced: sign out and sign in with a "
                      "current key.")
        else:
            advice = ("Check that you pasted the whole key (it starts with vj_live_), or get "
                      "a current one from the VibeJudge API.")
        st.error(f"{prefix}Your API key was not accepted ({exc.detail or 'unauthorized'}). "
                 f"{advice}", icon="🔑")
    elif isinstance(exc, QuotaExceededError):
        st.warning(f"{prefix}{exc.friendly}", icon="⏳")
    elif isinstance(exc, RateLimitError):
        st.warning(f"{prefix}{exc.friendly}", icon="⏱️")
    elif isinstance(exc, BudgetExceededError):
        st.error(f"{prefix}{exc.friendly}", icon="💸")
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
    """Catch anything a page body lets escape, so no traceback reaches the page; then
    show the daily quota the API last reported."""
    try:
        yield
    except Exception as exc:
        show_error(exc)
    quota_note()


def quota_text(quota: Quota | None) -> str | None:
    if quota is None or quota.remaining is None:
        return None
    of = f" of {quota.limit:,}" if quota.limit else ""
    return (f"Daily quota: {quota.remaining:,}{of} requests left "
            f"(resets {format_reset(quota.reset)})")


def quota_note() -> None:
    """The remaining daily quota, in the sidebar, when the API reported it."""
    client = st.session_state.get(auth.CLIENT)
    text = quota_text(getattr(client, "quota", None))
    if text:
        st.sidebar.caption(f"⏳ {text}")


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
    """Draw the sidebar; return the API client, or explain how to sign in and stop the page."""
    sidebar()
    if not auth.is_signed_in():
        st.warning("🔒 Sign in with your VibeJudge API key on the home page to use this page.")
        nav_link(HOME, "Go to sign-in")
        st.stop()
    return auth.get_client()


def after_write() -> None:
    """Anything written makes cached reads stale: forget them and the hackathon list."""
    data.invalidate()
    forget_hackathon_list()


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


def _picked(widget_key: str) -> None:
    st.session_state[HACK] = st.session_state[widget_key]


def pick_hackathon(client: Any, page_key: str) -> dict | None:
    """A selectbox of the organizer's hackathons, paged with "Load more".

    One choice (``HACK``) is shared by every page and form; it can come from the
    ``hack_id`` URL query parameter, and a hackathon just created becomes it, so a
    page's picker follows it rather than keeping its own earlier choice. Returns the
    chosen HackathonListItem or None.
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
            items[wanted] = {k: hack.get(k) for k in ("hack_id", "name", "status")}
            state["items"].append(items[wanted])
        except Exception:
            wanted = None
    if not items:
        st.info("You have no hackathons yet.")
        nav_link("pages/1_Create_Hackathon.py", "Create your first hackathon")
        return None
    ids = list(items)
    widget_key = f"hack_picker_{page_key}"
    if wanted in ids:
        st.session_state[widget_key] = wanted
    elif st.session_state.get(widget_key) not in ids:
        st.session_state[widget_key] = ids[0]
    cols = st.columns([5, 1, 1], vertical_alignment="bottom")
    with cols[0]:
        # The list's submission_count is not kept up to date by the API: not shown.
        chosen = st.selectbox(
            "Hackathon", ids, key=widget_key, on_change=_picked, args=(widget_key,),
            format_func=lambda h: f"{items[h]['name']} · {status_label(items[h].get('status'))}",
        )
    with cols[1]:
        if st.button("Load more", key=f"more_{page_key}", disabled=not state["has_more"],
                     help="Load the next page of your hackathons", width="stretch"):
            try:
                _load_more(client)
            except Exception as exc:
                show_error(exc, "load more hackathons")
            else:
                st.rerun()
    with cols[2]:
        if st.button("Refresh", key=f"refresh_{page_key}", width="stretch",
                     help="Reload the hackathons and everything shown from the API"):
            data.invalidate(client)
            forget_hackathon_list()
            st.rerun()
    st.session_state[HACK] = chosen
    if st.query_params.get("hack_id") != chosen:
        st.query_params["hack_id"] = chosen
    return items[chosen]
