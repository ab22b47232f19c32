"""The plant clock: real, simulated and fixed time behind one `now()`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from tools.core import clock

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_simulated_time_runs_speed_times_faster_than_real_time() -> None:
    real = FakeMonotonic()
    sim = clock.SimulatedClock(START, speed=60, monotonic=real)

    real.t += 10  # ten real seconds

    assert sim.now() == START + timedelta(minutes=10)


def test_a_paused_simulated_clock_stands_still_and_resumes_where_it_stopped() -> None:
    real = FakeMonotonic()
    sim = clock.SimulatedClock(START, speed=60, monotonic=real)
    real.t += 1
    sim.pause()
    real.t += 100

    assert sim.now() == START + timedelta(minutes=1)
    sim.resume()
    real.t += 1
    assert sim.now() == START + timedelta(minutes=2)


def test_changing_speed_keeps_the_time_already_elapsed() -> None:
    real = FakeMonotonic()
    sim = clock.SimulatedClock(START, speed=60, monotonic=real)
    real.t += 1
    sim.set_speed(3600)
    real.t += 1

    assert sim.now() == START + timedelta(minutes=1, hours=1)


def test_a_simulated_clock_can_be_driven_forward_but_not_back() -> None:
    sim = clock.SimulatedClock(START, speed=1, monotonic=FakeMonotonic())

    assert sim.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    with pytest.raises(ValueError, match="only moves forward"):
        sim.advance(timedelta(seconds=-1))


def test_the_clock_in_force_answers_now_and_can_be_swapped_back() -> None:
    fixed = clock.FixedClock(START)
    previous = clock.set_clock(fixed)
    try:
        assert clock.now() == START
        fixed.advance(timedelta(minutes=5))
        assert clock.now() == START + timedelta(minutes=5)
    finally:
        clock.set_clock(previous)
    assert isinstance(clock.get_clock(), clock.SystemClock)


def test_naive_times_and_non_positive_speeds_are_refused() -> None:
    with pytest.raises(ValueError, match="must carry a timezone"):
        clock.FixedClock(datetime(2026, 3, 2, 6, 0))
    with pytest.raises(ValueError, match="speed must be positive"):
        clock.SimulatedClock(START, speed=0)


def test_a_followed_clock_runs_on_from_the_engines_saved_time_at_its_speed() -> None:
    real = FakeMonotonic()
    followed = clock.FollowedClock(START, speed=60, monotonic=real)

    followed.follow(START + timedelta(hours=1), age_s=2, speed=120, paused=False)
    assert followed.now() == START + timedelta(hours=1, minutes=4)  # saved 2 s ago at 120×
    real.t += 1
    assert followed.now() == START + timedelta(hours=1, minutes=6)


def test_a_followed_clock_stands_still_while_the_engine_is_paused_and_never_goes_back() -> None:
    real = FakeMonotonic()
    followed = clock.FollowedClock(START, speed=60, monotonic=real)
    real.t += 10
    assert followed.now() == START + timedelta(minutes=10)

    # The engine paused at minute 8: this clock had run past it, so it waits there.
    followed.follow(START + timedelta(minutes=8), age_s=5, speed=60, paused=True)
    real.t += 100
    assert followed.now() == START + timedelta(minutes=10)

    # Resumed: it moves again once the engine's time passes where it stood.
    followed.follow(START + timedelta(minutes=8), age_s=0, speed=60, paused=False)
    real.t += 60
    assert followed.now() == START + timedelta(minutes=68)


def test_a_followed_clock_refuses_a_speed_that_is_not_positive() -> None:
    followed = clock.FollowedClock(START)

    with pytest.raises(ValueError, match="speed must be positive, got 0"):
        followed.follow(START, age_s=0, speed=0, paused=False)


@pytest.mark.anyio
async def test_a_scoped_clock_holds_for_its_job_and_what_it_starts_not_for_others() -> None:
    job_clock = clock.FixedClock(START)
    previous = clock.set_clock(clock.FixedClock(START + timedelta(days=30)))
    seen: dict[str, datetime] = {}

    async def elsewhere(started: anyio.Event, checked: anyio.Event) -> None:
        await started.wait()
        seen["elsewhere"] = clock.now()  # a task started outside the scope
        checked.set()

    try:
        started, checked = anyio.Event(), anyio.Event()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(elsewhere, started, checked)
            with clock.using(job_clock):
                seen["job"] = clock.now()
                seen["thread"] = await anyio.to_thread.run_sync(clock.now)
                started.set()
                await checked.wait()
        seen["after"] = clock.now()
    finally:
        clock.set_clock(previous)

    assert seen["job"] == seen["thread"] == START
    assert seen["elsewhere"] == seen["after"] == START + timedelta(days=30)
