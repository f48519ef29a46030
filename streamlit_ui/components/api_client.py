"""HTTP client for the VibeJudge backend API (``streamlit_ui/API.md`` says what it relies on).

One ``requests.Session`` per client, explicit timeouts, and one exception type per
error class so that pages can explain every failure in plain words. Every request
counts against the key's daily quota, so retries are few: connection failures,
502/503/504 and the per-second 429, never a 500, a read timeout or the daily-quota
429. Redirects are followed only within the API's own origin (scheme, host, port),
so the API key never reaches another host and never travels over a downgraded scheme.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator
from urllib.parse import urljoin, urlsplit

import requests

# (connect, read) seconds. A read timeout is not retried: a hung backend costs one
# wait, not four.
DEFAULT_TIMEOUT = (5.0, 20.0)
USER_AGENT = "vibejudge-dashboard/1.0"
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


# --------------------------------------------------------------------------- errors


def format_detail(detail: Any) -> str:
    """Turn an API ``detail`` (a string, or the 422 list of problems) into one line."""
    if detail is None:
        return ""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = [str(p) for p in item.get("loc", []) if p != "body"]
                where = ".".join(loc)
                msg = str(item.get("msg", "invalid value"))
                parts.append(f"{where}: {msg}" if where else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(detail, dict):
        return str(detail.get("msg") or detail.get("message") or detail)
    return str(detail)


def body_message(body: Any) -> Any:
    """The message of an error body: ``detail`` (route errors) or ``error`` (middleware)."""
    if not isinstance(body, dict):
        return None
    for field in ("detail", "error"):
        if body.get(field) is not None:
            return body[field]
    return body.get("message")


def format_reset(epoch: float | None) -> str:
    """An epoch second as a UTC time, e.g. ``2026-12-01 00:00 UTC``."""
    if epoch is None:
        return "midnight UTC"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Quota:
    """The daily request quota as the API last reported it (``X-Quota-*`` headers)."""

    limit: int | None
    remaining: int | None
    reset: float | None  # epoch seconds

    @classmethod
    def from_headers(cls, headers: Any, body: Any = None) -> "Quota | None":
        limit = _float(headers.get("X-Quota-Limit"))
        remaining = _float(headers.get("X-Quota-Remaining"))
        reset = _float(headers.get("X-Quota-Reset"))
        if reset is None and isinstance(body, dict):
            reset = _float(body.get("quota_reset"))
        if limit is None and remaining is None and reset is None:
            return None
        return cls(None if limit is None else int(limit),
                   None if remaining is None else int(remaining), reset)


class APIError(Exception):
    """Any failure talking to the API. ``detail`` is the API's own text."""

    status_code: int | None = None
    hint = "Try again in a moment."

    def __init__(self, detail: str = "", *, status_code: int | None = None, raw: Any = None):
        self.detail = detail or ""
        if status_code is not None:
            self.status_code = status_code
        self.raw = raw
        super().__init__(self.message)

    @property
    def message(self) -> str:
        code = f"HTTP {self.status_code}: " if self.status_code else ""
        return f"{code}{self.detail}" if self.detail else f"{code}{type(self).__name__}"

    @property
    def friendly(self) -> str:
        """A short sentence for the page: what happened and what to do."""
        base = self.detail.rstrip(".") + "." if self.detail else "The request failed."
        return f"{base} {self.hint}"


class BadRequestError(APIError):
    status_code = 400
    hint = "Check the request and try again."


class AuthenticationError(APIError):
    status_code = 401
    hint = "Check your API key, or sign in again from the home page."


class BudgetExceededError(APIError):
    """Over budget: a 402, or the 500 the API answers when the estimate exceeds the limit."""

    status_code = 402
    hint = "Raise the hackathon's budget limit or analyze fewer submissions."

    def __init__(self, detail: str = "", *, estimate_usd: float | None = None,
                 limit_usd: float | None = None, **kw: Any):
        self.estimate_usd = estimate_usd
        self.limit_usd = limit_usd
        super().__init__(detail, **kw)

    @property
    def friendly(self) -> str:
        if self.estimate_usd is not None and self.limit_usd is not None:
            return (f"Over budget: the analysis is estimated at ${self.estimate_usd:,.2f}, "
                    f"above the hackathon's budget limit of ${self.limit_usd:,.2f}. {self.hint}")
        return f"Over budget: {self.detail.rstrip('.') or 'budget limit exceeded'}. {self.hint}"


class ForbiddenError(APIError):
    status_code = 403
    hint = "This belongs to another organizer: pick one of your own hackathons."


class NotFoundError(APIError):
    status_code = 404
    hint = "It may have been deleted: refresh the list and pick again."


class ConflictError(APIError):
    status_code = 409
    hint = "Refresh to see the current state, then try again."


class ValidationError(APIError):
    status_code = 422
    hint = "Correct the fields named above and submit again."

    def __init__(self, detail: str = "", *, errors: list | None = None, **kw: Any):
        self.errors = errors or []
        super().__init__(detail, **kw)


class RateLimitError(APIError):
    """The per-second rate limit: waiting a moment helps."""

    status_code = 429

    def __init__(self, detail: str = "", *, retry_after: float | None = None, **kw: Any):
        self.retry_after = retry_after
        super().__init__(detail, **kw)

    @property
    def hint(self) -> str:  # type: ignore[override]
        if self.retry_after:
            return f"Too many requests: wait about {int(self.retry_after + 0.999)} s and try again."
        return "Too many requests: wait a little and try again."


class QuotaExceededError(RateLimitError):
    """The key's daily quota is used up: nothing works until it resets, so never retry."""

    def __init__(self, detail: str = "", *, quota: Quota | None = None, **kw: Any):
        self.quota = quota
        super().__init__(detail, retry_after=None, **kw)

    @property
    def reset(self) -> float | None:
        return self.quota.reset if self.quota else None

    @property
    def hint(self) -> str:  # type: ignore[override]
        return (f"It resets at {format_reset(self.reset)}; until then every request is refused, "
                "so trying again earlier does not help.")

    @property
    def friendly(self) -> str:
        limit = self.quota.limit if self.quota and self.quota.limit else None
        size = f" of {limit:,} requests" if limit else ""
        return f"The API key's daily quota{size} is used up. {self.hint}"


class ServerError(APIError):
    status_code = 500
    hint = "The VibeJudge service had a problem; try again in a minute."


class RedirectRefusedError(APIError):
    """The API redirected to another origin: not followed, so the key stays here."""

    hint = ("The dashboard sends your API key only to the API's own address: set the API URL "
            "to the address the API really answers on.")

    def __init__(self, source: str, location: str, *, status_code: int | None = None):
        self.source = source
        self.location = location
        super().__init__(f"the API at {_origin_text(source)} redirected to "
                         f"{_origin_text(location)}, which was not followed",
                         status_code=status_code)

    @property
    def friendly(self) -> str:
        return f"{self.detail[0].upper()}{self.detail[1:]}. {self.hint}"


class APIUnreachableError(APIError):
    status_code = None
    hint = "Check the API URL and your network connection, then try again."

    @property
    def message(self) -> str:
        return f"API unreachable: {self.detail}"

    @property
    def friendly(self) -> str:
        return f"Cannot reach the VibeJudge API ({self.detail}). {self.hint}"


_ERRORS_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: BudgetExceededError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now())


# The 500 the API answers when an analysis would exceed the budget (a business rule).
_OVER_BUDGET = re.compile(r"estimated cost \$?([\d,]+(?:\.\d+)?) exceeds (?:the )?budget "
                          r"limit \$?([\d,]+(?:\.\d+)?)", re.IGNORECASE)


def _money(text: str) -> float:
    return float(text.replace(",", ""))


def error_from_response(resp: requests.Response) -> APIError:
    """Map a non-2xx response to its typed exception, keeping the API's message.

    Both body shapes are understood: ``{"detail": ...}`` from the routes and
    ``{"error": ..., "message": ...}`` from the middleware in front of them.
    """
    try:
        body = resp.json()
    except ValueError:
        body = None
    raw_detail = body_message(body)
    detail = format_detail(raw_detail) if raw_detail is not None else (resp.reason or "")
    if isinstance(body, dict) and body.get("error") is not None:
        extra = body.get("message")
        if isinstance(extra, str) and extra and extra not in detail:
            detail = f"{detail.rstrip('.')}: {extra}"
    status = resp.status_code
    if status == 422:
        errors = raw_detail if isinstance(raw_detail, list) else []
        return ValidationError(detail, errors=errors, status_code=status, raw=body)
    if status == 429:
        quota = Quota.from_headers(resp.headers, body)
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if retry_after is None and quota is not None and quota.reset is not None:
            return QuotaExceededError(detail, quota=quota, status_code=status, raw=body)
        if retry_after is None and isinstance(body, dict):
            retry_after = _float(body.get("retry_after"))
        return RateLimitError(detail, retry_after=retry_after, status_code=status, raw=body)
    over = _OVER_BUDGET.search(detail) if status in (402, 500) else None
    if over:
        return BudgetExceededError(detail, estimate_usd=_money(over.group(1)),
                                   limit_usd=_money(over.group(2)), status_code=status, raw=body)
    if status >= 500:
        return ServerError(detail, status_code=status, raw=body)
    cls = _ERRORS_BY_STATUS.get(status, APIError)
    return cls(detail, status_code=status, raw=body)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def _origin_text(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


# --------------------------------------------------------------------------- client


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff_base: float = 0.5  # seconds before the first retry (before jitter)
    backoff_max: float = 8.0
    max_retry_after: float = 10.0  # a longer Retry-After is reported, not waited for

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        delay = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        return delay / 2 + rng() * delay / 2


# A 500 is never retried: the API uses it for business rules ("analysis already in
# progress", over budget) and for bugs that fail the same way again (the submission
# costs route), and every retry spends the daily quota. These are transient.
_RETRYABLE = {429, 502, 503, 504}
_REDIRECTS = {301, 302, 303, 307, 308}


def service_root(base_url: str) -> str:
    """The service root for ``/health``: the base URL without its ``/api/v1``."""
    base = base_url.rstrip("/")
    if base.endswith("/api/v1"):
        base = base[: -len("/api/v1")]
    return base


class VibeJudgeClient:
    """Typed access to the routes the dashboard uses."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.session.headers["Accept"] = "application/json"
        self._sleep = sleep
        self._rng = rng
        self.quota: Quota | None = None  # the daily quota as last reported

    # ---- plumbing

    def close(self) -> None:
        self.session.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        url: str | None = None,
    ) -> Any:
        """Send a request with retries; return the decoded JSON (None for 204)."""
        method = method.upper()
        headers = {}
        if auth:
            if not self.api_key:
                raise AuthenticationError("No API key: sign in first", status_code=401)
            headers["X-API-Key"] = self.api_key
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        target = url or self._url(path)
        attempt = 0
        while True:
            try:
                resp = self._send(method, target, json=json, params=params, headers=headers)
            except requests.exceptions.RequestException as exc:
                # Only a refused or failed connection is worth another try: nothing reached
                # the server. A timeout means a hung backend (or a POST that may have acted).
                repeatable = (isinstance(exc, requests.exceptions.ConnectionError)
                              and not isinstance(exc, requests.exceptions.Timeout))
                if repeatable and attempt < self.retry.max_retries:
                    self._sleep(self.retry.backoff(attempt, self._rng))
                    attempt += 1
                    continue
                raise APIUnreachableError(_describe_network_error(exc, target)) from None
            quota = Quota.from_headers(resp.headers)
            if quota is not None:
                self.quota = quota
            if resp.status_code < 400:
                if resp.status_code == 204 or not resp.content:
                    return None
                try:
                    return resp.json()
                except ValueError:
                    raise ServerError(
                        "The API answered with something that is not JSON",
                        status_code=resp.status_code,
                    ) from None
            error = error_from_response(resp)
            if attempt < self.retry.max_retries and self._retryable(error):
                delay = self.retry.backoff(attempt, self._rng)
                if isinstance(error, RateLimitError) and error.retry_after is not None:
                    if error.retry_after > self.retry.max_retry_after:
                        raise error
                    delay = max(delay, error.retry_after)
                self._sleep(delay)
                attempt += 1
                continue
            raise error

    def _send(self, method: str, url: str, *, json: Any, params: dict[str, Any] | None,
              headers: dict[str, str]) -> requests.Response:
        """One request, following redirects only within the starting origin.

        ``requests`` would follow a redirect to any host with every header but
        ``Authorization``, and the key travels in ``X-API-Key``: so redirects are
        followed here, by hand, and refused when they leave the origin.
        """
        start = origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            resp = self.session.request(method, url, json=json, params=params, headers=headers,
                                        timeout=self.timeout, allow_redirects=False)
            location = resp.headers.get("Location")
            if resp.status_code not in _REDIRECTS or not location:
                return resp
            resp.close()
            target = urljoin(resp.url, location)
            if origin(target) != start:
                raise RedirectRefusedError(url, target, status_code=resp.status_code)
            if resp.status_code == 303 or (resp.status_code in (301, 302)
                                           and method not in ("GET", "HEAD")):
                method, json = "GET", None
            url, params = target, None
        raise APIError(f"more than {MAX_REDIRECTS} redirects from {_origin_text(url)}")

    @staticmethod
    def _retryable(error: APIError) -> bool:
        if isinstance(error, QuotaExceededError):
            return False
        return error.status_code in _RETRYABLE

    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def iter_pages(self, path: str, items_key: str, *, page_size: int = 50,
                   max_items: int | None = None) -> Iterator[dict]:
        """Yield every item of a cursor-paged list, fetching page after page."""
        cursor: str | None = None
        seen = 0
        while True:
            page = self.request("GET", path, params={"limit": page_size, "cursor": cursor})
            for item in page.get(items_key, []):
                yield item
                seen += 1
                if max_items is not None and seen >= max_items:
                    return
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return

    # ---- health and organizers

    def health(self) -> dict:
        return self.request("GET", "", auth=False, url=service_root(self.base_url) + "/health")

    def get_me(self) -> dict:
        return self._get("/organizers/me")

    def create_organizer(self, email: str, name: str, organization: str | None = None) -> dict:
        body = {"email": email, "name": name, "organization": organization}
        return self.request("POST", "/organizers", json=body, auth=False)

    # ---- hackathons

    def list_hackathons(self, limit: int = 20, cursor: str | None = None) -> dict:
        return self._get("/hackathons", limit=limit, cursor=cursor)

    def iter_hackathons(self, page_size: int = 50) -> Iterator[dict]:
        return self.iter_pages("/hackathons", "hackathons", page_size=page_size)

    def create_hackathon(self, payload: dict) -> dict:
        return self.request("POST", "/hackathons", json=payload)

    def get_hackathon(self, hack_id: str) -> dict:
        return self._get(f"/hackathons/{hack_id}")

    def update_hackathon(self, hack_id: str, changes: dict) -> dict:
        return self.request("PUT", f"/hackathons/{hack_id}", json=changes)

    def delete_hackathon(self, hack_id: str) -> None:
        self.request("DELETE", f"/hackathons/{hack_id}")

    def activate_hackathon(self, hack_id: str) -> dict:
        return self.request("POST", f"/hackathons/{hack_id}/activate")

    def get_stats(self, hack_id: str) -> dict:
        return self._get(f"/hackathons/{hack_id}/stats")

    # ---- submissions

    def create_submissions(self, hack_id: str, submissions: list[dict]) -> dict:
        body = {"submissions": submissions}
        return self.request("POST", f"/hackathons/{hack_id}/submissions", json=body)

    def list_submissions(self, hack_id: str, limit: int = 50, cursor: str | None = None) -> dict:
        return self._get(f"/hackathons/{hack_id}/submissions", limit=limit, cursor=cursor)

    def iter_submissions(self, hack_id: str, page_size: int = 100) -> Iterator[dict]:
        return self.iter_pages(f"/hackathons/{hack_id}/submissions", "submissions",
                               page_size=page_size)

    def all_submissions(self, hack_id: str) -> list[dict]:
        """Every submission of a hackathon, 100 per request."""
        return list(self.iter_submissions(hack_id, page_size=100))

    def get_submission(self, sub_id: str) -> dict:
        return self._get(f"/submissions/{sub_id}")

    def delete_submission(self, sub_id: str) -> None:
        self.request("DELETE", f"/submissions/{sub_id}")

    # ---- analysis

    def estimate_analysis(self, hack_id: str) -> dict:
        return self.request("POST", f"/hackathons/{hack_id}/analyze/estimate")

    def start_analysis(self, hack_id: str, submission_ids: list[str] | None = None,
                       force_reanalyze: bool = False) -> dict:
        body: dict[str, Any] = {}
        if submission_ids:
            body["submission_ids"] = submission_ids
        if force_reanalyze:
            body["force_reanalyze"] = True
        return self.request("POST", f"/hackathons/{hack_id}/analyze", json=body)

    def get_analysis_status(self, hack_id: str) -> dict:
        return self._get(f"/hackathons/{hack_id}/analyze/status")

    # ---- results

    def get_leaderboard(self, hack_id: str) -> dict:
        return self._get(f"/hackathons/{hack_id}/leaderboard")

    def get_intelligence(self, hack_id: str) -> dict:
        return self._get(f"/hackathons/{hack_id}/intelligence")

    def get_hackathon_costs(self, hack_id: str) -> dict:
        return self._get(f"/hackathons/{hack_id}/costs")

    def get_scorecard(self, sub_id: str) -> dict:
        return self._get(f"/submissions/{sub_id}/scorecard")

    def get_individual_scorecards(self, sub_id: str) -> dict:
        return self._get(f"/submissions/{sub_id}/individual-scorecards")

    def get_submission_costs(self, sub_id: str) -> dict:
        return self._get(f"/submissions/{sub_id}/costs")

    def list_public_hackathons(self) -> dict:
        return self.request("GET", "/public/hackathons", auth=False)


def _describe_network_error(exc: requests.exceptions.RequestException, url: str) -> str:
    host = requests.utils.urlparse(url).netloc or url
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer from {host} in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error talking to {host}"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return f"invalid API URL {url!r}"
    return f"connection to {host} failed"

