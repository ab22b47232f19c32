"""The eval suite itself: enough tasks, split into dev and test, covering every domain, scenario
and kind of request, naming only real tools and agents, with state checks the plant can run; and
grown in paraphrase families (one user need asked several ways, held out in part in test), a third
of them conversations of several turns, with every write tool expected somewhere."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from agents.state import AGENTS
from evals.taskfile import Task, load_tasks
from evals.tooling import tool_kinds
from tools.core import db

TASKS = Path(__file__).resolve().parents[1] / "evals" / "tasks"
SCENARIOS = {"phoenix-incident", "boeing-expedite", "supply-crisis", "faa-audit", "machine-down"}
FAMILY = "family:"
KINDS = {
    "data", "action", "diagnosis", "multi-agent", "approve", "reject", "edit", "clarification",
    "out-of-scope", "bad-input", "injection", "multi-turn",
}  # fmt: skip


def suite() -> dict[str, list[Task]]:
    return {split: load_tasks(TASKS / f"{split}.jsonl") for split in ("dev", "test")}


def test_the_suite_has_at_least_80_tasks_split_into_dev_and_test_with_unique_ids() -> None:
    splits = suite()
    everything = load_tasks(TASKS / "dev.jsonl", TASKS / "test.jsonl")

    assert len(everything) >= 80
    assert all(len(tasks) >= 30 for tasks in splits.values())


@pytest.mark.parametrize("split", ["dev", "test"])
def test_each_split_covers_every_domain_scenario_and_kind_of_request(split: str) -> None:
    tasks = suite()[split]
    tags = {tag for t in tasks for tag in t.tags}

    assert set(AGENTS) <= tags
    assert {t.setup.scenario for t in tasks} >= SCENARIOS
    assert tags >= KINDS


@pytest.mark.anyio
async def test_tasks_name_only_real_tools_and_agents() -> None:
    known = set((await tool_kinds()).writes)
    for task in load_tasks(TASKS / "dev.jsonl", TASKS / "test.jsonl"):
        expect = task.expect
        named = {w.name for w in expect.tools or []} | set(expect.forbidden_tools or [])
        assert named <= known, (task.id, named - known)
        assert set(expect.route or []) <= set(AGENTS), task.id


@pytest.mark.anyio
async def test_every_state_check_runs_on_the_demo_plant(plant: db.AsyncConn) -> None:
    for task in load_tasks(TASKS / "dev.jsonl", TASKS / "test.jsonl"):
        for check in task.expect.state or []:
            async with plant.transaction(force_rollback=True):
                cur = await plant.execute(check.sql.encode())
                assert cur.description, (task.id, check.sql)
        for statement in task.setup.sql:
            async with plant.transaction(force_rollback=True):
                await plant.execute(statement.encode())


def family_of(task: Task) -> list[str]:
    return [tag.removeprefix(FAMILY) for tag in task.tags if tag.startswith(FAMILY)]


def test_the_suite_has_220_tasks_a_third_of_them_multi_turn_and_a_held_out_test_split() -> None:
    splits = suite()
    everything = [t for tasks in splits.values() for t in tasks]
    several = [t for t in everything if len(t.turns) > 1]

    assert len(everything) >= 220
    assert 3 * len(several) >= len(everything), (len(several), len(everything))
    assert 0.35 <= len(splits["dev"]) / len(everything) <= 0.55
    mislabelled = [t.id for t in everything if ("multi-turn" in t.tags) != (len(t.turns) > 1)]
    assert not mislabelled, mislabelled


def test_every_task_is_in_one_family_asked_three_ways_with_members_in_dev_and_test() -> None:
    members: dict[str, dict[str, list[Task]]] = defaultdict(lambda: {"dev": [], "test": []})
    for split, tasks in suite().items():
        for task in tasks:
            families = family_of(task)
            assert len(families) == 1, (task.id, families)
            members[families[0]][split].append(task)

    for family, by_split in members.items():
        tasks = by_split["dev"] + by_split["test"]
        assert len(tasks) >= 3, (family, [t.id for t in tasks])
        assert by_split["dev"] and by_split["test"], (family, [t.id for t in tasks])
        wordings = {" / ".join(t.turns).strip().lower() for t in tasks}
        assert len(wordings) == len(tasks), (family, "the same wording twice")


@pytest.mark.anyio
async def test_every_write_tool_is_the_expected_call_of_some_task() -> None:
    kinds = await tool_kinds()
    expected = {
        w.name
        for task in load_tasks(TASKS / "dev.jsonl", TASKS / "test.jsonl")
        for w in task.expect.tools or []
    }
    missing = sorted(name for name, write in kinds.writes.items() if write and name not in expected)
    assert not missing, missing


def test_a_turn_that_decides_an_approval_in_chat_has_no_decision_listed_for_it() -> None:
    """A task whose approval is answered in the chat ("approve it", "no, don't") runs without
    `decisions`; those are for approvals decided through the approvals API between turns."""
    in_chat = ("approve it", "yes go ahead", "yes, approve", "approve", "yes, send it", "send it")
    for task in load_tasks(TASKS / "dev.jsonl", TASKS / "test.jsonl"):
        last = task.turns[-1].strip().lower().rstrip(".!")
        if len(task.turns) > 1 and last in in_chat:
            assert task.expect.approval == "required", task.id
            assert not task.decisions, task.id
