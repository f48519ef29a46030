"""Checks the create form applies before anything is sent, mirroring the API rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

AGENT_NAMES = ("bug_hunter", "performance", "innovation", "ai_detection")
AI_POLICY_MODES = ("full_vibe", "ai_assisted", "traditional", "custom")

# The contract's patterns for SubmissionInput.
TEAM_NAME_RE = re.compile(r"^[a-zA-Z0-9 _-]+$")
REPO_URL_RE = re.compile(r"^https://github\.com/[\w\-\.]+/[\w\-\.]+/?$")

WEIGHT_TOLERANCE = 0.001  # the API's own tolerance
BUDGET_MIN = 0.01
BUDGET_MAX = 10000.0
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_DIMENSION_NAME = 50
MAX_DIMENSION_DESCRIPTION = 500
MAX_DIMENSIONS = 10
MAX_TEAM_NAME = 50
MAX_SUBMISSIONS = 500


def validate_hackathon(
    *,
    name: str,
    description: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
    budget: float | None = None,
    ai_policy_mode: str = "ai_assisted",
    agents_enabled: list[str],
    dimensions: list[dict],
) -> list[str]:
    """Every problem with a HackathonCreate, as sentences naming the field."""
    errors: list[str] = []
    if not name.strip():
        errors.append("Name: enter a name for the hackathon.")
    elif len(name) > MAX_NAME:
        errors.append(f"Name: {len(name)} characters, at most {MAX_NAME} allowed.")
    if len(description) > MAX_DESCRIPTION:
        errors.append(f"Description: {len(description)} characters, at most "
                      f"{MAX_DESCRIPTION} allowed.")
    if start is not None and end is not None and end <= start:
        errors.append("Dates: the end must be after the start.")
    if budget is not None and (problem := validate_budget(budget)):
        errors.append(problem)
    if ai_policy_mode not in AI_POLICY_MODES:
        errors.append(f"AI policy: {ai_policy_mode!r} is not one of {', '.join(AI_POLICY_MODES)}.")
    if not agents_enabled:
        errors.append("Agents: enable at least one agent.")
    unknown = [a for a in agents_enabled if a not in AGENT_NAMES]
    if unknown:
        errors.append(f"Agents: unknown agent(s) {', '.join(unknown)}.")
    if not dimensions:
        errors.append("Rubric: add at least one dimension.")
    elif len(dimensions) > MAX_DIMENSIONS:
        errors.append(f"Rubric: at most {MAX_DIMENSIONS} dimensions allowed.")
    seen: set[str] = set()
    for i, dim in enumerate(dimensions, 1):
        dname = (dim.get("name") or "").strip()
        label = f"Rubric dimension {i}"
        if not dname:
            errors.append(f"{label}: enter a name.")
        elif len(dname) > MAX_DIMENSION_NAME:
            errors.append(f"{label}: name has {len(dname)} characters, at most "
                          f"{MAX_DIMENSION_NAME} allowed.")
        elif dname.lower() in seen:
            errors.append(f"{label}: the name {dname!r} is used twice.")
        seen.add(dname.lower())
        weight = dim.get("weight")
        if weight is None or not 0.0 <= float(weight) <= 1.0:
            errors.append(f"{label}: weight must be between 0 and 1.")
        agent = dim.get("agent")
        if agent not in AGENT_NAMES:
            errors.append(f"{label}: choose an agent.")
        elif agent not in agents_enabled:
            errors.append(f"{label}: agent {agent} scores this dimension but is not enabled; "
                          "enable it or pick another agent.")
        if len(dim.get("description") or "") > MAX_DIMENSION_DESCRIPTION:
            errors.append(f"{label}: description is longer than "
                          f"{MAX_DIMENSION_DESCRIPTION} characters.")
    if dimensions:
        total = weights_total(dimensions)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            errors.append(f"Rubric: weights add up to {total:.3f}; they must sum to 1.000 "
                          f"(within {WEIGHT_TOLERANCE}).")
    return errors


def validate_budget(budget: float) -> str | None:
    if not BUDGET_MIN <= budget <= BUDGET_MAX:
        return (f"Budget: must be between ${BUDGET_MIN:.2f} and ${BUDGET_MAX:,.0f} "
                f"(got ${budget:,.2f}).")
    return None


def weights_total(dimensions: list[dict]) -> float:
    return round(sum(float(d.get("weight") or 0.0) for d in dimensions), 6)


def validate_team_name(team: str) -> str | None:
    if not team:
        return "team name is empty"
    if len(team) > MAX_TEAM_NAME:
        return f"team name has {len(team)} characters, at most {MAX_TEAM_NAME} allowed"
    if not TEAM_NAME_RE.match(team):
        return "team name may only use letters, digits, spaces, '_' and '-'"
    return None


def validate_repo_url(url: str) -> str | None:
    if not url:
        return "repository URL is empty"
    if not REPO_URL_RE.match(url):
        return "repository URL must look like https://github.com/owner/repo"
    return None


@dataclass(frozen=True)
class LineError:
    line: int
    text: str
    problem: str

    def __str__(self) -> str:
        if self.line == 0:
            return self.problem
        return f"Line {self.line}: {self.problem} — {self.text!r}"


def parse_submission_lines(text: str) -> tuple[list[dict], list[LineError]]:
    """Parse pasted lines of ``team name, https://github.com/owner/repo``.

    A comma, a tab or a ``|`` separates the two (team names cannot contain them).
    Blank lines and lines starting with ``#`` are ignored.
    """
    submissions: list[dict] = []
    errors: list[LineError] = []
    seen_urls: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = re.split(r"\s*[,\t|]\s*", line)
        parts = [p for p in parts if p != ""]
        if len(parts) != 2:
            errors.append(LineError(number, line, "expected 'team name, https://github.com/owner/repo'"))
            continue
        team, url = parts[0].strip(), parts[1].strip()
        problem = validate_team_name(team) or validate_repo_url(url)
        if problem:
            errors.append(LineError(number, line, problem))
            continue
        key = url.rstrip("/").lower()
        if key in seen_urls:
            errors.append(LineError(number, line, f"same repository as line {seen_urls[key]}"))
            continue
        seen_urls[key] = number
        submissions.append({"team_name": team, "repo_url": url})
    if len(submissions) > MAX_SUBMISSIONS:
        errors.append(LineError(0, "", f"{len(submissions)} submissions: at most "
                                       f"{MAX_SUBMISSIONS} per batch"))
    return submissions, errors
