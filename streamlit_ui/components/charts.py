"""Plotly figures for the dashboard pages."""

from __future__ import annotations

import re
from typing import Any

import plotly.graph_objects as go

from components.formatters import agent_label

PALETTE = ["#4F46E5", "#10B981", "#F59E0B", "#EF4444", "#06B6D4", "#8B5CF6", "#84CC16"]


def _layout(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=20, r=20, t=50, b=30),
                      template="plotly_white", showlegend=False)
    return fig


def _bucket_key(label: str) -> float:
    match = re.match(r"\s*(-?\d+(?:\.\d+)?)", str(label))
    return float(match.group(1)) if match else float("inf")


def score_distribution_chart(distribution: dict[str, int]) -> go.Figure:
    """Bar chart of the leaderboard's score_distribution buckets, in score order."""
    labels = sorted(distribution, key=_bucket_key)
    counts = [int(distribution[label]) for label in labels]
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color=PALETTE[0],
                           text=counts, textposition="outside"))
    fig.update_xaxes(title="Score range", type="category")
    fig.update_yaxes(title="Submissions", rangemode="tozero", dtick=1)
    return _layout(fig, "Score distribution")


def leaderboard_chart(entries: list[dict], top: int = 15) -> go.Figure:
    rows = sorted(entries, key=lambda e: e.get("rank") or 0)[:top]
    fig = go.Figure(go.Bar(
        x=[e.get("overall_score") or 0 for e in rows][::-1],
        y=[f"#{e.get('rank')} {e.get('team_name')}" for e in rows][::-1],
        orientation="h", marker_color=PALETTE[1],
    ))
    fig.update_xaxes(title="Overall score", range=[0, 100])
    return _layout(fig, f"Top {len(rows)} teams", height=max(250, 28 * len(rows) + 90))


def weighted_scores_chart(weighted: dict[str, dict]) -> go.Figure:
    names = list(weighted)
    raw = [float(weighted[n].get("raw") or 0) for n in names]
    fig = go.Figure(go.Scatterpolar(r=raw + raw[:1], theta=names + names[:1], fill="toself",
                                    line_color=PALETTE[0]))
    fig.update_layout(polar=dict(radialaxis=dict(range=[0, 10], visible=True)))
    return _layout(fig, "Dimension scores (0–10)")


def agent_scores_chart(agent_scores: list[dict]) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=[agent_label(a.get("agent_name")) for a in agent_scores],
        y=[float(a.get("overall_score") or 0) for a in agent_scores],
        marker_color=PALETTE[: len(agent_scores)] or PALETTE[0],
    ))
    fig.update_yaxes(title="Score", rangemode="tozero")
    return _layout(fig, "Agent scores")


def technology_trends_chart(most_used: list[list[Any]]) -> go.Figure:
    """Horizontal bars from TechnologyTrends.most_used ([name, count] pairs)."""
    pairs = []
    for item in most_used:
        if isinstance(item, (list, tuple)) and len(item) >= 2:
            try:
                pairs.append((str(item[0]), float(item[1])))
            except (TypeError, ValueError):
                continue
        elif isinstance(item, (list, tuple)) and len(item) == 1:
            pairs.append((str(item[0]), 1.0))
    pairs.sort(key=lambda p: p[1])
    fig = go.Figure(go.Bar(x=[p[1] for p in pairs], y=[p[0] for p in pairs], orientation="h",
                           marker_color=PALETTE[4]))
    fig.update_xaxes(title="Teams using it", rangemode="tozero")
    return _layout(fig, "Most used technologies", height=max(250, 30 * len(pairs) + 90))


def cost_by_agent_chart(cost_by_agent: dict[str, float]) -> go.Figure:
    labels = [agent_label(a) for a in cost_by_agent]
    values = [float(v or 0) for v in cost_by_agent.values()]
    # Labels inside the slices: small slices' outside labels would run into the title.
    fig = go.Figure(go.Pie(labels=labels, values=values, hole=0.45,
                           marker=dict(colors=PALETTE), textposition="inside",
                           textinfo="percent"))
    fig = _layout(fig, "Cost by agent", height=300)
    fig.update_layout(showlegend=True)
    return fig
