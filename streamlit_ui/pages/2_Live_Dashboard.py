"""Stats, submissions, cost estimate, starting an analysis and following its progress."""

import sys
from pathlib import Path

_UI_DIR = str(Path(__file__).resolve().parent.parent)
if _UI_DIR not in sys.path:
    sys.path.insert(0, _UI_DIR)

import streamlit as st  # noqa: E402
from streamlit_autorefresh import st_autorefresh  # noqa: E402

from components import ui  # noqa: E402
from components.api_client import (  # noqa: E402
    APIError,
    BadRequestError,
    BudgetExceededError,
    NotFoundError,
    ServerError,
)
from components.charts import cost_by_agent_chart  # noqa: E402
from components.validators import validate_budget  # noqa: E402
from components.formatters import (  # noqa: E402
    agent_label,
    format_cost_range,
    format_datetime,
    format_minutes_range,
    format_pct,
    format_score,
    format_usd,
    humanize,
    status_label,
)

ui.setup_page("Live dashboard", "📡")

# Every refresh costs one API request (a free key allows 100 a day), so poll
# gently and leave the other panels cached while a job runs.
REFRESH_MS = 5000
SUB_PAGE = 25
ACTIVE = ("queued", "running")


def stats_panel(client, hack_id: str) -> None:
    key = f"vj_stats_{hack_id}"
    stats = st.session_state.get(key)
    if stats is None or not st.session_state.get(f"vj_job_active_{hack_id}"):
        stats = ui.call(client.get_stats, hack_id, doing="load the statistics")
        if not stats:
            return
        st.session_state[key] = stats
    c = st.columns(5)
    c[0].metric("Submissions", stats.get("submission_count", 0))
    c[1].metric("Analyzed", stats.get("verified_count", 0))
    c[2].metric("Pending", stats.get("pending_count", 0))
    c[3].metric("Participants", stats.get("participant_count", 0))
    c[4].metric("Status", humanize(stats.get("hackathon_status")))


def submissions_panel(client, hack_id: str) -> None:
    key = f"vj_subs_{hack_id}"
    state = st.session_state.get(key)
    if state is None or st.session_state.pop("vj_reload_subs", False):
        page = ui.call(client.list_submissions, hack_id, limit=SUB_PAGE,
                       doing="load the submissions")
        if page is None:
            return
        state = {"items": page.get("submissions", []), "cursor": page.get("next_cursor"),
                 "has_more": page.get("has_more", False)}
        st.session_state[key] = state
    with st.expander(f"Submissions ({len(state['items'])}"
                     f"{'+' if state['has_more'] else ''})", expanded=False):
        if not state["items"]:
            st.info("No submissions yet: add them on the Create hackathon page.")
            ui.nav_link("pages/1_Create_Hackathon.py", "Add submissions")
        else:
            st.dataframe([{
                "Team": s["team_name"], "Repository": s["repo_url"],
                "Status": status_label(s.get("status")),
                "Score": format_score(s.get("overall_score")),
                "Rank": str(s["rank"]) if s.get("rank") else "—",
                "Cost": format_usd(s.get("total_cost_usd")),
                "Problem": s.get("error_message") or s.get("disqualification_reason") or "",
            } for s in state["items"]], hide_index=True, width="stretch")
        if state["has_more"] and st.button("Load more submissions", key="more_subs"):
            page = ui.call(client.list_submissions, hack_id, limit=SUB_PAGE,
                           cursor=state["cursor"], doing="load more submissions")
            if page is not None:
                state["items"].extend(page.get("submissions", []))
                state["cursor"] = page.get("next_cursor")
                state["has_more"] = page.get("has_more", False)
                st.rerun()


def estimate_panel(client, hack_id: str) -> dict | None:
    st.subheader("Cost estimate")
    key = f"vj_estimate_{hack_id}"
    if st.button("Estimate cost", key="estimate"):
        try:
            st.session_state[key] = client.estimate_analysis(hack_id)
        except BadRequestError as exc:
            st.session_state[key] = {"_empty": exc.detail or "Nothing to analyze"}
        except APIError as exc:
            ui.show_error(exc, "estimate the cost")
    est = st.session_state.get(key)
    if not est:
        st.caption("Estimate what analyzing the pending submissions will cost.")
        return None
    if "_empty" in est:
        st.info(f"{est['_empty']}. Add submissions, or re-analyze with the option below.")
        return None
    detail = est.get("estimate", {})
    c = st.columns(3)
    c[0].metric("Submissions to analyze", est.get("submission_count", 0))
    c[1].metric("Expected cost", format_usd(detail.get("total_cost_usd", {}).get("expected")))
    c[2].metric("Duration", format_minutes_range(detail.get("estimated_duration_minutes")))
    st.write(f"Total: {format_cost_range(detail.get('total_cost_usd'))} · per submission: "
             f"{format_cost_range(detail.get('per_submission_cost_usd'))}")
    by_agent = detail.get("cost_by_agent") or {}
    if by_agent:
        left, right = st.columns(2)
        with left:
            st.dataframe([{"Agent": agent_label(a), "Model": v.get("model"),
                           "Estimated": format_usd(v.get("estimated_usd"))}
                          for a, v in by_agent.items()], hide_index=True,
                         width="stretch")
        with right:
            st.plotly_chart(cost_by_agent_chart({a: v.get("estimated_usd", 0)
                                                 for a, v in by_agent.items()}),
                            width="stretch")
    check = est.get("budget_check")
    if check:
        text = (f"Budget {format_usd(check.get('budget_limit_usd'))}: this would use "
                f"{format_pct(check.get('budget_utilization_pct'))}.")
        if check.get("within_budget"):
            st.success(text)
        else:
            st.warning(text + " The estimate may exceed the budget; the API refuses an analysis "
                              "that would.")
    return est


def budget_panel(client, hack_id: str) -> None:
    key = f"vj_hackathon_{hack_id}"
    with st.expander("Budget limit"):
        hack = st.session_state.get(key)
        if hack is None:
            hack = ui.call(client.get_hackathon, hack_id, doing="load the hackathon")
            if hack is None:
                return
            st.session_state[key] = hack
        limit = hack.get("budget_limit_usd")
        st.write(f"Current limit: {format_usd(limit) if limit else 'none'}")
        new = float(st.number_input("New budget limit (USD)", value=float(limit or 50.0),
                                    step=5.0, format="%.2f", key="new_budget"))
        problem = validate_budget(new)
        if problem:
            st.error(problem)
        if st.button("Update budget", disabled=bool(problem), key="update_budget"):
            updated = ui.call(client.update_hackathon, hack_id, {"budget_limit_usd": new},
                              doing="update the budget")
            if updated:
                st.session_state[key] = updated
                st.session_state.pop(f"vj_estimate_{hack_id}", None)
                st.success(f"Budget limit is now {format_usd(updated.get('budget_limit_usd'))}.")


def start_panel(client, hack_id: str, est: dict | None) -> None:
    st.subheader("Start analysis")
    force = st.checkbox("Re-analyze submissions that were already scored", key="force")
    expected = (est or {}).get("estimate", {}).get("total_cost_usd", {}).get("high")
    what = (f"up to {format_usd(expected)}" if expected is not None
            else "money from your budget (estimate first to see how much)")
    confirmed = st.checkbox(f"I understand this analysis will spend {what}.", key="confirm")
    if st.button("Start analysis", type="primary", disabled=not confirmed, key="start"):
        try:
            job = client.start_analysis(hack_id, force_reanalyze=force)
        except BudgetExceededError as exc:
            st.error(f"💸 Over budget: {exc.detail}. Raise the hackathon's budget limit, or "
                     "analyze fewer submissions, then try again.")
        except ServerError as exc:
            if "already in progress" in exc.detail.lower():
                st.info("An analysis is already running for this hackathon; its progress is "
                        "shown below. Wait for it to finish before starting another.")
            else:
                ui.show_error(exc, "start the analysis")
        except BadRequestError as exc:
            st.info(f"{exc.detail}. Add submissions, or tick re-analyze to score them again.")
        except APIError as exc:
            ui.show_error(exc, "start the analysis")
        else:
            st.success(f"Analysis started (job {job.get('job_id')}) for "
                       f"{job.get('total_submissions', 0)} submission(s).")
            st.session_state.pop(f"vj_estimate_{hack_id}", None)


def progress_panel(client, hack_id: str) -> None:
    st.subheader("Progress")
    try:
        status = client.get_analysis_status(hack_id)
    except NotFoundError:
        st.session_state.pop(f"vj_job_active_{hack_id}", None)
        st.caption("No analysis has run for this hackathon yet.")
        return
    except APIError as exc:
        st.session_state.pop(f"vj_job_active_{hack_id}", None)
        ui.show_error(exc, "load the analysis status")
        return
    progress = status.get("progress", {})
    pct = float(progress.get("percent_complete") or 0.0)
    job_status = status.get("status", "")
    st.progress(min(1.0, max(0.0, pct / 100)),
                text=f"{status_label(job_status)} · {pct:.0f}% · "
                     f"{progress.get('completed', 0)} done, {progress.get('failed', 0)} failed, "
                     f"{progress.get('remaining', 0)} left of {progress.get('total_submissions', 0)}")
    current = status.get("current_submission")
    if current and job_status in ACTIVE:
        st.write(f"Now analyzing **{current.get('team_name')}**"
                 + (f" with {agent_label(current.get('current_agent'))}"
                    if current.get("current_agent") else ""))
    cost = status.get("cost_so_far") or {}
    c = st.columns(3)
    total_cost = cost.get("total_usd", cost.get("total_cost_usd"))
    c[0].metric("Cost so far", format_usd(total_cost) if total_cost is not None else "—")
    c[1].metric("Started", format_datetime(status.get("started_at")))
    c[2].metric("Estimated completion", format_datetime(status.get("estimated_completion")))
    errors = status.get("errors") or []
    if errors:
        st.warning(f"{len(errors)} submission(s) failed:")
        st.dataframe([{"Team": e.get("team_name"), "Error": e.get("error")} for e in errors],
                     hide_index=True, width="stretch")
    was_active = st.session_state.get(f"vj_job_active_{hack_id}", False)
    st.session_state[f"vj_job_active_{hack_id}"] = job_status in ACTIVE
    if was_active and job_status not in ACTIVE:
        # The job just ended: show fresh figures everywhere.
        st.session_state["vj_reload_subs"] = True
        st.session_state.pop(f"vj_stats_{hack_id}", None)
        st.rerun()
    if job_status in ACTIVE:
        st_autorefresh(interval=REFRESH_MS, key=f"progress_refresh_{hack_id}")
        st.caption(f"Refreshing every {REFRESH_MS // 1000} seconds while the analysis runs.")
    elif job_status == "completed":
        st.success("Analysis complete.")
        ui.nav_link("pages/3_Results.py", "See the results")
    elif job_status:
        st.error(f"The analysis ended with status {humanize(job_status)}.")


def main() -> None:
    st.title("📡 Live dashboard")
    client = ui.require_auth()
    hack = ui.pick_hackathon(client, "live")
    if not hack:
        return
    hack_id = hack["hack_id"]
    stats_panel(client, hack_id)
    submissions_panel(client, hack_id)
    st.divider()
    left, right = st.columns([1, 1])
    with left:
        est = estimate_panel(client, hack_id)
        budget_panel(client, hack_id)
        start_panel(client, hack_id, est)
    with right:
        progress_panel(client, hack_id)


with ui.guard():
    main()
