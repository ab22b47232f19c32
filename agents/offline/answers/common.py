"""How answers show numbers, times, names and lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agents.offline.catalogue import Intent
from agents.offline.drafts import names_in_use

MAX_ROWS = 10


def num(value: Any, digits: int = 1) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if digits == 0 or number == int(number) and abs(number) >= 10:
        return f"{number:,.0f}"
    return f"{number:,.{digits}f}"


def pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "n/a"


def money(value: Any) -> str:
    try:
        return f"{float(value):,.2f} USD"
    except (TypeError, ValueError):
        return str(value)


def _dt(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def when(value: Any) -> str:
    """A plant time as people read it: 'Tue 3 Mar 14:00'."""
    moment = _dt(value)
    if moment is None:
        return str(value) if value else "—"
    return f"{moment:%a} {moment.day} {moment:%b %H:%M}"


def day(value: Any) -> str:
    moment = _dt(value)
    if moment is None:
        return str(value) if value else "—"
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def hours(value: Any) -> str:
    try:
        h = float(value)
    except (TypeError, ValueError):
        return str(value)
    if h >= 48:
        return f"{h / 24:.1f} days"
    return f"{h:.0f} h" if h >= 10 else f"{h:.1f} h"


def words(value: Any) -> str:
    """An enum value in words: BEARING_DEGRADATION → bearing degradation."""
    return str(value).replace("_", " ").lower() if value else ""


def label(kind: str, value: Any) -> str:
    names = names_in_use.get()
    if names is None or value is None:
        return str(value)
    return names.label(kind, str(value))


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def rows_of(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("result"), list):
        value = value["result"]
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def keep(rows: list[dict[str, Any]], wanted: Any, key: str = "status") -> list[dict[str, Any]]:
    """The rows whose `key` is the value asked for, or one of the values its group stands for
    ("down": down, in maintenance or offline)."""
    if not wanted:
        return rows
    from agents.offline.catalogue import load_catalogue

    values = set(load_catalogue().values_of(str(wanted)))
    return [r for r in rows if r.get(key) in values]


def status_words(value: Any) -> str:
    """A status value or group in words: NOT_RUNNING → not running, ACTIVE_WORK → open."""
    shown = {
        "NOT_RUNNING": "not running",
        "ACTIVE_WORK": "open",
        "OPEN_PO": "open",
        "OPEN_ORDER": "open",
    }
    return shown.get(str(value), words(value)) if value else ""


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, limit: int = MAX_ROWS) -> str:
    """A compact Markdown table; rows past `limit` are counted, not shown."""
    if not rows:
        return ""
    shown = [[_cell(c) for c in row] for row in rows[:limit]]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in shown]
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more.")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text.replace("|", "/").replace("\n", " ")


def listing(values: Sequence[str], limit: int = 6) -> str:
    shown = list(values[:limit])
    if not shown:
        return ""
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    if len(shown) == 1:
        return shown[0] + more
    return ", ".join(shown[:-1]) + (" and " if not more else ", ") + shown[-1] + more


_REFUSED = re.compile(
    r"needs the permission (?P<permission>[a-z_.]+), which (?P<roles>[a-z_, ]+) hold; "
    r"\S+ is (?P<role>[a-z_]+)"
)


def failure_sentence(intent: Intent, failed: Any) -> str:
    """What did not go through, in a sentence: the domain's own message, or who refused."""
    from agents.actions import PHRASES, describe_call

    text = re.sub(r"^Error executing tool \w+:\s*", "", str(failed.text).strip())
    text = text.rstrip(".")
    if text.startswith("Not done:"):
        return text.replace("Not done:", "Not done —", 1) + "."
    refused = _REFUSED.search(text)
    if refused is not None and failed.name in PHRASES:
        permission, roles, role = refused["permission"], refused["roles"], refused["role"]
        people = listing([f"{r.strip().replace('_', ' ')}s" for r in roles.split(",")])
        return (
            f"I can't {describe_call(failed.name, failed.args)} for you: that needs the "
            f"{permission} permission, which {people} hold, and you are signed in as "
            f"{role.replace('_', ' ')}. Ask one of them to do it, or ask me what you can look up."
        )
    if text.startswith("Already waiting:") and failed.name in PHRASES:
        rest = text.removeprefix("Already waiting:").strip()
        return f"Already waiting for approval: {describe_call(failed.name, failed.args)} — {rest}."
    if failed.name in PHRASES:
        return f"I could not {describe_call(failed.name, failed.args)}: {text}."
    return f"I could not look that up: {text}."
