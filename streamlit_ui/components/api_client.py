"""HTTP client for the VibeJudge backend API (see the API contract).

One ``requests.Session`` per client, explicit timeouts, retries with exponential
backoff and jitter, and one exception type per error class so that pages can
explain every failure in plain words.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from datetime import timezone
from typing import Any, Callable, Iterator

import requests

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
USER_AGENT = "vibejudge-dashboard/1.0"


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
    status_code = 402
    hint = "Raise the hackathon's budget limit or analyze fewer submissions."


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
    status_code = 429

    def __init__(self, detail: str = "", *, retry_after: float | None = None, **kw: Any):
        self.retry_after = retry_after
        super().__init__(detail, **kw)

    @property
    def hint(self) -> str:  # type: ignore[override]
        if self.retry_after:
            return f"Too many requests: wait about {int(self.retry_after + 0.999)} s and try again."
        return "Too many requests: wait a little and try again."


class ServerError(APIError):
    status_code = 500
    hint = "The VibeJudge service had a problem; try again in a minute."


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


def error_from_response(resp: requests.Response) -> APIError:
    """Map a non-2xx response to its typed exception, keeping the API's detail."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    raw_detail = body.get("detail") if isinstance(body, dict) else None
    detail = format_detail(raw_detail) if raw_detail is not None else (resp.reason or "")
    status = resp.status_code
    if status == 422:
        errors = raw_detail if isinstance(raw_detail, list) else []
        return ValidationError(detail, errors=errors, status_code=status, raw=body)
    if status == 429:
        return RateLimitError(
            detail, retry_after=parse_retry_after(resp.headers.get("Retry-After")),
            status_code=status, raw=body,
        )
    if status >= 500:
        return ServerError(detail, status_code=status, raw=body)
    cls = _ERRORS_BY_STATUS.get(status, APIError)
    return cls(detail, status_code=status, raw=body)


# --------------------------------------------------------------------------- client


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_base: float = 0.5  # seconds before the first retry (before jitter)
    backoff_max: float = 8.0
    max_retry_after: float = 10.0  # a longer Retry-After is reported, not waited for

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        delay = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        return delay / 2 + rng() * delay / 2


# POSTs are not idempotent: a 500 may mean the work was done (or a business rule
# such as "analysis already in progress"), so only these are retried for them.
_RETRYABLE_FOR_ANY_METHOD = {429, 502, 503, 504}
_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}


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
                resp = self.session.request(
                    method, target, json=json, params=params, headers=headers, timeout=self.timeout,
                )
            except requests.exceptions.RequestException as exc:
                # A read timeout on a POST may mean the server acted: do not repeat it.
                repeatable = method in _IDEMPOTENT or isinstance(
                    exc, requests.exceptions.ConnectionError)
                if repeatable and attempt < self.retry.max_retries:
                    self._sleep(self.retry.backoff(attempt, self._rng))
                    attempt += 1
                    continue
                raise APIUnreachableError(_describe_network_error(exc, target)) from None
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
            if attempt < self.retry.max_retries and self._retryable(method, resp.status_code):
                delay = self.retry.backoff(attempt, self._rng)
                if isinstance(error, RateLimitError) and error.retry_after is not None:
                    if error.retry_after > self.retry.max_retry_after:
                        raise error
                    delay = max(delay, error.retry_after)
                self._sleep(delay)
                attempt += 1
                continue
            raise error

    @staticmethod
    def _retryable(method: str, status: int) -> bool:
        if status in _RETRYABLE_FOR_ANY_METHOD:
            return True
        return status >= 500 and method in _IDEMPOTENT

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

