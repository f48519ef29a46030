"""An in-memory VibeJudge backend that follows the API contract, for tests.

A real HTTP server (``ThreadingHTTPServer`` in a thread) on 127.0.0.1 with a free
port. Routes live under ``/api/v1``; ``/health`` sits at the root. Analysis jobs
advance by one submission on every status poll, so tests can follow progress.

It answers the way the running backend does (``streamlit_ui/API.md``): route errors
as ``{"detail": ...}``, the middleware's 401/429 as ``{"error": ...}`` with the
rate-limit or quota headers (no ``Retry-After`` for the daily quota), the 500 of
``GET /submissions/{id}/costs`` for analysed submissions, ``verified_count`` stuck
at 0, list counts that stay 0, the 500 for an analysis over budget, and actionable
feedback items in their real shape.

Knobs for tests: ``rate_limit_per_second`` and ``daily_quota`` per free key,
``clock`` (epoch seconds) for the quota day, ``inject_fault()`` to answer a route
with a chosen status a number of times, ``fail_submission_costs`` (True, as the
real backend; False to get the documented answer), ``report_quota`` to send the
``X-Quota-*`` headers on every authenticated answer, and ``redirect()`` to answer
a path with a redirect.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

AGENTS = ["bug_hunter", "performance", "innovation", "ai_detection"]
POLICY_MODES = ["full_vibe", "ai_assisted", "traditional", "custom"]
TEAM_RE = re.compile(r"^[a-zA-Z0-9 _-]+$")
REPO_RE = re.compile(r"^https://github\.com/[\w\-\.]+/[\w\-\.]+/?$")
AGENT_MODELS = {
    "bug_hunter": "amazon.nova-lite-v1:0",
    "performance": "amazon.nova-lite-v1:0",
    "innovation": "anthropic.claude-sonnet-4",
    "ai_detection": "amazon.nova-micro-v1:0",
}
AGENT_COST = {"bug_hunter": 0.002, "performance": 0.002, "innovation": 0.06, "ai_detection": 0.001}


class HTTPError(Exception):
    """A route error: ``{"detail": ...}``, or ``body`` as given (the middleware's shape)."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None,
                 *, body: Any = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.body = {"detail": detail} if body is None else body


def middleware_error(status: int, message: str, headers: dict[str, str] | None = None,
                     **extra: Any) -> HTTPError:
    """An error from the middleware in front of the routes: ``{"error": ...}``, no detail."""
    return HTTPError(status, message, headers, body=dict({"error": message}, **extra))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _seed(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


@dataclass
class Fault:
    method: str
    pattern: re.Pattern
    status: int
    times: int
    headers: dict[str, str]
    body: Any


@dataclass
class KeyRecord:
    key: str
    org_id: str
    active: bool = True
    calls: list[float] = field(default_factory=list)
    day: str = ""
    day_count: int = 0


class _Ids:
    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self.lock:
            self.n += 1
            return f"{prefix}_01JFAKE{self.n:019d}"


class FakeBackend:
    """The in-memory state and HTTP server. Use as a context manager."""

    def __init__(self, *, rate_limit_per_second: int = 10, daily_quota: int = 100,
                 clock: Any = time.time):
        self.rate_limit_per_second = rate_limit_per_second
        self.daily_quota = daily_quota
        self.clock = clock
        self.fail_submission_costs = True
        self.report_quota = False
        self.redirects: dict[str, tuple[int, str]] = {}
        self.lock = threading.RLock()
        self.ids = _Ids()
        self.keys: dict[str, KeyRecord] = {}
        self.organizers: dict[str, dict] = {}
        self.hackathons: dict[str, dict] = {}
        self.submissions: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}  # hack_id -> latest job
        self.faults: list[Fault] = []
        self.requests_log: list[tuple[str, str, dict[str, str]]] = []
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.stopped = False

    # ---- lifecycle

    def start(self) -> "FakeBackend":
        backend = self

        class Handler(_Handler):
            pass

        Handler.backend = backend
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped = True
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> "FakeBackend":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/v1"

    # ---- test helpers

    def inject_fault(self, method: str, path_regex: str, status: int, *, times: int = 1,
                     headers: dict[str, str] | None = None, body: Any = None) -> None:
        """Answer the next ``times`` matching requests with ``status``."""
        if body is None:
            body = {"detail": f"Injected fault {status}"}
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path_regex), status, times,
                                     headers or {}, body))

    def create_organizer(self, email: str = "org@example.com", name: str = "Ada Organizer",
                         organization: str | None = "Example Org") -> tuple[dict, str]:
        """Create an organizer directly; return (organizer, api_key)."""
        with self.lock:
            return self._create_organizer({"email": email, "name": name,
                                           "organization": organization})

    def redirect(self, path: str, status: int, location: str) -> None:
        """Answer every request for ``path`` with ``status`` and ``Location: location``."""
        with self.lock:
            self.redirects[path] = (status, location)

    def exhaust_quota(self, key: str) -> None:
        """Use up the rest of ``key``'s daily quota."""
        with self.lock:
            rec = self.keys[key]
            rec.day, rec.day_count = self._today(), self.daily_quota

    def quota_reset(self) -> int:
        """The next midnight UTC after the clock's now, in epoch seconds."""
        today = datetime.fromtimestamp(self.clock(), tz=timezone.utc).date()
        midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(),
                                    tzinfo=timezone.utc)
        return int(midnight.timestamp())

    def _today(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc).date().isoformat()

    def count_requests(self, method: str, path_regex: str) -> int:
        pattern = re.compile(path_regex)
        return sum(1 for m, p, _ in self.requests_log if m == method and pattern.search(p))

    # ---- request handling

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.requests_log.append((method, path, dict(headers)))
            if path in self.redirects:
                status, location = self.redirects[path]
                return status, None, {"Location": location}
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.pattern.search(path):
                    fault.times -= 1
                    return fault.status, fault.body, fault.headers
        try:
            if path == "/health" and method == "GET":
                return 200, self._health(), {}
            if not path.startswith("/api/v1/") and path != "/api/v1":
                raise HTTPError(404, "Not Found")
            route = path[len("/api/v1"):] or "/"
            payload = None
            if body:
                try:
                    payload = json.loads(body)
                except ValueError:
                    raise HTTPError(422, [{"loc": ["body"], "msg": "Invalid JSON",
                                           "type": "json_invalid"}])
            with self.lock:
                status, answer, extra = self._dispatch(method, route, query, headers, payload)
            return status, answer, dict(self._quota_headers(headers), **extra)
        except HTTPError as err:
            return err.status, err.body, dict(self._quota_headers(headers), **err.headers)

    def _dispatch(self, method: str, route: str, query: dict[str, str],
                  headers: dict[str, str], payload: Any) -> tuple[int, Any, dict[str, str]]:
        # Public routes first.
        if route == "/organizers" and method == "POST":
            org, key = self._create_organizer(self._require_obj(payload))
            return 201, dict(org, api_key=key), {}
        if route == "/organizers/login" and method == "POST":
            return 200, self._login(self._require_obj(payload)), {}
        if route == "/public/hackathons" and method == "GET":
            items = [self._public_info(h) for h in self.hackathons.values()
                     if h["status"] == "configured"]
            return 200, {"hackathons": items}, {}
        m = re.fullmatch(r"/public/hackathons/([^/]+)/submissions", route)
        if m and method == "POST":
            hack = self.hackathons.get(m.group(1))
            if not hack or hack["status"] != "configured":
                raise HTTPError(404, "Hackathon not found or not accepting submissions")
            return 201, self._add_submissions(hack, self._require_obj(payload)), {}

        org_id = self._authenticate(headers)

        if route == "/organizers/me" and method == "GET":
            return 200, self._org_view(self.organizers[org_id]), {}
        if route == "/hackathons":
            if method == "POST":
                return 201, self._create_hackathon(org_id, self._require_obj(payload)), {}
            if method == "GET":
                mine = [h for h in self.hackathons.values()
                        if h["org_id"] == org_id and h["status"] != "archived"]
                # The real list never refreshes this count: it stays 0.
                items = [{"hack_id": h["hack_id"], "name": h["name"], "status": h["status"],
                          "submission_count": 0} for h in mine]
                page, cursor, more = self._page(items, query)
                return 200, {"hackathons": page, "next_cursor": cursor, "has_more": more}, {}
        m = re.fullmatch(r"/hackathons/([^/]+)(/.*)?", route)
        if m:
            hack = self._own_hackathon(org_id, m.group(1))
            return self._hackathon_route(hack, m.group(2) or "", method, query, payload)
        m = re.fullmatch(r"/submissions/([^/]+)(/.*)?", route)
        if m:
            sub = self.submissions.get(m.group(1))
            if not sub:
                raise HTTPError(404, "Submission not found")
            self._own_hackathon(org_id, sub["hack_id"])
            return self._submission_route(sub, m.group(2) or "", method)
        raise HTTPError(404, "Not Found")

    # ---- auth and rate limits

    def _authenticate(self, headers: dict[str, str]) -> str:
        """The middleware: key, per-second limit, daily quota; its errors say "error"."""
        key = headers.get("x-api-key")
        if not key:
            raise middleware_error(401, "Missing X-API-Key header")
        rec = self.keys.get(key)
        if not rec:
            raise middleware_error(401, "Invalid API key")
        if not rec.active:
            raise middleware_error(401, "API key inactive")
        now = time.monotonic()
        rec.calls = [t for t in rec.calls if now - t < 1.0]
        if len(rec.calls) >= self.rate_limit_per_second:
            limit = self.rate_limit_per_second
            raise middleware_error(
                429, f"Rate limit exceeded: {limit} req/sec",
                {"Retry-After": "1", "X-RateLimit-Limit": str(limit),
                 "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(self.clock()) + 1)},
                retry_after=1)
        today = self._today()
        if rec.day != today:
            rec.day, rec.day_count = today, 0
        if rec.day_count >= self.daily_quota:
            reset = self.quota_reset()
            raise middleware_error(
                429, "Daily quota exceeded. Resets at midnight UTC",
                {"X-Quota-Limit": str(self.daily_quota), "X-Quota-Remaining": "0",
                 "X-Quota-Reset": str(reset)},
                quota_reset=reset)
        rec.calls.append(now)
        rec.day_count += 1
        return rec.org_id

    def _quota_headers(self, headers: dict[str, str]) -> dict[str, str]:
        rec = self.keys.get(headers.get("x-api-key") or "")
        if not self.report_quota or rec is None:
            return {}
        return {"X-Quota-Limit": str(self.daily_quota),
                "X-Quota-Remaining": str(max(0, self.daily_quota - rec.day_count)),
                "X-Quota-Reset": str(self.quota_reset())}

    def _new_key(self, org_id: str) -> str:
        key = "vj_live_" + secrets.token_hex(16)
        self.keys[key] = KeyRecord(key=key, org_id=org_id)
        return key

    def _create_organizer(self, body: dict) -> tuple[dict, str]:
        email = body.get("email")
        name = body.get("name")
        errors = []
        if not isinstance(email, str) or "@" not in email:
            errors.append(_err(["body", "email"], "value is not a valid email address"))
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.append(_err(["body", "name"], "String should have 1 to 100 characters"))
        if errors:
            raise HTTPError(422, errors)
        if any(o["email"] == email for o in self.organizers.values()):
            raise HTTPError(400, "Email already registered")
        org_id = self.ids.new("org")
        org = {"org_id": org_id, "email": email, "name": name,
               "organization": body.get("organization"), "tier": "free",
               "created_at": _now(), "updated_at": _now()}
        self.organizers[org_id] = org
        return self._org_view(org), self._new_key(org_id)

    def _login(self, body: dict) -> dict:
        email = body.get("email")
        org = next((o for o in self.organizers.values() if o["email"] == email), None)
        if not org:
            raise HTTPError(404, "Organizer not found")
        for rec in self.keys.values():
            if rec.org_id == org["org_id"]:
                rec.active = False
        key = self._new_key(org["org_id"])
        return {"org_id": org["org_id"], "api_key": key, "email": org["email"],
                "name": org["name"]}

    def _org_view(self, org: dict) -> dict:
        return dict(org, hackathon_count=0)  # never updated by the real backend

    def _health(self) -> dict:
        return {"status": "healthy", "version": "1.0.0", "timestamp": _now(),
                "services": {"dynamodb": {"available": True, "latency_ms": 3},
                             "bedrock": {"available": True, "latency_ms": 40}}}

    # ---- hackathons

    def _own_hackathon(self, org_id: str, hack_id: str) -> dict:
        hack = self.hackathons.get(hack_id)
        if not hack:
            raise HTTPError(404, "Hackathon not found")
        if hack["org_id"] != org_id:
            raise HTTPError(403, "Not authorized to access this hackathon")
        return hack

    def _validate_hackathon(self, body: dict, partial: bool) -> None:
        errors: list[dict] = []
        name = body.get("name")
        if not partial or name is not None:
            if not isinstance(name, str) or not 1 <= len(name) <= 200:
                errors.append(_err(["body", "name"], "String should have 1 to 200 characters"))
        desc = body.get("description")
        if desc is not None and (not isinstance(desc, str) or len(desc) > 2000):
            errors.append(_err(["body", "description"], "String should have at most 2000 characters"))
        agents = body.get("agents_enabled")
        if not partial or agents is not None:
            if not isinstance(agents, list) or not 1 <= len(agents) <= 4:
                errors.append(_err(["body", "agents_enabled"], "List should have 1 to 4 items"))
            else:
                for i, a in enumerate(agents):
                    if a not in AGENTS:
                        errors.append(_err(["body", "agents_enabled", i],
                                           "Input should be 'bug_hunter', 'performance', "
                                           "'innovation' or 'ai_detection'", "enum"))
        mode = body.get("ai_policy_mode")
        if mode is not None and mode not in POLICY_MODES:
            errors.append(_err(["body", "ai_policy_mode"], "Input should be 'full_vibe', "
                               "'ai_assisted', 'traditional' or 'custom'", "enum"))
        rubric = body.get("rubric")
        if not partial or rubric is not None:
            dims = rubric.get("dimensions") if isinstance(rubric, dict) else None
            if not isinstance(dims, list) or not 1 <= len(dims) <= 10:
                errors.append(_err(["body", "rubric", "dimensions"],
                                   "List should have 1 to 10 items"))
            else:
                for i, d in enumerate(dims):
                    loc = ["body", "rubric", "dimensions", i]
                    if not isinstance(d, dict):
                        errors.append(_err(loc, "Input should be an object"))
                        continue
                    if not isinstance(d.get("name"), str) or not 1 <= len(d["name"]) <= 50:
                        errors.append(_err(loc + ["name"], "String should have 1 to 50 characters"))
                    w = d.get("weight")
                    if not isinstance(w, (int, float)) or not 0 <= w <= 1:
                        errors.append(_err(loc + ["weight"], "Input should be between 0 and 1"))
                    if d.get("agent") not in AGENTS:
                        errors.append(_err(loc + ["agent"], "Input should be a valid agent", "enum"))
                    if len(d.get("description") or "") > 500:
                        errors.append(_err(loc + ["description"],
                                           "String should have at most 500 characters"))
        budget = body.get("budget_limit_usd")
        if budget is not None and not isinstance(budget, (int, float)):
            errors.append(_err(["body", "budget_limit_usd"], "Input should be a valid number"))
        for key in ("start_date", "end_date"):
            value = body.get(key)
            if value is not None:
                try:
                    datetime.fromisoformat(value)
                except (TypeError, ValueError):
                    errors.append(_err(["body", key], "Input should be a valid datetime"))
        if errors:
            raise HTTPError(422, errors)
        # Business rules, as the real service checks them after the schema.
        dims = (rubric or {}).get("dimensions") if isinstance(rubric, dict) else None
        if dims:
            total = sum(float(d["weight"]) for d in dims)
            if abs(total - 1.0) > 0.001:
                raise HTTPError(422, [_err(["body", "rubric"],
                                           f"Value error, Rubric weights must sum to 1.0, got {total:.4f}",
                                           "value_error")])
            if agents is not None:
                missing = sorted({d["agent"] for d in dims} - set(agents))
                if missing:
                    raise HTTPError(422, [_err(["body"], "Value error, Rubric uses agents not "
                                               f"enabled: {', '.join(missing)}", "value_error")])
        if budget is not None and not 0.01 <= budget <= 10000:
            raise HTTPError(422, [_err(["body", "budget_limit_usd"],
                                       "Budget must be between 0.01 and 10000", "value_error")])
        start, end = body.get("start_date"), body.get("end_date")
        if start and end and datetime.fromisoformat(end) <= datetime.fromisoformat(start):
            raise HTTPError(422, [_err(["body"], "Value error, end_date must be after start_date",
                                       "value_error")])

    def _create_hackathon(self, org_id: str, body: dict) -> dict:
        self._validate_hackathon(body, partial=False)
        hack_id = self.ids.new("hack")
        rubric = dict({"name": "Default Rubric", "version": "1.0", "max_score": 100.0},
                      **body["rubric"])
        hack = {
            "hack_id": hack_id, "org_id": org_id, "name": body["name"],
            "description": body.get("description") or "", "status": "draft",
            "start_date": body.get("start_date"), "end_date": body.get("end_date"),
            "rubric": rubric, "agents_enabled": body["agents_enabled"],
            "ai_policy_mode": body.get("ai_policy_mode") or "ai_assisted",
            "budget_limit_usd": body.get("budget_limit_usd"),
            "created_at": _now(), "updated_at": _now(),
        }
        self.hackathons[hack_id] = hack
        return self._hack_view(hack)

    def _hack_view(self, hack: dict) -> dict:
        return dict(hack, submission_count=self._count(hack["hack_id"]))

    def _public_info(self, hack: dict) -> dict:
        return {k: hack.get(k) for k in ("hack_id", "name", "description", "start_date",
                                           "end_date")} | {"submission_count": self._count(hack["hack_id"])}

    def _count(self, hack_id: str) -> int:
        return sum(1 for s in self.submissions.values() if s["hack_id"] == hack_id)

    def _subs(self, hack_id: str) -> list[dict]:
        return [s for s in self.submissions.values() if s["hack_id"] == hack_id]

    @staticmethod
    def _page(items: list, query: dict[str, str]) -> tuple[list, str | None, bool]:
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            raise HTTPError(422, [_err(["query", "limit"], "Input should be a valid integer")])
        if not 1 <= limit <= 100:
            raise HTTPError(422, [_err(["query", "limit"], "Input should be between 1 and 100")])
        cursor = query.get("cursor")
        start = 0
        if cursor:
            try:
                start = int(cursor.removeprefix("c"))
            except ValueError:
                raise HTTPError(400, "Invalid cursor")
        page = items[start:start + limit]
        more = start + limit < len(items)
        return page, (f"c{start + limit}" if more else None), more

    def _hackathon_route(self, hack: dict, rest: str, method: str, query: dict[str, str],
                         payload: Any) -> tuple[int, Any, dict[str, str]]:
        hack_id = hack["hack_id"]
        if rest == "":
            if method == "GET":
                return 200, self._hack_view(hack), {}
            if method == "PUT":
                body = self._require_obj(payload)
                merged = dict(hack, **{k: v for k, v in body.items() if v is not None})
                self._validate_hackathon(merged, partial=True)
                hack.update({k: v for k, v in body.items() if v is not None}, updated_at=_now())
                return 200, self._hack_view(hack), {}
            if method == "DELETE":
                hack["status"] = "archived"
                return 204, None, {}
        if rest == "/activate" and method == "POST":
            if hack["status"] != "draft":
                raise HTTPError(400, f"Hackathon is {hack['status']}, only draft can be activated")
            hack["status"] = "configured"
            return 200, self._hack_view(hack), {}
        if rest == "/stats" and method == "GET":
            subs = self._subs(hack_id)
            return 200, {
                "submission_count": len(subs),
                # Counts status "verified", which the pipeline never sets.
                "verified_count": sum(1 for s in subs if s["status"] == "verified"),
                "pending_count": sum(1 for s in subs if s["status"] == "pending"),
                "participant_count": sum(s["contributors"] for s in subs),
                "hackathon_status": hack["status"],
            }, {}
        if rest == "/submissions":
            if method == "POST":
                return 201, self._add_submissions(hack, self._require_obj(payload)), {}
            if method == "GET":
                items = [self._sub_item(s) for s in self._subs(hack_id)]
                page, cursor, more = self._page(items, query)
                return 200, {"submissions": page, "next_cursor": cursor, "has_more": more}, {}
        if rest == "/analyze/estimate" and method == "POST":
            return 200, self._estimate(hack), {}
        if rest == "/analyze" and method == "POST":
            return 202, self._trigger(hack, payload or {}), {}
        if rest == "/analyze/status" and method == "GET":
            return 200, self._poll(hack), {}
        if rest == "/leaderboard" and method == "GET":
            return 200, self._leaderboard(hack), {}
        if rest == "/intelligence" and method == "GET":
            return 200, self._intelligence(hack), {}
        if rest == "/costs" and method == "GET":
            return 200, self._hack_costs(hack), {}
        raise HTTPError(405 if rest in ("", "/stats") else 404, "Not Found")

    # ---- submissions

    def _add_submissions(self, hack: dict, body: dict) -> dict:
        subs = body.get("submissions")
        if not isinstance(subs, list) or not 1 <= len(subs) <= 500:
            raise HTTPError(422, [_err(["body", "submissions"], "List should have 1 to 500 items")])
        errors = []
        for i, s in enumerate(subs):
            team = s.get("team_name") if isinstance(s, dict) else None
            url = s.get("repo_url") if isinstance(s, dict) else None
            if not isinstance(team, str) or not 1 <= len(team) <= 50 or not TEAM_RE.match(team):
                errors.append(_err(["body", "submissions", i, "team_name"],
                                   "String should match pattern '^[a-zA-Z0-9 _-]+$'",
                                   "string_pattern_mismatch"))
            if not isinstance(url, str) or not REPO_RE.match(url):
                errors.append(_err(["body", "submissions", i, "repo_url"],
                                   "String should match pattern "
                                   "'^https://github\\.com/[\\w\\-\\.]+/[\\w\\-\\.]+/?$'",
                                   "string_pattern_mismatch"))
        if errors:
            raise HTTPError(422, errors)
        created = []
        for s in subs:
            sub_id = self.ids.new("sub")
            sub = {"sub_id": sub_id, "hack_id": hack["hack_id"], "team_name": s["team_name"],
                   "repo_url": s["repo_url"], "status": "pending", "overall_score": None,
                   "rank": None, "recommendation": None, "total_cost_usd": None,
                   "error_message": None, "disqualification_reason": None,
                   "contributors": 1 + _seed(s["team_name"]) % 3,
                   "created_at": _now(), "updated_at": _now()}
            self.submissions[sub_id] = sub
            created.append(self._sub_item(sub))
        return {"created": len(created), "submissions": created,
                "hackathon_submission_count": self._count(hack["hack_id"])}

    @staticmethod
    def _sub_item(sub: dict) -> dict:
        return {k: sub[k] for k in ("sub_id", "team_name", "repo_url", "status", "overall_score",
                                    "rank", "total_cost_usd", "error_message",
                                    "disqualification_reason")}

    def _submission_route(self, sub: dict, rest: str, method: str) -> tuple[int, Any, dict]:
        hack = self.hackathons[sub["hack_id"]]
        if rest == "" and method == "GET":
            view = dict(self._sub_item(sub), hack_id=sub["hack_id"],
                        recommendation=sub["recommendation"])
            if sub["status"] == "completed":
                card = self._scorecard(sub, hack)
                view.update(repo_meta=card["repo_meta"], weighted_scores=card["weighted_scores"],
                            strengths=card["strengths"], weaknesses=card["weaknesses"],
                            agent_scores={a["agent_name"]: a["overall_score"]
                                          for a in card["agent_scores"]})
            return 200, view, {}
        if rest == "" and method == "DELETE":
            del self.submissions[sub["sub_id"]]
            return 204, None, {}
        if rest == "/scorecard" and method == "GET":
            return 200, self._scorecard(sub, hack), {}
        if rest == "/individual-scorecards" and method == "GET":
            cards = self._contributors(sub) if sub["status"] == "completed" else []
            return 200, {"sub_id": sub["sub_id"], "hack_id": sub["hack_id"],
                         "team_name": sub["team_name"], "scorecards": cards,
                         "total_count": len(cards)}, {}
        if rest == "/costs" and method == "GET":
            if sub["status"] != "completed":
                raise HTTPError(404, "No cost records for this submission")
            if self.fail_submission_costs:
                raise HTTPError(500, "Failed to get submission costs: unsupported operand "
                                     "type(s) for +: 'float' and 'decimal.Decimal'")
            return 200, self._sub_costs(sub, hack), {}
        raise HTTPError(404, "Not Found")

    # ---- analysis

    def _estimate(self, hack: dict) -> dict:
        pending = [s for s in self._subs(hack["hack_id"]) if s["status"] == "pending"]
        if not pending:
            raise HTTPError(400, "No pending submissions to analyze")
        return self._estimate_for(hack, len(pending))

    def _estimate_for(self, hack: dict, n: int) -> dict:
        agents = hack["agents_enabled"]
        per = sum(AGENT_COST[a] for a in agents)
        total = per * n
        est = {
            "hack_id": hack["hack_id"], "submission_count": n, "agents_enabled": agents,
            "estimate": {
                "total_cost_usd": _range(total),
                "per_submission_cost_usd": _range(per),
                "cost_by_agent": {a: {"model": AGENT_MODELS[a],
                                      "estimated_usd": round(AGENT_COST[a] * n, 4)}
                                  for a in agents},
                "estimated_duration_minutes": _range(max(1.0, n * 0.5)),
            },
            "budget_check": None,
        }
        limit = hack.get("budget_limit_usd")
        if limit:
            est["budget_check"] = {"budget_limit_usd": limit,
                                   "within_budget": total * 1.2 <= limit,
                                   "budget_utilization_pct": round(total / limit * 100, 1)}
        return est

    def _trigger(self, hack: dict, body: dict) -> dict:
        job = self.jobs.get(hack["hack_id"])
        if job and job["status"] in ("queued", "running"):
            raise HTTPError(500, "Failed to trigger analysis: Analysis already in progress")
        ids = body.get("submission_ids")
        force = bool(body.get("force_reanalyze"))
        subs = self._subs(hack["hack_id"])
        if ids:
            subs = [s for s in subs if s["sub_id"] in ids]
        targets = [s for s in subs if force or s["status"] == "pending"]
        if not targets:
            raise HTTPError(400, "No pending submissions to analyze")
        est = self._estimate_for(hack, len(targets))
        limit = hack.get("budget_limit_usd")
        high = est["estimate"]["total_cost_usd"]["high"]
        if limit and high > limit:
            # A business rule, answered as a 500 by the real backend.
            raise HTTPError(500, f"Failed to trigger analysis: Estimated cost ${high:.2f} "
                                 f"exceeds budget limit ${limit:.2f}")
        job = {"job_id": self.ids.new("job"), "hack_id": hack["hack_id"], "status": "queued",
               "queue": [s["sub_id"] for s in targets], "done": [], "failed": [],
               "errors": [], "cost": 0.0, "started_at": _now(), "completed_at": None,
               "estimated_cost_usd": est["estimate"]["total_cost_usd"]["expected"],
               "estimated_duration_minutes": int(est["estimate"]["estimated_duration_minutes"]["expected"])}
        for s in targets:
            s["status"] = "pending"
        self.jobs[hack["hack_id"]] = job
        hack["status"] = "analyzing"
        return self._job_view(job)

    def _job_view(self, job: dict) -> dict:
        return {"job_id": job["job_id"], "hack_id": job["hack_id"], "status": job["status"],
                "total_submissions": len(job["queue"]),
                "completed_submissions": len(job["done"]),
                "failed_submissions": len(job["failed"]),
                "estimated_cost_usd": job["estimated_cost_usd"],
                "estimated_duration_minutes": job["estimated_duration_minutes"],
                "started_at": job["started_at"], "completed_at": job["completed_at"]}

    def _poll(self, hack: dict) -> dict:
        job = self.jobs.get(hack["hack_id"])
        if not job:
            raise HTTPError(404, "No analysis job found for this hackathon")
        # Every poll moves the job one step: queued -> running, then one submission each.
        current = None
        if job["status"] == "queued":
            job["status"] = "running"
        elif job["status"] == "running":
            left = [sid for sid in job["queue"] if sid not in job["done"] + job["failed"]]
            if left:
                sub = self.submissions.get(left[0])
                if sub is None or "fail" in sub["team_name"].lower():
                    job["failed"].append(left[0])
                    if sub:
                        sub["status"] = "failed"
                        sub["error_message"] = "Repository could not be cloned"
                        job["errors"].append({"sub_id": sub["sub_id"],
                                              "team_name": sub["team_name"],
                                              "error": "Repository could not be cloned"})
                else:
                    self._score(sub, hack)
                    job["done"].append(sub["sub_id"])
                    job["cost"] += sub["total_cost_usd"]
            if len(job["done"]) + len(job["failed"]) >= len(job["queue"]):
                job["status"] = "completed"
                job["completed_at"] = _now()
                hack["status"] = "completed"
                self._rank(hack)
        if job["status"] == "running":
            left = [sid for sid in job["queue"] if sid not in job["done"] + job["failed"]]
            if left and left[0] in self.submissions:
                sub = self.submissions[left[0]]
                sub["status"] = "analyzing"
                current = {"sub_id": sub["sub_id"], "team_name": sub["team_name"],
                           "status": "analyzing",
                           "current_agent": hack["agents_enabled"][len(job["done"]) %
                                                                   len(hack["agents_enabled"])]}
        total = len(job["queue"])
        finished = len(job["done"]) + len(job["failed"])
        return {
            "job_id": job["job_id"], "hack_id": hack["hack_id"], "status": job["status"],
            "progress": {"total_submissions": total, "completed": len(job["done"]),
                         "failed": len(job["failed"]), "remaining": total - finished,
                         "percent_complete": round(finished / total * 100, 1) if total else 100.0},
            "current_submission": current,
            "cost_so_far": {"total_usd": round(job["cost"], 4),
                            "submissions_analyzed": len(job["done"])},
            "errors": list(job["errors"]),
            "started_at": job["started_at"],
            "estimated_completion": (datetime.now(timezone.utc) +
                                     timedelta(seconds=30 * (total - finished))).isoformat()
            if job["status"] == "running" else None,
        }

    def _score(self, sub: dict, hack: dict) -> None:
        seed = _seed(sub["team_name"])
        raw = {d["name"]: round(4 + ((seed >> (i * 3)) % 60) / 10, 1)
               for i, d in enumerate(hack["rubric"]["dimensions"])}
        sub["raw_scores"] = raw
        weights = {d["name"]: d["weight"] for d in hack["rubric"]["dimensions"]}
        overall = round(sum(raw[n] * 10 * weights[n] for n in raw), 1)
        sub["overall_score"] = overall
        sub["recommendation"] = ("strong_contender" if overall >= 80 else "solid_submission"
                                 if overall >= 65 else "needs_improvement" if overall >= 50
                                 else "concerns_flagged")
        sub["total_cost_usd"] = round(sum(AGENT_COST[a] for a in hack["agents_enabled"]), 4)
        sub["status"] = "completed"
        sub["analyzed_at"] = _now()

    def _rank(self, hack: dict) -> None:
        done = sorted((s for s in self._subs(hack["hack_id"]) if s["status"] == "completed"),
                      key=lambda s: (-s["overall_score"], s["team_name"]))
        for i, s in enumerate(done, 1):
            s["rank"] = i

    # ---- results

    def _scored(self, hack: dict) -> list[dict]:
        self._rank(hack)
        return sorted((s for s in self._subs(hack["hack_id"]) if s["status"] == "completed"),
                      key=lambda s: s["rank"])

    def _leaderboard(self, hack: dict) -> dict:
        scored = self._scored(hack)
        if not scored:
            raise HTTPError(400, "No scored submissions available")
        scores = [s["overall_score"] for s in scored]
        mean = sum(scores) / len(scores)
        ordered = sorted(scores)
        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        std = (sum((x - mean) ** 2 for x in scores) / len(scores)) ** 0.5
        buckets = {f"{lo}-{lo + 10}": 0 for lo in range(0, 100, 10)}
        for x in scores:
            lo = min(90, int(x // 10) * 10)
            buckets[f"{lo}-{lo + 10}"] += 1
        return {
            "hackathon": {"hack_id": hack["hack_id"], "name": hack["name"],
                          "submission_count": self._count(hack["hack_id"]),
                          "analyzed_count": len(scored), "ai_policy_mode": hack["ai_policy_mode"]},
            "leaderboard": [{"rank": s["rank"], "sub_id": s["sub_id"], "team_name": s["team_name"],
                             "overall_score": s["overall_score"],
                             "dimension_scores": dict(s["raw_scores"]),
                             "recommendation": s["recommendation"]} for s in scored],
            "statistics": {"mean_score": round(mean, 2), "median_score": round(median, 2),
                           "std_dev": round(std, 2), "highest_score": max(scores),
                           "lowest_score": min(scores), "score_distribution": buckets},
        }

    def _scorecard(self, sub: dict, hack: dict) -> dict:
        base = {"sub_id": sub["sub_id"], "hack_id": sub["hack_id"], "team_name": sub["team_name"],
                "repo_url": sub["repo_url"], "status": sub["status"]}
        if sub["status"] != "completed":
            return dict(base, overall_score=None, rank=None, recommendation=None,
                        weighted_scores=None, agent_scores=[], repo_meta=None, strengths=[],
                        weaknesses=[], total_cost_usd=None, total_tokens=None,
                        analysis_duration_ms=None, analyzed_at=None,
                        disqualification_reason=sub["disqualification_reason"],
                        team_dynamics=None, strategy_analysis=None, actionable_feedback=[])
        self._rank(hack)
        seed = _seed(sub["team_name"])
        weighted = {}
        for d in hack["rubric"]["dimensions"]:
            raw = sub["raw_scores"][d["name"]]
            weighted[d["name"]] = {"raw": raw, "weight": d["weight"],
                                   "weighted": round(raw * 10 * d["weight"], 2)}
        agent_scores = []
        for a in hack["agents_enabled"]:
            dims = {d["name"]: sub["raw_scores"][d["name"]] for d in hack["rubric"]["dimensions"]
                    if d["agent"] == a}
            overall = round(sum(dims.values()) / len(dims), 1) if dims else 7.0
            agent_scores.append({
                "agent_name": a, "overall_score": overall, "confidence": 0.85,
                "summary": f"{a.replace('_', ' ').title()} review of {sub['team_name']}.",
                "scores": dims,
                "evidence": [{"finding": f"{a} finding for {sub['team_name']}",
                              "file": "src/main.py", "line": 10 + seed % 90,
                              "severity": "medium"},
                             # Findings about a whole file have no line.
                             {"finding": "No tests for the API layer", "file": "src/api/",
                              "line": None, "severity": "low"}],
                "observations": {"notes": "Consistent commit history"},
            })
        return dict(
            # The real scorecard leaves rank empty; the leaderboard has it.
            base, overall_score=sub["overall_score"], rank=None,
            recommendation=sub["recommendation"], weighted_scores=weighted,
            agent_scores=agent_scores,
            repo_meta={"commit_count": 20 + seed % 80, "branch_count": 1 + seed % 4,
                       "contributor_count": sub["contributors"], "primary_language": "Python",
                       "languages": {"Python": 80.5, "TypeScript": 19.5},
                       "total_files": 30 + seed % 50, "total_lines": 2000 + seed % 5000,
                       "has_readme": True, "has_tests": bool(seed % 2), "has_ci": bool(seed % 3),
                       "has_dockerfile": False, "first_commit_at": "2026-11-01T09:00:00+00:00",
                       "last_commit_at": "2026-11-02T18:30:00+00:00",
                       "development_duration_hours": 33.5, "workflow_run_count": 4,
                       "workflow_success_rate": 0.75},
            strengths=[f"Clear architecture in {sub['team_name']}", "Good README"],
            weaknesses=["Few automated tests"],
            total_cost_usd=sub["total_cost_usd"], total_tokens=12000 + seed % 5000,
            analysis_duration_ms=42000 + seed % 10000, analyzed_at=sub.get("analyzed_at"),
            disqualification_reason=None, team_dynamics={"collaboration": "balanced"},
            strategy_analysis=None,
            actionable_feedback=[_feedback_item(sub["team_name"], seed)],
        )

    def _contributors(self, sub: dict) -> list[dict]:
        cards = []
        roles = ["backend", "frontend", "devops", "full_stack"]
        for i in range(sub["contributors"]):
            seed = _seed(f"{sub['team_name']}-{i}")
            name = f"{sub['team_name']} Member {i + 1}"
            cards.append({
                "contributor_name": name,
                "contributor_email": f"member{i + 1}@{sub['team_name'].lower().replace(' ', '')}.dev",
                "role": roles[seed % 4], "expertise_areas": ["api", "testing"][: 1 + seed % 2],
                "commit_count": 5 + seed % 40, "lines_added": 100 + seed % 3000,
                "lines_deleted": seed % 500, "files_touched": ["src/main.py", "README.md"],
                "notable_contributions": ["Built the scoring pipeline"],
                "strengths": ["Clean code"], "weaknesses": ["Sparse commit messages"],
                "growth_areas": ["Testing"],
                "work_style": {"commit_frequency": "steady", "avg_commit_size": 40,
                               "active_hours": [10, 14, 22], "late_night_commits": seed % 5,
                               "weekend_commits": seed % 3},
                "hiring_signals": {"recommended_role": roles[seed % 4].replace("_", " ") + " engineer",
                                   "seniority_level": "mid", "salary_range_usd": "$90k-$120k",
                                   "must_interview": (sub.get("overall_score") or 0) >= 75 and i == 0,
                                   "sponsor_interest": ["AWS"],
                                   "rationale": "Shipped the core features"},
            })
        return cards

    def _intelligence(self, hack: dict) -> dict:
        scored = self._scored(hack)
        hiring: dict[str, list] = {"backend_candidates": [], "frontend_candidates": [],
                                   "devops_candidates": [], "full_stack_candidates": [],
                                   "must_interview": []}
        for s in scored:
            for card in self._contributors(s):
                hiring[f"{card['role']}_candidates"].append(card)
                if card["hiring_signals"]["must_interview"]:
                    hiring["must_interview"].append(card)
        failed = [s for s in self._subs(hack["hack_id"]) if s["status"] == "failed"]
        total = self._count(hack["hack_id"])
        return {
            "hack_id": hack["hack_id"], "hackathon_name": hack["name"], "total_submissions": total,
            "top_performers": [{"team_name": s["team_name"], "sub_id": s["sub_id"],
                                "overall_score": s["overall_score"],
                                "key_strengths": [f"Clear architecture in {s['team_name']}"],
                                "sponsor_interest_flags": ["AWS"]} for s in scored[:5]],
            "hiring_intelligence": hiring,
            "technology_trends": {"most_used": [["Python", len(scored)], ["FastAPI", max(0, len(scored) - 1)],
                                                ["React", len(scored) // 2]],
                                  "emerging": ["Amazon Bedrock"] if scored else [],
                                  "popular_stacks": [["Python", "FastAPI", "React"]] if scored else []},
            "common_issues": ([{"issue_type": "missing_tests",
                                "percentage_affected": 60.0,
                                "workshop_recommendation": "Run a testing workshop",
                                "example_teams": [s["team_name"] for s in scored[:2]]}]
                              if scored else []),
            "standout_moments": [f"{scored[0]['team_name']} shipped a full CI pipeline"] if scored else [],
            "prize_recommendations": ([{"prize_category": "Best Overall",
                                        "recommended_team": scored[0]["team_name"],
                                        "sub_id": scored[0]["sub_id"],
                                        "justification": "Highest weighted score",
                                        "evidence": ["Top of the leaderboard"]}] if scored else []),
            "next_hackathon_recommendations": (["Offer a testing workshop"] if scored else []) +
                                              (["Check repository access before the deadline"] if failed else []),
            "sponsor_follow_up_actions": ["Introduce top teams to AWS"] if scored else [],
        }

    def _sub_costs(self, sub: dict, hack: dict) -> dict:
        records = []
        for a in hack["agents_enabled"]:
            cost = AGENT_COST[a]
            records.append({"sub_id": sub["sub_id"], "hack_id": hack["hack_id"], "agent_name": a,
                            "model_id": AGENT_MODELS[a], "input_tokens": 3000,
                            "output_tokens": 500, "total_tokens": 3500,
                            "input_cost_usd": round(cost * 0.7, 5),
                            "output_cost_usd": round(cost * 0.3, 5), "total_cost_usd": cost,
                            "latency_ms": 1200, "service_tier": "standard",
                            "cache_read_tokens": 0, "cache_write_tokens": 0})
        return {"sub_id": sub["sub_id"], "total_cost_usd": sub["total_cost_usd"],
                "total_tokens": 3500 * len(records), "total_input_tokens": 3000 * len(records),
                "total_output_tokens": 500 * len(records), "analysis_duration_ms": 42000,
                "agents": records, "component_performance": [], "total_component_duration_ms": 0}

    def _hack_costs(self, hack: dict) -> dict:
        scored = [s for s in self._subs(hack["hack_id"]) if s["status"] == "completed"]
        total = round(sum(s["total_cost_usd"] for s in scored), 4)
        by_agent = {a: round(AGENT_COST[a] * len(scored), 4) for a in hack["agents_enabled"]}
        by_model: dict[str, float] = {}
        for a, c in by_agent.items():
            by_model[AGENT_MODELS[a]] = round(by_model.get(AGENT_MODELS[a], 0) + c, 4)
        limit = hack.get("budget_limit_usd")
        return {"hack_id": hack["hack_id"], "total_cost_usd": total,
                "total_input_tokens": 3000 * len(scored), "total_output_tokens": 500 * len(scored),
                "submissions_analyzed": len(scored),
                "avg_cost_per_submission": round(total / len(scored), 4) if scored else 0.0,
                "cost_by_agent": by_agent, "cost_by_model": by_model,
                "budget": ({"limit_usd": limit, "used_usd": total, "remaining_usd": limit - total,
                            "utilization_pct": round(total / limit * 100, 2)} if limit else None),
                "optimization_tips": ["Use flex tier for the innovation agent"]}

    @staticmethod
    def _require_obj(payload: Any) -> dict:
        if not isinstance(payload, dict):
            raise HTTPError(422, [_err(["body"], "Input should be a valid dictionary")])
        return payload


def _feedback_item(team: str, seed: int) -> dict:
    """One ActionableFeedback item, in the shape the real pipeline writes."""
    return {
        "priority": 1 + seed % 5,
        "finding": f"SQL built by string formatting in {team}'s search endpoint",
        "acknowledgment": "The endpoint validates its input length and logs every query.",
        "context": f"src/api/search.py, line {10 + seed % 90}",
        "code_example": {
            "vulnerable_code": "cursor.execute(f\"SELECT * FROM items WHERE name = '{q}'\")",
            "fixed_code": 'cursor.execute("SELECT * FROM items WHERE name = %s", (q,))',
            "explanation": "Parameters are sent apart from the SQL text.",
        },
        "why_vulnerable": "A quote in the search text changes the query.",
        "why_fixed": "The driver escapes parameters, so input stays data.",
        "testing_instructions": "Search for: x' OR 1=1 -- and expect no results.",
        "learning_resources": [{"title": "OWASP SQL Injection Prevention",
                                "url": "https://cheatsheetseries.owasp.org/",
                                "resource_type": "guide"}],
        "effort_estimate": {"minutes": 30, "difficulty": "Easy"},
        "business_impact": "Prevents reading every row of the database.",
    }


def _err(loc: list, msg: str, typ: str = "value_error") -> dict:
    return {"loc": loc, "msg": msg, "type": typ}


def _range(expected: float) -> dict:
    return {"low": round(expected * 0.8, 4), "expected": round(expected, 4),
            "high": round(expected * 1.2, 4)}


class _Handler(BaseHTTPRequestHandler):
    backend: FakeBackend
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _serve(self) -> None:
        if self.backend.stopped:
            # Kept-alive connections outlive shutdown(); drop them like a dead host would.
            self.close_connection = True
            self.connection.close()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, payload, extra = self.backend.handle(self.command, self.path, headers, body)
        except Exception as exc:  # surface fake-backend bugs as 500s the tests will see
            status, payload, extra = 500, {"detail": f"fake backend error: {exc!r}"}, {}
        data = b"" if payload is None or status == 204 else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


def seed_demo(backend: FakeBackend, *, scored: bool = True) -> tuple[str, str]:
    """Create an organizer with one hackathon of five submissions; analyze it if
    ``scored``. Returns (api_key, hack_id)."""
    _, key = backend.create_organizer()
    with backend.lock:
        org_id = backend.keys[key].org_id
        hack = backend._create_hackathon(org_id, {
            "name": "Spring Hack 2026", "description": "Build something useful in 48 hours",
            "start_date": "2026-11-01T09:00:00+00:00", "end_date": "2026-11-03T09:00:00+00:00",
            "agents_enabled": list(AGENTS), "ai_policy_mode": "ai_assisted",
            "budget_limit_usd": 50.0,
            "rubric": {"name": "Default Rubric", "dimensions": [
                {"name": "Code Quality", "weight": 0.3, "agent": "bug_hunter"},
                {"name": "Performance", "weight": 0.2, "agent": "performance"},
                {"name": "Innovation", "weight": 0.3, "agent": "innovation"},
                {"name": "Authenticity", "weight": 0.2, "agent": "ai_detection"}]},
        })
        full = backend.hackathons[hack["hack_id"]]
        full["status"] = "configured"
        backend._add_submissions(full, {"submissions": [
            {"team_name": t, "repo_url": f"https://github.com/example/{t.lower().replace(' ', '-')}"}
            for t in ["Alpha Squad", "Beta Builders", "Gamma Ray", "Delta Force", "Epsilon Labs"]]})
        if scored:
            backend._trigger(full, {})
            while backend.jobs[full["hack_id"]]["status"] != "completed":
                backend._poll(full)
    return key, hack["hack_id"]
