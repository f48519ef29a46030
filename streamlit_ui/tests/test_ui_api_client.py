"""The API client against the fake backend over real HTTP."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest
import requests

from components.api_client import (
    APIError,
    APIUnreachableError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    QuotaExceededError,
    Quota,
    RedirectRefusedError,
    RetryPolicy,
    ServerError,
    ValidationError,
    VibeJudgeClient,
    format_detail,
    format_reset,
    parse_retry_after,
    service_root,
)
from fake_backend import FakeBackend

RUBRIC = {"dimensions": [
    {"name": "Quality", "weight": 0.5, "agent": "bug_hunter"},
    {"name": "Ideas", "weight": 0.5, "agent": "innovation"},
]}


def hackathon_payload(**overrides):
    body = {"name": "Test Hack", "description": "d", "agents_enabled": ["bug_hunter", "innovation"],
            "rubric": RUBRIC, "ai_policy_mode": "ai_assisted", "budget_limit_usd": 10.0,
            "start_date": "2026-11-01T09:00:00+00:00", "end_date": "2026-11-02T09:00:00+00:00"}
    body.update(overrides)
    return body


class Recorder:
    """Stands in for time.sleep so retries are observable and instant."""

    def __init__(self):
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(backend, key=None, *, retries=3, sleep=None):
    return VibeJudgeClient(backend.base_url, key, retry=RetryPolicy(max_retries=retries),
                           sleep=sleep or Recorder(), rng=lambda: 0.5, timeout=(2, 10))


@pytest.fixture
def org(backend):
    _, key = backend.create_organizer()
    return make_client(backend, key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- routes


def test_health_is_public_and_at_the_service_root(backend):
    client = make_client(backend)  # no key at all
    health = client.health()
    assert health["status"] == "healthy"
    method, path, headers = backend.requests_log[-1]
    assert (method, path) == ("GET", "/health")
    assert "x-api-key" not in headers
    assert service_root("https://x.example/dev/api/v1/") == "https://x.example/dev"


def test_organizer_signup_and_me(backend):
    client = make_client(backend)
    created = client.create_organizer("new@example.com", "New Org", "Acme")
    assert created["api_key"].startswith("vj_live_")
    me = VibeJudgeClient(backend.base_url, created["api_key"]).get_me()
    assert me["email"] == "new@example.com" and me["organization"] == "Acme"
    assert backend.requests_log[-1][2]["x-api-key"] == created["api_key"]
    with pytest.raises(BadRequestError, match="already registered"):
        client.create_organizer("new@example.com", "Again")


def test_hackathon_lifecycle(org):
    hack = org.create_hackathon(hackathon_payload())
    assert hack["status"] == "draft" and hack["hack_id"]
    assert org.get_hackathon(hack["hack_id"])["name"] == "Test Hack"
    assert org.update_hackathon(hack["hack_id"], {"name": "Renamed"})["name"] == "Renamed"
    assert org.activate_hackathon(hack["hack_id"])["status"] == "configured"
    listed = org.list_hackathons()
    assert [h["name"] for h in listed["hackathons"]] == ["Renamed"]
    assert listed["has_more"] is False and listed["next_cursor"] is None
    assert org.delete_hackathon(hack["hack_id"]) is None
    assert org.list_hackathons()["hackathons"] == []


def test_submissions_analysis_and_results(backend, org):
    hack_id = org.create_hackathon(hackathon_payload())["hack_id"]
    org.activate_hackathon(hack_id)
    result = org.create_submissions(hack_id, [
        {"team_name": "Team A", "repo_url": "https://github.com/a/one"},
        {"team_name": "Team B", "repo_url": "https://github.com/b/two"},
        {"team_name": "Team Fail", "repo_url": "https://github.com/c/three"},
    ])
    assert result["created"] == 3 and result["hackathon_submission_count"] == 3
    stats = org.get_stats(hack_id)
    assert stats["pending_count"] == 3 and stats["hackathon_status"] == "configured"
    assert len(list(org.iter_submissions(hack_id, page_size=2))) == 3

    with pytest.raises(BadRequestError, match="No scored submissions"):
        org.get_leaderboard(hack_id)
    with pytest.raises(NotFoundError):
        org.get_analysis_status(hack_id)

    estimate = org.estimate_analysis(hack_id)
    assert estimate["submission_count"] == 3
    assert estimate["estimate"]["total_cost_usd"]["low"] <= estimate["estimate"]["total_cost_usd"]["high"]
    job = org.start_analysis(hack_id)
    assert job["status"] == "queued" and job["total_submissions"] == 3

    seen = []
    for _ in range(10):
        status = org.get_analysis_status(hack_id)
        seen.append(status["progress"]["percent_complete"])
        if status["status"] == "completed":
            break
    assert seen == sorted(seen) and seen[-1] == 100.0
    assert status["progress"]["failed"] == 1
    assert status["errors"][0]["team_name"] == "Team Fail"
    assert status["cost_so_far"]["total_usd"] > 0

    board = org.get_leaderboard(hack_id)
    assert [e["rank"] for e in board["leaderboard"]] == [1, 2]
    sub_id = board["leaderboard"][0]["sub_id"]
    card = org.get_scorecard(sub_id)
    assert card["weighted_scores"] and card["agent_scores"]
    assert org.get_individual_scorecards(sub_id)["total_count"] >= 1
    backend.fail_submission_costs = False  # the documented answer, not the real bug
    assert org.get_submission_costs(sub_id)["agents"]
    assert org.get_submission(sub_id)["status"] == "completed"
    assert org.get_hackathon_costs(hack_id)["submissions_analyzed"] == 2
    intel = org.get_intelligence(hack_id)
    assert intel["top_performers"][0]["sub_id"] == sub_id
    with pytest.raises(BadRequestError, match="No pending"):
        org.estimate_analysis(hack_id)
    org.delete_submission(sub_id)
    with pytest.raises(NotFoundError):
        org.get_submission(sub_id)


def test_public_hackathons_need_no_key(backend, org):
    hack_id = org.create_hackathon(hackathon_payload(name="Open Hack"))["hack_id"]
    anonymous = make_client(backend)
    assert anonymous.list_public_hackathons()["hackathons"] == []
    org.activate_hackathon(hack_id)
    assert [h["name"] for h in anonymous.list_public_hackathons()["hackathons"]] == ["Open Hack"]


def test_cursor_pagination_follows_every_page(backend, org):
    for i in range(23):
        org.create_hackathon(hackathon_payload(name=f"Hack {i:02d}"))
    first = org.list_hackathons(limit=10)
    assert len(first["hackathons"]) == 10 and first["has_more"] and first["next_cursor"]
    before = backend.count_requests("GET", r"^/api/v1/hackathons$")
    names = [h["name"] for h in org.iter_hackathons(page_size=10)]
    assert names == [f"Hack {i:02d}" for i in range(23)]
    assert backend.count_requests("GET", r"^/api/v1/hackathons$") - before == 3
    assert len(list(org.iter_pages("/hackathons", "hackathons", page_size=5, max_items=7))) == 7


# ---------------------------------------------------------------- error mapping


def test_401_for_wrong_and_missing_keys(backend):
    # The middleware answers {"error": ...}, without "detail".
    with pytest.raises(AuthenticationError, match="Invalid API key") as info:
        make_client(backend, "vj_live_nope").get_me()
    assert info.value.status_code == 401
    assert info.value.raw == {"error": "Invalid API key"}
    assert info.value.detail == "Invalid API key"
    with pytest.raises(AuthenticationError, match="Missing X-API-Key header"):
        make_client(backend).request("GET", "/organizers/me", auth=False)
    with pytest.raises(AuthenticationError, match="sign in first"):
        make_client(backend).get_me()  # refused locally, nothing sent
    assert backend.count_requests("GET", "/organizers/me") == 2


def test_login_issues_a_new_key_and_revokes_the_old(backend):
    _, old_key = backend.create_organizer(email="login@example.com")
    client = make_client(backend)
    answer = client.request("POST", "/organizers/login", json={"email": "login@example.com"},
                            auth=False)
    assert answer["api_key"] != old_key
    with pytest.raises(AuthenticationError, match="API key inactive"):
        make_client(backend, old_key).get_me()
    assert make_client(backend, answer["api_key"]).get_me()["email"] == "login@example.com"
    with pytest.raises(NotFoundError):
        client.request("POST", "/organizers/login", json={"email": "who@example.com"}, auth=False)


def test_403_for_someone_elses_hackathon(backend, org):
    hack_id = org.create_hackathon(hackathon_payload())["hack_id"]
    _, other_key = backend.create_organizer(email="other@example.com")
    with pytest.raises(ForbiddenError) as info:
        make_client(backend, other_key).get_hackathon(hack_id)
    assert info.value.status_code == 403 and "Not authorized" in info.value.detail


def test_404_for_unknown_ids(org):
    with pytest.raises(NotFoundError, match="Hackathon not found"):
        org.get_stats("hack_missing")
    with pytest.raises(NotFoundError, match="Submission not found"):
        org.get_scorecard("sub_missing")


def test_422_detail_list_is_formatted(org):
    with pytest.raises(ValidationError) as info:
        org.create_hackathon(hackathon_payload(name="", agents_enabled=[]))
    err = info.value
    assert err.status_code == 422 and len(err.errors) == 2
    assert "name: String should have 1 to 200 characters" in err.detail
    assert "agents_enabled: List should have 1 to 4 items" in err.detail
    with pytest.raises(ValidationError, match="weights must sum to 1.0"):
        org.create_hackathon(hackathon_payload(rubric={"dimensions": [
            {"name": "Q", "weight": 0.4, "agent": "bug_hunter"}]}))
    hack_id = org.create_hackathon(hackathon_payload())["hack_id"]
    with pytest.raises(ValidationError, match=r"submissions.0.repo_url"):
        org.create_submissions(hack_id, [{"team_name": "T", "repo_url": "https://gitlab.com/a/b"}])


def test_over_budget_500_is_a_business_rule_with_its_numbers(backend, org):
    hack_id = org.create_hackathon(hackathon_payload(budget_limit_usd=0.05))["hack_id"]
    org.create_submissions(hack_id, [{"team_name": f"T{i}", "repo_url": f"https://github.com/t/r{i}"}
                                     for i in range(5)])
    with pytest.raises(BudgetExceededError, match="exceeds budget limit") as info:
        org.start_analysis(hack_id)
    err = info.value
    assert err.status_code == 500  # as the real backend answers it
    assert (err.estimate_usd, err.limit_usd) == (0.37, 0.05)
    assert err.friendly.startswith("Over budget: the analysis is estimated at $0.37, above "
                                   "the hackathon's budget limit of $0.05.")
    assert "try again in a minute" not in err.friendly
    assert backend.count_requests("POST", r"/analyze$") == 1


def test_budget_middleware_402_error_shape(backend, org):
    backend.inject_fault("POST", r"/analyze$", 402, body={
        "error": "Budget limit exceeded", "message": "This API key has spent its $5.00 budget",
        "details": {"budget_limit_usd": 5.0, "spent_usd": 5.01}})
    with pytest.raises(BudgetExceededError) as info:
        org.start_analysis("hack_any")
    assert info.value.detail == "Budget limit exceeded: This API key has spent its $5.00 budget"
    assert info.value.friendly.startswith("Over budget: Budget limit exceeded: This API key")


def test_500_already_in_progress_is_not_retried(backend, org):
    hack_id = org.create_hackathon(hackathon_payload())["hack_id"]
    org.create_submissions(hack_id, [{"team_name": "T", "repo_url": "https://github.com/t/r"}])
    org.start_analysis(hack_id)
    before = backend.count_requests("POST", r"/analyze$")
    with pytest.raises(ServerError, match="Analysis already in progress") as info:
        org.start_analysis(hack_id)
    assert info.value.status_code == 500
    assert backend.count_requests("POST", r"/analyze$") - before == 1
    assert org._sleep.delays == []


def test_409_and_other_codes_map_to_their_types(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 409, body={"detail": "Conflict here"})
    with pytest.raises(ConflictError, match="Conflict here"):
        org.get_me()
    backend.inject_fault("GET", r"/organizers/me$", 418, body={"detail": "teapot"})
    with pytest.raises(APIError) as info:
        org.get_me()
    assert info.value.status_code == 418 and info.value.detail == "teapot"


def test_submission_costs_500_is_not_retried(seeded):
    backend, key, hack_id = seeded
    client = make_client(backend, key, retries=3)
    sub_id = client.get_leaderboard(hack_id)["leaderboard"][0]["sub_id"]
    # The real backend answers 500 for every analysed submission: retrying only
    # spends the daily quota.
    with pytest.raises(ServerError, match="Failed to get submission costs"):
        client.get_submission_costs(sub_id)
    assert backend.count_requests("GET", r"/submissions/[^/]+/costs$") == 1
    assert client._sleep.delays == []


def test_non_json_error_bodies_still_map(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 404, body=None)
    backend.faults[-1].body = None
    with pytest.raises(NotFoundError):
        org.get_me()


# ---------------------------------------------------------------- retries


def test_get_is_not_retried_on_500(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 500, times=5)
    with pytest.raises(ServerError):
        org.get_me()
    assert backend.count_requests("GET", r"/organizers/me$") == 1


def test_503_then_success_is_retried_with_backoff(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 503, times=2)
    assert org.get_me()["name"]
    assert backend.count_requests("GET", r"/organizers/me$") == 3
    # base 0.5 s doubled per attempt, equal jitter with rng=0.5: 0.375 s then 0.75 s
    assert org._sleep.delays == pytest.approx([0.375, 0.75])


def test_post_is_retried_on_503_but_not_on_500(backend, org):
    backend.inject_fault("POST", r"^/api/v1/hackathons$", 503)
    assert org.create_hackathon(hackathon_payload())["status"] == "draft"
    backend.inject_fault("POST", r"^/api/v1/hackathons$", 500)
    with pytest.raises(ServerError):
        org.create_hackathon(hackathon_payload())
    assert backend.count_requests("POST", r"^/api/v1/hackathons$") == 3


def test_retries_give_up_after_max_retries(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 502, times=10)
    with pytest.raises(ServerError) as info:
        org.get_me()
    assert info.value.status_code == 502
    assert backend.count_requests("GET", r"/organizers/me$") == 4
    assert len(org._sleep.delays) == 3


def test_429_honours_retry_after(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 429, headers={"Retry-After": "2"},
                         body={"detail": "Rate limit exceeded"})
    assert org.get_me()["name"]
    assert org._sleep.delays == [2.0]


def test_429_with_a_long_retry_after_is_reported_not_waited(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 429, headers={"Retry-After": "600"},
                         body={"error": "Rate limit exceeded: 10 req/sec", "retry_after": 600})
    with pytest.raises(RateLimitError) as info:
        org.get_me()
    assert not isinstance(info.value, QuotaExceededError)
    assert info.value.retry_after == 600
    assert org._sleep.delays == []
    assert "wait about 600 s" in info.value.friendly


def test_daily_quota_429_is_never_retried_and_says_when_it_resets():
    # 2026-11-30 15:00 UTC: the quota resets at the next midnight UTC.
    now = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc).timestamp()
    with FakeBackend(rate_limit_per_second=1000, daily_quota=3, clock=lambda: now) as limited:
        _, key = limited.create_organizer()
        client = make_client(limited, key, retries=3)
        for _ in range(3):
            client.get_me()
        with pytest.raises(QuotaExceededError, match="Daily quota exceeded") as info:
            client.get_me()
        err = info.value
        assert isinstance(err, RateLimitError) and err.retry_after is None
        assert err.raw["quota_reset"] == limited.quota_reset()
        assert err.quota == Quota(limit=3, remaining=0, reset=limited.quota_reset())
        assert format_reset(err.reset) == "2026-12-01 00:00 UTC"
        assert err.friendly == ("The API key's daily quota of 3 requests is used up. It resets "
                                "at 2026-12-01 00:00 UTC; until then every request is refused, "
                                "so trying again earlier does not help.")
        assert "wait a little" not in err.friendly and "try again" not in err.friendly.lower()
        assert client._sleep.delays == []
        assert limited.count_requests("GET", r"/organizers/me$") == 4
        assert client.quota.remaining == 0


def test_quota_headers_on_answers_are_remembered(backend, org):
    assert org.quota is None
    backend.report_quota = True
    org.get_me()
    assert org.quota.limit == backend.daily_quota
    assert org.quota.remaining == backend.daily_quota - 1
    org.list_hackathons()
    assert org.quota.remaining == backend.daily_quota - 2


def test_real_rate_limit_of_ten_per_second(backend):
    with FakeBackend() as limited:  # the contract's defaults: 10/s, 100/day
        _, key = limited.create_organizer()
        strict = make_client(limited, key, retries=0)
        succeeded = 0
        with pytest.raises(RateLimitError) as info:
            for _ in range(90):  # well under the daily quota of 100
                strict.get_me()
                succeeded += 1
        assert succeeded >= 10
        assert info.value.retry_after == 1.0
        assert info.value.raw == {"error": "Rate limit exceeded: 10 req/sec", "retry_after": 1}
        assert not isinstance(info.value, QuotaExceededError)
        # With retries, the client waits the real second the API asks for and succeeds.
        patient = VibeJudgeClient(limited.base_url, key)
        assert patient.get_me()["name"]


def test_connection_refused_retries_then_unreachable():
    sleep = Recorder()
    client = VibeJudgeClient(f"http://127.0.0.1:{free_port()}/api/v1", "vj_live_x",
                             retry=RetryPolicy(max_retries=2), sleep=sleep, rng=lambda: 0.0)
    with pytest.raises(APIUnreachableError, match="connection to 127.0.0.1") as info:
        client.get_me()
    assert info.value.status_code is None
    assert sleep.delays == pytest.approx([0.25, 0.5])
    assert "Check the API URL" in info.value.friendly


def test_a_hung_backend_costs_one_timeout_not_four():
    with socket.socket() as server:  # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        sleep = Recorder()
        client = VibeJudgeClient(f"http://127.0.0.1:{port}/api/v1", "k", timeout=(1, 0.3),
                                 retry=RetryPolicy(max_retries=3), sleep=sleep)
        with pytest.raises(APIUnreachableError, match="no answer"):
            client.get_me()
        # Exactly one connection was made: the read timeout was not retried.
        server.settimeout(0)
        accepted = []
        while True:
            try:
                accepted.append(server.accept()[0])
            except BlockingIOError:
                break
        for conn in accepted:
            conn.close()
        assert len(accepted) == 1
        assert sleep.delays == []


def test_backoff_is_exponential_capped_and_jittered():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert [policy.backoff(n, lambda: 0.0) for n in range(3)] == [0.5, 1.0, 2.0]


def test_parse_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    future = datetime.now(timezone.utc) + timedelta(seconds=30)
    http_date = future.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 <= parse_retry_after(http_date) <= 31


def test_format_detail_shapes():
    assert format_detail("plain") == "plain"
    assert format_detail([{"loc": ["body", "rubric", "dimensions", 0, "weight"],
                           "msg": "too big", "type": "x"},
                          {"loc": ["body"], "msg": "bad", "type": "y"}]) == \
        "rubric.dimensions.0.weight: too big; bad"
    assert format_detail(None) == ""


def test_both_error_body_shapes_map(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 401, body={"error": "API key expired"})
    with pytest.raises(AuthenticationError, match="API key expired"):
        org.get_me()
    backend.inject_fault("GET", r"/organizers/me$", 404, body={"detail": "Organizer not found"})
    with pytest.raises(NotFoundError, match="Organizer not found"):
        org.get_me()


def test_one_session_is_reused(backend, org):
    assert isinstance(org.session, requests.Session)
    session = org.session
    org.get_me()
    org.list_hackathons()
    assert org.session is session


# ---------------------------------------------------------------- redirects (the key stays home)


class Recording:
    """A plain HTTP server that records every request's path and headers, answering 200."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                body = b'{"org_id": "stolen"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        import threading
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere():
    server = Recording()
    yield server
    server.close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_port_is_refused_and_the_key_not_sent(backend, org, elsewhere, status):
    target = f"http://127.0.0.1:{elsewhere.port}/api/v1/organizers/me"
    backend.redirect("/api/v1/organizers/me", status, target)
    with pytest.raises(RedirectRefusedError) as info:
        org.get_me()
    assert elsewhere.seen == []
    err = info.value
    assert err.status_code == status
    assert f"redirected to http://127.0.0.1:{elsewhere.port}" in err.friendly
    assert "sends your API key only to the API's own address" in err.friendly
    assert backend.count_requests("GET", r"/organizers/me$") == 1


def test_redirect_to_another_host_name_is_refused(backend, org):
    # Same port, other host name: the fake itself would answer, so any follow-up shows in its log.
    backend.redirect("/api/v1/hackathons", 302,
                     f"http://localhost:{backend.port}/api/v1/organizers/me")
    with pytest.raises(RedirectRefusedError, match="localhost"):
        org.list_hackathons()
    assert backend.count_requests("GET", r"/organizers/me$") == 0


def test_redirect_within_the_api_is_followed_with_the_key(backend, org):
    backend.redirect("/api/v1/organizers/self", 307, "/api/v1/organizers/me")
    me = org.request("GET", "/organizers/self")
    assert me["name"] == "Ada Organizer"
    method, path, headers = backend.requests_log[-1]
    assert (method, path) == ("GET", "/api/v1/organizers/me")
    assert headers["x-api-key"] == org.api_key


def test_a_redirect_loop_stops(backend, org):
    backend.redirect("/api/v1/organizers/me", 302, "/api/v1/organizers/me")
    with pytest.raises(APIError, match="more than 5 redirects"):
        org.get_me()


@pytest.fixture
def tls_and_plain_on_one_port(tmp_path):
    """One port that speaks TLS (answering a redirect to http:// on the same host and
    port) and plain HTTP (recording what arrives): a downgrade the client must refuse."""
    import ssl
    import subprocess
    import threading

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    plain: list[bytes] = []
    tls_requests: list[bytes] = []

    def read_head(conn) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        return data

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                first = conn.recv(1, socket.MSG_PEEK)
                if first == b"\x16":  # a TLS handshake
                    try:
                        tls = context.wrap_socket(conn, server_side=True)
                    except ssl.SSLError:
                        continue
                    tls_requests.append(read_head(tls))
                    tls.sendall(b"HTTP/1.1 301 Moved Permanently\r\n"
                                b"Location: http://127.0.0.1:%d/api/v1/organizers/me\r\n"
                                b"Content-Length: 0\r\nConnection: close\r\n\r\n" % port)
                    tls.close()
                elif first:
                    plain.append(read_head(conn))
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")

    threading.Thread(target=serve, daemon=True).start()
    yield {"port": port, "cert": str(cert), "plain": plain, "tls": tls_requests}
    listener.close()


def test_https_to_http_downgrade_on_the_same_host_and_port_is_refused(tls_and_plain_on_one_port,
                                                                      monkeypatch):
    server = tls_and_plain_on_one_port
    # requests lets these variables override a session's own CA file.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    session = requests.Session()
    session.verify = server["cert"]
    client = VibeJudgeClient(f"https://127.0.0.1:{server['port']}/api/v1", "vj_live_secret",
                             session=session, sleep=Recorder())
    with pytest.raises(RedirectRefusedError) as info:
        client.get_me()
    assert f"redirected to http://127.0.0.1:{server['port']}" in info.value.detail
    assert len(server["tls"]) == 1 and b"vj_live_secret" in server["tls"][0]
    assert server["plain"] == []  # nothing, let alone the key, went out in clear text
