"""The plant's open work turned into a problem, solved, and turned back into slots.

`build_problem` maps order lines to jobs and routing steps to operations (see
`tools.scheduling.plant` for durations, working time and weights); `plan` solves it and
returns the slots in plant time. Rescheduling passes operations already done (left out),
operations running now (pinned where they are) and a baseline to stay close to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tools.core.errors import ValidationError
from tools.scheduling.plant import (
    PlantMachine,
    PlantState,
    SetupMode,
    Step,
    StepKey,
    WorkItem,
)
from tools.scheduling.problem import (
    Alternative,
    Job,
    Machine,
    Operation,
    OpKey,
    Pin,
    Problem,
    Solution,
    SolveSettings,
)
from tools.scheduling.solver import solve


@dataclass(frozen=True)
class OpRef:
    """What an operation of the problem is in the plant."""

    item: WorkItem
    step: Step

    @property
    def key(self) -> StepKey:
        return (self.item.order_id, self.item.line_no, self.step.seq)


@dataclass
class PlantProblem:
    """The problem, and how its jobs, operations and machines map back to the plant."""

    state: PlantState
    problem: Problem
    items: list[WorkItem]
    ops: dict[OpKey, OpRef]
    machines: list[PlantMachine]
    setup_mode: SetupMode = "per_operation"
    reason: str | None = None  # set when some operation has no machine available

    def index(self) -> dict[StepKey, OpKey]:
        return {ref.key: key for key, ref in self.ops.items()}


def build_problem(
    state: PlantState,
    *,
    setup_mode: SetupMode = "per_operation",
    done: set[StepKey] | None = None,
    pins: dict[StepKey, tuple[str, int, int]] | None = None,
    baseline: dict[StepKey, tuple[str, int]] | None = None,
    move_penalty: int = 60,
) -> PlantProblem:
    """The scheduling problem of the plant's open work (less `done` operations)."""
    done, pins, baseline = done or set(), pins or {}, baseline or {}
    if not state.items:
        scope = f" at {state.facility_id}" if state.facility_id else ""
        raise ValidationError(f"nothing to schedule{scope}: no open order lines of made products")
    machines = [m for m in state.machines if state.working[m.machine_id].minutes > 0]
    index = {m.machine_id: i for i, m in enumerate(machines)}
    pinned_only = {m.machine_id for m in state.machines} - set(index)
    machines += [m for m in state.machines if m.machine_id in pinned_only and _pinned_on(pins, m)]
    index = {m.machine_id: i for i, m in enumerate(machines)}
    jobs: list[Job] = []
    ops: dict[OpKey, OpRef] = {}
    reasons: list[str] = []
    for item in state.items:
        steps = [
            s for s in _routing(state, item) if (item.order_id, item.line_no, s.seq) not in done
        ]
        if not steps:
            continue
        operations: list[Operation] = []
        for step in steps:
            ref = OpRef(item, step)
            ops[len(jobs), len(operations)] = ref
            alts, why = _alternatives(state, ref, index, setup_mode)
            reasons += [why] if why else []
            pin = pins.get(ref.key)
            operations.append(
                Operation(
                    alternatives=tuple(alts) or (Alternative(0, 0),),
                    name=f"{step.seq} {step.operation}",
                    interruption="span_breaks" if step.may_span_break else "pause",
                    family=f"{step.sku}#{step.seq}" if setup_mode == "sequence" else None,
                    pin=None if pin is None else _pin(pin, index),
                )
            )
        due = state.minute(item.due_at)
        name = f"{item.order_id}/{item.line_no}"
        jobs.append(Job(name, tuple(operations), due=due, weight=item.weight))
    setups, initial = _setups(ops.values()) if setup_mode == "sequence" else ({}, {})
    problem = Problem(
        machines=tuple(
            Machine(
                m.machine_id,
                state.calendars[m.calendar_id],
                state.unavailable.get(m.machine_id, ()),
            )
            for m in machines
        ),
        jobs=tuple(jobs),
        horizon=state.horizon,
        setups=setups,
        initial_setups=initial,
        baseline={
            ix: (index[machine], start)
            for key, (machine, start) in baseline.items()
            if (ix := _key_of(ops, key)) is not None and machine in index
        },
        move_penalty=move_penalty,
    )
    reason = "; ".join(reasons) if reasons else None
    return PlantProblem(state, problem, state.items, ops, machines, setup_mode, reason)


def _pinned_on(pins: dict[StepKey, tuple[str, int, int]], machine: PlantMachine) -> bool:
    return any(p[0] == machine.machine_id for p in pins.values())


def _pin(pin: tuple[str, int, int], index: dict[str, int]) -> Pin:
    return Pin(index[pin[0]], pin[1], pin[2])


def _key_of(ops: dict[OpKey, OpRef], key: StepKey) -> OpKey | None:
    return next((ix for ix, ref in ops.items() if ref.key == key), None)


def _routing(state: PlantState, item: WorkItem) -> list[Step]:
    steps = state.routings.get(item.sku, [])
    if not steps:
        raise ValidationError(
            f"product {item.sku} (order {item.order_id} line {item.line_no}) has an empty "
            "routing: a manufactured product needs at least one routing step to be scheduled"
        )
    return steps


def _alternatives(
    state: PlantState, ref: OpRef, index: dict[str, int], setup_mode: SetupMode
) -> tuple[list[Alternative], str | None]:
    """The machines a step may use, or why none is available."""
    item, step = ref.item, ref.step
    where = item.facility_id
    candidates = [
        m for m in state.machines
        if m.wc_type == step.wc_type and (where is None or m.facility_id == where)
    ]  # fmt: skip
    what = f"step {step.seq} ({step.operation}) of {item.order_id} line {item.line_no}"
    if not candidates:
        known = sorted(
            {m.wc_type for m in state.machines if where is None or m.facility_id == where}
        )
        raise ValidationError(
            f"{what} needs a {step.wc_type} work center and {where or 'the plant'} has none; "
            f"it has {', '.join(known) or 'no work centers'}"
        )
    empty = sorted(
        {m.calendar_id for m in candidates if state.calendars[m.calendar_id].minutes == 0}
    )
    if len(empty) == len({m.calendar_id for m in candidates}):
        raise ValidationError(
            f"{what} needs a {step.wc_type} machine, but calendar {', '.join(empty)} has a zero "
            f"capacity: no working time between {state.origin:%Y-%m-%d %H:%M} and "
            f"{state.horizon_end:%Y-%m-%d %H:%M} UTC; add shifts or remove the closure"
        )
    per_op = setup_mode == "per_operation"
    alts = [
        Alternative(index[m.machine_id], step.minutes(item.quantity, m.efficiency, setup=per_op))
        for m in candidates
        if m.machine_id in index and state.working[m.machine_id].minutes > 0
    ]
    if alts:
        return alts, None
    down = "; ".join(
        state.blocked.get(m.machine_id, f"{m.machine_id} has no time") for m in candidates
    )
    site = where or "any site"
    return [], f"{what} needs a {step.wc_type} machine at {site} and none is available ({down})"


def _setups(refs: Iterable[OpRef]) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Setup minutes between families: a step's own setup, unless the same step precedes it."""
    setup = {f"{r.step.sku}#{r.step.seq}": r.step.setup_minutes for r in refs}
    pairs = {(a, b): setup[b] for a in setup for b in setup if a != b and setup[b]}
    return pairs, {f: s for f, s in setup.items() if s}


@dataclass(frozen=True)
class PlannedSlot:
    """One operation placed: where, when, and the pieces it processes in."""

    order_id: str
    line_no: int
    op_seq: int
    operation: str
    machine_id: str
    work_center_id: str
    starts_at: datetime
    ends_at: datetime
    setup_minutes: int
    segments: tuple[tuple[datetime, datetime], ...]

    @property
    def key(self) -> StepKey:
        return (self.order_id, self.line_no, self.op_seq)


@dataclass
class Plan:
    """A solved plant problem: the solver's outcome and the slots."""

    plant: PlantProblem
    solution: Solution
    slots: list[PlannedSlot]


def plan(plant: PlantProblem, settings: SolveSettings) -> Plan:
    """Solve the plant problem (blocking: run it in a worker thread from async code)."""
    if plant.reason is not None:
        return Plan(plant, Solution(status="INFEASIBLE", reason=plant.reason), [])
    solution = solve(plant.problem, settings)
    state = plant.state
    slots = []
    for a in solution.assignments:
        ref = plant.ops[a.job, a.operation]
        machine = plant.machines[a.machine]
        setup = ref.step.setup_minutes if plant.setup_mode == "per_operation" else a.setup
        slots.append(
            PlannedSlot(
                order_id=ref.item.order_id,
                line_no=ref.item.line_no,
                op_seq=ref.step.seq,
                operation=ref.step.operation,
                machine_id=machine.machine_id,
                work_center_id=machine.work_center_id,
                starts_at=state.at(a.start),
                ends_at=state.at(a.end),
                setup_minutes=setup,
                segments=tuple((state.at(s), state.at(e)) for s, e in a.segments),
            )
        )
    return Plan(plant, solution, slots)
