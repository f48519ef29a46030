"""Every page driven through its main flows with Streamlit's AppTest against the fake backend."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest

from components import auth
from components.api_client import format_reset
from fake_backend import seed_demo

UI_DIR = Path(__file__).resolve().parent.parent


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def joined(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def no_exception(at) -> None:
    """No traceback, and no failure that escaped to the page-wide guard."""
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Something unexpected went wrong" in e for e in texts(at.error))


# ---------------------------------------------------------------- sign in (home page)


def test_sign_in_with_a_good_key_shows_the_home_page(open_page, seeded):
    backend, key, _ = seeded
    at = open_page("home")
    assert "Sign in" in texts(at.subheader)
    at.text_input(key="sign_in_key").input(key).run()
    at.button(key="sign_in_button").click().run()
    no_exception(at)
    assert any("Welcome, Ada Organizer" in s for s in texts(at.success))
    body = joined(at.markdown)
    for label in ("Bug Hunter", "Performance", "Innovation", "AI Detection"):
        assert label in body
    assert "Signed in as" in body
    # The key was validated with an authenticated call, never with /health or login.
    assert backend.count_requests("GET", r"^/api/v1/organizers/me$") == 1
    assert backend.count_requests("GET", r"^/health$") == 0
    assert backend.count_requests("POST", r"/organizers/login") == 0


def test_sign_in_with_a_bad_key_is_refused(open_page, seeded):
    at = open_page("home")
    at.text_input(key="sign_in_key").input("vj_live_wrong").run()
    at.button(key="sign_in_button").click().run()
    no_exception(at)
    errors = texts(at.error)
    assert any("API key was not accepted (Invalid API key)" in e for e in errors), errors
    # Nobody is signed in yet: no advice to sign out.
    assert not any("sign out" in e.lower() for e in errors)
    assert any("pasted the whole key" in e for e in errors)
    assert "Sign in" in texts(at.subheader)


def test_sign_in_accepts_the_stage_url_without_api_v1(open_page, seeded):
    backend, key, _ = seeded
    at = open_page("home")
    at.text_input(key="sign_in_key").input(key).run()
    at.text_input(key="sign_in_base_url").input(backend.root_url + "/").run()
    assert (f"The API's routes live under /api/v1: the dashboard uses {backend.base_url}."
            in texts(at.caption))
    at.button(key="sign_in_button").click().run()
    no_exception(at)
    assert any("Welcome, Ada Organizer" in s for s in texts(at.success))
    assert at.session_state["vj_base_url"] == backend.base_url


def test_deployment_api_base_urls_are_stage_urls_the_dashboard_accepts():
    config = tomllib.loads((UI_DIR.parent / "samconfig.toml").read_text())
    for env in ("dev", "prod"):
        overrides = config[env]["deploy"]["parameters"]["parameter_overrides"]
        url = re.search(r'ApiBaseUrl="([^"]*)"', overrides).group(1)
        assert re.fullmatch(rf"https://[a-z0-9]{{10}}\.execute-api\.us-east-1\.amazonaws\.com/"
                            rf"{env}(/api/v1)?", url), url
        assert auth.normalize_base_url(url).endswith(f"/{env}/api/v1")


def test_sign_in_checks_the_input_before_calling(open_page, seeded):
    backend, key, _ = seeded
    at = open_page("home")
    at.button(key="sign_in_button").click().run()
    assert any("Enter your API key" in e for e in texts(at.error))
    at.text_input(key="sign_in_key").input(key).run()
    at.text_input(key="sign_in_base_url").input("ftp://nowhere").run()
    at.button(key="sign_in_button").click().run()
    assert any("must start with http" in e for e in texts(at.error))
    assert backend.count_requests("GET", r"/organizers/me$") == 0


def test_sign_in_against_an_unreachable_api(open_page, seeded):
    _, key, _ = seeded
    at = open_page("home")
    at.text_input(key="sign_in_key").input(key).run()
    at.text_input(key="sign_in_base_url").input("http://127.0.0.1:9/api/v1").run()
    at.button(key="sign_in_button").click().run()
    no_exception(at)
    assert any("Cannot reach the VibeJudge API" in e for e in texts(at.error))


def test_sign_out_clears_the_session(open_page, seeded):
    _, key, _ = seeded
    at = open_page("home")
    at.text_input(key="sign_in_key").input(key).run()
    at.button(key="sign_in_button").click().run()
    assert at.session_state["vj_api_key"] == key
    at.button(key="home_sign_out").click().run()
    assert "Sign in" in texts(at.subheader)
    assert "vj_api_key" not in at.session_state
    assert "vj_client" not in at.session_state


def test_operator_key_signs_in_and_sign_out_sticks(open_page, seeded):
    _, key, _ = seeded
    at = open_page("home", key=key)
    assert any("Welcome" in s for s in texts(at.success))
    at.button(key="sidebar_sign_out").click().run()
    assert "Sign in" in texts(at.subheader)
    at.run()
    assert "Sign in" in texts(at.subheader)


def test_a_bad_operator_key_is_explained(open_page, seeded):
    at = open_page("home", key="vj_live_revoked")
    assert any("VIBEJUDGE_API_KEY could not sign in" in w for w in texts(at.warning))
    assert "Sign in" in texts(at.subheader)


@pytest.mark.parametrize("page", ["create", "live", "results", "intel"])
def test_pages_refuse_to_work_until_signed_in(open_page, seeded, page):
    backend, _, _ = seeded
    at = open_page(page)
    no_exception(at)
    assert any("Sign in with your VibeJudge API key" in w for w in texts(at.warning))
    assert [b.key for b in at.button] == []
    assert backend.count_requests("GET", r"/hackathons") == 0


# ---------------------------------------------------------------- create hackathon


def fill_valid_form(at):
    at.text_input(key="hack_name").input("Autumn Hack").run()
    at.text_area(key="hack_description").input("Forty-eight hours of building").run()
    at.date_input(key="start_day").set_value(date(2026, 12, 1)).run()
    at.time_input(key="start_time").set_value(time(9, 0)).run()
    at.date_input(key="end_day").set_value(date(2026, 12, 3)).run()
    at.time_input(key="end_time").set_value(time(18, 0)).run()
    at.number_input(key="budget").set_value(25.0).run()
    at.selectbox(key="ai_policy_mode").select("full_vibe").run()
    return at


def test_create_a_valid_hackathon_and_activate_it(open_page, seeded):
    backend, key, _ = seeded
    at = fill_valid_form(open_page("create", key=key))
    no_exception(at)
    assert any("Everything checks out" in s for s in texts(at.success))
    assert at.button(key="create").disabled is False
    at.button(key="create").click().run()
    no_exception(at)
    assert any("Created **Autumn Hack**" in s for s in texts(at.success))
    assert metrics(at)["Status"] == "draft"
    assert metrics(at)["Budget"] == "$25.00"
    created = next(h for h in backend.hackathons.values() if h["name"] == "Autumn Hack")
    assert created["start_date"] == "2026-12-01T09:00:00+00:00"
    assert created["end_date"] == "2026-12-03T18:00:00+00:00"
    assert created["ai_policy_mode"] == "full_vibe"
    assert created["budget_limit_usd"] == 25.0
    assert created["agents_enabled"] == ["bug_hunter", "performance", "innovation", "ai_detection"]
    dims = created["rubric"]["dimensions"]
    assert [d["agent"] for d in dims] == ["bug_hunter", "performance", "innovation", "ai_detection"]
    assert sum(d["weight"] for d in dims) == pytest.approx(1.0)
    at.button(key="activate").click().run()
    no_exception(at)
    assert metrics(at)["Status"] == "configured"
    assert created["status"] == "configured"


def _name_too_long(at):
    at.text_input(key="hack_name").input("x" * 201).run()


def _description_too_long(at):
    at.text_area(key="hack_description").input("y" * 2001).run()


def _end_before_start(at):
    at.date_input(key="end_day").set_value(date(2026, 11, 30)).run()


def _budget_too_small(at):
    at.number_input(key="budget").set_value(0.0).run()


def _budget_too_large(at):
    at.number_input(key="budget").set_value(10000.01).run()


def _weights_off(at):
    at.number_input(key="dim_weight_0").set_value(0.5).run()


def _agent_not_enabled(at):
    at.multiselect(key="agents").unselect("ai_detection").run()


def _no_agents(at):
    at.multiselect(key="agents").set_value([]).run()


def _dimension_name_empty(at):
    at.text_input(key="dim_name_1").input("").run()


def _dimension_name_too_long(at):
    at.text_input(key="dim_name_2").input("z" * 51).run()


def _dimension_name_duplicate(at):
    at.text_input(key="dim_name_3").input("Code Quality").run()


def _name_empty(at):
    at.text_input(key="hack_name").input("").run()


@pytest.mark.parametrize("breaker, message", [
    (_name_empty, "Name: enter a name"),
    (_name_too_long, "Name: 201 characters, at most 200"),
    (_description_too_long, "Description: 2001 characters"),
    (_end_before_start, "the end must be after the start"),
    (_budget_too_small, "Budget: must be between $0.01 and $10,000"),
    (_budget_too_large, "Budget: must be between $0.01 and $10,000"),
    (_weights_off, "weights add up to 1.20"),
    (_agent_not_enabled, "agent ai_detection scores this dimension but is not enabled"),
    (_no_agents, "Agents: enable at least one agent"),
    (_dimension_name_empty, "Rubric dimension 2: enter a name"),
    (_dimension_name_too_long, "Rubric dimension 3: name has 51 characters"),
    (_dimension_name_duplicate, "the name 'Code Quality' is used twice"),
])
def test_create_form_rejects_each_invalid_case(open_page, seeded, breaker, message):
    backend, key, _ = seeded
    at = fill_valid_form(open_page("create", key=key))
    breaker(at)
    no_exception(at)
    errors = joined(at.error)
    assert message in errors
    assert at.button(key="create").disabled is True
    assert backend.count_requests("POST", r"^/api/v1/hackathons$") == 0


def test_weights_must_sum_to_one_within_the_apis_tolerance(open_page, seeded):
    backend, key, _ = seeded
    at = fill_valid_form(open_page("create", key=key))
    at.number_input(key="dim_count").set_value(3).run()
    for i in range(3):
        at.number_input(key=f"dim_weight_{i}").set_value(0.335).run()
    # 1.005 is refused by the API (tolerance 0.001): the form refuses it first.
    assert "Rubric: weights add up to 1.005; they must sum to 1.000 (within 0.001)." in \
        joined(at.error)
    assert any("Weights add up to 1.005" in c for c in texts(at.caption))
    assert at.number_input(key="dim_weight_0").format == "%.3f"
    assert at.button(key="create").disabled is True
    at.number_input(key="dim_weight_2").set_value(0.33).run()
    assert any("Weights add up to 1.000" in c for c in texts(at.caption))
    at.button(key="create").click().run()
    no_exception(at)
    assert any("Created **Autumn Hack**" in s for s in texts(at.success))


def test_weights_summary_is_live(open_page, seeded):
    _, key, _ = seeded
    at = open_page("create", key=key)
    at.text_input(key="hack_name").input("Weights Hack").run()
    assert any("Weights add up to 1.00" in c for c in texts(at.caption))
    at.number_input(key="dim_count").set_value(5).run()
    at.text_input(key="dim_name_4").input("Polish").run()
    at.number_input(key="dim_weight_4").set_value(0.1).run()
    assert any("Weights add up to 1.10" in c for c in texts(at.caption))
    at.number_input(key="dim_weight_0").set_value(0.2).run()
    assert any("Weights add up to 1.00" in c for c in texts(at.caption))
    assert at.button(key="create").disabled is False


def test_create_failure_from_the_api_is_friendly(open_page, seeded):
    backend, key, _ = seeded
    backend.inject_fault("POST", r"^/api/v1/hackathons$", 400,
                         body={"detail": "Hackathon limit reached for the free tier"})
    at = fill_valid_form(open_page("create", key=key))
    at.button(key="create").click().run()
    no_exception(at)
    assert any("Could not create the hackathon: Hackathon limit reached for the free tier"
               in e for e in texts(at.error))


def test_add_submissions_in_bulk_with_per_line_errors(open_page, seeded):
    backend, key, hack_id = seeded
    at = open_page("create", key=key)
    at.text_area(key="bulk_submissions").input(
        "Zeta Team, https://github.com/zeta/app\n"
        "Bad/Name, https://github.com/bad/app\n"
        "\n"
        "Eta Team, https://gitlab.com/eta/app\n"
        "just one field\n"
        "Theta Team, https://github.com/zeta/app\n"
    ).run()
    no_exception(at)
    errors = joined(at.error)
    assert "Line 2: team name may only use letters" in errors
    assert "Line 4: repository URL must look like https://github.com/owner/repo" in errors
    assert "Line 5: expected 'team name, https://github.com/owner/repo'" in errors
    assert "Line 6: same repository as line 1" in errors
    assert "Line 1" not in errors
    add = next(b for b in at.button if b.key == "add_submissions")
    assert add.disabled is True

    at.text_area(key="bulk_submissions").input(
        "Zeta Team, https://github.com/zeta/app\nEta Team\thttps://github.com/eta/app/\n"
        "Theta-Team | https://github.com/theta/app.git\n").run()
    assert at.button(key="add_submissions").label == "Add 3 submission(s) to Spring Hack 2026"
    at.button(key="add_submissions").click().run()
    no_exception(at)
    assert any("Added 3 submission(s) to Spring Hack 2026; it now has 8" in s
               for s in texts(at.success))
    teams = {s["team_name"] for s in backend.submissions.values() if s["hack_id"] == hack_id}
    assert {"Zeta Team", "Eta Team", "Theta-Team"} <= teams


def test_add_submissions_api_rejection_is_shown(open_page, seeded):
    backend, key, _ = seeded
    backend.inject_fault("POST", r"/submissions$", 422, body={"detail": [
        {"loc": ["body", "submissions", 0, "repo_url"], "msg": "Repository is private",
         "type": "value_error"}]})
    at = open_page("create", key=key)
    at.text_area(key="bulk_submissions").input("Zeta Team, https://github.com/zeta/app").run()
    at.button(key="add_submissions").click().run()
    no_exception(at)
    assert any("submissions.0.repo_url: Repository is private" in e for e in texts(at.error))


def test_submissions_go_to_the_hackathon_just_created(open_page, seeded, page_files):
    backend, key, spring = seeded
    at = open_page("create", key=key)
    assert at.selectbox(key="hack_picker_create").value == spring
    at = fill_valid_form(at)
    at.text_input(key="hack_name").input("Winter Hack").run()
    at.button(key="create").click().run()
    no_exception(at)
    winter = next(h for h, v in backend.hackathons.items() if v["name"] == "Winter Hack")
    # The hackathon just created is the one the form acts on, and it says so.
    assert at.selectbox(key="hack_picker_create").value == winter
    assert any("Submissions go to **Winter Hack**" in i for i in texts(at.info))
    at.text_area(key="bulk_submissions").input("Zeta Team, https://github.com/zeta/app").run()
    assert at.button(key="add_submissions").label == "Add 1 submission(s) to Winter Hack"
    at.button(key="add_submissions").click().run()
    no_exception(at)
    assert any("Added 1 submission(s) to Winter Hack; it now has 1" in s
               for s in texts(at.success))
    zeta = next(s for s in backend.submissions.values() if s["team_name"] == "Zeta Team")
    assert zeta["hack_id"] == winter

    # Picking another one sends the next batch there, and the other pages follow it.
    at.selectbox(key="hack_picker_create").select(spring).run()
    at.text_area(key="bulk_submissions").input("Eta Team, https://github.com/eta/app").run()
    at.button(key="add_submissions").click().run()
    eta = next(s for s in backend.submissions.values() if s["team_name"] == "Eta Team")
    assert eta["hack_id"] == spring
    at.switch_page(page_files["live"]).run()
    assert at.selectbox(key="hack_picker_live").value == spring


# ---------------------------------------------------------------- live dashboard


@pytest.fixture
def unscored(backend):
    key, hack_id = seed_demo(backend, scored=False)
    return backend, key, hack_id


def test_live_dashboard_estimate_start_and_follow_progress(open_page, unscored):
    backend, key, hack_id = unscored
    at = open_page("live", key=key)
    no_exception(at)
    m = metrics(at)
    assert (m["Submissions"], m["Pending"], m["Status"]) == ("5", "5", "Configured")
    assert at.button(key="start").disabled is True  # not confirmed yet

    at.button(key="estimate").click().run()
    m = metrics(at)
    assert m["Submissions to analyze"] == "5"
    assert m["Expected cost"] == "$0.3250"
    assert any("Budget $50.00: this would use 0.7%" in s for s in texts(at.success))

    at.checkbox(key="confirm").check().run()
    assert "up to $0.3900" in at.checkbox(key="confirm").label
    at.button(key="start").click().run()
    no_exception(at)
    assert any("Analysis started" in s and "5 submission(s)" in s for s in texts(at.success))
    assert any("Refreshing every 5 seconds" in c for c in texts(at.caption))

    seen = []
    stats_calls = backend.count_requests("GET", r"/stats$")
    for _ in range(10):
        at.run()
        no_exception(at)
        seen.append(at.get("progress")[-1].value)  # the last bar is the job's progress
        if any("Analysis complete" in s for s in texts(at.success)):
            break
        assert any("Now analyzing **" in md for md in texts(at.markdown))
        assert metrics(at)["Cost so far"].startswith("$")
    assert seen == sorted(seen) and seen[-1] == 100
    assert not any("Refreshing every" in c for c in texts(at.caption))
    assert backend.jobs[hack_id]["status"] == "completed"
    # Polling costs one request per refresh: the statistics wait for the job to end,
    # and are then fetched again rather than shown from the cache.
    assert backend.count_requests("GET", r"/stats$") - stats_calls == 1
    m = metrics(at)
    assert (m["Analyzed"], m["Pending"], m["Status"]) == ("5", "0", "Completed")


def test_live_dashboard_counts_analysed_submissions_and_shows_the_spend(open_page, seeded):
    backend, key, hack_id = seeded
    at = open_page("live", key=key)
    no_exception(at)
    # The API's verified_count stays 0; the page counts completed submissions itself.
    assert backend._hackathon_route(backend.hackathons[hack_id], "/stats", "GET", {}, None)[1][
        "verified_count"] == 0
    m = metrics(at)
    assert (m["Submissions"], m["Analyzed"], m["Pending"]) == ("5", "5", "0")
    spend = at.get("progress")[0].proto.text
    assert spend == ("Spent $0.3250 of the $50.00 budget (0.7%), $49.67 left · 5 submission(s) "
                     "analyzed, $0.0650 each on average")
    assert backend.count_requests("GET", r"/hackathons/[^/]+/costs$") == 1


def test_consent_is_cleared_with_the_estimate(open_page, unscored):
    _, key, _ = unscored
    at = open_page("live", key=key)
    at.button(key="estimate").click().run()
    at.checkbox(key="confirm").check().run()
    assert at.button(key="start").disabled is False
    at.button(key="estimate").click().run()  # a new estimate needs a new consent
    assert at.checkbox(key="confirm").value is False
    assert at.button(key="start").disabled is True


def test_live_dashboard_shows_errors_of_failed_submissions(open_page, unscored):
    backend, key, hack_id = unscored
    with backend.lock:
        backend._add_submissions(backend.hackathons[hack_id], {"submissions": [
            {"team_name": "Fail Fast", "repo_url": "https://github.com/fail/fast"}]})
        backend._trigger(backend.hackathons[hack_id], {})
        for _ in range(8):
            backend._poll(backend.hackathons[hack_id])
    at = open_page("live", key=key)
    no_exception(at)
    assert any("1 submission(s) failed" in w for w in texts(at.warning))
    frames = [df.value for df in at.dataframe]
    assert any("Fail Fast" in set(f.get("Team", [])) and
               "Repository could not be cloned" in set(f.get("Error", [])) for f in frames)


def test_start_twice_explains_analysis_already_in_progress(open_page, unscored):
    backend, key, hack_id = unscored
    with backend.lock:
        backend._trigger(backend.hackathons[hack_id], {})
    at = open_page("live", key=key)
    at.checkbox(key="confirm").check().run()
    at.button(key="start").click().run()
    no_exception(at)
    assert any("An analysis is already running" in i for i in texts(at.info))
    assert not at.error


def test_start_over_budget_is_a_business_message_with_the_numbers(open_page, unscored):
    backend, key, hack_id = unscored
    backend.hackathons[hack_id]["budget_limit_usd"] = 0.05
    at = open_page("live", key=key)
    at.button(key="estimate").click().run()
    assert any("may exceed the budget" in w for w in texts(at.warning))
    at.checkbox(key="confirm").check().run()
    at.button(key="start").click().run()
    no_exception(at)
    # The real backend answers this with a 500: it is still a budget rule, not a fault.
    errors = texts(at.error)
    assert any("Over budget: the analysis is estimated at $0.39, above the hackathon's budget "
               "limit of $0.05" in e and "Raise the hackathon's budget limit" in e
               for e in errors), errors
    assert not any("try again in a minute" in e for e in errors)
    assert hack_id not in backend.jobs
    assert backend.count_requests("POST", r"/analyze$") == 1

    # Raise the limit from the page, then the analysis starts.
    at.number_input(key="new_budget").set_value(20000.0).run()
    assert any("Budget: must be between $0.01 and $10,000" in e for e in texts(at.error))
    assert at.button(key="update_budget").disabled is True
    at.number_input(key="new_budget").set_value(5.0).run()
    at.button(key="update_budget").click().run()
    no_exception(at)
    assert any("Budget limit is now $5.00" in s for s in texts(at.success))
    assert backend.hackathons[hack_id]["budget_limit_usd"] == 5.0
    # The estimate is gone with the old budget, and so is the consent given for it.
    assert at.checkbox(key="confirm").value is False
    assert at.button(key="start").disabled is True
    at.checkbox(key="confirm").check().run()
    at.button(key="start").click().run()
    no_exception(at)
    assert any("Analysis started" in s for s in texts(at.success))
    assert backend.jobs[hack_id]["status"] in ("queued", "running")


def test_estimate_with_nothing_pending_is_a_state(open_page, seeded):
    _, key, _ = seeded
    at = open_page("live", key=key)
    at.button(key="estimate").click().run()
    no_exception(at)
    assert any("No pending submissions to analyze" in i for i in texts(at.info))
    assert not at.error


def test_no_analysis_yet(open_page, unscored):
    _, key, _ = unscored
    at = open_page("live", key=key)
    assert any("No analysis has run" in c for c in texts(at.caption))


def test_hackathon_picker_pages_with_load_more(open_page, backend):
    _, key = backend.create_organizer()
    org_id = backend.keys[key].org_id
    with backend.lock:
        for i in range(23):
            backend._create_hackathon(org_id, {
                "name": f"Hack {i:02d}", "agents_enabled": ["bug_hunter"],
                "rubric": {"dimensions": [{"name": "Q", "weight": 1.0, "agent": "bug_hunter"}]}})
    at = open_page("live", key=key)
    picker = at.selectbox(key="hack_picker_live")
    assert len(picker.options) == 20
    at.button(key="more_live").click().run()
    picker = at.selectbox(key="hack_picker_live")
    assert len(picker.options) == 23
    assert at.button(key="more_live").disabled is True
    picker.select_index(22).run()
    assert at.session_state["vj_hack_id"] == list(backend.hackathons)[22]
    assert at.query_params["hack_id"] == list(backend.hackathons)[22]


# ---------------------------------------------------------------- results


def test_results_before_scoring_is_a_state_not_an_error(open_page, unscored):
    _, key, _ = unscored
    at = open_page("results", key=key)
    no_exception(at)
    assert any("No scored submissions yet" in i for i in texts(at.info))
    assert not at.error


def test_leaderboard_statistics_search_sort(open_page, seeded):
    backend, key, hack_id = seeded
    at = open_page("results", key=key, query={"hack_id": hack_id})
    no_exception(at)
    m = metrics(at)
    board = backend._leaderboard(backend.hackathons[hack_id])
    assert m["Mean"] == f"{board['statistics']['mean_score']:.1f}"
    assert m["Highest"] == f"{board['statistics']['highest_score']:.1f}"
    table = at.dataframe[0].value
    assert list(table["Team"]) == [e["team_name"] for e in board["leaderboard"]]
    assert list(table["Rank"]) == [1, 2, 3, 4, 5]

    at.text_input(key="lb_search").input("gAmMa").run()
    assert list(at.dataframe[0].value["Team"]) == ["Gamma Ray"]
    at.text_input(key="lb_search").input("nobody").run()
    assert any("No team matches" in i for i in texts(at.info))
    at.text_input(key="lb_search").input("").run()
    at.selectbox(key="lb_sort").select("Team name").run()
    assert list(at.dataframe[0].value["Team"]) == sorted(e["team_name"] for e in board["leaderboard"])
    at.selectbox(key="lb_sort").select("Score (low to high)").run()
    assert list(at.dataframe[0].value["Team"])[0] == board["leaderboard"][-1]["team_name"]
    at.multiselect(key="lb_recs").select("concerns_flagged").run()
    flagged = [e["team_name"] for e in board["leaderboard"]
               if e["recommendation"] == "concerns_flagged"]
    assert list(at.dataframe[0].value["Team"]) == flagged


def test_leaderboard_pagination(open_page, backend):
    _, key = backend.create_organizer()
    org_id = backend.keys[key].org_id
    with backend.lock:
        hack = backend._create_hackathon(org_id, {
            "name": "Big Hack", "agents_enabled": ["bug_hunter"],
            "rubric": {"dimensions": [{"name": "Q", "weight": 1.0, "agent": "bug_hunter"}]}})
        full = backend.hackathons[hack["hack_id"]]
        backend._add_submissions(full, {"submissions": [
            {"team_name": f"Team {i:02d}", "repo_url": f"https://github.com/t/r{i}"}
            for i in range(12)]})
        backend._trigger(full, {})
        while backend.jobs[full["hack_id"]]["status"] != "completed":
            backend._poll(full)
    at = open_page("results", key=key)
    assert len(at.dataframe[0].value) == 10
    assert any("Showing 10 of 12 team(s), page 1 of 2" in c for c in texts(at.caption))
    at.number_input(key="lb_page").set_value(2).run()
    assert list(at.dataframe[0].value["Rank"]) == [11, 12]
    at.selectbox(key="lb_size").select(25).run()
    assert len(at.dataframe[0].value) == 12


def open_costs(at, sub_id):
    """Open the scorecard's Costs section, as a click on it does."""
    at.session_state[f"costs_{sub_id}"] = True
    return at.run()


def test_scorecard_with_contributors_and_costs_500(open_page, seeded):
    backend, key, hack_id = seeded
    at = open_page("results", key=key)
    no_exception(at)
    board = backend._leaderboard(backend.hackathons[hack_id])
    second = board["leaderboard"][1]
    at.selectbox(key="scorecard_team").select(second["sub_id"]).run()
    no_exception(at)
    md = joined(at.markdown)
    assert f"### {second['team_name']}" in md
    assert "**Recommendation:**" in md
    assert f"Clear architecture in {second['team_name']}" in md  # strengths
    assert "Few automated tests" in md  # weaknesses
    m = metrics(at)
    assert m["Overall score"] == f"{second['overall_score']:.1f}"
    assert m["Rank"] == "2"
    assert m["Commits"]  # repository facts
    frames = [df.value for df in at.dataframe]
    evidence = next(f for f in frames if "finding" in f.columns)
    assert "None" not in set(evidence["line"]) and "—" in set(evidence["line"])
    weighted = next(f for f in frames if "Weighted" in f.columns)
    assert list(weighted["Dimension"]) == ["Code Quality", "Performance", "Innovation",
                                           "Authenticity"]
    assert any("finding" in f.columns for f in frames)  # agent evidence
    labels = [e.label for e in at.expander]
    assert any(label.startswith("🐞 Bug Hunter:") for label in labels)
    assert any("Member 1" in label for label in labels)  # contributor scorecards
    # The costs are asked for only when their section opens, once, and the 500 is
    # explained, not retried, and not asked again on the next interactions.
    assert backend.count_requests("GET", r"/submissions/[^/]+/costs$") == 0
    open_costs(at, second["sub_id"])
    no_exception(at)
    assert any("cost breakdown is unavailable" in w for w in texts(at.warning))
    assert not at.error
    at.text_input(key="lb_search").input("a").run()
    at.selectbox(key="lb_sort").select("Team name").run()
    assert backend.count_requests("GET", r"/submissions/[^/]+/costs$") == 1
    at.button(key=f"costs_retry_{second['sub_id']}").click().run()
    assert backend.count_requests("GET", r"/submissions/[^/]+/costs$") == 2


def test_scorecard_costs_when_available(open_page, seeded):
    backend, key, hack_id = seeded
    backend.fail_submission_costs = False
    at = open_page("results", key=key)
    first = backend._leaderboard(backend.hackathons[hack_id])["leaderboard"][0]
    open_costs(at, first["sub_id"])
    frames = [df.value for df in at.dataframe]
    costs = next(f for f in frames if "Latency" in f.columns)
    assert len(costs) == 4
    assert not at.warning


def test_actionable_feedback_shows_the_real_items(open_page, seeded):
    backend, key, hack_id = seeded
    at = open_page("results", key=key)
    no_exception(at)
    first = backend._leaderboard(backend.hackathons[hack_id])["leaderboard"][0]
    item = backend._scorecard(backend.submissions[first["sub_id"]],
                              backend.hackathons[hack_id])["actionable_feedback"][0]
    md = joined(at.markdown)
    assert (f"**Priority {item['priority']}** · SQL built by string formatting in "
            f"{first['team_name']}'s search endpoint · *about 30 min, Easy*") in md
    assert "*What works:* The endpoint validates its input length" in md
    assert "*How to test it:* Search for" in md
    assert "[OWASP SQL Injection Prevention](https://cheatsheetseries.owasp.org/) (guide)" in md
    assert item["code_example"]["fixed_code"] in [c.value for c in at.code]
    assert "**Feedback**" not in md
    assert "Actionable feedback (1)" in [e.label for e in at.expander]
    # The scorecard has no rank of its own: the leaderboard's is shown, not "—".
    assert metrics(at)["Rank"] == "1"


def test_rate_limited_results_page_says_when_to_retry(open_page, seeded):
    backend, key, _ = seeded
    backend.inject_fault("GET", r"/leaderboard$", 429, headers={"Retry-After": "3600"},
                         body={"error": "Rate limit exceeded: 10 req/sec", "retry_after": 3600})
    at = open_page("results", key=key)
    no_exception(at)
    assert any("Rate limit exceeded" in w and "wait about 3600 s" in w for w in texts(at.warning))


def test_daily_quota_used_up_says_when_it_resets_and_is_not_retried(open_page, seeded):
    backend, key, _ = seeded
    now = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc).timestamp()
    backend.clock = lambda: now
    at = open_page("results", key=key)
    backend.exhaust_quota(key)
    before = len(backend.requests_log)
    at.button(key="refresh_results").click().run()
    no_exception(at)
    warnings = texts(at.warning)
    assert any("daily quota of 1,000,000 requests is used up. It resets at 2026-12-01 00:00 UTC"
               in w for w in warnings), warnings
    assert format_reset(backend.quota_reset()) == "2026-12-01 00:00 UTC"
    assert not any("wait a little" in w or "try again" in w.lower() for w in warnings)
    assert len(backend.requests_log) - before == 1  # asked once, not retried
    assert any("Daily quota: 0 of 1,000,000 requests left (resets 2026-12-01 00:00 UTC)" in c
               for c in texts(at.sidebar.caption))


def test_remaining_quota_is_shown_when_the_api_reports_it(open_page, seeded):
    backend, key, _ = seeded
    backend.report_quota = True
    at = open_page("intel", key=key)
    no_exception(at)
    left = backend.daily_quota - backend.keys[key].day_count
    assert any(c.startswith(f"⏳ Daily quota: {left:,} of {backend.daily_quota:,} requests left")
               for c in texts(at.sidebar.caption)), texts(at.sidebar.caption)


def test_an_organizer_session_stays_within_the_request_budget(open_page, seeded, page_files):
    """Sign in, open every page, then 10 interactions on Results: under 40 requests."""
    backend, key, hack_id = seeded
    board = backend._leaderboard(backend.hackathons[hack_id])["leaderboard"]
    at = open_page("home")
    at.text_input(key="sign_in_key").input(key).run()
    at.button(key="sign_in_button").click().run()
    for name in ("create", "live", "results", "intel", "results"):
        at.switch_page(page_files[name]).run()
        no_exception(at)
    interactions = [
        lambda: at.text_input(key="lb_search").input("a"),
        lambda: at.selectbox(key="lb_sort").select("Team name"),
        lambda: at.text_input(key="lb_search").input(""),
        lambda: at.selectbox(key="scorecard_team").select(board[1]["sub_id"]),
        lambda: at.session_state.__setitem__(f"costs_{board[1]['sub_id']}", True),
        lambda: at.selectbox(key="scorecard_team").select(board[2]["sub_id"]),
        lambda: at.multiselect(key="lb_recs").select(board[0]["recommendation"]),
        lambda: at.multiselect(key="lb_recs").set_value([]),
        lambda: at.selectbox(key="scorecard_team").select(board[1]["sub_id"]),
        lambda: at.selectbox(key="lb_size").select(25),
    ]
    for interact in interactions:
        interact()
        at.run()
        no_exception(at)
    total = len(backend.requests_log)
    assert total < 40, [f"{m} {p}" for m, p, _ in backend.requests_log]
    # Each read once: the leaderboard for every interaction, and the costs (a 500 on
    # the real backend) only when opened, never retried.
    assert backend.count_requests("GET", r"/leaderboard$") == 1
    assert backend.count_requests("GET", r"/submissions/[^/]+/costs$") == 1
    assert backend.count_requests("GET", r"/submissions/[^/]+/scorecard$") == 3


def test_the_shipped_config_hides_the_developer_toolbar():
    config = tomllib.loads((UI_DIR / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer"
    assert config["client"]["showErrorDetails"] == "none"


def test_unreachable_api_after_sign_in(open_page, seeded):
    backend, key, _ = seeded
    at = open_page("results", key=key)
    assert at.dataframe
    backend.stop()
    at.button(key="refresh_results").click().run()
    no_exception(at)
    assert any("Cannot reach the VibeJudge API" in e for e in texts(at.error))


def test_revoked_key_after_sign_in(open_page, seeded):
    backend, key, _ = seeded
    at = open_page("intel", key=key)
    for rec in backend.keys.values():
        rec.active = False
    at.button(key="refresh_intel").click().run()
    no_exception(at)
    assert any("API key was not accepted" in e and "sign in with a current key" in e
               for e in texts(at.error))


def test_forbidden_hackathon_from_the_url(open_page, seeded):
    backend, _, hack_id = seeded
    _, other = backend.create_organizer(email="other@example.com")
    org_id = backend.keys[other].org_id
    with backend.lock:
        backend._create_hackathon(org_id, {
            "name": "Mine", "agents_enabled": ["bug_hunter"],
            "rubric": {"dimensions": [{"name": "Q", "weight": 1.0, "agent": "bug_hunter"}]}})
    at = open_page("results", key=other, query={"hack_id": hack_id})
    no_exception(at)
    # Someone else's id in the URL is ignored; the organizer's own hackathon is shown.
    assert at.selectbox(key="hack_picker_results").value != hack_id


# ---------------------------------------------------------------- intelligence


def test_intelligence_report(open_page, seeded):
    backend, key, hack_id = seeded
    at = open_page("intel", key=key)
    no_exception(at)
    intel = backend._intelligence(backend.hackathons[hack_id])
    heads = texts(at.subheader)
    for title in ("Top performers", "Hiring intelligence", "Technology trends", "Common issues",
                  "Standout moments", "Prize recommendations", "Next hackathon",
                  "Sponsor follow-ups"):
        assert title in heads
    top = at.dataframe[0].value
    assert list(top["Team"]) == [t["team_name"] for t in intel["top_performers"]]
    tabs = [t.label for t in at.tabs]
    must = len(intel["hiring_intelligence"]["must_interview"])
    assert f"⭐ Must interview ({must})" in tabs
    assert any(label.startswith("Backend (") for label in tabs)
    md = joined(at.markdown)
    assert f"**Best Overall**: {intel['prize_recommendations'][0]['recommended_team']}" in md
    assert "Offer a testing workshop" in md
    assert "Introduce top teams to AWS" in md
    assert intel["standout_moments"][0] in md
    assert "Amazon Bedrock" in md
    assert "Python + FastAPI + React" in md
    frames = [df.value for df in at.dataframe]
    assert any("Workshop idea" in f.columns for f in frames)


def test_intelligence_before_scoring(open_page, unscored):
    _, key, _ = unscored
    at = open_page("intel", key=key)
    no_exception(at)
    assert any("No top performers yet" in i for i in texts(at.info))
    assert any("No prize recommendations yet" in c for c in texts(at.caption))


def test_server_error_on_intelligence_is_friendly(open_page, seeded):
    backend, key, _ = seeded
    backend.inject_fault("GET", r"/intelligence$", 500, times=10,
                         body={"detail": "Internal server error"})
    at = open_page("intel", key=key)
    no_exception(at)
    assert any("Could not load the intelligence report: Internal server error" in e
               for e in texts(at.error))
