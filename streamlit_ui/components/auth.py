"""Signing in and out: the API key and base URL live in the Streamlit session.

A key is accepted only after an authenticated call (``GET /organizers/me``)
succeeds. ``/health`` is public and proves nothing about a key, and
``POST /organizers/login`` would issue a new key and revoke the user's current
ones, so it is never called here.

Operators of a single-organizer deployment may set ``VIBEJUDGE_API_KEY``: every
new session then signs in with that key (validated the same way) unless the
user signed out in that session. Anyone who can open the dashboard acts as that
organizer, so only set it where access to the dashboard itself is restricted.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import streamlit as st

from components.api_client import APIError, VibeJudgeClient

DEFAULT_BASE_URL = "http://localhost:8000/api/v1"
ENV_BASE_URL = "API_BASE_URL"
ENV_API_KEY = "VIBEJUDGE_API_KEY"

KEY = "vj_api_key"
BASE = "vj_base_url"
ORG = "vj_org"
CLIENT = "vj_client"
SIGNED_OUT = "vj_signed_out"
ENV_ERROR = "vj_env_sign_in_error"


API_PREFIX = "/api/v1"
EXAMPLE_BASE_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev"


def default_base_url() -> str:
    return (os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).strip().rstrip("/")


def normalize_base_url(url: str) -> str:
    """Check and tidy a base URL; raise ValueError with what to fix.

    The API Gateway stage URL (``https://ID.execute-api.REGION.amazonaws.com/dev``)
    and the API's own base (the same with ``/api/v1``) are both accepted: the
    routes live under ``/api/v1``, which is appended when missing.
    """
    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("The API URL must start with http:// or https:// and name a host, "
                         f"e.g. {EXAMPLE_BASE_URL} (the API Gateway stage URL)")
    if parts.query or parts.fragment:
        raise ValueError("The API URL takes no ?query or #fragment: give the stage URL, "
                         f"e.g. {EXAMPLE_BASE_URL}")
    if not parts.path.endswith(API_PREFIX):
        url += API_PREFIX
    return url


def base_url_note(url: str) -> str | None:
    """What normalize_base_url changes about a URL, said in one sentence (or None)."""
    try:
        normalized = normalize_base_url(url)
    except ValueError:
        return None
    if normalized != (url or "").strip().rstrip("/"):
        return f"The API's routes live under {API_PREFIX}: the dashboard uses {normalized}."
    return None


def normalize_api_key(key: str) -> str:
    key = (key or "").strip()
    if not key:
        raise ValueError("Enter your API key (it starts with vj_live_).")
    if any(c.isspace() for c in key):
        raise ValueError("An API key has no spaces: paste it again without extra text.")
    return key


def sign_in(api_key: str, base_url: str | None = None) -> dict:
    """Validate the key with GET /organizers/me and keep it in the session.

    Raises ValueError for a malformed key or URL and APIError when the API refuses.
    """
    key = normalize_api_key(api_key)
    base = normalize_base_url(base_url or default_base_url())
    client = VibeJudgeClient(base, key)
    try:
        organizer = client.get_me()
    except APIError:
        client.close()
        raise
    old = st.session_state.get(CLIENT)
    if old is not None:
        old.close()
    st.session_state[KEY] = key
    st.session_state[BASE] = base
    st.session_state[ORG] = organizer
    st.session_state[CLIENT] = client
    st.session_state.pop(SIGNED_OUT, None)
    st.session_state.pop(ENV_ERROR, None)
    return organizer


def sign_out() -> None:
    """Forget everything this session knew, including the key."""
    client = st.session_state.get(CLIENT)
    if client is not None:
        client.close()
    for name in list(st.session_state.keys()):
        del st.session_state[name]
    st.session_state[SIGNED_OUT] = True


def is_signed_in() -> bool:
    return bool(st.session_state.get(KEY)) and st.session_state.get(CLIENT) is not None


def organizer() -> dict:
    return st.session_state.get(ORG) or {}


def get_client() -> VibeJudgeClient:
    client = st.session_state.get(CLIENT)
    if client is None:
        raise RuntimeError("not signed in")
    return client


def try_env_sign_in() -> None:
    """Sign in with VIBEJUDGE_API_KEY once per session, if the operator set it."""
    env_key = os.environ.get(ENV_API_KEY, "").strip()
    if not env_key or is_signed_in() or st.session_state.get(SIGNED_OUT):
        return
    if ENV_ERROR in st.session_state:
        return
    try:
        sign_in(env_key, default_base_url())
    except (APIError, ValueError) as exc:
        message = exc.friendly if isinstance(exc, APIError) else str(exc)
        st.session_state[ENV_ERROR] = f"The key in {ENV_API_KEY} could not sign in: {message}"
