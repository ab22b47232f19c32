"""The eval suite itself: enough tasks, split into dev and test, covering every domain, scenario
and kind of request, naming only real tools and agents, with state checks the plant can run."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.state import AGENTS
from evals.taskfile import Task, load_tasks
from evals.tooling import tool_kinds
from tools import db

TASKS = Path(__file__).resolve().parents[1] / "evals" / "tasks"
SCENARIOS = {"phoenix-incident", "boeing-expedite", "supply-crisis", "faa-audit", "machine-down"}
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
