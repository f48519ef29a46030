"""Leaderboard, statistics, scorecards and contributor scorecards."""

import sys
from pathlib import Path

_UI_DIR = str(Path(__file__).resolve().parent.parent)
if _UI_DIR not in sys.path:
    sys.path.insert(0, _UI_DIR)

import math  # noqa: E402

import streamlit as st  # noqa: E402

from components import data, ui  # noqa: E402
from components.api_client import APIError, BadRequestError, ServerError  # noqa: E402
from components.charts import (  # noqa: E402
    agent_scores_chart,
    leaderboard_chart,
    score_distribution_chart,
    weighted_scores_chart,
)
from components.formatters import (  # noqa: E402
    AI_POLICY_LABELS,
    RECOMMENDATION_LABELS,
    agent_label,
    format_datetime,
    format_duration_ms,
    format_int,
    format_pct,
    format_score,
    format_usd,
    humanize,
    recommendation_label,
    status_label,
    yes_no,
)

SORTS = {
    "Rank": (lambda e: e.get("rank") or 0, False),
    "Score (high to low)": (lambda e: e.get("overall_score") or 0, True),
    "Score (low to high)": (lambda e: e.get("overall_score") or 0, False),
    "Team name": (lambda e: (e.get("team_name") or "").lower(), False),
}


def statistics_panel(board: dict) -> None:
    stats = board.get("statistics", {})
    info = board.get("hackathon", {})
    st.caption(f"{info.get('analyzed_count', 0)} of {info.get('submission_count', 0)} "
               f"submissions analyzed · "
               f"{AI_POLICY_LABELS.get(info.get('ai_policy_mode'), humanize(info.get('ai_policy_mode')))}")
    c = st.columns(5)
    c[0].metric("Mean", format_score(stats.get("mean_score")))
    c[1].metric("Median", format_score(stats.get("median_score")))
    c[2].metric("Std dev", format_score(stats.get("std_dev")))
    c[3].metric("Highest", format_score(stats.get("highest_score")))
    c[4].metric("Lowest", format_score(stats.get("lowest_score")))
    left, right = st.columns(2)
    with left:
        if stats.get("score_distribution"):
            st.plotly_chart(score_distribution_chart(stats["score_distribution"]),
                            width="stretch")
    with right:
        if board.get("leaderboard"):
            st.plotly_chart(leaderboard_chart(board["leaderboard"]), width="stretch")


def leaderboard_table(entries: list[dict]) -> list[dict]:
    st.subheader("Leaderboard")
    c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
    with c1:
        query = st.text_input("Search teams", key="lb_search", placeholder="Team name")
    with c2:
        sort = st.selectbox("Sort by", list(SORTS), key="lb_sort")
    with c3:
        recs = st.multiselect("Recommendation", list(RECOMMENDATION_LABELS),
                              format_func=recommendation_label, key="lb_recs")
    with c4:
        size = st.selectbox("Per page", [10, 25, 50], key="lb_size")
    rows = [e for e in entries
            if query.strip().lower() in (e.get("team_name") or "").lower()
            and (not recs or e.get("recommendation") in recs)]
    keyfn, reverse = SORTS[sort]
    rows.sort(key=keyfn, reverse=reverse)
    pages = max(1, math.ceil(len(rows) / size))
    page = int(st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1,
                               step=1, key="lb_page")) if pages > 1 else 1
    shown = rows[(page - 1) * size: page * size]
    if not rows:
        st.info("No team matches the search.")
        return rows
    dims = sorted({d for e in shown for d in (e.get("dimension_scores") or {})})
    st.dataframe([
        {"Rank": e.get("rank"), "Team": e.get("team_name"),
         "Score": format_score(e.get("overall_score")),
         "Recommendation": recommendation_label(e.get("recommendation")),
         **{d: format_score((e.get("dimension_scores") or {}).get(d)) for d in dims}}
        for e in shown], hide_index=True, width="stretch")
    st.caption(f"Showing {len(shown)} of {len(rows)} team(s), page {page} of {pages}.")
    return rows


def costs_panel(sub_id: str) -> None:
    """The per-agent cost breakdown. Fetched only when its section is opened; a failure
    is remembered, so reruns do not ask again (the API answers 500 for analysed
    submissions) until the user does."""
    failed_key = f"vj_costs_failed_{sub_id}"
    costs = None
    if failed_key not in st.session_state:
        try:
            costs = data.read("get_submission_costs", sub_id)
        except ServerError:
            st.session_state[failed_key] = (
                "The detailed cost breakdown is unavailable (the server could not compute "
                "it). The totals above are still correct.")
        except APIError as exc:
            st.session_state[failed_key] = f"No cost breakdown: {exc.friendly}"
    if costs is None:
        st.warning(st.session_state[failed_key])
        if st.button("Try again", key=f"costs_retry_{sub_id}"):
            del st.session_state[failed_key]
            st.rerun()
        return
    st.write(f"Total {format_usd(costs.get('total_cost_usd'))} · "
             f"{format_int(costs.get('total_tokens'))} tokens "
             f"({format_int(costs.get('total_input_tokens'))} in, "
             f"{format_int(costs.get('total_output_tokens'))} out) · "
             f"{format_duration_ms(costs.get('analysis_duration_ms'))}")
    st.dataframe([{"Agent": agent_label(r.get("agent_name")), "Model": r.get("model_id"),
                   "Tokens": format_int(r.get("total_tokens")),
                   "Cost": format_usd(r.get("total_cost_usd")),
                   "Latency": format_duration_ms(r.get("latency_ms"))}
                  for r in costs.get("agents", [])], hide_index=True, width="stretch")


def evidence_rows(evidence: list) -> list[dict]:
    """Evidence items as table rows: every field of any item, "—" where one has none."""
    columns: list[str] = []
    for item in evidence:
        if isinstance(item, dict):
            columns += [k for k in item if k not in columns]
    rows = []
    for item in evidence:
        if not isinstance(item, dict):
            item = {"evidence": item}
            if "evidence" not in columns:
                columns.append("evidence")
        rows.append({k: "—" if item.get(k) in (None, "") else str(item[k]) for k in columns})
    return rows


def feedback_view(items: list) -> None:
    """ActionableFeedback items, most urgent (priority 1) first."""
    ordered = sorted(items, key=lambda i: (i.get("priority") or 99) if isinstance(i, dict)
                     else 99)
    for item in ordered:
        with st.container(border=True):
            if not isinstance(item, dict):
                st.markdown(str(item))
                continue
            effort = item.get("effort_estimate") or {}
            effort_text = ", ".join(x for x in (
                f"about {effort['minutes']} min" if effort.get("minutes") else "",
                str(effort.get("difficulty") or "")) if x)
            head = f"**Priority {item.get('priority', '—')}** · {item.get('finding') or '—'}"
            st.markdown(head + (f" · *{effort_text}*" if effort_text else ""))
            for label, field in (("What works", "acknowledgment"), ("Where", "context"),
                                 ("Why it matters", "why_vulnerable"),
                                 ("Business impact", "business_impact")):
                if item.get(field):
                    st.markdown(f"*{label}:* {item[field]}")
            example = item.get("code_example") or {}
            if example.get("vulnerable_code") or example.get("fixed_code"):
                left, right = st.columns(2)
                with left:
                    st.caption("Before")
                    st.code(example.get("vulnerable_code") or "", language=None,
                            wrap_lines=True)
                with right:
                    st.caption("After")
                    st.code(example.get("fixed_code") or "", language=None,
                            wrap_lines=True)
                if example.get("explanation"):
                    st.caption(example["explanation"])
            for label, field in (("Why the fix works", "why_fixed"),
                                 ("How to test it", "testing_instructions")):
                if item.get(field):
                    st.markdown(f"*{label}:* {item[field]}")
            links = [r for r in item.get("learning_resources") or [] if isinstance(r, dict)]
            if links:
                st.markdown("*Learn more:* " + " · ".join(
                    f"[{r.get('title') or r.get('url')}]({r.get('url')})"
                    + (f" ({r['resource_type']})" if r.get("resource_type") else "")
                    for r in links if r.get("url")))


def scorecard_view(entry: dict) -> None:
    sub_id = entry["sub_id"]
    card = ui.call(data.read, "get_scorecard", sub_id, doing="load the scorecard")
    if not card:
        return
    st.markdown(f"### {card.get('team_name')}")
    st.caption(f"[{card.get('repo_url')}]({card.get('repo_url')}) · "
               f"{status_label(card.get('status'))} · analyzed "
               f"{format_datetime(card.get('analyzed_at'))}")
    if card.get("disqualification_reason"):
        st.error(f"Disqualified: {card['disqualification_reason']}")
    c = st.columns(3)
    c[0].metric("Overall score", format_score(card.get("overall_score")))
    # The scorecard's rank can be empty where the leaderboard has one.
    c[1].metric("Rank", card.get("rank") or entry.get("rank") or "—")
    c[2].metric("Analysis cost", format_usd(card.get("total_cost_usd")))
    st.markdown(f"**Recommendation:** {recommendation_label(card.get('recommendation'))}")

    weighted = card.get("weighted_scores") or {}
    if weighted:
        left, right = st.columns(2)
        with left:
            st.markdown("**Weighted dimension scores**")
            st.dataframe([{"Dimension": n, "Raw (0–10)": format_score(v.get("raw")),
                           "Weight": f"{float(v.get('weight') or 0):.2f}",
                           "Weighted": format_score(v.get("weighted"), 2)}
                          for n, v in weighted.items()], hide_index=True,
                         width="stretch")
        with right:
            st.plotly_chart(weighted_scores_chart(weighted), width="stretch")

    agents = card.get("agent_scores") or []
    if agents:
        st.plotly_chart(agent_scores_chart(agents), width="stretch")
        for a in agents:
            with st.expander(f"{agent_label(a.get('agent_name'))}: "
                             f"{format_score(a.get('overall_score'))} "
                             f"(confidence {format_pct(float(a.get('confidence') or 0) * 100, 0)})"):
                st.write(a.get("summary") or "")
                if a.get("scores"):
                    st.dataframe([{"Criterion": k, "Score": format_score(v)}
                                  for k, v in a["scores"].items()], hide_index=True)
                evidence = a.get("evidence") or []
                if evidence:
                    st.markdown("Evidence")
                    st.dataframe(evidence_rows(evidence), hide_index=True, width="stretch")

    left, right = st.columns(2)
    with left:
        st.markdown("**Strengths**")
        for s in card.get("strengths") or ["—"]:
            st.markdown(f"- {s}")
    with right:
        st.markdown("**Weaknesses**")
        for w in card.get("weaknesses") or ["—"]:
            st.markdown(f"- {w}")

    meta = card.get("repo_meta")
    if meta:
        with st.expander("Repository facts", expanded=True):
            c = st.columns(4)
            c[0].metric("Commits", format_int(meta.get("commit_count")))
            c[1].metric("Contributors", format_int(meta.get("contributor_count")))
            c[2].metric("Files", format_int(meta.get("total_files")))
            c[3].metric("Lines", format_int(meta.get("total_lines")))
            langs = meta.get("languages") or {}
            st.write(f"Primary language: {meta.get('primary_language') or '—'}"
                     + (" · " + ", ".join(f"{k} {format_pct(v)}" for k, v in langs.items())
                        if langs else ""))
            st.write(f"README {yes_no(meta.get('has_readme'))} · tests "
                     f"{yes_no(meta.get('has_tests'))} · CI {yes_no(meta.get('has_ci'))} · "
                     f"Dockerfile {yes_no(meta.get('has_dockerfile'))} · branches "
                     f"{format_int(meta.get('branch_count'))}")
            st.write(f"Development: {format_datetime(meta.get('first_commit_at'))} → "
                     f"{format_datetime(meta.get('last_commit_at'))} "
                     f"({float(meta.get('development_duration_hours') or 0):.1f} h) · "
                     f"{format_int(meta.get('workflow_run_count'))} workflow runs, "
                     f"{format_pct(float(meta.get('workflow_success_rate') or 0) * 100, 0)} "
                     "successful")

    costs = st.expander("Costs", key=f"costs_{sub_id}", on_change="rerun")
    with costs:
        st.write(f"Tokens {format_int(card.get('total_tokens'))} · duration "
                 f"{format_duration_ms(card.get('analysis_duration_ms'))}")
        if costs.open:
            costs_panel(sub_id)

    feedback = card.get("actionable_feedback") or []
    if feedback:
        with st.expander(f"Actionable feedback ({len(feedback)})"):
            feedback_view(feedback)

    contributors_view(sub_id)


def contributors_view(sub_id: str) -> None:
    st.markdown("**Contributors**")
    answer = ui.call(data.read, "get_individual_scorecards", sub_id,
                     doing="load the contributor scorecards")
    if answer is None:
        return
    cards = answer.get("scorecards") or []
    if not cards:
        st.caption("No contributor scorecards for this submission.")
        return
    for c in cards:
        signals = c.get("hiring_signals") or {}
        flag = " ⭐ must interview" if signals.get("must_interview") else ""
        with st.expander(f"{c.get('contributor_name')} · {humanize(c.get('role'))}{flag}"):
            st.caption(c.get("contributor_email", ""))
            m = st.columns(3)
            m[0].metric("Commits", format_int(c.get("commit_count")))
            m[1].metric("Lines added", format_int(c.get("lines_added")))
            m[2].metric("Lines deleted", format_int(c.get("lines_deleted")))
            st.write("Expertise: " + (", ".join(humanize(e) for e in c.get("expertise_areas", []))
                                      or "—"))
            for title, field in (("Notable contributions", "notable_contributions"),
                                 ("Strengths", "strengths"), ("Weaknesses", "weaknesses"),
                                 ("Growth areas", "growth_areas")):
                if c.get(field):
                    st.markdown(f"*{title}:* " + "; ".join(c[field]))
            if signals:
                st.markdown(f"*Hiring:* {signals.get('recommended_role', '—')}, "
                            f"{signals.get('seniority_level', '—')}, "
                            f"{signals.get('salary_range_usd', '—')}. "
                            f"{signals.get('rationale', '')}")


def main() -> None:
    st.title("🏆 Results")
    client = ui.require_auth()
    hack = ui.pick_hackathon(client, "results")
    if not hack:
        return
    try:
        board = data.read("get_leaderboard", hack["hack_id"])
    except BadRequestError as exc:
        st.info(f"No scored submissions yet ({exc.detail}). Start an analysis on the Live "
                "dashboard; results appear here as soon as submissions are scored.")
        ui.nav_link("pages/2_Live_Dashboard.py", "Open the live dashboard")
        return
    except APIError as exc:
        ui.show_error(exc, "load the leaderboard")
        return
    statistics_panel(board)
    entries = board.get("leaderboard") or []
    rows = leaderboard_table(entries)
    st.divider()
    st.subheader("Scorecard")
    choices = rows or entries
    if not choices:
        return
    by_id = {e["sub_id"]: e for e in choices}
    sub_id = st.selectbox("Team", list(by_id),
                          format_func=lambda s: f"#{by_id[s].get('rank')} {by_id[s].get('team_name')}",
                          key="scorecard_team")
    scorecard_view(by_id[sub_id])


with ui.guard():
    main()
