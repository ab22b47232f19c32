"""Dispatch rules: the order they serve a queue in, the schedules they build, a plant queue."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.scheduling.dispatch import (
    RULES,
    Candidate,
    Rule,
    check_rule,
    dispatch_schedule,
    rank,
    work_center_queue,
)
from tools.scheduling.formats import read_instance
from tools.scheduling.problem import Assignment
from tools.scheduling.schedules import ScheduleRequest, apply_schedule, propose_schedule

DATA = Path(__file__).parent / "data" / "scheduling"

# name, processing, remaining work, due, arrival (minutes; now is minute 100)
QUEUE = [
    Candidate("short-late", processing=10, remaining=100, due=300, arrival=50),
    Candidate("long-soon", processing=90, remaining=150, due=200, arrival=80),
    Candidate("first-in", processing=40, remaining=40, due=400, arrival=0),
    Candidate("tight", processing=60, remaining=210, due=320, arrival=90),
]


@pytest.mark.parametrize(
    ("rule", "order"),
    [
        ("EDD", ["long-soon", "short-late", "tight", "first-in"]),
        ("SPT", ["short-late", "first-in", "tight", "long-soon"]),
        ("FIFO", ["first-in", "short-late", "long-soon", "tight"]),
        ("SLACK", ["long-soon", "tight", "short-late", "first-in"]),  # -50, 10, 100, 260
        ("CR", ["long-soon", "tight", "short-late", "first-in"]),  # 0.67, 1.05, 2, 7.5
    ],
)
def test_each_rule_serves_the_queue_in_its_order(rule: Rule, order: list[str]) -> None:
    assert [c.name for c in rank(QUEUE, rule, now=100)] == order


def test_ties_go_to_the_heavier_job_then_the_earlier_due_date() -> None:
    tied = [
        Candidate("normal", processing=10, remaining=10, due=50, arrival=0, weight=1),
        Candidate("rush", processing=10, remaining=10, due=60, arrival=0, weight=25),
        Candidate("sooner", processing=10, remaining=10, due=40, arrival=0, weight=1),
    ]

    assert [c.name for c in rank(tied, "SPT", now=0)] == ["rush", "sooner", "normal"]


def test_an_unknown_rule_is_refused_naming_the_rules_there_are() -> None:
    assert check_rule("slack") == "SLACK"
    with pytest.raises(ValidationError, match="unknown dispatch rule 'LIFO'; use EDD, SPT"):
        check_rule("LIFO")


@pytest.mark.parametrize("name", ["la01", "mk01.fjs"])
@pytest.mark.parametrize("rule", RULES)
def test_every_rule_builds_a_complete_schedule_that_keeps_the_rules_of_the_shop(
    name: str, rule: Rule
) -> None:
    problem = read_instance(DATA / name).problem()

    schedule = dispatch_schedule(problem, rule)

    assert schedule is not None
    placed = {(a.job, a.operation): a for a in schedule}
    assert len(placed) == sum(len(j.operations) for j in problem.jobs)
    for (j, o), a in placed.items():
        alternatives = problem.jobs[j].operations[o].alternatives
        assert (a.machine, a.end - a.start) in {(x.machine, x.duration) for x in alternatives}
        assert o == 0 or a.start >= placed[j, o - 1].end
    by_machine: dict[int, list[Assignment]] = {}
    for a in schedule:
        by_machine.setdefault(a.machine, []).append(a)
    for runs in by_machine.values():
        runs.sort(key=lambda a: a.start)
        assert all(b.start >= a.end for a, b in zip(runs, runs[1:], strict=False))


@pytest.mark.anyio
async def test_a_work_center_queue_puts_ready_work_first_in_rule_order(plant: db.AsyncConn) -> None:
    by_due = await work_center_queue(plant, "PHX-MILL", rule="EDD")
    by_time = await work_center_queue(plant, "PHX-MILL", rule="spt")

    ready = [e for e in by_due.entries if e.ready]
    waiting = [e for e in by_due.entries if not e.ready]
    assert by_due.entries == ready + waiting and ready and waiting
    assert ready[0].order_id == "ORD-10013" and ready[0].is_rush  # the rush order, due soonest
    assert [e.due_at for e in ready] == sorted(e.due_at for e in ready)
    assert all(e.op_seq == 1 for e in ready)  # blades start on the mill; housings turn first
    assert [e.position for e in by_due.entries] == list(range(1, len(by_due.entries) + 1))
    ready_by_time = [e.minutes for e in by_time.entries if e.ready]
    assert ready_by_time == sorted(ready_by_time) and by_time.rule == "SPT"


@pytest.mark.anyio
async def test_steps_whose_applied_slots_have_ended_make_the_next_step_ready(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    planner = Actor(type="user", id="planner")
    result = await propose_schedule(
        plant, planner, request=ScheduleRequest(facility_id="PHX", time_limit_s=5)
    )
    assert result.schedule is not None
    await apply_schedule(plant, planner, schedule_id=result.schedule.schedule_id)
    turned = min(
        (s for s in result.schedule.slots if s.op_seq == 1 and s.work_center_id == "PHX-TURN"),
        key=lambda s: s.ends_at,
    )
    fixed_clock.set(turned.ends_at + timedelta(minutes=1))

    queue = await work_center_queue(plant, "PHX-MILL")

    entry = next(
        e for e in queue.entries if (e.order_id, e.line_no) == (turned.order_id, turned.line_no)
    )
    assert entry.op_seq == 2 and entry.ready and entry.arrived_at == turned.ends_at


@pytest.mark.anyio
async def test_a_queue_of_an_unknown_work_center_or_rule_is_refused(plant: db.AsyncConn) -> None:
    with pytest.raises(NotFoundError, match="work center PHX-NOPE does not exist"):
        await work_center_queue(plant, "PHX-NOPE")
    with pytest.raises(ValidationError, match="unknown dispatch rule"):
        await work_center_queue(plant, "PHX-MILL", rule="RANDOM")
