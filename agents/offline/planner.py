"""Carrying out a specialist's tasks: each task's plan, one tool call at a time.

A specialist gets its tasks (intent and slots) from the supervisor. The plan of each is replayed
from the top every time the model is asked: the calls already made are matched, in order, to
the tool results the conversation holds, each result bound under its step's name for the steps
after it; the first step whose condition holds and whose arguments can be filled, and that has
no result yet, is the next call. When every plan is done — or a call failed or was refused by a
person — the specialist answers. The replay is deterministic, so nothing but the conversation
itself needs to be kept.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from agents.offline import functions  # noqa: F401 - registers the plans' functions
from agents.offline.catalogue import Catalogue, Intent, Step
from agents.offline.drafts import names_in_use
from agents.offline.entities import Mention
from agents.offline.expressions import evaluate, holds, render
from agents.offline.names import PlantNames
from agents.offline.slots import accepts

MAX_EACH = 5


@dataclass(frozen=True)
class Task:
    """What the supervisor asked a specialist to do: an intent with its slots."""

    intent: str
    slots: dict[str, Any]


@dataclass
class Outcome:
    """A tool call the conversation holds, with its result."""

    name: str
    args: dict[str, Any]
    ok: bool
    text: str
    data: Any = None


@dataclass
class Call:
    name: str
    args: dict[str, Any]


@dataclass
class Progress:
    """How far one task got: its values and results, and why it stopped if it did."""

    task: Task
    intent: Intent
    values: dict[str, Any]
    calls: list[tuple[Step, Outcome]] = field(default_factory=list)
    failed: Outcome | None = None
    missing: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)

    def result(self, key: str) -> Any:
        return self.values.get(key)

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for _, o in self.calls]


def jsonable(value: Any) -> Any:
    """Tool arguments as JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value if v is not None]
    return value


def parse_result(text: str) -> Any:
    """A tool result's JSON (a list comes wrapped as {"result": […]})."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and set(data) == {"result"}:
        return data["result"]
    return data


def _team_values(intent: Intent, values: dict[str, Any], notes: Sequence[Mention]) -> None:
    for name, slot in intent.slots.items():
        if values.get(name) is not None or "team" not in slot.sources:
            continue
        for m in notes:
            if accepts(slot, m):
                values[name] = m.value
                break


def _arguments(
    step: Step, values: Mapping[str, Any], spec: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The step's arguments, or None when a required one cannot be filled yet."""
    rendered = jsonable(render(step.args, values))
    known = spec.get("properties", {})
    args = {k: v for k, v in rendered.items() if k in known and v not in (None, [], "")}
    if any(name not in args for name in spec.get("required", [])):
        return None
    return args


def advance(
    catalogue: Catalogue,
    tasks: Sequence[Task],
    outcomes: Sequence[Outcome],
    tools: Mapping[str, Mapping[str, Any]],
    *,
    notes: Sequence[Mention] = (),
    names: PlantNames | None = None,
    mentions_of: Callable[[str], Sequence[Mention]] | None = None,
) -> tuple[Call | None, list[Progress]]:
    """The next call to make (None when the specialist should answer) and every task's
    progress so far. A task's values may come from what the team found (`notes`) and from the
    results of the tasks before it (read with `mentions_of`): "create the shipment and print its
    label" labels the shipment just created."""
    token = names_in_use.set(names)
    try:
        return _advance(catalogue, tasks, deque(outcomes), tools, list(notes), mentions_of)
    finally:
        names_in_use.reset(token)


def _advance(  # noqa: C901 - one walk over tasks, steps and their items
    catalogue: Catalogue,
    tasks: Sequence[Task],
    queue: deque[Outcome],
    tools: Mapping[str, Mapping[str, Any]],
    notes: list[Mention],
    mentions_of: Callable[[str], Sequence[Mention]] | None,
) -> tuple[Call | None, list[Progress]]:
    done: list[Progress] = []
    for task in tasks:
        if done and mentions_of is not None:
            found = json.dumps([o.data for o in done[-1].outcomes], default=str)
            notes = [*mentions_of(found), *notes]
        intent = catalogue.get(task.intent)
        values: dict[str, Any] = dict(task.slots)
        _team_values(intent, values, notes)
        progress = Progress(task, intent, values)
        done.append(progress)
        progress.missing = [
            n for n, s in intent.slots.items() if s.required and values.get(n) is None
        ]
        if progress.missing:
            continue
        for step in intent.plan:
            if step.tool not in tools:
                progress.unavailable.append(step.tool)
                continue
            items: list[Any] = [None]
            if step.each:
                found = evaluate(step.each, values)
                items = list(found)[:MAX_EACH] if isinstance(found, list) else []
            for item in items:
                values["item"] = item
                if not holds(step.when, values):
                    continue
                args = _arguments(step, values, tools[step.tool])
                if args is None:
                    continue
                if not queue:
                    return Call(step.tool, args), done
                outcome = queue.popleft()
                if outcome.name != step.tool:  # the conversation went another way: answer
                    queue.appendleft(outcome)
                    return None, done
                progress.calls.append((step, outcome))
                if not outcome.ok:
                    progress.failed = outcome
                    return None, done
                if step.each:
                    values.setdefault(step.key, []).append(outcome.data)
                else:
                    values[step.key] = outcome.data
            values.pop("item", None)
    return None, done
