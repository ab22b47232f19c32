"""Eval tasks: the JSON Lines format others write tasks in, read and checked line by line.

One task a line::

    {"id": "maint-001",
     "request": "Why is PHX-CNC-007 vibrating?",          # or a list of user turns
     "setup": {"seed": 42, "scenario": "phoenix_incident", "advance_minutes": 120, "sql": []},
     "decisions": ["approve"],                              # "approve", "reject", {"edit": {...}}
     "expect": {"route": ["maintenance"], "route_mode": "sequence",
                "tools": [{"name": "...", "args": {}}], "tools_mode": "superset",
                "forbidden_tools": [], "approval": "none",
                "state": [{"sql": "select ...", "equals": 1}],
                "answer_contains": ["PHX-CNC-007"], "answer_not_contains": []},
     "tags": ["maintenance", "diagnosis"]}

Every `expect` key is optional; a task passes when every key it has passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic import ValidationError as PydanticValidationError

from simulation.scenarios.run import scenario_name
from tools.core.errors import ValidationError

DEFAULT_TIMEOUT_S = 120.0  # seconds a task's conversation may take, unless the run says otherwise

RouteMode = Literal["sequence", "set", "first"]
ToolsMode = Literal["strict", "unordered", "subset", "superset"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Setup(Strict):
    """The plant a task starts from."""

    seed: int = 42
    scenario: str | None = None
    advance_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)
    sql: list[str] = Field(default_factory=list)

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return scenario_name(value)
        except ValidationError as exc:
            raise ValueError(str(exc)) from exc


class Edit(Strict):
    edit: dict[str, JsonValue]


Decision = Literal["approve", "reject"] | Edit


class ToolExpectation(Strict):
    name: str
    args: dict[str, JsonValue] = Field(default_factory=dict)


class StateCheck(Strict):
    sql: str
    equals: JsonValue


class Expect(Strict):
    route: list[str] | None = None
    route_mode: RouteMode = "sequence"
    tools: list[ToolExpectation] | None = None
    tools_mode: ToolsMode = "superset"
    forbidden_tools: list[str] | None = None
    approval: Literal["none", "required"] | None = None
    state: list[StateCheck] | None = None
    answer_contains: list[str] | None = None
    answer_not_contains: list[str] | None = None


class Task(Strict):
    """One eval task."""

    id: str = Field(min_length=1)
    request: str | list[str]
    setup: Setup = Field(default_factory=Setup)
    decisions: list[Decision] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)
    tags: list[str] = Field(default_factory=list)

    @property
    def turns(self) -> list[str]:
        return [self.request] if isinstance(self.request, str) else list(self.request)

    @field_validator("request")
    @classmethod
    def _not_empty(cls, value: str | list[str]) -> str | list[str]:
        turns = [value] if isinstance(value, str) else value
        if not turns or not all(t.strip() for t in turns):
            raise ValueError("a request needs at least one non-empty user turn")
        return value


def parse_line(text: str, *, where: str) -> Task:
    """The task on one line; a ValidationError naming `where` and what is wrong otherwise."""
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{where}: not JSON: {exc.msg} at column {exc.colno}") from exc
    try:
        return Task.model_validate(raw)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'task'}: {e['msg']}" for e in exc.errors()
        )
        raise ValidationError(f"{where}: {problems}") from exc


def load_tasks(*paths: Path) -> list[Task]:
    """Every task in the files, in order; blank lines and lines starting with // are skipped.

    A bad line or a repeated ID is a ValidationError naming the file and line.
    """
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for path in paths:
        if not path.is_file():
            raise ValidationError(f"no task file {path}")
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            where = f"{path}:{number}"
            task = parse_line(line, where=where)
            if task.id in seen:
                raise ValidationError(f"{where}: task id {task.id!r} is used at {seen[task.id]}")
            seen[task.id] = where
            tasks.append(task)
    return tasks
