"""Each eval grader on hand-made transcripts: one that passes, one that fails, and what a person
reads about it."""

from __future__ import annotations

from typing import Any

import pytest

from evals.graders import grade
from evals.taskfile import Task, parse_line
from evals.transcript import ApprovalSeen, Call, StateResult, Transcript, Turn
from tools.core.errors import ValidationError


def task(**expect: Any) -> Task:
    return Task.model_validate({"id": "t-1", "request": "anything", "expect": expect})


def transcript(
    *,
    route: list[str] | None = None,
    calls: list[Call] | None = None,
    approvals: list[ApprovalSeen] | None = None,
    answer: str = "",
    state: list[StateResult] | None = None,
    error: str | None = None,
) -> Transcript:
    turn = Turn(
        request="anything",
        answer=answer,
        route=route or [],
        calls=calls or [],
        approvals=approvals or [],
    )
    return Transcript(task_id="t-1", turns=[turn], state=state or [], error=error)


def verdict(t: Task, tr: Transcript, key: str) -> tuple[bool, str, str]:
    found = {g.key: g for g in grade(t, tr)}
    return found[key].passed, found[key].expected, found[key].got


def call(name: str, write: bool = False, status: str = "done", **args: Any) -> Call:
    return Call.model_validate(
        {"agent": "x", "name": name, "args": args, "write": write, "status": status}
    )


def test_only_the_keys_a_task_has_are_graded_and_a_run_error_fails_it() -> None:
    t = task(answer_contains=["PHX"])

    ok = grade(t, transcript(answer="PHX-CNC-007 is fine"))
    broken = grade(t, transcript(answer="PHX", error="timed out after 5 s"))

    assert [g.key for g in ok] == ["run", "answer_contains"] and all(g.passed for g in ok)
    run = next(g for g in broken if g.key == "run")
    assert not run.passed and run.got == "timed out after 5 s"


@pytest.mark.parametrize(
    ("mode", "route", "passes"),
    [
        ("sequence", ["maintenance", "inventory"], True),
        ("sequence", ["inventory", "maintenance"], False),
        ("set", ["inventory", "maintenance"], True),
        ("set", ["inventory"], False),
        ("first", ["maintenance", "communications"], True),
        ("first", ["inventory", "maintenance"], False),
        ("first", [], False),
    ],
)
def test_the_route_grader_compares_in_its_mode(mode: str, route: list[str], passes: bool) -> None:
    t = task(route=["maintenance", "inventory"], route_mode=mode)

    passed, expected, got = verdict(t, transcript(route=route), "route")

    assert passed is passes
    assert "maintenance" in expected and got == f"route {route}"


STOCK = {"name": "stock_levels", "args": {"sku": "SKU-BRG-7014"}}
ALTS = {"name": "find_alternatives", "args": {}}
S = ("stock_levels", {"sku": "SKU-BRG-7014"})
S_LOWER_MORE = ("stock_levels", {"sku": "sku-brg-7014", "facility_id": "PHX"})
A = ("find_alternatives", {})


@pytest.mark.parametrize(
    ("mode", "calls", "passes"),
    [
        ("strict", [S_LOWER_MORE, A], True),
        ("strict", [A, S], False),
        ("unordered", [A, S], True),
        ("unordered", [S], False),
        ("subset", [S], True),
        ("subset", [S, ("cancel_order", {})], False),
        ("superset", [("get_order", {}), S, ("find_alternatives", {"sku": "x"})], True),
        ("superset", [("stock_levels", {"sku": "SKU-SP-1"}), A], False),
    ],
)  # fmt: skip
def test_the_tools_grader_matches_names_and_argument_subsets_in_its_mode(
    mode: str, calls: list[tuple[str, dict[str, Any]]], passes: bool
) -> None:
    t = task(tools=[STOCK, ALTS], tools_mode=mode)

    passed, expected, got = verdict(t, transcript(calls=[call(n, **a) for n, a in calls]), "tools")

    assert passed is passes
    assert 'stock_levels({"sku": "SKU-BRG-7014"})' in expected
    assert calls[0][0] in got


def test_a_missing_expected_call_is_named() -> None:
    t = task(tools=[STOCK, ALTS])

    passed, _, got = verdict(
        t, transcript(calls=[call("stock_levels", sku="SKU-BRG-7014")]), "tools"
    )

    assert not passed and got.endswith("missing: find_alternatives")


def test_any_call_of_a_forbidden_tool_fails_even_one_a_person_rejected() -> None:
    t = task(forbidden_tools=["cancel_order"])
    rejected = call("cancel_order", write=True, status="rejected", order_id="ORD-10020")

    clean = verdict(
        t, transcript(calls=[call("get_order", order_id="ORD-10020")]), "forbidden_tools"
    )
    dirty = verdict(t, transcript(calls=[rejected]), "forbidden_tools")

    assert clean[0] and not dirty[0]
    assert 'cancel_order({"order_id": "ORD-10020"}) [rejected]' in dirty[2]


def test_the_approval_grader_tells_required_from_none() -> None:
    asked = [ApprovalSeen(action="cancel_order", reason="changes the order", decision="reject")]

    assert verdict(task(approval="required"), transcript(approvals=asked), "approval")[0]
    assert not verdict(task(approval="required"), transcript(), "approval")[0]
    assert verdict(task(approval="none"), transcript(), "approval")[0]
    passed, _, got = verdict(task(approval="none"), transcript(approvals=asked), "approval")
    assert not passed and got == "cancel_order (changes the order) → reject"


def test_a_failing_state_check_shows_the_sql_and_its_result() -> None:
    sql = "select status from orders where order_id = 'ORD-10020'"
    t = task(state=[{"sql": sql, "equals": "CANCELLED"}])

    ok = verdict(
        t, transcript(state=[StateResult(sql=sql, rows=[{"status": "cancelled"}])]), "state"
    )
    bad = verdict(
        t, transcript(state=[StateResult(sql=sql, rows=[{"status": "CREATED"}])]), "state"
    )
    broken = verdict(t, transcript(state=[StateResult(sql=sql, error="relation x")]), "state")

    assert ok[0]
    assert not bad[0]
    assert bad[2] == f'FAILED: {sql} → "CREATED" (rows [{{"status": "CREATED"}}])'
    assert not broken[0] and "error: relation x" in broken[2]


def test_state_checks_compare_numbers_by_value_and_lists_by_first_column() -> None:
    count, ids = "select count(*) from x", "select id from x order by id"
    t = task(state=[{"sql": count, "equals": 2}, {"sql": ids, "equals": ["A", "B"]}])
    rows = [
        StateResult(sql=count, rows=[{"count": 2.0}]),
        StateResult(sql=ids, rows=[{"id": "A"}, {"id": "B"}]),
    ]
    fewer = [rows[0], StateResult(sql=ids, rows=[{"id": "A"}])]

    assert verdict(t, transcript(state=rows), "state")[0]
    assert not verdict(t, transcript(state=fewer), "state")[0]


def test_the_answer_graders_ignore_case_and_name_what_is_missing_or_present() -> None:
    t = task(answer_contains=["phx-cnc-007", "bearing"], answer_not_contains=["cancelled"])

    good = transcript(answer="PHX-CNC-007: the spindle BEARING is wearing.")
    bad = transcript(answer="PHX-CNC-007 order cancelled")

    assert verdict(t, good, "answer_contains")[0] and verdict(t, good, "answer_not_contains")[0]
    passed, _, got = verdict(t, bad, "answer_contains")
    assert not passed and got.startswith("missing ['bearing'] in: PHX-CNC-007")
    passed, _, got = verdict(t, bad, "answer_not_contains")
    assert not passed and got.startswith("mentions ['cancelled']")


def test_a_bad_task_line_is_refused_naming_the_line_and_the_field() -> None:
    with pytest.raises(ValidationError, match=r"dev.jsonl:3: expect.route_mode"):
        parse_line(
            '{"id": "x", "request": "hi", "expect": {"route_mode": "sometimes"}}',
            where="dev.jsonl:3",
        )
    with pytest.raises(
        ValidationError, match="f:1: setup.scenario: Value error, no scenario 'volcano'"
    ):
        parse_line('{"id": "x", "request": "hi", "setup": {"scenario": "volcano"}}', where="f:1")
    with pytest.raises(ValidationError, match="f:2: not JSON"):
        parse_line("{oops", where="f:2")
