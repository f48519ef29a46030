"""Cached reads: every API request spends the key's daily quota (100 for a free key).

Reads go through ``st.cache_data`` with a short time to live, keyed by the API URL,
the key, a per-key generation and the call's arguments, so reruns (every click on a
page) cost no request. Any write bumps the key's generation (``invalidate``): what
that session, or another one with the same key, reads next is fresh. Failures are
never cached. ``VIBEJUDGE_CACHE_TTL`` (seconds, default 60) sets the time to live.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import streamlit as st

from components import auth

ENV_CACHE_TTL = "VIBEJUDGE_CACHE_TTL"
DEFAULT_TTL_SECONDS = 60.0


def cache_ttl() -> float:
    """The time to live of cached reads, from ``VIBEJUDGE_CACHE_TTL``."""
    raw = os.environ.get(ENV_CACHE_TTL, "").strip()
    if not raw:
        return DEFAULT_TTL_SECONDS
    try:
        ttl = float(raw)
    except ValueError:
        raise ValueError(f"{ENV_CACHE_TTL} must be a number of seconds, got {raw!r}") from None
    if ttl <= 0:
        raise ValueError(f"{ENV_CACHE_TTL} must be positive, got {raw!r}")
    return ttl


_lock = threading.Lock()
_generations: dict[tuple[str, str], int] = {}


def _generation(base_url: str, api_key: str) -> int:
    with _lock:
        return _generations.get((base_url, api_key), 0)


def invalidate(client: Any = None) -> None:
    """Forget every cached read of this key: call after any write."""
    client = client or auth.get_client()
    with _lock:
        key = (client.base_url, client.api_key)
        _generations[key] = _generations.get(key, 0) + 1


@st.cache_data(ttl=cache_ttl(), max_entries=2000, show_spinner=False)
def _read(base_url: str, api_key: str, generation: int, method: str, args: tuple,
          _client: Any) -> Any:
    return getattr(_client, method)(*args)


def read(method: str, *args: Any) -> Any:
    """``client.<method>(*args)``, from the cache when this key read it recently."""
    client = auth.get_client()
    return _read(client.base_url, client.api_key, _generation(client.base_url, client.api_key),
                 method, args, client)
