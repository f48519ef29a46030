"""Display formatting for API values: money, scores, dates, labels."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

AGENT_INFO: dict[str, dict[str, str]] = {
    "bug_hunter": {
        "label": "Bug Hunter",
        "icon": "🐞",
        "summary": "Reads the code for defects, security holes and fragile error handling, "
                   "and judges overall code quality.",
    },
    "performance": {
        "label": "Performance",
        "icon": "⚡",
        "summary": "Looks at architecture, scalability, database and API design, and the "
                   "CI/CD history of the repository.",
    },
    "innovation": {
        "label": "Innovation",
        "icon": "💡",
        "summary": "Weighs originality, technical ambition and the quality of the idea, "
                   "the README and the demo.",
    },
    "ai_detection": {
        "label": "AI Detection",
        "icon": "🔍",
        "summary": "Studies the commit history and development patterns to judge how AI "
                   "tools were used, against the hackathon's AI policy.",
    },
}

AGENTS = list(AGENT_INFO)

AI_POLICY_LABELS = {
    "full_vibe": "Full vibe: AI use encouraged",
    "ai_assisted": "AI assisted: AI allowed with disclosure",
    "traditional": "Traditional: AI use penalised",
    "custom": "Custom policy",
}

RECOMMENDATION_LABELS = {
    "strong_contender": "🏆 Strong contender",
    "solid_submission": "✅ Solid submission",
    "needs_improvement": "🛠️ Needs improvement",
    "concerns_flagged": "⚠️ Concerns flagged",
}

STATUS_ICONS = {
    "draft": "📝", "configured": "✅", "analyzing": "⏳", "completed": "🏁", "archived": "🗄️",
    "pending": "🕒", "cloning": "📥", "failed": "❌", "timeout": "⌛", "disqualified": "🚫",
    "queued": "🕒", "running": "⏳", "cancelled": "✖️",
}


def agent_label(name: str | None) -> str:
    if not name:
        return "—"
    info = AGENT_INFO.get(name)
    return f"{info['icon']} {info['label']}" if info else humanize(name)


def humanize(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(value).replace("_", " ").strip().capitalize()


def status_label(status: str | None) -> str:
    if not status:
        return "—"
    return f"{STATUS_ICONS.get(status, '•')} {humanize(status)}"


def recommendation_label(value: str | None) -> str:
    if not value:
        return "—"
    return RECOMMENDATION_LABELS.get(value, humanize(value))


def format_usd(value: Any, digits: int | None = None) -> str:
    if value is None:
        return "—"
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return "—"
    if digits is None:
        digits = 2 if abs(amount) >= 1 or amount == 0 else 4
    return f"${amount:,.{digits}f}"


def format_score(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return "—"


def format_pct(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    try:
        return f"{float(value):.{digits}f}%"
    except (TypeError, ValueError):
        return "—"


def format_int(value: Any) -> str:
    if value is None:
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "—"


def parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        # Imported here, not at the top: dateutil's parser costs a third of a second of CPU
        # at start-up (bench/startup.sh), and the Home page shows no dates.
        from dateutil import parser as date_parser

        try:
            dt = date_parser.isoparse(str(value))
        except (ValueError, OverflowError):
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def format_datetime(value: Any) -> str:
    dt = parse_datetime(value)
    if dt is None:
        return "—"
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def format_duration_ms(value: Any) -> str:
    if value is None:
        return "—"
    try:
        seconds = float(value) / 1000
    except (TypeError, ValueError):
        return "—"
    return format_duration_s(seconds)


def format_duration_s(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_cost_range(rng: dict | None) -> str:
    if not rng:
        return "—"
    return (f"{format_usd(rng.get('expected'))} "
            f"(range {format_usd(rng.get('low'))} – {format_usd(rng.get('high'))})")


def format_minutes_range(rng: dict | None) -> str:
    if not rng:
        return "—"
    return (f"about {float(rng.get('expected', 0)):.0f} min "
            f"({float(rng.get('low', 0)):.0f}–{float(rng.get('high', 0)):.0f} min)")


def yes_no(value: Any) -> str:
    return "Yes" if value else "No"
