"""Create a hackathon (the whole HackathonCreate), activate it, add submissions."""

import sys
from pathlib import Path

_UI_DIR = str(Path(__file__).resolve().parent.parent)
if _UI_DIR not in sys.path:
    sys.path.insert(0, _UI_DIR)

from datetime import date, datetime, time, timedelta, timezone  # noqa: E402

import streamlit as st  # noqa: E402

from components import ui  # noqa: E402
from components.api_client import APIError  # noqa: E402
from components.formatters import (  # noqa: E402
    AGENT_INFO,
    AI_POLICY_LABELS,
    agent_label,
    format_datetime,
    format_usd,
    status_label,
)
from components.validators import (  # noqa: E402
    AGENT_NAMES,
    AI_POLICY_MODES,
    MAX_DIMENSIONS,
    WEIGHT_TOLERANCE,
    parse_submission_lines,
    validate_hackathon,
    weights_total,
)

CREATED = "vj_created_hackathon"
DEFAULT_DIMENSIONS = [
    ("Code Quality", "bug_hunter", 0.30, "Correctness, security and maintainability"),
    ("Performance", "performance", 0.20, "Architecture, scalability and CI/CD"),
    ("Innovation", "innovation", 0.30, "Originality and technical ambition"),
    ("Authenticity", "ai_detection", 0.20, "Development process and AI usage"),
]


def rubric_editor(agents: list[str]) -> list[dict]:
    count = int(st.number_input("Number of rubric dimensions", min_value=1,
                                max_value=MAX_DIMENSIONS, value=len(DEFAULT_DIMENSIONS),
                                step=1, key="dim_count"))
    dims = []
    for i in range(count):
        name, agent, weight, desc = (DEFAULT_DIMENSIONS[i] if i < len(DEFAULT_DIMENSIONS)
                                     else ("", agents[0] if agents else AGENT_NAMES[0], 0.0, ""))
        c1, c2, c3 = st.columns([3, 2, 1])
        with c1:
            dname = st.text_input(f"Dimension {i + 1} name", value=name, key=f"dim_name_{i}",
                                  max_chars=None)
        with c2:
            dagent = st.selectbox(f"Dimension {i + 1} agent", AGENT_NAMES,
                                  index=AGENT_NAMES.index(agent), key=f"dim_agent_{i}",
                                  format_func=agent_label)
        with c3:
            dweight = st.number_input(f"Dimension {i + 1} weight", min_value=0.0,
                                      max_value=1.0, value=float(weight), step=0.05,
                                      format="%.3f", key=f"dim_weight_{i}")
        ddesc = st.text_input(f"Dimension {i + 1} description (optional)", value=desc,
                              key=f"dim_desc_{i}")
        dims.append({"name": dname.strip(), "agent": dagent, "weight": round(float(dweight), 4),
                     "description": ddesc.strip()})
    total = weights_total(dims)
    if abs(total - 1.0) <= WEIGHT_TOLERANCE:
        st.caption(f"✅ Weights add up to {total:.3f}")
    else:
        st.caption(f"❌ Weights add up to {total:.3f} (they must sum to 1.000, "
                   f"within {WEIGHT_TOLERANCE})")
    return dims


def hackathon_form(client) -> None:
    st.subheader("1. Describe the hackathon")
    name = st.text_input("Name", key="hack_name", placeholder="Spring Hack 2026")
    description = st.text_area("Description", key="hack_description",
                               help="Up to 2000 characters.")
    st.caption(f"{len(description)}/2000 characters")

    use_dates = st.checkbox("Set start and end dates", value=True, key="use_dates")
    start = end = None
    if use_dates:
        today = date.today()
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            start_day = st.date_input("Start date", value=today, key="start_day")
        with c2:
            start_time = st.time_input("Start time (UTC)", value=time(9, 0), key="start_time")
        with c3:
            end_day = st.date_input("End date", value=today + timedelta(days=2), key="end_day")
        with c4:
            end_time = st.time_input("End time (UTC)", value=time(17, 0), key="end_time")
        start = datetime.combine(start_day, start_time, tzinfo=timezone.utc)
        end = datetime.combine(end_day, end_time, tzinfo=timezone.utc)

    c1, c2 = st.columns(2)
    with c1:
        use_budget = st.checkbox("Limit the analysis budget", value=True, key="use_budget")
        budget = None
        if use_budget:
            budget = float(st.number_input("Budget limit (USD)", value=50.0, step=5.0,
                                           format="%.2f", key="budget",
                                           help="Between $0.01 and $10,000."))
    with c2:
        mode = st.selectbox("AI policy", AI_POLICY_MODES, index=AI_POLICY_MODES.index("ai_assisted"),
                            format_func=lambda m: AI_POLICY_LABELS[m], key="ai_policy_mode")

    st.subheader("2. Choose the agents")
    agents = st.multiselect("Agents enabled", list(AGENT_NAMES), default=list(AGENT_NAMES),
                            format_func=agent_label, key="agents")
    for a in agents:
        st.caption(f"{agent_label(a)}: {AGENT_INFO[a]['summary']}")

    st.subheader("3. Rubric")
    rubric_name = st.text_input("Rubric name", value="Default Rubric", key="rubric_name")
    dims = rubric_editor(agents)

    errors = validate_hackathon(name=name, description=description, start=start, end=end,
                                budget=budget, ai_policy_mode=mode, agents_enabled=agents,
                                dimensions=dims)
    if rubric_name and len(rubric_name) > 200:
        errors.append("Rubric name: at most 200 characters allowed.")
    st.subheader("4. Create")
    if errors:
        st.error("Fix these before creating the hackathon:\n\n" +
                 "\n".join(f"- {e}" for e in errors))
    else:
        st.success("Everything checks out.")
    if st.button("Create hackathon", type="primary", disabled=bool(errors), key="create"):
        payload = {
            "name": name.strip(),
            "description": description,
            "start_date": start.isoformat() if start else None,
            "end_date": end.isoformat() if end else None,
            "budget_limit_usd": budget,
            "ai_policy_mode": mode,
            "agents_enabled": agents,
            "rubric": {"name": rubric_name.strip() or "Default Rubric", "version": "1.0",
                       "max_score": 100.0,
                       "dimensions": [{k: v for k, v in d.items() if k != "description" or v}
                                      for d in dims]},
        }
        created = ui.call(client.create_hackathon, payload, doing="create the hackathon")
        if created:
            st.session_state[CREATED] = created
            ui.after_write()
            # The new hackathon becomes the one every form and page acts on.
            st.session_state[ui.HACK] = created["hack_id"]
            st.rerun()


def created_panel(client) -> None:
    hack = st.session_state[CREATED]
    st.success(f"Created **{hack['name']}** ({hack['hack_id']}) · status "
               f"{status_label(hack.get('status'))}")
    c1, c2, c3 = st.columns(3)
    c1.metric("Status", hack.get("status", "—"))
    c2.metric("Budget", format_usd(hack.get("budget_limit_usd")))
    c3.metric("Agents", len(hack.get("agents_enabled", [])))
    st.caption(f"{format_datetime(hack.get('start_date'))} → {format_datetime(hack.get('end_date'))}"
               f" · {AI_POLICY_LABELS.get(hack.get('ai_policy_mode'), hack.get('ai_policy_mode'))}")
    st.dataframe([{"Dimension": d["name"], "Agent": agent_label(d["agent"]),
                   "Weight": d["weight"], "Description": d.get("description", "")}
                  for d in hack.get("rubric", {}).get("dimensions", [])],
                 hide_index=True, width="stretch")
    if hack.get("status") == "draft":
        st.info("The hackathon is a draft. Activate it to open it for submissions and analysis.")
        if st.button("Activate hackathon", key="activate"):
            updated = ui.call(client.activate_hackathon, hack["hack_id"],
                              doing="activate the hackathon")
            if updated:
                st.session_state[CREATED] = updated
                ui.after_write()
                st.rerun()
    if st.button("Create another hackathon", key="create_another"):
        del st.session_state[CREATED]
        st.rerun()


def submissions_panel(client) -> None:
    st.subheader("Add submissions")
    hack = ui.pick_hackathon(client, "create")
    if not hack:
        return
    st.info(f"Submissions go to **{hack['name']}** ({status_label(hack.get('status'))}). "
            "Pick another hackathon above to add them there.", icon="🎯")
    st.write("Paste one team per line: `team name, https://github.com/owner/repo` "
             "(a tab or `|` also separates). Team names use letters, digits, spaces, `_` and `-`.")
    text = st.text_area("Submissions", key="bulk_submissions", height=160,
                        placeholder="Alpha Squad, https://github.com/alpha/project\n"
                                    "Beta Builders, https://github.com/beta/app")
    subs, errors = parse_submission_lines(text)
    if errors:
        st.error("Fix these lines:\n\n" + "\n".join(f"- {e}" for e in errors))
    if subs:
        st.caption(f"{len(subs)} valid submission(s) ready.")
    st.button(f"Add {len(subs)} submission(s) to {hack['name']}",
              disabled=not subs or bool(errors), key="add_submissions",
              on_click=_add_submissions, args=(client, hack, subs))
    failure = st.session_state.pop("vj_add_error", None)
    if failure:
        ui.show_error(failure, "add the submissions")
    added = st.session_state.pop("vj_added", None)
    if added:
        st.success(f"Added {added[0]} submission(s) to {added[2]}; it now has {added[1]}.")


def _add_submissions(client, hack: dict, subs: list[dict]) -> None:
    """The button's action, run before the page so the emptied text area shows empty."""
    try:
        result = client.create_submissions(hack["hack_id"], subs)
    except APIError as exc:
        st.session_state["vj_add_error"] = exc
        return
    st.session_state["vj_added"] = (result.get("created", 0),
                                    result.get("hackathon_submission_count", 0), hack["name"])
    st.session_state["bulk_submissions"] = ""
    ui.after_write()


def main() -> None:
    st.title("🛠️ Create a hackathon")
    client = ui.require_auth()
    if st.session_state.get(CREATED):
        created_panel(client)
    else:
        hackathon_form(client)
    st.divider()
    submissions_panel(client)


with ui.guard():
    main()
