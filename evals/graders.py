"""Graders, one per `expect` key, each a pass or fail with what was expected and what happened.

`grade(task, transcript)` runs the graders of the keys the task has, plus `run`: a run that
ended in an error (a model error, a timeout, a turn that could not be asked) fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from evals.taskfile import Expect, StateCheck, Task, ToolExpectation
from evals.transcript import Call, StateResult, Transcript


class Grade(BaseModel):
    """One grader's verdict."""

    key: str
    passed: bool
    expected: str
    got: str


def _show(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


# ───────────────────────── matching values ─────────────────────────


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def same(expected: Any, got: Any) -> bool:
    """Whether `got` is what `expected` asks for: dicts as a subset, strings without regard to
    case, numbers by value (1 == 1.0 == "1"), lists item by item."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            k in got and same(v, got[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(expected) == len(got)
            and all(same(e, g) for e, g in zip(expected, got, strict=True))
        )
    if expected is None or isinstance(expected, bool):
        return got is expected or got == expected
    if isinstance(expected, str) and isinstance(got, str):
        return expected.strip().lower() == got.strip().lower()
    left, right = _number(expected), _number(got)
    if left is not None and right is not None:
        return left == right
    return bool(expected == got)


def matches(want: ToolExpectation, call: Call) -> bool:
    """A call matches an expected call with its name and (a superset of) its arguments."""
    return want.name == call.name and same(want.args, call.args)


def pairing(wanted: Sequence[ToolExpectation], calls: Sequence[Call]) -> dict[int, int]:
    """The most expected calls matched to distinct actual calls: expected index → call index."""
    paired: dict[int, int] = {}  # call index → expected index

    def place(w: int, seen: set[int]) -> bool:
        for c, call in enumerate(calls):
            if c in seen or not matches(wanted[w], call):
                continue
            seen.add(c)
            if c not in paired or place(paired[c], seen):
                paired[c] = w
                return True
        return False

    for w in range(len(wanted)):
        place(w, set())
    return {w: c for c, w in paired.items()}


# ───────────────────────── the graders ─────────────────────────


def _calls_text(calls: Sequence[Call]) -> str:
    if not calls:
        return "no tool calls"
    return "; ".join(f"{c.name}({_show(c.args)}) [{c.status}]" for c in calls)


def grade_route(expect: Expect, t: Transcript) -> Grade:
    want, got = expect.route or [], t.route
    mode = expect.route_mode
    if mode == "first":
        passed = bool(got) and bool(want) and got[0] == want[0]
        expected = f"first agent {want[0] if want else '(none)'}"
    elif mode == "set":
        passed = set(got) == set(want)
        expected = f"agents {sorted(set(want))} in any order"
    else:
        passed = got == want
        expected = f"agents {want} in this order"
    return Grade(key="route", passed=passed, expected=expected, got=f"route {got}")


def grade_tools(expect: Expect, t: Transcript) -> Grade:
    want, calls, mode = expect.tools or [], t.calls, expect.tools_mode
    paired = pairing(want, calls)
    if mode == "strict":
        passed = len(want) == len(calls) and all(
            matches(w, c) for w, c in zip(want, calls, strict=True)
        )
        what = "exactly these calls in this order"
    elif mode == "unordered":
        passed = len(want) == len(calls) == len(paired)
        what = "exactly these calls in any order"
    elif mode == "subset":
        passed = all(any(matches(w, c) for w in want) for c in calls)
        what = "no calls but these"
    else:
        passed = len(paired) == len(want)
        what = "at least these calls"
    missing = [w for i, w in enumerate(want) if i not in paired]
    wanted = "; ".join(f"{w.name}({_show(w.args)})" for w in want) or "no tool calls"
    got = _calls_text(calls)
    if missing and mode != "subset":
        got += " — missing: " + ", ".join(w.name for w in missing)
    return Grade(key="tools", passed=passed, expected=f"{what}: {wanted}", got=got)


def grade_forbidden(expect: Expect, t: Transcript) -> Grade:
    banned = set(expect.forbidden_tools or [])
    hits = [c for c in t.calls if c.name in banned]
    return Grade(
        key="forbidden_tools",
        passed=not hits,
        expected=f"no call of {sorted(banned)}",
        got=_calls_text(hits) if hits else "none of them called",
    )


def grade_approval(expect: Expect, t: Transcript) -> Grade:
    seen = t.approvals
    asked = [f"{a.action} ({a.reason}) → {a.decision or 'left waiting'}" for a in seen]
    if expect.approval == "required":
        passed, expected = bool(seen), "the run stops for a person's approval"
    else:
        passed, expected = not seen, "no approval asked for"
    got = "; ".join(asked) if asked else "no approval asked for"
    return Grade(key="approval", passed=passed, expected=expected, got=got)


def _state_one(check: StateCheck, result: StateResult | None) -> tuple[bool, str]:
    if result is None:
        return False, f"{check.sql} → not run"
    if result.error is not None:
        return False, f"{check.sql} → error: {result.error}"
    value = result.column if isinstance(check.equals, list) else result.value
    shown = _show(result.rows[:5]) + (" …" if len(result.rows) > 5 else "")
    return same(check.equals, value), f"{check.sql} → {_show(value)} (rows {shown})"


def grade_state(expect: Expect, t: Transcript) -> Grade:
    checks = expect.state or []
    found = {r.sql: r for r in t.state}
    outcomes = [_state_one(c, found.get(c.sql)) for c in checks]
    return Grade(
        key="state",
        passed=all(ok for ok, _ in outcomes),
        expected="; ".join(f"{c.sql} = {_show(c.equals)}" for c in checks),
        got="; ".join(("ok: " if ok else "FAILED: ") + text for ok, text in outcomes),
    )


def _excerpt(answer: str, limit: int = 300) -> str:
    flat = " ".join(answer.split())
    return flat if len(flat) <= limit else flat[:limit] + " …"


def grade_contains(expect: Expect, t: Transcript) -> Grade:
    answer = t.answer.lower()
    missing = [s for s in expect.answer_contains or [] if s.lower() not in answer]
    return Grade(
        key="answer_contains",
        passed=not missing,
        expected=f"the answer mentions {expect.answer_contains}",
        got=(f"missing {missing} in: " if missing else "all there: ") + _excerpt(t.answer),
    )


def grade_not_contains(expect: Expect, t: Transcript) -> Grade:
    answer = t.answer.lower()
    present = [s for s in expect.answer_not_contains or [] if s.lower() in answer]
    return Grade(
        key="answer_not_contains",
        passed=not present,
        expected=f"the answer does not mention {expect.answer_not_contains}",
        got=(f"mentions {present}: " if present else "none of them: ") + _excerpt(t.answer),
    )


def grade_run(t: Transcript) -> Grade:
    return Grade(
        key="run",
        passed=t.error is None,
        expected="the run completes",
        got=t.error or "completed",
    )


GRADERS: dict[str, Callable[[Expect, Transcript], Grade]] = {
    "route": grade_route,
    "tools": grade_tools,
    "forbidden_tools": grade_forbidden,
    "approval": grade_approval,
    "state": grade_state,
    "answer_contains": grade_contains,
    "answer_not_contains": grade_not_contains,
}


def grade(task: Task, transcript: Transcript) -> list[Grade]:
    """The verdict of `run` and of each grader whose key the task's `expect` has."""
    grades = [grade_run(transcript)]
    for key, grader in GRADERS.items():
        if getattr(task.expect, key) is not None:
            grades.append(grader(task.expect, transcript))
    return grades
