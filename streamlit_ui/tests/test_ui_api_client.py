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
    RetryPolicy,
    ServerError,
    ValidationError,
    VibeJudgeClient,
    format_detail,
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
    with pytest.raises(AuthenticationError, match="Invalid API key") as info:
        make_client(backend, "vj_live_nope").get_me()
    assert info.value.status_code == 401
    with pytest.raises(AuthenticationError, match="Missing API key"):
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
    with pytest.raises(AuthenticationError, match="inactive"):
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


def test_402_when_the_estimate_exceeds_the_budget(org):
    hack_id = org.create_hackathon(hackathon_payload(budget_limit_usd=0.01))["hack_id"]
    org.create_submissions(hack_id, [{"team_name": f"T{i}", "repo_url": f"https://github.com/t/r{i}"}
                                     for i in range(5)])
    with pytest.raises(BudgetExceededError, match="exceeds the budget") as info:
        org.start_analysis(hack_id)
    assert info.value.status_code == 402


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


def test_submission_costs_500_maps_to_server_error(seeded):
    backend, key, hack_id = seeded
    client = make_client(backend, key, retries=2)
    sub_id = client.get_leaderboard(hack_id)["leaderboard"][0]["sub_id"]
    backend.fail_submission_costs = True
    with pytest.raises(ServerError, match="Internal server error"):
        client.get_submission_costs(sub_id)
    # A GET is idempotent, so a 500 was retried before giving up.
    assert backend.count_requests("GET", r"/costs$") == 3
    assert len(client._sleep.delays) == 2


def test_non_json_error_bodies_still_map(backend, org):
    backend.inject_fault("GET", r"/organizers/me$", 404, body=None)
    backend.faults[-1].body = None
    with pytest.raises(NotFoundError):
        org.get_me()


# ---------------------------------------------------------------- retries


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


def test_429_with_a_long_retry_after_is_reported_not_waited(backend):
    with FakeBackend(rate_limit_per_second=1000, daily_quota=3) as limited:
        _, key = limited.create_organizer()
        client = make_client(limited, key)
        for _ in range(3):
            client.get_me()
        with pytest.raises(RateLimitError, match="Daily quota exceeded") as info:
            client.get_me()
        assert info.value.retry_after > 60
        assert client._sleep.delays == []
        assert "wait about" in info.value.friendly


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
        assert "10 requests per second" in info.value.detail
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


def test_timeout_maps_to_unreachable():
    with socket.socket() as server:  # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        client = VibeJudgeClient(f"http://127.0.0.1:{port}/api/v1", "k", timeout=(1, 0.3),
                                 retry=RetryPolicy(max_retries=0))
        with pytest.raises(APIUnreachableError, match="no answer"):
            client.get_me()


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


def test_one_session_is_reused(backend, org):
    assert isinstance(org.session, requests.Session)
    session = org.session
    org.get_me()
    org.list_hackathons()
    assert org.session is session
