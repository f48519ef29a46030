"""Validators, formatters and charts on their own."""

from __future__ import annotations

from datetime import datetime, timezone

import plotly.graph_objects as go
import pytest

from components import charts, formatters
from components.validators import (
    parse_submission_lines,
    validate_hackathon,
    validate_repo_url,
    validate_team_name,
    weights_total,
)

AGENTS = ["bug_hunter", "performance", "innovation", "ai_detection"]


def dims(*weights, agents=None):
    agents = agents or AGENTS
    return [{"name": f"D{i}", "agent": agents[i % len(agents)], "weight": w}
            for i, w in enumerate(weights)]


def valid(**overrides):
    args = dict(name="Hack", description="", start=datetime(2026, 1, 1, tzinfo=timezone.utc),
                end=datetime(2026, 1, 2, tzinfo=timezone.utc), budget=10.0,
                ai_policy_mode="ai_assisted", agents_enabled=list(AGENTS),
                dimensions=dims(0.25, 0.25, 0.25, 0.25))
    args.update(overrides)
    return validate_hackathon(**args)


def test_a_valid_hackathon_has_no_errors():
    assert valid() == []
    assert valid(budget=None, start=None, end=None) == []
    assert valid(budget=0.01) == [] and valid(budget=10000) == []


def test_weight_tolerance():
    assert valid(dimensions=dims(0.333, 0.333, 0.334)) == []
    assert valid(dimensions=dims(0.3335, 0.3335, 0.3335)) == []  # 1.0005, within 0.001
    # 1.005: the API refuses it (tolerance 0.001), so the form does too.
    assert any("weights add up to 1.005" in e for e in valid(dimensions=dims(0.335, 0.335, 0.335)))
    assert any("weights add up to 0.90" in e for e in valid(dimensions=dims(0.3, 0.3, 0.3)))
    assert weights_total(dims(0.1, 0.2)) == pytest.approx(0.3)


@pytest.mark.parametrize("overrides, fragment", [
    (dict(name="   "), "Name: enter a name"),
    (dict(end=datetime(2025, 12, 31, tzinfo=timezone.utc)), "end must be after the start"),
    (dict(end=datetime(2026, 1, 1, tzinfo=timezone.utc)), "end must be after the start"),
    (dict(budget=0.0), "Budget: must be between"),
    (dict(budget=10000.5), "Budget: must be between"),
    (dict(ai_policy_mode="anything"), "AI policy"),
    (dict(agents_enabled=["bug_hunter", "robot"]), "unknown agent(s) robot"),
    (dict(dimensions=[]), "Rubric: add at least one dimension"),
    (dict(dimensions=dims(*([0.1] * 11))), "at most 10 dimensions"),
    (dict(dimensions=[{"name": "Q", "agent": "bug_hunter", "weight": 1.5}]),
     "weight must be between 0 and 1"),
    (dict(dimensions=[{"name": "Q", "agent": None, "weight": 1.0}]), "choose an agent"),
    (dict(dimensions=[{"name": "Q", "agent": "bug_hunter", "weight": 1.0,
                       "description": "x" * 501}]), "description is longer than 500"),
])
def test_each_rule(overrides, fragment):
    assert any(fragment in e for e in valid(**overrides)), valid(**overrides)


def test_team_and_repo_patterns_follow_the_contract():
    assert validate_team_name("Team_1 - Blue") is None
    assert validate_team_name("Team.Blue") is not None
    assert validate_team_name("x" * 51) is not None
    assert validate_team_name("") is not None
    assert validate_repo_url("https://github.com/owner/repo") is None
    assert validate_repo_url("https://github.com/own-er/re.po_1/") is None
    assert validate_repo_url("http://github.com/owner/repo") is not None
    assert validate_repo_url("https://github.com/owner") is not None
    assert validate_repo_url("https://github.com/owner/repo/tree/main") is not None


def test_parse_submission_lines():
    subs, errors = parse_submission_lines(
        "# teams\nA Team, https://github.com/a/b\n\nB Team\thttps://github.com/c/d\n"
        "C Team | https://github.com/e/f\nD Team, https://github.com/a/b/\n")
    assert subs == [{"team_name": "A Team", "repo_url": "https://github.com/a/b"},
                    {"team_name": "B Team", "repo_url": "https://github.com/c/d"},
                    {"team_name": "C Team", "repo_url": "https://github.com/e/f"}]
    assert [(e.line, e.problem) for e in errors] == [(6, "same repository as line 2")]
    assert str(errors[0]).startswith("Line 6: same repository as line 2")
    many = "\n".join(f"T{i}, https://github.com/o/r{i}" for i in range(501))
    subs, errors = parse_submission_lines(many)
    assert len(subs) == 501 and "at most 500 per batch" in str(errors[-1])


def test_formatters():
    assert formatters.format_usd(12.5) == "$12.50"
    assert formatters.format_usd(0.0325) == "$0.0325"
    assert formatters.format_usd(None) == "—"
    assert formatters.format_score(76.84) == "76.8"
    assert formatters.format_pct(12.345) == "12.3%"
    assert formatters.format_int(12345) == "12,345"
    assert formatters.format_datetime("2026-11-01T10:00:00+01:00") == "2026-11-01 09:00 UTC"
    assert formatters.format_datetime("not a date") == "—"
    assert formatters.format_duration_ms(42_000) == "42.0 s"
    assert formatters.format_duration_ms(3_725_000) == "1 h 02 min"
    assert formatters.format_duration_s(125) == "2 min 05 s"
    assert formatters.agent_label("bug_hunter") == "🐞 Bug Hunter"
    assert formatters.recommendation_label("strong_contender") == "🏆 Strong contender"
    assert formatters.status_label("completed") == "🏁 Completed"
    assert formatters.format_cost_range({"low": 1, "expected": 2, "high": 3}) == \
        "$2.00 (range $1.00 – $3.00)"
    assert set(formatters.AGENT_INFO) == set(AGENTS)


def test_score_distribution_chart_orders_buckets_numerically():
    fig = charts.score_distribution_chart({"90-100": 1, "0-10": 2, "10-20": 0, "100": 4})
    assert isinstance(fig, go.Figure)
    assert list(fig.data[0].x) == ["0-10", "10-20", "90-100", "100"]
    assert list(fig.data[0].y) == [2, 0, 1, 4]


def test_other_charts():
    trends = charts.technology_trends_chart([["Python", 5], ["React", 2], ["bad"], "junk"])
    assert list(trends.data[0].y) == ["bad", "React", "Python"]
    radar = charts.weighted_scores_chart({"A": {"raw": 5}, "B": {"raw": 7}})
    assert list(radar.data[0].r) == [5.0, 7.0, 5.0]
    board = charts.leaderboard_chart([{"rank": 2, "team_name": "B", "overall_score": 60},
                                      {"rank": 1, "team_name": "A", "overall_score": 70}])
    assert list(board.data[0].y) == ["#2 B", "#1 A"]
    agents = charts.agent_scores_chart([{"agent_name": "innovation", "overall_score": 8}])
    assert list(agents.data[0].x) == ["💡 Innovation"]
    pie = charts.cost_by_agent_chart({"bug_hunter": 0.1, "innovation": 0.3})
    assert list(pie.data[0].values) == [0.1, 0.3]
