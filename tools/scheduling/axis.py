"""Model time: where a group of machines shares one calendar, the model counts working minutes.

Machines that share jobs form a group (a connected component of jobs and the machines they may
use). When every machine of a group works to one calendar, the model of that group runs on
that calendar's *working minutes*: working minute w is the w-th minute of working time (breaks
excluded). There a pausing operation is an interval of fixed length, exactly as in a textbook
model, and precedence, setups and no-overlap keep their plain form. Real minutes come back
through `start_real` (where a working minute begins) and `end_real` (where one ends, so that an
operation ending with a stretch ends at the stretch's end, not at the next one's start).

A group without calendars (a benchmark) runs on real minutes unchanged. A group whose machines
work to different calendars runs on real minutes too, with each machine's calendar modelled
directly (see `tools.scheduling.model`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property

from tools.scheduling.calendar import Span, WorkingTime
from tools.scheduling.problem import Problem


@dataclass(frozen=True)
class Axis:
    """Model minutes of one group: working minutes of `working`, or real minutes (None)."""

    working: WorkingTime | None = None

    @cached_property
    def _starts(self) -> list[int]:
        return [a for a, _ in self.working.stretches] if self.working else []

    @cached_property
    def _ends(self) -> list[int]:
        return [b for _, b in self.working.stretches] if self.working else []

    @cached_property
    def _before(self) -> list[int]:
        """Working minutes before each stretch."""
        out, total = [], 0
        for a, b in self.working.stretches if self.working else ():
            out.append(total)
            total += b - a
        return out

    @property
    def total(self) -> int:
        return self.working.minutes if self.working else 0

    def to_model(self, real: int) -> int:
        """Working minutes before real minute `real`."""
        if self.working is None:
            return real
        k = bisect_right(self._starts, real) - 1
        if k < 0:
            return 0
        return self._before[k] + min(real, self._ends[k]) - self._starts[k]

    def start_real(self, w: int) -> int:
        """The real minute in which working minute `w` begins."""
        if self.working is None:
            return w
        k = max(bisect_right(self._before, w) - 1, 0)
        return self._starts[k] + w - self._before[k]

    def end_real(self, w: int) -> int:
        """The real minute at which `w` working minutes have been worked."""
        if self.working is None or w <= 0:
            return self.start_real(w)
        k = max(bisect_left(self._before, w) - 1, 0)
        return self._starts[k] + w - self._before[k]

    def blocks(self) -> list[tuple[int, int, int]]:
        """Per stretch: (working minutes before it, after it, real minus working minutes)."""
        assert self.working is not None
        return [
            (before, before + end - start, start - before)
            for before, start, end in zip(self._before, self._starts, self._ends, strict=True)
        ]

    def ranges(self, real: list[Span]) -> list[Span]:
        """Closed ranges of real start minutes, each inside one stretch, in model minutes."""
        return [(self.to_model(lo), self.to_model(hi)) for lo, hi in real]


def components(problem: Problem) -> list[tuple[list[int], list[int]]]:
    """Groups of (jobs, machines) that share no machine with another group."""
    parent = list(range(len(problem.machines)))

    def find(m: int) -> int:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    used: list[list[int]] = []
    for job in problem.jobs:
        machines = sorted(
            {a.machine for op in job.operations for a in op.alternatives}
            | {op.pin.machine for op in job.operations if op.pin is not None}
        )
        used.append(machines)
        for m in machines[1:]:
            parent[find(m)] = find(machines[0])
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for j, machines in enumerate(used):
        groups.setdefault(find(machines[0]), ([], []))[0].append(j)
    for m in range(len(problem.machines)):
        if find(m) in groups:
            groups[find(m)][1].append(m)
    return list(groups.values())


def axis_of(problem: Problem, machines: list[int]) -> Axis | None:
    """The group's model time: its one calendar, real minutes, or None for mixed calendars."""
    calendars = {problem.machines[m].working for m in machines}
    if calendars == {None}:
        return Axis()
    if len(calendars) == 1:
        return Axis(calendars.pop())
    return None
