"""The scheduling model on plain data: benchmark optima, calendars, setups, objectives, errors."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.core.errors import ValidationError
from tools.scheduling.axis import Axis
from tools.scheduling.calendar import Shift, WorkingTime, working_time
from tools.scheduling.dispatch import RULES, dispatch_schedule, makespan
from tools.scheduling.formats import parse_flexible, parse_taillard, read_instance
from tools.scheduling.problem import (
    Alternative,
    Assignment,
    Job,
    Machine,
    Operation,
    Pin,
    Problem,
    Solution,
    SolveSettings,
)
from tools.scheduling.solver import solve

DATA = Path(__file__).parent / "data" / "scheduling"
QUICK = SolveSettings(time_limit_s=10, workers=2, seed=0)


def check_schedule(problem: Problem, solution: Solution) -> None:
    """Every operation once, on one of its machines, in job order, no two at once on a machine."""
    assert solution.found
    placed = {(a.job, a.operation): a for a in solution.assignments}
    assert len(placed) == sum(len(j.operations) for j in problem.jobs)
    for j, job in enumerate(problem.jobs):
        for o, op in enumerate(job.operations):
            a = placed[j, o]
            assert a.machine in {alt.machine for alt in op.alternatives} or op.pin
            assert a.start >= job.release
            if o:
                assert a.start >= placed[j, o - 1].end
    by_machine: dict[int, list[Assignment]] = {}
    for a in solution.assignments:
        by_machine.setdefault(a.machine, []).append(a)
    for runs in by_machine.values():
        runs.sort(key=lambda a: a.start)
        for before, after in zip(runs, runs[1:], strict=False):
            assert after.start >= before.end


def job(name: str, *ops: Operation, **kw: int) -> Job:
    return Job(name, tuple(ops), **kw)


def op(*alternatives: tuple[int, int], **kw: object) -> Operation:
    return Operation(tuple(Alternative(m, d) for m, d in alternatives), **kw)  # type: ignore[arg-type]


# ───────────── benchmark instances ─────────────


def test_ft06_solves_to_its_known_optimum_of_55() -> None:
    problem = read_instance(DATA / "ft06").problem()

    solution = solve(problem, QUICK)

    assert solution.status == "OPTIMAL"
    assert solution.makespan == 55
    assert solution.first_solution_s is not None and solution.best_solution_s is not None
    check_schedule(problem, solution)


def test_a_deterministic_limit_with_one_worker_stops_at_the_same_schedule_every_run() -> None:
    rng = random.Random(7)
    problem = Problem(
        machines=tuple(Machine(f"M{m}") for m in range(10)),
        jobs=tuple(
            job(f"J{j}", *(op((m, rng.randint(1, 99))) for m in rng.sample(range(10), 10)))
            for j in range(20)
        ),
    )
    # a wall-clock limit far beyond the work allowed, so that only the work decides
    limited = SolveSettings(time_limit_s=120, workers=1, seed=0, deterministic_limit=0.2)

    first, again = solve(problem, limited), solve(problem, limited)

    check_schedule(problem, first)
    assert first.status == "FEASIBLE"  # a 20 × 10 job shop needs more work to prove optimal
    assert (again.status, again.makespan, again.assignments) == (
        first.status, first.makespan, first.assignments
    )  # fmt: skip


@pytest.mark.parametrize(("name", "optimum"), [("la01", 666), ("mk01.fjs", 40)])
def test_small_job_shop_and_flexible_instances_solve_to_their_known_optima(
    name: str, optimum: int
) -> None:
    problem = read_instance(DATA / name).problem()

    solution = solve(problem, QUICK)

    assert (solution.status, solution.makespan) == ("OPTIMAL", optimum)
    assert solution.gap == 0.0
    check_schedule(problem, solution)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(min_value=2, max_value=4).flatmap(
        lambda m: st.lists(
            st.permutations(list(range(m))).flatmap(
                lambda order: st.tuples(
                    st.just(order), st.lists(st.integers(1, 9), min_size=m, max_size=m)
                )
            ),
            min_size=2,
            max_size=4,
        )
    )
)
def test_random_job_shops_solve_between_the_lower_bound_and_every_dispatch_rule(
    jobs: list[tuple[list[int], list[int]]],
) -> None:
    machines = len(jobs[0][0])
    problem = Problem(
        machines=tuple(Machine(f"M{m}") for m in range(machines)),
        jobs=tuple(
            job(f"J{j}", *(op((m, d)) for m, d in zip(order, times, strict=True)))
            for j, (order, times) in enumerate(jobs)
        ),
    )

    solution = solve(problem, QUICK)

    check_schedule(problem, solution)
    assert solution.status == "OPTIMAL" and solution.makespan is not None
    loads = [sum(d for order, times in jobs for m, d in zip(order, times, strict=True) if m == k)
             for k in range(machines)]  # fmt: skip
    assert solution.makespan >= max(max(sum(t) for _, t in jobs), *loads)
    for rule in RULES:
        schedule = dispatch_schedule(problem, rule)
        assert schedule is not None and makespan(schedule) >= solution.makespan


# ───────────── calendars ─────────────

# Two 8-hour windows a day apart, each with a 30-minute break four hours in.
DAYS = WorkingTime.of([(0, 480), (1440, 1920)], [(240, 270), (1680, 1710)])


def test_a_pausing_operation_stops_over_breaks_and_nights_and_works_only_in_shifts() -> None:
    problem = Problem(
        machines=(Machine("M0", DAYS),),
        jobs=(job("J0", op((0, 600), interruption="pause")),),
        horizon=2880,
    )

    solution = solve(problem, QUICK)

    (a,) = solution.assignments
    assert (a.start, a.end) == (0, 1590)
    assert list(a.segments) == [(0, 240), (270, 480), (1440, 1590)]
    assert sum(e - s for s, e in a.segments) == 600


def test_an_operation_that_may_span_breaks_runs_through_them_but_stays_in_its_window() -> None:
    problem = Problem(
        machines=(Machine("M0", DAYS),),
        jobs=(
            job("first", op((0, 100), interruption="pause")),
            job("furnace", op((0, 400), interruption="span_breaks")),
        ),
        horizon=2880,
    )

    solution = solve(problem, SolveSettings(time_limit_s=10))

    furnace = next(a for a in solution.assignments if a.job == 1)
    assert furnace.end - furnace.start == 400
    assert any(s <= furnace.start and furnace.end <= e for s, e in DAYS.windows)
    check_schedule(problem, solution)


def test_an_uninterruptible_operation_fits_one_stretch_without_a_break() -> None:
    problem = Problem(
        machines=(Machine("M0", DAYS),),
        jobs=(job("J0", op((0, 230), interruption="none"), release=10),),
        horizon=2880,
    )

    solution = solve(problem, QUICK)

    (a,) = solution.assignments
    assert (a.start, a.end) == (10, 240)


def test_no_operation_runs_while_its_machine_is_unavailable() -> None:
    always = WorkingTime.of([(0, 5000)])
    problem = Problem(
        machines=(Machine("M0", always, unavailable=((50, 200),)),),
        jobs=(job("J0", op((0, 100))), job("J1", op((0, 30)))),
        horizon=5000,
    )

    solution = solve(problem, QUICK)

    for a in solution.assignments:
        assert a.end <= 50 or a.start >= 200
    assert solution.makespan == 300


def test_jobs_across_machines_with_different_calendars_keep_order_and_shifts() -> None:
    early = WorkingTime.of([(0, 300), (1440, 1740)], [(120, 150)])
    late = WorkingTime.of([(600, 900), (2040, 2340)])
    problem = Problem(
        machines=(Machine("early", early), Machine("late", late)),
        jobs=(
            job("A", op((0, 200)), op((1, 250))),
            job("B", op((1, 100)), op((0, 120), interruption="none")),
        ),
        horizon=2880,
    )

    solution = solve(problem, QUICK)

    check_schedule(problem, solution)
    for a in solution.assignments:
        calendar = early if a.machine == 0 else late
        assert all(calendar.working_minutes(s, e) == e - s for s, e in a.segments)
        duration = problem.jobs[a.job].operations[a.operation].alternatives[0].duration
        assert sum(e - s for s, e in a.segments) == duration


def test_shifts_follow_local_time_across_the_change_to_summer_time() -> None:
    origin = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)  # a Friday; Berlin springs forward on the 29th
    shifts = [Shift(d, time(6, 0), 480, ((240, 30),)) for d in range(1, 6)]

    working = working_time(shifts, [], timezone="Europe/Berlin", origin=origin, horizon=4 * 1440)

    assert working.windows == ((300, 780), (4560, 5040))  # 05:00 UTC Friday, 04:00 UTC Monday
    assert working.breaks == ((540, 570), (4800, 4830))


def test_working_minutes_map_to_real_minutes_and_back() -> None:
    axis = Axis(DAYS)

    assert [axis.to_model(r) for r in (0, 240, 250, 270, 480, 1000, 1440)] == [
        0, 240, 240, 240, 450, 450, 450,
    ]  # fmt: skip
    assert axis.start_real(240) == 270 and axis.end_real(240) == 240
    assert axis.start_real(450) == 1440 and axis.end_real(450) == 480


# ───────────── setups, objectives, baselines, pins ─────────────


def test_sequence_dependent_setups_group_families_and_leave_their_gaps() -> None:
    problem = Problem(
        machines=(Machine("M0"),),
        jobs=tuple(job(f"J{n}", op((0, 10), family=f)) for n, f in enumerate("ABAB")),
        setups={("A", "B"): 25, ("B", "A"): 25},
        initial_setups={"A": 5, "B": 5},
    )

    solution = solve(problem, QUICK)

    assert solution.status == "OPTIMAL" and solution.makespan == 5 + 40 + 25
    runs = sorted(solution.assignments, key=lambda a: a.start)
    for before, after in zip(runs, runs[1:], strict=False):
        assert after.start - before.end >= after.setup
    assert sorted(a.setup for a in runs) == [0, 0, 5, 25]


def test_a_running_operation_leads_its_machine_without_a_new_setup() -> None:
    problem = Problem(
        machines=(Machine("M0"),),
        jobs=(
            job("running", op((0, 5), family="A", pin=Pin(0, -2, 3))),
            job("other", op((0, 5), family="B")),
            job("same", op((0, 5), family="A")),
        ),
        setups={("A", "B"): 7, ("B", "A"): 7},
        initial_setups={"A": 4, "B": 4},
    )

    solution = solve(problem, QUICK)

    assert solution.status == "OPTIMAL" and solution.makespan == 20
    assert [(a.start, a.end) for a in solution.assignments] == [(-2, 3), (15, 20), (3, 8)]


# Johnson's two-machine flow shop: "normal" first gives the shortest makespan (12); "rush",
# due at 11 and heavy, is on time only if it goes first.
JOHNSON = Problem(
    machines=(Machine("M1"), Machine("M2")),
    jobs=(
        job("normal", op((0, 1)), op((1, 10)), due=100, weight=1),
        job("rush", op((0, 10)), op((1, 1)), due=11, weight=25),
    ),
)


def test_the_rush_job_finishes_earlier_under_weighted_tardiness_than_under_makespan() -> None:
    by_makespan = solve(JOHNSON, SolveSettings(objective="makespan"))
    by_tardiness = solve(JOHNSON, SolveSettings(objective="weighted_tardiness"))

    def rush_end(s: Solution) -> int:
        return max(a.end for a in s.assignments if a.job == 1)

    assert by_makespan.makespan == 12 and rush_end(by_makespan) == 12
    assert by_tardiness.weighted_tardiness == 0 and rush_end(by_tardiness) == 11


def test_lexicographic_keeps_the_best_tardiness_then_shortens_the_makespan() -> None:
    solution = solve(JOHNSON, SolveSettings(objective="lexicographic"))

    assert solution.status == "OPTIMAL"
    assert (solution.weighted_tardiness, solution.makespan) == (0, 21)


def test_a_baseline_that_still_fits_is_kept_in_full() -> None:
    first = solve(JOHNSON, SolveSettings(objective="weighted_tardiness"))
    base = {(a.job, a.operation): (a.machine, a.start) for a in first.assignments}
    problem = Problem(JOHNSON.machines, JOHNSON.jobs, baseline=base, move_penalty=1000)

    again = solve(problem, SolveSettings(objective="makespan"))

    assert again.moved == 0
    assert {(a.job, a.operation): (a.machine, a.start) for a in again.assignments} == base


def test_a_pinned_operation_stays_where_it_runs() -> None:
    problem = Problem(
        machines=(Machine("M0"), Machine("M1")),
        jobs=(
            job("running", Operation((Alternative(0, 5), Alternative(1, 5)), pin=Pin(1, -3, 2))),
            job("next", op((1, 4))),
        ),
    )

    solution = solve(problem, QUICK)

    pinned = next(a for a in solution.assignments if a.job == 0)
    assert (pinned.machine, pinned.start, pinned.end) == (1, -3, 2)
    assert next(a for a in solution.assignments if a.job == 1).start >= 2


# ───────────── bad input and infeasible requests ─────────────


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (Problem((Machine("M0"),), (Job("J0", ()),)), "empty routing"),
        (Problem((Machine("M0"),), (job("J0", op((0, -5))),)), "negative duration"),
        (Problem((Machine("M0"),), (job("J0", op((3, 5))),)), "unknown machine 3"),
        (Problem((Machine("M0"),), (job("J0", Operation(())),)), "no machine to run on"),
        (
            Problem((Machine("M0", WorkingTime.of([])),), (job("J0", op((0, 5))),), horizon=100),
            "zero-capacity calendar",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(problem: Problem, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        solve(problem, QUICK)


def test_an_operation_longer_than_any_stretch_makes_the_request_infeasible_and_says_why() -> None:
    problem = Problem(
        machines=(Machine("M0", DAYS),),
        jobs=(job("J0", op((0, 300), interruption="none", name="grind")),),
        horizon=2880,
    )

    solution = solve(problem, QUICK)

    assert solution.status == "INFEASIBLE"
    assert solution.reason is not None
    assert "grind" in solution.reason and "M0 needs 300 min" in solution.reason


def test_work_that_cannot_fit_the_horizon_is_infeasible_and_says_extend_it() -> None:
    problem = Problem(
        machines=(Machine("M0", DAYS),),
        jobs=(job("J0", op((0, 600)), op((0, 600))),),
        horizon=2880,
    )

    solution = solve(problem, QUICK)

    assert solution.status == "INFEASIBLE"
    assert solution.reason is not None and "extend the horizon" in solution.reason


# ───────────── instance formats ─────────────


def test_taillard_files_and_zero_based_flexible_files_are_read() -> None:
    taillard = parse_taillard(
        "Nb of jobs, Nb of Machines\n2 2\nTimes\n3 4\n5 6\nMachines\n1 2\n2 1\n", "tiny"
    )
    flexible = parse_flexible("2 2\n1 2 0 3 1 4\n2 1 1 5 1 0 6\n", "tiny")

    assert taillard.jobs == (((( 0, 3),), ((1, 4),)), (((1, 5),), ((0, 6),)))  # fmt: skip
    assert flexible.jobs == ((((0, 3), (1, 4)),), (((1, 5),), ((0, 6),)))
    assert solve(taillard.problem(), QUICK).makespan == 11


def test_a_file_in_no_known_format_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken"
    bad.write_text("3 2\n0 5 1\n")

    with pytest.raises(ValidationError, match="broken"):
        read_instance(bad)
