"""Titan's scheduling model on OR-Tools CP-SAT (solved by `tools.scheduling.solver`).

Per operation a start and an end; per (operation, machine) alternative an interval, optional
with a presence literal when there are several (sharing the operation's start), exactly one
present; one NoOverlap per machine; precedence inside each job. A pure job shop builds exactly
the textbook model. Plant features add constraints only where they are used:

- calendars: a group of machines on one calendar is modelled in its working minutes
  (`tools.scheduling.axis`), where a pausing operation has a fixed length; an operation that
  may not pause gets a start domain that keeps it inside one block. A group mixing calendars is
  modelled in real minutes: a pausing operation's end follows from its start through element
  constraints over the machine's stretches (``end - offset[end block] == start -
  offset[start block] + d``, a block's offset being the non-working time before it);
- unavailable spans (maintenance, downtime) are fixed intervals in the machine's NoOverlap;
- sequence-dependent setups add a circuit per machine whose arcs carry the setup gaps;
- a baseline (rescheduling) adds one "kept" literal per operation, penalised when false;
- real end times (for tardiness, and the makespan of a calendar group) come from the working
  minutes through one element constraint per job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model
from ortools.util.python.sorted_interval_list import Domain

from tools.scheduling.axis import Axis, axis_of, components
from tools.scheduling.problem import Operation, OpKey, Problem

Expr = cp_model.LinearExpr | int


@dataclass
class AltVars:
    """One (operation, machine) alternative: presence, start, end, interval."""

    machine: int
    present: cp_model.IntVar | None  # None: the only alternative, always present
    start: Expr
    end: Expr
    interval: cp_model.IntervalVar
    duration: int = 0


@dataclass
class OpVars:
    """One operation: its start and end (in its group's model minutes), its alternatives."""

    start: Expr
    end: Expr
    alts: list[AltVars] = field(default_factory=list)


class ModelBuilder:
    """The CP-SAT model of a problem, and its variables by operation and by machine."""

    def __init__(self, problem: Problem, horizon: int) -> None:
        self.problem, self.horizon = problem, horizon
        self.model = cp_model.CpModel()
        self.ops: dict[OpKey, OpVars] = {}
        self.on_machine: dict[int, list[tuple[OpKey, AltVars]]] = {}
        self.kept: list[tuple[OpKey, int, int, cp_model.IntVar]] = []  # op, machine, start, lit
        self.axis: dict[int, Axis | None] = {}  # per job; None: real minutes, mixed calendars
        self.groups = components(problem)
        for jobs, machines in self.groups:
            axis = axis_of(problem, machines)
            for j in jobs:
                self.axis[j] = axis
        blocked = self._unavailable()
        for j, job in enumerate(problem.jobs):
            previous: Expr | None = None
            for o, op in enumerate(job.operations):
                built = self._operation(j, op)
                self.ops[j, o] = built
                for alt in built.alts:
                    self.on_machine.setdefault(alt.machine, []).append(((j, o), alt))
                if previous is not None:
                    self.model.add(built.start >= previous)
                previous = built.end
        for machine in sorted(self.on_machine):
            intervals = [alt.interval for _, alt in self.on_machine[machine]]
            self.model.add_no_overlap(intervals + blocked.get(machine, []))
        if problem.setups or problem.initial_setups:
            for machine in sorted(self.on_machine):
                self._setup_circuit(self.on_machine[machine])
        for key, (machine, start) in problem.baseline.items():
            self._keep(key, machine, start)

    def model_time(self, j: int, real: int) -> int:
        axis = self.axis[j]
        return real if axis is None else axis.to_model(real)

    def limit(self, j: int) -> int:
        """The last model minute of job j's group."""
        axis = self.axis[j]
        return axis.total if axis is not None and axis.working is not None else self.horizon

    def job_end(self, j: int) -> Expr:
        return self.ops[j, len(self.problem.jobs[j].operations) - 1].end

    def real_end(self, j: int, model_end: Expr) -> Expr:
        """A real-minute expression of a model end time of job j's group."""
        axis = self.axis[j]
        if axis is None or axis.working is None:
            return model_end
        m, blocks = self.model, axis.blocks()
        index = m.new_int_var(0, len(blocks) - 1, "")
        low, high = m.new_int_var(-1, axis.total, ""), m.new_int_var(0, axis.total, "")
        offset = m.new_int_var(0, self.horizon, "")
        m.add_element(index, [b[0] if k else -1 for k, b in enumerate(blocks)], low)
        m.add_element(index, [b[1] for b in blocks], high)
        m.add_element(index, [b[2] for b in blocks], offset)
        m.add(model_end > low)
        m.add(model_end <= high)
        return model_end + offset

    # ───────────── operations ─────────────

    def _unavailable(self) -> dict[int, list[cp_model.IntervalVar]]:
        out: dict[int, list[cp_model.IntervalVar]] = {}
        for jobs, machines in self.groups:
            axis = self.axis[jobs[0]]
            for m in machines:
                for a, b in self.problem.machines[m].unavailable:
                    start, end = (a, b) if axis is None else (axis.to_model(a), axis.to_model(b))
                    if end > start:
                        interval = self.model.new_fixed_size_interval_var(start, end - start, "")
                        out.setdefault(m, []).append(interval)
        return out

    def _operation(self, j: int, op: Operation) -> OpVars:
        m = self.model
        release = self.model_time(j, self.problem.jobs[j].release)
        if op.pin is not None:
            pin = op.pin
            begins, ends = self.model_time(j, pin.start), self.model_time(j, pin.end)
            fixed = m.new_fixed_size_interval_var(begins, ends - begins, "")
            return OpVars(begins, ends, [AltVars(pin.machine, None, begins, ends, fixed)])
        axis = self.axis[j]
        if axis is None:
            return self._mixed(op, release)
        domains = [self._domain(axis, op, a.duration) for a in op.alternatives]
        h = self.limit(j)
        if len(op.alternatives) == 1:
            alt = op.alternatives[0]
            start = _bounded(m, release, h, domains[0])
            end = m.new_int_var(0, h, "")
            interval = m.new_interval_var(start, alt.duration, end, "")
            return OpVars(
                start, end, [AltVars(alt.machine, None, start, end, interval, alt.duration)]
            )
        return self._flexible(op, release, h, domains)

    def _domain(self, axis: Axis, op: Operation, duration: int) -> Domain | None:
        """Model start minutes that keep an uninterruptible operation inside one block."""
        if axis.working is None or op.interruption == "pause":
            return None
        ranges = axis.ranges(axis.working.start_ranges(duration, op.interruption))
        return Domain.from_intervals([[lo, hi] for lo, hi in ranges])

    def _flexible(
        self, op: Operation, release: int, h: int, domains: list[Domain | None]
    ) -> OpVars:
        """Alternatives sharing the operation's start: one optional interval each."""
        m = self.model
        shared = domains[0] if all(d == domains[0] for d in domains) else None
        start, end = _bounded(m, release, h, shared), m.new_int_var(0, h, "")
        built = OpVars(start, end)
        literals = []
        for alt, domain in zip(op.alternatives, domains, strict=True):
            present = m.new_bool_var("")
            literals.append(present)
            if domain is not None and shared is None:
                m.add_linear_expression_in_domain(start, domain).only_enforce_if(present)
            interval = m.new_optional_fixed_size_interval_var(start, alt.duration, present, "")
            built.alts.append(
                AltVars(alt.machine, present, start, start + alt.duration, interval, alt.duration)
            )
        m.add_exactly_one(literals)
        durations = {a.duration for a in op.alternatives}
        if len(durations) == 1:
            m.add(end == start + durations.pop())
        else:
            terms = [a.duration * lit for a, lit in zip(op.alternatives, literals, strict=True)]
            m.add(end == start + sum(terms))
        return built

    def _mixed(self, op: Operation, release: int) -> OpVars:
        """An operation of a group mixing calendars, in real minutes."""
        m, h = self.model, self.horizon
        if len(op.alternatives) == 1:
            alt = op.alternatives[0]
            only = self._real_alternative(op, alt.machine, alt.duration, release, None)
            if only is None:
                raise AssertionError("infeasibility() lets no operation without room through")
            return OpVars(only.start, only.end, [only])
        built = OpVars(m.new_int_var(release, h, ""), m.new_int_var(0, h, ""))
        literals = []
        for alt in op.alternatives:
            present = m.new_bool_var("")
            placed = self._real_alternative(op, alt.machine, alt.duration, release, present)
            if placed is None:
                m.add(present == 0)
                continue
            literals.append(present)
            m.add(built.start == placed.start).only_enforce_if(present)
            m.add(built.end == placed.end).only_enforce_if(present)
            built.alts.append(placed)
        m.add_exactly_one(literals)
        return built

    def _real_alternative(
        self, op: Operation, machine: int, d: int, release: int, present: cp_model.IntVar | None
    ) -> AltVars | None:
        m, h = self.model, self.horizon
        working = self.problem.machines[machine].working
        if working is not None and op.interruption == "pause" and d > 0:
            return self._pausing(machine, d, release, present)
        if working is None:
            start: Expr = m.new_int_var(release, h, "")
        else:
            ranges = [
                [max(lo, release), hi]
                for lo, hi in working.start_ranges(d, op.interruption)
                if hi >= release
            ]
            if not ranges:
                return None
            start = m.new_int_var_from_domain(Domain.from_intervals(ranges), "")
        if present is None:
            interval = m.new_fixed_size_interval_var(start, d, "")
        else:
            interval = m.new_optional_fixed_size_interval_var(start, d, present, "")
        return AltVars(machine, present, start, start + d, interval, d)

    def _pausing(
        self, machine: int, d: int, release: int, present: cp_model.IntVar | None
    ) -> AltVars | None:
        """A pausing operation in real minutes: its end follows from its start."""
        m = self.model
        working = self.problem.machines[machine].working
        assert working is not None
        blocks, offsets, worked = [], [], 0
        for a, b in working.stretches:
            if b > release:
                blocks.append((max(a, release), b))
                offsets.append(a - worked)
            worked += b - a
        if not blocks or working.working_minutes(release, blocks[-1][1]) < d:
            return None
        first, last = blocks[0][0], blocks[-1][1]
        start = m.new_int_var_from_domain(
            Domain.from_intervals([[a, b - 1] for a, b in blocks]), ""
        )
        end = m.new_int_var_from_domain(Domain.from_intervals([[a + 1, b] for a, b in blocks]), "")
        k_start, k_end = (m.new_int_var(0, len(blocks) - 1, "") for _ in range(2))
        m.add(k_end >= k_start)
        lo_s, hi_s, lo_e, hi_e = (m.new_int_var(first, last, "") for _ in range(4))
        off_s, off_e = (m.new_int_var(0, last, "") for _ in range(2))
        for index, values, target in (
            (k_start, [a for a, _ in blocks], lo_s),
            (k_start, [b for _, b in blocks], hi_s),
            (k_start, offsets, off_s),
            (k_end, [a for a, _ in blocks], lo_e),
            (k_end, [b for _, b in blocks], hi_e),
            (k_end, offsets, off_e),
        ):
            m.add_element(index, values, target)
        m.add(start >= lo_s)
        m.add(start < hi_s)
        m.add(end > lo_e)
        m.add(end <= hi_e)
        m.add(end - off_e == start - off_s + d)
        size = m.new_int_var(d, last - first, "")
        if present is None:
            interval = m.new_interval_var(start, size, end, "")
        else:
            interval = m.new_optional_interval_var(start, size, end, present, "")
        return AltVars(machine, present, start, end, interval, d)

    def real_times(self, key: OpKey, alt: AltVars, start: int, end: int) -> tuple[int, int]:
        """Real (start, end) of an operation from its model start and end."""
        j, o = key
        op = self.problem.jobs[j].operations[o]
        axis = self.axis[j]
        if op.pin is not None:
            return op.pin.start, op.pin.end
        if axis is None or axis.working is None:
            return start, end
        if op.interruption == "pause":
            return axis.start_real(start), axis.end_real(end)
        return axis.start_real(start), axis.start_real(start) + alt.duration

    # ───────────── setups and baseline ─────────────

    def _setup_circuit(self, entries: list[tuple[OpKey, AltVars]]) -> None:
        """Order the machine's operations in a circuit whose arcs carry setup gaps."""
        m = self.model
        families = [self.problem.jobs[j].operations[o].family for (j, o), _ in entries]
        empty = m.new_bool_var("")
        arcs: list[tuple[int, int, cp_model.LiteralT]] = [(0, 0, empty)]
        for i, (_, alt) in enumerate(entries, start=1):
            first, last = m.new_bool_var(""), m.new_bool_var("")
            arcs += [(0, i, first), (i, 0, last)]
            initial = self.problem.initial_setups.get(families[i - 1] or "", 0)
            if initial and not isinstance(alt.start, int):  # a pinned operation is set up
                m.add(alt.start >= initial).only_enforce_if(first)
            if alt.present is not None:
                arcs.append((i, i, ~alt.present))
                m.add_implication(empty, ~alt.present)
            else:
                m.add(empty == 0)
            for k, (_, other) in enumerate(entries, start=1):
                if k != i:
                    follows = m.new_bool_var("")
                    arcs.append((i, k, follows))
                    gap = self._setup(families[i - 1], families[k - 1])
                    m.add(other.start >= alt.end + gap).only_enforce_if(follows)
        m.add_circuit(arcs)

    def _setup(self, before: str | None, after: str | None) -> int:
        if before is None or after is None:
            return 0
        return self.problem.setups.get((before, after), 0)

    def _keep(self, key: OpKey, machine: int, start: int) -> None:
        built = self.ops.get(key)
        if built is None or not isinstance(built.start, cp_model.IntVar):
            return  # unknown, or pinned where it runs
        alt = next((a for a in built.alts if a.machine == machine), None)
        if alt is None:
            return
        kept = self.model.new_bool_var("")
        if alt.present is not None:
            self.model.add_implication(kept, alt.present)
        self.model.add(built.start == self.model_time(key[0], start)).only_enforce_if(kept)
        self.kept.append((key, machine, start, kept))


def _bounded(m: cp_model.CpModel, low: int, high: int, domain: Domain | None) -> cp_model.IntVar:
    if domain is None:
        return m.new_int_var(low, high, "")
    return m.new_int_var_from_domain(domain.intersection_with(Domain(low, high)), "")
