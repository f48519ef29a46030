"""Stats, spend, submissions, cost estimate, starting an analysis and following its progress."""

import sys
from pathlib import Path

_UI_DIR = str(Path(__file__).resolve().parent.parent)
if _UI_DIR not in sys.path:
    sys.path.insert(0, _UI_DIR)

import streamlit as st  # noqa: E402

from components import data, ui  # noqa: E402
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

# Every poll costs one API request (a free key allows 100 a day), so poll gently;
# only the progress panel reruns (a fragment), everything else stays as it is.
REFRESH_SECONDS = 5
ACTIVE = ("queued", "running")


def _status_key(hack_id: str) -> str:
    return f"vj_status_{hack_id}"


def _active_key(hack_id: str) -> str:
    return f"vj_job_active_{hack_id}"


def forget_estimate(hack_id: str) -> None:
    """Drop the estimate, and the consent given for it."""
    st.session_state.pop(f"vj_estimate_{hack_id}", None)
    st.session_state.pop("confirm", None)


def stats_panel(hack_id: str, subs: list[dict] | None) -> None:
    stats = ui.call(data.read, "get_stats", hack_id, doing="load the statistics")
    if not stats:
        return
    c = st.columns(5)
    c[0].metric("Submissions", stats.get("submission_count", 0))
    # The API's verified_count counts a status the pipeline never sets: count the
    # analysed (completed) submissions from the list instead.
    analysed = (sum(1 for s in subs if s.get("status") == "completed")
                if subs is not None else "—")
    c[1].metric("Analyzed", analysed)
    c[2].metric("Pending", stats.get("pending_count", 0))
    c[3].metric("Participants", stats.get("participant_count", 0))
    c[4].metric("Status", humanize(stats.get("hackathon_status")))


def spend_panel(hack_id: str) -> None:
    costs = ui.call(data.read, "get_hackathon_costs", hack_id, doing="load the spend")
    if costs is None:
        return
    spent = costs.get("total_cost_usd")
    analysed = costs.get("submissions_analyzed", 0)
    each = (f", {format_usd(costs.get('avg_cost_per_submission'))} each on average"
            if analysed else "")
    budget = costs.get("budget") or {}
    if budget.get("limit_usd"):
        used = float(budget.get("utilization_pct") or 0.0)
        st.progress(min(1.0, max(0.0, used / 100)),
                    text=f"Spent {format_usd(spent)} of the {format_usd(budget['limit_usd'])} "
                         f"budget ({format_pct(used)}), {format_usd(budget.get('remaining_usd'))}"
                         f" left · {analysed} submission(s) analyzed{each}")
    else:
        st.caption(f"Spent {format_usd(spent)} · no budget limit · {analysed} submission(s) "
                   f"analyzed{each}")


def submissions_panel(hack_id: str, subs: list[dict] | None) -> None:
    if subs is None:
        return
    with st.expander(f"Submissions ({len(subs)})", expanded=False):
        if not subs:
            st.info("No submissions yet: add them on the Create hackathon page.")
            ui.nav_link("pages/1_Create_Hackathon.py", "Add submissions")
            return
        st.dataframe([{
            "Team": s["team_name"], "Repository": s["repo_url"],
            "Status": status_label(s.get("status")),
            "Score": format_score(s.get("overall_score")),
            "Rank": str(s["rank"]) if s.get("rank") else "—",
            "Cost": format_usd(s.get("total_cost_usd")),
            "Problem": s.get("error_message") or s.get("disqualification_reason") or "",
        } for s in subs], hide_index=True, width="stretch")


def estimate_panel(client, hack_id: str) -> dict | None:
    st.subheader("Cost estimate")
    key = f"vj_estimate_{hack_id}"
    if st.button("Estimate cost", key="estimate"):
        forget_estimate(hack_id)
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
    minutes = detail.get("estimated_duration_minutes") or {}
    # The metric keeps to a short value (a metric cuts long ones); the ranges follow.
    c[2].metric("Duration", f"about {float(minutes.get('expected', 0)):.0f} min"
                if minutes else "—")
    st.write(f"Total: {format_cost_range(detail.get('total_cost_usd'))} · per submission: "
             f"{format_cost_range(detail.get('per_submission_cost_usd'))} · duration "
             f"{format_minutes_range(minutes)}")
    by_agent = detail.get("cost_by_agent") or {}
    if by_agent:
        left, right = st.columns([3, 2])
        with left:
            st.dataframe([{"Agent": agent_label(a), "Model": v.get("model"),
                           "Estimated": format_usd(v.get("estimated_usd"))}
                          for a, v in by_agent.items()], hide_index=True, width="stretch")
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
    with st.expander("Budget limit"):
        hack = ui.call(data.read, "get_hackathon", hack_id, doing="load the hackathon")
        if hack is None:
            return
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
                ui.after_write()
                forget_estimate(hack_id)
                st.success(f"Budget limit is now {format_usd(updated.get('budget_limit_usd'))}.")


def start_panel(client, hack_id: str, est: dict | None) -> None:
    st.subheader("Start analysis")
    started = st.session_state.pop("vj_started", None)
    if started:
        st.success(started)
    force = st.checkbox("Re-analyze submissions that were already scored", key="force")
    expected = (est or {}).get("estimate", {}).get("total_cost_usd", {}).get("high")
    what = (f"up to {format_usd(expected)}" if expected is not None
            else "money from your budget (estimate first to see how much)")
    confirmed = st.checkbox(f"I understand this analysis will spend {what}.", key="confirm")
    if st.button("Start analysis", type="primary", disabled=not confirmed, key="start"):
        try:
            job = client.start_analysis(hack_id, force_reanalyze=force)
        except BudgetExceededError as exc:
            st.error(exc.friendly, icon="💸")
        except ServerError as exc:
            if "already in progress" in exc.detail.lower():
                st.info("An analysis is already running for this hackathon; its progress is "
                        "shown below. Wait for it to finish before starting another.")
                st.session_state.pop(_status_key(hack_id), None)
            else:
                ui.show_error(exc, "start the analysis")
        except BadRequestError as exc:
            st.info(f"{exc.detail}. Add submissions, or tick re-analyze to score them again.")
        except APIError as exc:
            ui.show_error(exc, "start the analysis")
        else:
            st.session_state["vj_started"] = (f"Analysis started (job {job.get('job_id')}) for "
                                              f"{job.get('total_submissions', 0)} submission(s).")
            ui.after_write()
            forget_estimate(hack_id)
            st.session_state.pop(_status_key(hack_id), None)
            st.session_state[_active_key(hack_id)] = True
            st.rerun()


def _progress_body(client, hack_id: str) -> None:
    key = _status_key(hack_id)
    status = st.session_state.get(key)
    # A finished (or absent) job does not change: ask again only while one runs.
    if status is None or status.get("status") in ACTIVE:
        try:
            status = client.get_analysis_status(hack_id)
        except NotFoundError:
            status = {"status": None}
        except APIError as exc:
            st.session_state.pop(_active_key(hack_id), None)
            ui.show_error(exc, "load the analysis status")
            return
        st.session_state[key] = status
    job_status = status.get("status")
    was_active = st.session_state.get(_active_key(hack_id), False)
    st.session_state[_active_key(hack_id)] = job_status in ACTIVE
    if was_active != (job_status in ACTIVE):
        # Started or ended: the other panels' figures changed, and the polling too.
        data.invalidate(client)
        st.rerun(scope="app")
    if job_status is None:
        st.caption("No analysis has run for this hackathon yet.")
        return
    progress = status.get("progress", {})
    pct = float(progress.get("percent_complete") or 0.0)
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
    total_cost = cost.get("total_usd", cost.get("total_cost_usd"))
    c = st.columns([1, 3])
    c[0].metric("Cost so far", format_usd(total_cost) if total_cost is not None else "—")
    with c[1]:
        # Dates as text, not metrics: a metric cuts a long value off.
        st.markdown(f"**Started** {format_datetime(status.get('started_at'))}")
        if job_status in ACTIVE:
            st.markdown(f"**Estimated completion** "
                        f"{format_datetime(status.get('estimated_completion'))}")
    errors = status.get("errors") or []
    if errors:
        st.warning(f"{len(errors)} submission(s) failed:")
        st.dataframe([{"Team": e.get("team_name"), "Error": e.get("error")} for e in errors],
                     hide_index=True, width="stretch")
    if job_status in ACTIVE:
        st.caption(f"Refreshing every {REFRESH_SECONDS} seconds while the analysis runs "
                   "(one API request each time).")
    elif job_status == "completed":
        st.success("Analysis complete.")
        ui.nav_link("pages/3_Results.py", "See the results")
    else:
        st.error(f"The analysis ended with status {humanize(job_status)}.")


def progress_panel(client, hack_id: str) -> None:
    st.subheader("Progress")
    active = st.session_state.get(_active_key(hack_id), False)
    # Only this panel reruns on the timer, and only while a job runs.
    st.fragment(run_every=REFRESH_SECONDS if active else None)(_progress_body)(client, hack_id)


def main() -> None:
    st.title("📡 Live dashboard")
    client = ui.require_auth()
    hack = ui.pick_hackathon(client, "live")
    if not hack:
        return
    hack_id = hack["hack_id"]
    subs = ui.call(data.read, "all_submissions", hack_id, doing="load the submissions")
    stats_panel(hack_id, subs)
    spend_panel(hack_id)
    submissions_panel(hack_id, subs)
    st.divider()
    est = estimate_panel(client, hack_id)
    budget_panel(client, hack_id)
    start_panel(client, hack_id, est)
    st.divider()
    progress_panel(client, hack_id)


with ui.guard():
    main()
