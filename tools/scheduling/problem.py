"""A scheduling problem in plain data: jobs of operations, machines, and what a solve returns.

Times are integer plant minutes from minute 0. A job is a chain of operations done in order;
each operation runs on exactly one of its alternatives (a machine and the working minutes it
needs there). A machine without `working` time is always available (a benchmark machine); one
with it works only then, and each operation meets its breaks as its `interruption` says (see
`tools.scheduling.calendar`). Plant features are all optional and cost nothing when unused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from tools.core.errors import ValidationError
from tools.scheduling.calendar import Interruption, Span, WorkingTime

Objective = Literal["makespan", "weighted_tardiness", "lexicographic"]
Status = Literal["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"]
OpKey = tuple[int, int]  # (job index, operation index)


@dataclass(frozen=True)
class Alternative:
    """One machine an operation may run on, and its processing minutes there."""

    machine: int
    duration: int


@dataclass(frozen=True)
class Pin:
    """An operation held where it is (already running): its machine and window."""

    machine: int
    start: int
    end: int


@dataclass(frozen=True)
class Operation:
    """One step of a job: where it may run, how it meets breaks, its setup family."""

    alternatives: tuple[Alternative, ...]
    name: str = ""
    interruption: Interruption = "pause"
    family: str | None = None  # for sequence-dependent setups
    pin: Pin | None = None


@dataclass(frozen=True)
class Job:
    """A chain of operations with a release time, an optional due time and a weight."""

    name: str
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    weight: int = 1


@dataclass(frozen=True)
class Machine:
    """A machine: its calendar (None: always available) and spans it is out of use.

    An operation pauses over the calendar's non-working time as its interruption allows, but
    never over an unavailable span (maintenance, downtime): it ends before or starts after.
    """

    name: str
    working: WorkingTime | None = None
    unavailable: tuple[Span, ...] = ()

    def fit(self, earliest: int, duration: int, mode: Interruption) -> Span | None:
        """The earliest (start, end) at or after `earliest`, or None if none is left."""
        at = earliest
        while True:
            if self.working is None:
                placed: Span | None = (at, at + duration)
            else:
                placed = self.working.fit(at, duration, mode)
            if placed is None:
                return None
            start, end = placed
            clash = [b for a, b in self.unavailable if a < max(end, start + 1) and start < b]
            if not clash:
                return placed
            at = max(clash)


@dataclass(frozen=True)
class Problem:
    """Everything a solve needs.

    `setups` maps (family before, family after) to the minutes a machine needs between two
    operations of those families; `initial_setups` the minutes before a machine's first
    operation of a family. `baseline` maps operations to the (machine, start) of a schedule to
    disturb as little as possible; each operation moved off it costs `move_penalty`.
    """

    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    horizon: int | None = None
    setups: Mapping[tuple[str, str], int] = field(default_factory=dict)
    initial_setups: Mapping[str, int] = field(default_factory=dict)
    baseline: Mapping[OpKey, tuple[int, int]] = field(default_factory=dict)
    move_penalty: int = 60

    @property
    def has_calendars(self) -> bool:
        return any(m.working is not None for m in self.machines)

    def default_horizon(self) -> int:
        """A horizon no schedule without calendars or setups can need more than."""
        work = sum(
            max(a.duration for a in op.alternatives) for j in self.jobs for op in j.operations
        )
        setup = max([0, *self.setups.values(), *self.initial_setups.values()])
        ops = sum(len(j.operations) for j in self.jobs)
        pins = max([0] + [op.pin.end for j in self.jobs for op in j.operations if op.pin])
        return max(pins, max([0] + [j.release for j in self.jobs]) + work + setup * ops)


@dataclass(frozen=True)
class SolveSettings:
    """How to solve: the objective, a time limit, parallel workers and a fixed seed.

    `deterministic_limit` also stops the solve after that much of CP-SAT's deterministic time
    (work counted in units of roughly a second each, the same on any machine): with one worker
    and a fixed seed, a solve that stops on it gives the same answer however fast the machine
    is. The time limit still holds as a safety net.
    """

    objective: Objective = "makespan"
    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic_limit: float | None = None


@dataclass(frozen=True)
class Assignment:
    """Where and when one operation runs, and the pieces it processes in."""

    job: int
    operation: int
    machine: int
    start: int
    end: int
    setup: int = 0
    segments: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Solution:
    """A solve's outcome: status (with a reason when there is no schedule) and the schedule."""

    status: Status
    objective: float | None = None
    best_bound: float | None = None
    gap: float | None = None  # (objective - bound) / objective; 0 when optimal
    seconds: float = 0.0
    first_solution_s: float | None = None
    best_solution_s: float | None = None
    makespan: int | None = None
    weighted_tardiness: int | None = None
    moved: int | None = None
    reason: str | None = None
    assignments: tuple[Assignment, ...] = ()

    @property
    def found(self) -> bool:
        return self.status in ("OPTIMAL", "FEASIBLE")


def validate(problem: Problem) -> None:
    """Raise ValidationError for input no schedule can be made of, naming what is wrong."""
    machines = len(problem.machines)
    for job in problem.jobs:
        if not job.operations:
            raise ValidationError(
                f"job {job.name} has no operations (an empty routing); give it at least one"
            )
        if job.weight < 0 or job.release < 0:
            raise ValidationError(f"job {job.name}: release and weight may not be negative")
        for n, op in enumerate(job.operations, start=1):
            where = f"job {job.name} operation {n}{f' ({op.name})' if op.name else ''}"
            if not op.alternatives:
                raise ValidationError(f"{where} has no machine to run on; give it at least one")
            for alt in op.alternatives:
                if not 0 <= alt.machine < machines:
                    raise ValidationError(
                        f"{where} names unknown machine {alt.machine}; machines are 0 to "
                        f"{machines - 1}"
                    )
                if alt.duration < 0:
                    raise ValidationError(
                        f"{where} has a negative duration ({alt.duration} min) on machine "
                        f"{problem.machines[alt.machine].name}; durations are 0 or more minutes"
                    )
                working = problem.machines[alt.machine].working
                if working is not None and working.minutes == 0:
                    raise ValidationError(
                        f"machine {problem.machines[alt.machine].name}, needed by {where}, has "
                        "a zero-capacity calendar: no working time in the horizon"
                    )
    if any(v < 0 for v in [*problem.setups.values(), *problem.initial_setups.values()]):
        raise ValidationError("setup times may not be negative")


def infeasibility(problem: Problem, horizon: int) -> str | None:
    """Why no schedule can exist, if one job alone shows it; None if none is evident."""
    for job in problem.jobs:
        ready = job.release
        for n, op in enumerate(job.operations, start=1):
            where = f"operation {n}{f' ({op.name})' if op.name else ''} of job {job.name}"
            if op.pin is not None:
                ready = max(ready, op.pin.end)
                continue
            ends = [_earliest_end(problem, alt, op.interruption, ready) for alt in op.alternatives]
            if all(e is None for e in ends):
                return _why_not(problem, op, where, ready, horizon)
            ready = min(e for e in ends if e is not None)
        if ready > horizon:
            return (
                f"job {job.name} cannot finish within the horizon: alone it needs until minute "
                f"{ready}, the horizon ends at {horizon}; extend the horizon"
            )
    return None


def _earliest_end(problem: Problem, alt: Alternative, mode: Interruption, ready: int) -> int | None:
    placed = problem.machines[alt.machine].fit(ready, alt.duration, mode)
    return None if placed is None else placed[1]


def _why_not(problem: Problem, op: Operation, where: str, ready: int, horizon: int) -> str:
    kind = {
        "pause": "working time",
        "span_breaks": "shift window (breaks included)",
        "none": "stretch without a break",
    }[op.interruption]
    parts = []
    for alt in op.alternatives:
        machine = problem.machines[alt.machine]
        longest = machine.working.longest(op.interruption) if machine.working else horizon
        parts.append(f"{machine.name} needs {alt.duration} min, longest {kind} {longest} min")
    return (
        f"{where} fits on none of its machines after minute {ready} within the horizon "
        f"({'; '.join(parts)}); extend the horizon, add working time, or allow the operation "
        "to span breaks"
    )
