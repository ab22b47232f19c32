"""What the supervisor asks each specialist to do: a task per request part, in the handoff.

The supervisor's `route` call carries, besides the agents in order, one task per part of the
request: the agent and a self-contained instruction ("check the health of PHX-CNC-007"). A model
with an intent catalogue (the offline model) ends the instruction with the intent and its slots
in brackets, ⟦maintenance.machine_health {"machine": "PHX-CNC-007"}⟧, which reads as a note to
any other model and lets the offline specialist carry out exactly what was understood.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

TASK_LINE = "Your part of the request:"
_MARK = re.compile(r"⟦([a-z_]+\.[a-z_]+) (\{.*?\})⟧")


class Named(Protocol):
    id: str
    summary: str


@dataclass(frozen=True)
class ReadTask:
    """A task read back from a handoff: its instruction, and the intent when one was given."""

    instruction: str
    intent: str | None
    slots: dict[str, Any]


def _summary(slots: dict[str, Any]) -> str:
    shown = []
    for name, value in slots.items():
        if value in (None, "", []):
            continue
        if isinstance(value, dict) and {"start", "end"} <= set(value):
            value = f"{value['start']} to {value['end']}"
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        text = str(value)
        shown.append(f"{name.replace('_', ' ')} {text if len(text) <= 60 else text[:57] + '…'}")
    return "; ".join(shown)


def task_line(intent: Named, slots: dict[str, Any], clause: str) -> str:
    """An instruction for a specialist, with the intent and slots it was understood as."""
    what = re.split(r"[(:]", intent.summary)[0].strip()
    about = _summary(slots)
    text = f"{what}{(' — ' + about) if about else ''} (asked: {clause.strip()[:200]!r})"
    return f"{text} ⟦{intent.id} {json.dumps(slots, sort_keys=True, ensure_ascii=False)}⟧"


def render_tasks(instructions: list[str]) -> str:
    return TASK_LINE + "\n" + "\n".join(f"- {i}" for i in instructions)


def read_tasks(text: str) -> list[ReadTask]:
    """The tasks of a handoff, in order."""
    found: list[ReadTask] = []
    if TASK_LINE not in text:
        return found
    body = text.split(TASK_LINE, 1)[1]
    for line in body.splitlines():
        line = line.strip()
        if not line.startswith("- "):
            continue
        mark = _MARK.search(line)
        slots: dict[str, Any] = {}
        intent = None
        if mark:
            try:
                slots = json.loads(mark.group(2))
                intent = mark.group(1)
            except ValueError:
                intent = None
        found.append(ReadTask(instruction=line[2:], intent=intent, slots=slots))
    return found
