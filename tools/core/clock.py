"""The one source of "now" for Titan's domain code.

Three clocks share one interface:

- `SystemClock`: real wall time, for a plant run on real machines.
- `SimulatedClock`: plant time that starts at a given instant and runs `speed` times faster than
  real time; it can be paused, resumed and advanced by hand (the simulation drives it).
- `FixedClock`: stands still until a test advances it.

Domain code calls `now()`. A process's entry point (the service, the command line) chooses its
clock with `set_clock()`; a job that runs on a clock of its own inside a process (a benchmark,
an eval task, a scenario played from the command line) uses `with using(clock):`, which holds
for that job's task and the tasks and threads it starts, and for nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the plant's current time (always timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware(at)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"a clock only moves forward; got {delta}")
        self._at += delta
        return self._at


class SimulatedClock:
    """Plant time running `speed` times faster than real time from `start`."""

    def __init__(
        self,
        start: datetime,
        speed: float = 60.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._base = _aware(start)
        self._real_base = monotonic()
        self._speed = speed
        self._paused = False

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> datetime:
        if self._paused:
            return self._base
        elapsed = self._monotonic() - self._real_base
        return self._base + timedelta(seconds=elapsed * self._speed)

    def _rebase(self) -> None:
        self._base = self._now_locked()
        self._real_base = self._monotonic()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        with self._lock:
            self._rebase()
            self._speed = speed

    def pause(self) -> None:
        with self._lock:
            self._rebase()
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._real_base = self._monotonic()
            self._paused = False

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by `delta` of plant time and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"a clock only moves forward; got {delta}")
        with self._lock:
            self._rebase()
            self._base += delta
            return self._base


class FollowedClock(SimulatedClock):
    """Plant time kept by an engine in another process.

    `follow()` anchors it at what the engine last saved (its plant time, how long ago, its speed,
    whether it was paused); between anchors it runs on at the engine's speed. It never goes
    back: after the engine pauses it stands still until the engine's time passes it.
    """

    _last: datetime | None = None  # the latest time it told

    def now(self) -> datetime:
        with self._lock:
            at = self._now_locked()
            if self._last is not None and self._last > at:
                at = self._last
            self._last = at
            return at

    def follow(self, plant_time: datetime, *, age_s: float, speed: float, paused: bool) -> None:
        """Anchor at the engine's `plant_time`, saved `age_s` real seconds ago at `speed`."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        with self._lock:
            ahead = 0.0 if paused else max(age_s, 0.0) * speed
            self._base = _aware(plant_time) + timedelta(seconds=ahead)
            self._real_base = self._monotonic()
            self._speed = speed
            self._paused = paused


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"clock times must carry a timezone; got naive {at.isoformat()}")
    return at.astimezone(UTC)


_clock: Clock = SystemClock()
_scoped: ContextVar[Clock | None] = ContextVar("titan_clock", default=None)


def get_clock() -> Clock:
    """The clock in force here: a scoped one (`using`), else the process's."""
    return _scoped.get() or _clock


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """`clock` in force for the block: for this task and what it starts, not the process."""
    token = _scoped.set(clock)
    try:
        yield clock
    finally:
        _scoped.reset(token)


def set_clock(clock: Clock) -> Clock:
    """Put `clock` in force; returns the one it replaces."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def now() -> datetime:
    """The plant's current time."""
    return (_scoped.get() or _clock).now()
