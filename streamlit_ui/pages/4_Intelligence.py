"""Organizer intelligence: performers, hiring, trends, issues, recommendations."""

import sys
from pathlib import Path

_UI_DIR = str(Path(__file__).resolve().parent.parent)
if _UI_DIR not in sys.path:
    sys.path.insert(0, _UI_DIR)

import streamlit as st  # noqa: E402

from components import data, ui  # noqa: E402
from components.charts import technology_trends_chart  # noqa: E402
from components.formatters import format_pct, format_score, humanize  # noqa: E402

HIRING_GROUPS = [
    ("must_interview", "⭐ Must interview"),
    ("backend_candidates", "Backend"),
    ("frontend_candidates", "Frontend"),
    ("devops_candidates", "DevOps"),
    ("full_stack_candidates", "Full stack"),
]


def bullet_list(items: list, empty: str) -> None:
    if not items:
        st.caption(empty)
    for item in items:
        st.markdown(f"- {item}")


def candidates_table(cards: list[dict]) -> None:
    if not cards:
        st.caption("No candidates in this group.")
        return
    st.dataframe([{
        "Name": c.get("contributor_name"), "Email": c.get("contributor_email"),
        "Role": humanize(c.get("role")),
        "Suggested role": (c.get("hiring_signals") or {}).get("recommended_role", "—"),
        "Seniority": humanize((c.get("hiring_signals") or {}).get("seniority_level")),
        "Commits": c.get("commit_count"),
        "Expertise": ", ".join(humanize(e) for e in c.get("expertise_areas", [])),
        "Sponsor interest": ", ".join((c.get("hiring_signals") or {}).get("sponsor_interest", [])),
    } for c in cards], hide_index=True, width="stretch")


def main() -> None:
    st.title("🧠 Intelligence")
    client = ui.require_auth()
    hack = ui.pick_hackathon(client, "intel")
    if not hack:
        return
    intel = ui.call(data.read, "get_intelligence", hack["hack_id"],
                    doing="load the intelligence report")
    if intel is None:
        return
    st.caption(f"{intel.get('hackathon_name')} · {intel.get('total_submissions', 0)} submissions")

    st.subheader("Top performers")
    top = intel.get("top_performers") or []
    if top:
        st.dataframe([{"Team": t.get("team_name"), "Score": format_score(t.get("overall_score")),
                       "Key strengths": "; ".join(t.get("key_strengths", [])),
                       "Sponsor interest": ", ".join(t.get("sponsor_interest_flags", []))}
                      for t in top], hide_index=True, width="stretch")
    else:
        st.info("No top performers yet: results appear once submissions are analyzed.")

    st.subheader("Hiring intelligence")
    hiring = intel.get("hiring_intelligence") or {}
    tabs = st.tabs([f"{label} ({len(hiring.get(key) or [])})" for key, label in HIRING_GROUPS])
    for tab, (key, _) in zip(tabs, HIRING_GROUPS):
        with tab:
            candidates_table(hiring.get(key) or [])

    st.subheader("Technology trends")
    trends = intel.get("technology_trends") or {}
    left, right = st.columns([3, 2])
    with left:
        if trends.get("most_used"):
            st.plotly_chart(technology_trends_chart(trends["most_used"]), width="stretch")
        else:
            st.caption("No technology data yet.")
    with right:
        st.markdown("**Emerging**")
        bullet_list(trends.get("emerging") or [], "Nothing emerging yet.")
        st.markdown("**Popular stacks**")
        bullet_list([" + ".join(str(x) for x in stack) if isinstance(stack, list) else str(stack)
                     for stack in trends.get("popular_stacks") or []], "No stacks yet.")

    st.subheader("Common issues")
    issues = intel.get("common_issues") or []
    if issues:
        st.dataframe([{"Issue": humanize(i.get("issue_type")),
                       "Teams affected": format_pct(i.get("percentage_affected")),
                       "Workshop idea": i.get("workshop_recommendation"),
                       "Examples": ", ".join(i.get("example_teams", []))} for i in issues],
                     hide_index=True, width="stretch")
    else:
        st.caption("No common issues found.")

    st.subheader("Standout moments")
    bullet_list(intel.get("standout_moments") or [], "No standout moments recorded.")

    st.subheader("Prize recommendations")
    prizes = intel.get("prize_recommendations") or []
    if not prizes:
        st.caption("No prize recommendations yet.")
    for p in prizes:
        st.markdown(f"**{p.get('prize_category')}**: {p.get('recommended_team')} — "
                    f"{p.get('justification', '')}")
        for e in p.get("evidence") or []:
            st.caption(f"• {e}")

    left, right = st.columns(2)
    with left:
        st.subheader("Next hackathon")
        bullet_list(intel.get("next_hackathon_recommendations") or [], "No recommendations.")
    with right:
        st.subheader("Sponsor follow-ups")
        bullet_list(intel.get("sponsor_follow_up_actions") or [], "No follow-ups.")


with ui.guard():
    main()
