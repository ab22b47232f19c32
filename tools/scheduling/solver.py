"""Solving a problem with CP-SAT: objectives, settings, hints, and what comes back.

Objectives: ``makespan``; ``weighted_tardiness`` (Σ weight × minutes late); ``lexicographic``
(weighted tardiness first, then the makespan with it held at its best: half the time limit each,
the second stage starting from the first's schedule). With a baseline, each operation moved off
it adds the problem's move penalty to the (first) objective.

Settings: time limit, workers and a fixed seed (CP-SAT's ``max_time_in_seconds``,
``num_workers``, ``random_seed``), and optionally a deterministic limit
(``max_deterministic_time``, shared between the stages as the time limit is). A solution
callback records the seconds to the first and to the best solution. A plant problem (calendars,
setups or a baseline) starts from a hint: the best dispatch-rule schedule, or the baseline
repaired by pushing work right; a benchmark problem gets no hint, so that it is solved exactly
as the plain model is.
"""

from __future__ import annotations

from typing import cast

from ortools.sat.python import cp_model

from tools.core.errors import ValidationError
from tools.scheduling.dispatch import RULES, dispatch_schedule
from tools.scheduling.model import Expr, ModelBuilder
from tools.scheduling.problem import (
    Assignment,
    Problem,
    Solution,
    SolveSettings,
    Status,
    infeasibility,
    validate,
)


class _Progress(cp_model.CpSolverSolutionCallback):
    """Records when the first solution came and when the best one did."""

    def __init__(self, offset: float = 0.0) -> None:
        super().__init__()
        self.offset = offset
        self.first: float | None = None
        self.best: float | None = None
        self.best_at: float | None = None

    def on_solution_callback(self) -> None:
        now = self.offset + self.wall_time
        if self.first is None:
            self.first = now
        value = self.objective_value
        if self.best is None or value < self.best:
            self.best, self.best_at = value, now


def solve(problem: Problem, settings: SolveSettings | None = None) -> Solution:
    """Schedule `problem`: OPTIMAL or FEASIBLE with assignments, else a status and a reason."""
    settings = settings or SolveSettings()
    validate(problem)
    horizon = problem.horizon or problem.default_horizon()
    reason = infeasibility(problem, horizon)
    if reason is not None:
        return Solution(status="INFEASIBLE", reason=reason)
    return _Solve(problem, settings, horizon).run()


def makespan_model(problem: Problem) -> cp_model.CpModel:
    """The model `solve` builds to minimise the makespan, without solving it."""
    validate(problem)
    built = _Solve(problem, SolveSettings(), problem.horizon or problem.default_horizon())
    built.b.model.minimize(built._makespan() + built._moves())
    return built.b.model


class _Solve:
    def __init__(self, problem: Problem, settings: SolveSettings, horizon: int) -> None:
        self.problem, self.settings, self.horizon = problem, settings, horizon
        self.b = ModelBuilder(problem, horizon)
        self.elapsed = 0.0
        self.work = 0.0  # deterministic time used
        self.first: float | None = None
        self.best_at: float | None = None

    def _makespan(self) -> cp_model.IntVar:
        """The last real end: per group the latest model end, made real, then the latest."""
        m, b = self.b.model, self.b
        ends: list[Expr] = []
        for jobs, _ in b.groups:
            last = m.new_int_var(0, b.limit(jobs[0]), "")
            m.add_max_equality(last, [b.job_end(j) for j in jobs])
            ends.append(b.real_end(jobs[0], last))
        if len(ends) == 1 and isinstance(ends[0], cp_model.IntVar):
            return ends[0]
        makespan = m.new_int_var(0, self.horizon, "makespan")
        m.add_max_equality(makespan, ends)
        return makespan

    def _tardiness(self) -> Expr:
        m, terms = self.b.model, []
        for j, job in enumerate(self.problem.jobs):
            if job.due is not None and job.weight > 0:
                late = m.new_int_var(0, max(0, self.horizon - job.due), "")
                m.add(late >= self.b.real_end(j, self.b.job_end(j)) - job.due)
                terms.append(job.weight * late)
        return sum(terms)

    def _moves(self) -> Expr:
        return self.problem.move_penalty * sum(1 - kept for *_, kept in self.b.kept)

    def run(self) -> Solution:
        m, objective = self.b.model, self.settings.objective
        if self._needs_hint():
            self._hint(self._starting_point())
        if objective == "makespan":
            m.minimize(self._makespan() + self._moves())
            return self._result(
                *self._stage(self.settings.time_limit_s, self.settings.deterministic_limit)
            )
        first_goal = self._tardiness() + self._moves()
        m.minimize(first_goal)
        limit, work = self.settings.time_limit_s, self.settings.deterministic_limit
        share = 1.0 if objective == "weighted_tardiness" else 0.5
        solver, status = self._stage(limit * share, None if work is None else work * share)
        if objective == "weighted_tardiness" or status not in ("OPTIMAL", "FEASIBLE"):
            return self._result(solver, status)
        if not isinstance(first_goal, int):
            m.add(first_goal <= round(solver.objective_value))
        self._hint(self._assignments(solver))
        m.minimize(self._makespan())
        solver2, status2 = self._stage(
            max(limit - self.elapsed, 0.1), None if work is None else max(work - self.work, 0.1)
        )
        if status2 not in ("OPTIMAL", "FEASIBLE"):
            return self._result(solver, "FEASIBLE")
        both: Status = "OPTIMAL" if status == status2 == "OPTIMAL" else "FEASIBLE"
        return self._result(solver2, both)

    def _stage(self, limit: float, work: float | None) -> tuple[cp_model.CpSolver, Status]:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.settings.workers
        solver.parameters.max_time_in_seconds = limit
        if work is not None:
            solver.parameters.max_deterministic_time = work
        solver.parameters.random_seed = self.settings.seed
        progress = _Progress(self.elapsed)
        code = solver.solve(self.b.model, progress)
        self.elapsed += solver.wall_time
        self.work += solver.deterministic_time
        self.first = self.first if self.first is not None else progress.first
        self.best_at = progress.best_at if progress.best_at is not None else self.best_at
        name = solver.status_name(code)
        if name == "MODEL_INVALID":
            raise ValidationError(f"the scheduling model is invalid: {self.b.model.validate()}")
        return solver, cast(Status, name)

    # ───────────── hints ─────────────

    def _needs_hint(self) -> bool:
        p = self.problem
        return p.has_calendars or bool(p.setups or p.initial_setups or p.baseline)

    def _starting_point(self) -> list[Assignment] | None:
        """The baseline pushed right where needed, else the best dispatch-rule schedule."""
        if self.problem.baseline:
            return dispatch_schedule(self.problem, "EDD", baseline=self.problem.baseline)
        found = [s for rule in RULES if (s := dispatch_schedule(self.problem, rule)) is not None]
        if not found:
            return None
        if self.settings.objective == "makespan":
            return min(found, key=lambda s: max(a.end for a in s))
        return min(
            found, key=lambda s: (weighted_tardiness(self.problem, s), max(a.end for a in s))
        )

    def _hint(self, assignments: list[Assignment] | None) -> None:
        m = self.b.model
        m.clear_hints()  # type: ignore[no-untyped-call]
        if assignments is None:
            return
        chosen = {(a.job, a.operation): a for a in assignments}
        for key, built in self.b.ops.items():
            a = chosen[key]
            start = self.b.model_time(key[0], a.start)
            if isinstance(built.start, cp_model.IntVar):
                m.add_hint(built.start, start)
            for alt in built.alts:
                if alt.present is not None:
                    m.add_hint(alt.present, alt.machine == a.machine)
                if alt.machine == a.machine and isinstance(alt.start, cp_model.IntVar):
                    if alt.start is not built.start:
                        m.add_hint(alt.start, start)
        for key, machine, start, kept in self.b.kept:
            m.add_hint(kept, (chosen[key].machine, chosen[key].start) == (machine, start))

    # ───────────── results ─────────────

    def _result(self, solver: cp_model.CpSolver, status: Status) -> Solution:
        seconds = round(self.elapsed, 3)
        if status not in ("OPTIMAL", "FEASIBLE"):
            return Solution(
                status=status, reason=self._reason(status), seconds=seconds, first_solution_s=None
            )
        assignments = self._assignments(solver)
        objective, bound = solver.objective_value, solver.best_objective_bound
        gap = 0.0 if status == "OPTIMAL" or objective == 0 else (objective - bound) / abs(objective)
        kept = self.b.kept
        return Solution(
            status=status,
            objective=objective,
            best_bound=bound,
            gap=max(gap, 0.0),
            seconds=seconds,
            first_solution_s=self.first,
            best_solution_s=self.best_at,
            makespan=max(a.end for a in assignments),
            weighted_tardiness=weighted_tardiness(self.problem, assignments),
            moved=sum(1 for *_, k in kept if not solver.boolean_value(k)) if kept else None,
            assignments=tuple(assignments),
        )

    def _reason(self, status: Status) -> str:
        if status == "INFEASIBLE":
            return (
                f"the operations cannot all fit on their machines within the horizon of "
                f"{self.horizon} minutes; extend the horizon or add capacity"
            )
        work = self.settings.deterministic_limit
        within = "" if work is None else f" or the deterministic limit of {work:g}"
        return (
            f"no schedule found within the time limit of {self.settings.time_limit_s:g} s"
            f"{within}; allow more time or extend the horizon"
        )

    def _assignments(self, solver: cp_model.CpSolver) -> list[Assignment]:
        out = []
        for (j, o), built in self.b.ops.items():
            op = self.problem.jobs[j].operations[o]
            alt = next(
                a for a in built.alts if a.present is None or solver.boolean_value(a.present)
            )
            start, end = self.b.real_times(
                (j, o), alt, _value(solver, built.start), _value(solver, built.end)
            )
            working = self.problem.machines[alt.machine].working
            pieces = working.segments(start, end, op.interruption) if working else [(start, end)]
            out.append(Assignment(j, o, alt.machine, start, end, segments=tuple(pieces)))
        return with_setups(self.problem, out)


def _value(solver: cp_model.CpSolver, expr: Expr) -> int:
    return expr if isinstance(expr, int) else solver.value(expr)


def with_setups(problem: Problem, assignments: list[Assignment]) -> list[Assignment]:
    """The assignments with the setup minutes each needs before it on its machine."""
    if not problem.setups and not problem.initial_setups:
        return assignments
    previous: dict[int, str | None] = {}
    out = []
    for a in sorted(assignments, key=lambda a: (a.machine, a.start, a.end)):
        family = problem.jobs[a.job].operations[a.operation].family
        if a.machine not in previous:
            setup = problem.initial_setups.get(family or "", 0)
        elif previous[a.machine] is None or family is None:
            setup = 0
        else:
            setup = problem.setups.get((previous[a.machine] or "", family), 0)
        previous[a.machine] = family
        out.append(Assignment(a.job, a.operation, a.machine, a.start, a.end, setup, a.segments))
    return sorted(out, key=lambda a: (a.job, a.operation))


def weighted_tardiness(problem: Problem, assignments: list[Assignment]) -> int:
    """Σ weight × minutes late over the jobs with a due time."""
    ends: dict[int, int] = {}
    for a in assignments:
        ends[a.job] = max(ends.get(a.job, 0), a.end)
    return sum(
        job.weight * max(0, ends.get(j, 0) - job.due)
        for j, job in enumerate(problem.jobs)
        if job.due is not None
    )
