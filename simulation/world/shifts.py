"""The shifts worked over a span of the past, per calendar, for writing history in bulk.

The same rules as `tools.machine_data.production.shift_at`, unrolled over a span: each weekly shift
on its weekday in the facility's local time (a night shift belongs to the day it starts), less its
breaks; HOLIDAY and SHUTDOWN exceptions remove the shifts they overlap; an OVERTIME exception
is a shift of its own, named OVERTIME.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from simulation.context import rows
from tools.core.db import AsyncConn


@dataclass(frozen=True)
class ShiftSpan:
    calendar_id: str
    shift_date: date
    shift_name: str
    starts_at: datetime
    ends_at: datetime
    breaks: tuple[tuple[datetime, datetime], ...]

    @property
    def planned_minutes(self) -> int:
        worked = self.ends_at - self.starts_at - sum((e - s for s, e in self.breaks), timedelta())
        return int(worked.total_seconds() // 60)


_SHIFTS = """
select c.calendar_id, f.timezone, s.name, s.day_of_week, s.start_time, s.duration_minutes,
    coalesce(array_agg(array[b.offset_minutes, b.duration_minutes])
             filter (where b.shift_id is not null), '{}') as breaks
from shift_calendars c
join facilities f on f.facility_id = c.facility_id
join shifts s on s.calendar_id = c.calendar_id
left join shift_breaks b on b.shift_id = s.shift_id
group by c.calendar_id, f.timezone, s.shift_id
order by c.calendar_id, s.day_of_week, s.start_time
"""
_EXCEPTIONS = """
select calendar_id, kind, starts_at, ends_at from calendar_exceptions
where ends_at > %(since)s and starts_at < %(until)s order by calendar_id, starts_at
"""


async def shift_spans(
    conn: AsyncConn, since: datetime, until: datetime
) -> dict[str, list[ShiftSpan]]:
    """Calendar → the shifts that overlap [since, until), in time order."""
    found: dict[str, list[ShiftSpan]] = {}
    for s in await rows(conn, _SHIFTS):
        tz = ZoneInfo(s["timezone"])
        day = since.astimezone(tz).date() - timedelta(days=1)
        while day <= until.astimezone(tz).date():
            if day.isoweekday() == s["day_of_week"]:
                starts = datetime.combine(day, s["start_time"], tzinfo=tz)
                ends = starts + timedelta(minutes=s["duration_minutes"])
                if ends > since and starts < until:
                    pauses = tuple(
                        (starts + timedelta(minutes=o), starts + timedelta(minutes=o + m))
                        for o, m in s["breaks"]
                    )
                    found.setdefault(s["calendar_id"], []).append(
                        ShiftSpan(s["calendar_id"], day, s["name"], starts, ends, pauses)
                    )
            day += timedelta(days=1)
    for e in await rows(conn, _EXCEPTIONS, {"since": since, "until": until}):
        spans = found.setdefault(e["calendar_id"], [])
        kept = [x for x in spans if not (x.starts_at < e["ends_at"] and x.ends_at > e["starts_at"])]
        if e["kind"] == "OVERTIME":
            kept = spans
            kept.append(
                ShiftSpan(
                    e["calendar_id"],
                    e["starts_at"].date(),
                    "OVERTIME",
                    e["starts_at"],
                    e["ends_at"],
                    (),
                )
            )
        found[e["calendar_id"]] = kept
    for spans in found.values():
        spans.sort(key=lambda x: x.starts_at)
    return found
