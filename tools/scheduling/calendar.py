"""Shift calendars as working time in plant minutes, and where work fits into it.

A plant minute counts whole minutes from the schedule's origin (minute 0, a UTC instant).
`WorkingTime` holds a machine's *windows* (shift time, contiguous shifts merged into one
window) and the *breaks* inside them. Operations meet it in one of three ways
(`Interruption`):

- ``pause``: processing runs only in working stretches (windows less breaks); it stops at a
  break or at the end of a window and resumes at the next working minute.
- ``span_breaks``: processing runs through breaks without stopping (a furnace cycle), but
  starts in a working stretch and never crosses the end of a window.
- ``none``: processing lies inside one working stretch, never interrupted.

`working_time()` builds it from a calendar's weekly shifts, their breaks and its exceptions
(HOLIDAY and SHUTDOWN remove time, OVERTIME adds time without breaks), in the facility's time
zone, daylight saving included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

Span = tuple[int, int]  # [start, end) in plant minutes
Interruption = Literal["pause", "span_breaks", "none"]


def merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sorted, disjoint spans; spans that overlap or touch become one; empty ones vanish."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> tuple[Span, ...]:
    """`spans` less every minute of `holes` (both sorted and disjoint)."""
    out: list[Span] = []
    for start, end in spans:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
        if cursor < end:
            out.append((cursor, end))
    return tuple(out)


def intersect(spans: Sequence[Span], within: Sequence[Span]) -> tuple[Span, ...]:
    """The minutes of `spans` that lie inside `within` (both sorted and disjoint)."""
    out = [(max(a, c), min(b, d)) for a, b in spans for c, d in within if max(a, c) < min(b, d)]
    return merge(out)


@dataclass(frozen=True)
class WorkingTime:
    """When a machine works: its windows (merged shifts) and the breaks inside them."""

    windows: tuple[Span, ...]
    breaks: tuple[Span, ...] = field(default=())

    @staticmethod
    def of(windows: Iterable[Span], breaks: Iterable[Span] = ()) -> WorkingTime:
        """Normalised working time: windows merged, breaks merged and kept inside windows."""
        merged = merge(windows)
        return WorkingTime(merged, intersect(merge(breaks), merged))

    @cached_property
    def stretches(self) -> tuple[Span, ...]:
        """Uninterrupted working time: the windows less their breaks."""
        return subtract(self.windows, self.breaks)

    @property
    def minutes(self) -> int:
        """Working minutes in all (breaks excluded)."""
        return sum(end - start for start, end in self.stretches)

    def blocks(self, mode: Interruption) -> tuple[Span, ...]:
        """The spans an operation of this mode may not leave (or, pausing, works within)."""
        return self.windows if mode == "span_breaks" else self.stretches

    def without(self, blocked: Iterable[Span]) -> WorkingTime:
        """This working time less blocked spans (maintenance, a machine down)."""
        holes = merge(blocked)
        return WorkingTime(subtract(self.windows, holes), subtract(self.breaks, holes))

    def clipped(self, start: int, end: int) -> WorkingTime:
        """This working time inside [start, end)."""
        return WorkingTime.of(intersect(self.windows, [(start, end)]), self.breaks)

    def longest(self, mode: Interruption) -> int:
        """The most processing minutes one operation of this mode can get in one go."""
        if mode == "pause":
            return self.minutes
        return max((end - start for start, end in self.blocks(mode)), default=0)

    def start_ranges(self, duration: int, mode: Interruption) -> list[Span]:
        """Closed ranges [lo, hi] of start minutes where an operation of `mode` can begin.

        For ``pause`` every working minute is a start; for the others, the start leaves room to
        finish in the same block, and a ``span_breaks`` operation starts outside a break.
        """
        if mode == "pause":
            return [(a, b - 1) for a, b in self.stretches]
        ranges = [(a, b - duration) for a, b in self.blocks(mode) if b - a >= duration]
        if mode == "none":
            return ranges
        starts = [(a, b - 1) for a, b in self.stretches]
        closed = intersect([(lo, hi + 1) for lo, hi in ranges], [(a, b + 1) for a, b in starts])
        return [(lo, hi - 1) for lo, hi in closed]

    def fit(self, earliest: int, duration: int, mode: Interruption) -> Span | None:
        """The earliest (start, end) at or after `earliest`, or None if none is left."""
        if mode == "pause":
            return self._fit_pausing(earliest, duration)
        for lo, hi in self.start_ranges(duration, mode):
            if hi >= earliest:
                start = max(lo, earliest)
                return start, start + duration
        return None

    def _fit_pausing(self, earliest: int, duration: int) -> Span | None:
        start: int | None = None
        left = duration
        for a, b in self.stretches:
            if b <= earliest:
                continue
            begin = max(a, earliest)
            if start is None:
                start = begin
                if left == 0:
                    return start, start
            if b - begin >= left:
                return start, begin + left
            left -= b - begin
        return None

    def segments(self, start: int, end: int, mode: Interruption) -> list[Span]:
        """The pieces of [start, end) in which an operation of `mode` processes."""
        if mode != "pause" or start == end:
            return [(start, end)]
        return list(intersect(self.stretches, [(start, end)]))

    def working_minutes(self, start: int, end: int) -> int:
        """Working minutes (breaks excluded) inside [start, end)."""
        return sum(b - a for a, b in intersect(self.stretches, [(start, end)]))


@dataclass(frozen=True)
class Shift:
    """A weekly shift: ISO weekday, local start, length, and breaks (offset, minutes)."""

    day_of_week: int
    start: time
    minutes: int
    breaks: tuple[tuple[int, int], ...] = ()


ExceptionKind = Literal["HOLIDAY", "SHUTDOWN", "OVERTIME"]


@dataclass(frozen=True)
class CalendarException:
    """A calendar exception: HOLIDAY or SHUTDOWN (no work) or OVERTIME (extra time)."""

    kind: ExceptionKind
    starts_at: datetime
    ends_at: datetime


def minute_of(at: datetime, origin: datetime) -> int:
    """Plant minute of an instant (rounded down)."""
    return int((at - origin).total_seconds() // 60)


def working_time(
    shifts: Iterable[Shift],
    exceptions: Iterable[CalendarException],
    *,
    timezone: str,
    origin: datetime,
    horizon: int,
) -> WorkingTime:
    """A calendar's working time in [0, horizon) plant minutes from `origin`."""
    zone = ZoneInfo(timezone)
    shifts, exceptions = list(shifts), list(exceptions)
    first = origin.astimezone(zone).date() - timedelta(days=1)
    last = (origin + timedelta(minutes=horizon)).astimezone(zone).date()
    windows: list[Span] = []
    breaks: list[Span] = []
    day = first
    while day <= last:
        for shift in (s for s in shifts if s.day_of_week == day.isoweekday()):
            begins = minute_of(
                datetime.combine(day, shift.start, tzinfo=zone).astimezone(UTC), origin
            )
            windows.append((begins, begins + shift.minutes))
            breaks += [
                (begins + offset, begins + offset + length) for offset, length in shift.breaks
            ]
        day += timedelta(days=1)
    extra = [(minute_of(e.starts_at, origin), minute_of(e.ends_at, origin)) for e in exceptions]
    kinds = [e.kind for e in exceptions]
    windows += [span for span, kind in zip(extra, kinds, strict=True) if kind == "OVERTIME"]
    closed = [span for span, kind in zip(extra, kinds, strict=True) if kind != "OVERTIME"]
    whole = WorkingTime.of(windows, breaks).without(closed)
    return whole.clipped(0, horizon)
