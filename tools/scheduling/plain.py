"""The textbook CP-SAT models of the job shop and the flexible job shop, for comparison.

Written as the OR-Tools examples write them (``jobshop_sat.py``, ``flexible_job_shop_sat.py``),
independently of Titan's model, so that the benchmark can show what Titan's model costs over
them on the same instance with the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from tools.scheduling.formats import Instance
from tools.scheduling.problem import SolveSettings


@dataclass(frozen=True)
class PlainRun:
    status: str
    makespan: int | None
    bound: float | None
    seconds: float
    first_solution_s: float | None
    best_solution_s: float | None


class _Timer(cp_model.CpSolverSolutionCallback):
    def __init__(self) -> None:
        super().__init__()
        self.first: float | None = None
        self.best_at: float | None = None

    def on_solution_callback(self) -> None:
        if self.first is None:
            self.first = self.wall_time
        self.best_at = self.wall_time


def plain_model(instance: Instance) -> cp_model.CpModel:
    """The textbook model of the instance, minimising the makespan."""
    model = cp_model.CpModel()
    horizon = sum(max(d for _, d in op) for job in instance.jobs for op in job)
    on_machine: dict[int, list[cp_model.IntervalVar]] = {}
    ends: list[cp_model.IntVar] = []
    for job in instance.jobs:
        previous: cp_model.IntVar | None = None
        for choices in job:
            if len(choices) == 1:
                start, end = _task(model, horizon, choices[0], on_machine)
            else:
                start, end = _flexible_task(model, horizon, choices, on_machine)
            if previous is not None:
                model.add(start >= previous)
            previous = end
        assert previous is not None
        ends.append(previous)
    for machine in sorted(on_machine):
        model.add_no_overlap(on_machine[machine])
    makespan = model.new_int_var(0, horizon, "")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    return model


def solve_plain(instance: Instance, settings: SolveSettings) -> PlainRun:
    """Solve the instance with the textbook model for its kind; minimise the makespan."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = settings.workers
    solver.parameters.max_time_in_seconds = settings.time_limit_s
    if settings.deterministic_limit is not None:
        solver.parameters.max_deterministic_time = settings.deterministic_limit
    solver.parameters.random_seed = settings.seed
    timer = _Timer()
    status = solver.status_name(solver.solve(plain_model(instance), timer))
    found = status in ("OPTIMAL", "FEASIBLE")
    return PlainRun(
        status=status,
        makespan=int(solver.objective_value) if found else None,
        bound=solver.best_objective_bound if found else None,
        seconds=round(solver.wall_time, 3),
        first_solution_s=timer.first,
        best_solution_s=timer.best_at,
    )


def _task(
    model: cp_model.CpModel,
    horizon: int,
    choice: tuple[int, int],
    on_machine: dict[int, list[cp_model.IntervalVar]],
) -> tuple[cp_model.IntVar, cp_model.IntVar]:
    machine, duration = choice
    start, end = model.new_int_var(0, horizon, ""), model.new_int_var(0, horizon, "")
    on_machine.setdefault(machine, []).append(model.new_interval_var(start, duration, end, ""))
    return start, end


def _flexible_task(
    model: cp_model.CpModel,
    horizon: int,
    choices: tuple[tuple[int, int], ...],
    on_machine: dict[int, list[cp_model.IntervalVar]],
) -> tuple[cp_model.IntVar, cp_model.IntVar]:
    shortest, longest = min(d for _, d in choices), max(d for _, d in choices)
    start = model.new_int_var(0, horizon, "")
    duration = model.new_int_var(shortest, longest, "")
    end = model.new_int_var(0, horizon, "")
    model.new_interval_var(start, duration, end, "")
    presences = []
    for machine, d in choices:
        present = model.new_bool_var("")
        l_start, l_end = model.new_int_var(0, horizon, ""), model.new_int_var(0, horizon, "")
        interval = model.new_optional_interval_var(l_start, d, l_end, present, "")
        model.add(start == l_start).only_enforce_if(present)
        model.add(duration == d).only_enforce_if(present)
        model.add(end == l_end).only_enforce_if(present)
        on_machine.setdefault(machine, []).append(interval)
        presences.append(present)
    model.add_exactly_one(presences)
    return start, end
