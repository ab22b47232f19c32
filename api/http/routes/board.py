"""Reads for the console's plant board: OEE per facility, each machine's recent sensor readings
for its sparklines, and the latest events to open the event log with. None changes anything."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, StringConstraints

from api.http.auth import needs
from api.http.service import service_of
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.core import clock
from tools.core.events import Event
from tools.core.limits import MACHINE_ID
from tools.machine_data import production
from tools.machine_data.production import OeeFigures
from tools.machine_data.sensors import SENSORS

router = APIRouter(tags=["plant"])


class FacilityOee(BaseModel):
    """A facility's OEE over the shifts of a period, with availability, performance, quality."""

    facility_id: str
    name: str
    start: date
    end: date
    figures: OeeFigures


class SensorPoint(BaseModel):
    ts: datetime
    value: float


class SensorSeries(BaseModel):
    """One sensor of one machine: its newest readings, oldest first."""

    machine_id: str
    sensor: str
    unit: str
    points: list[SensorPoint]


class RecentEvents(BaseModel):
    """The latest events, oldest first, and the event ID to resume the live stream after."""

    newest_event_id: int
    events: list[Event]


_NEWEST = "select coalesce(max(event_id), 0) as newest from event_log"
_RECENT = """
select event_id, type, source, entity_type, entity_id, payload, occurred_at from event_log
where event_id <= %(newest)s and (%(readings)s or type <> 'sensor.readings_recorded')
order by event_id desc limit %(limit)s
"""

_FACILITIES = "select facility_id, name from facilities order by facility_id"

# Per machine and sensor, the newest readings through the primary key (machine, sensor, ts).
_HISTORY = """
select e.machine_id, s.sensor, r.unit, r.ts, r.value
from equipment e
cross join unnest(%(sensors)s::text[]) as s(sensor)
cross join lateral (
    select unit, ts, value from sensor_readings
    where machine_id = e.machine_id and sensor = s.sensor
    order by ts desc limit %(points)s
) r
where %(machines)s::text[] is null or e.machine_id = any(%(machines)s)
order by e.machine_id, s.sensor, r.ts
"""


@router.get("/facilities/oee", response_model=list[FacilityOee], summary="OEE per facility")
async def facility_oee(
    request: Request,
    _: Annotated[Principal, needs(P.MACHINE_VIEW)],
    days: Annotated[int, Query(ge=1, le=90, description="Shift days, ending today.")] = 7,
) -> list[FacilityOee]:
    """Every facility's OEE over the shifts of the last `days` plant days (today included)."""
    end = clock.now().date()
    start = end - timedelta(days=days - 1)
    async with service_of(request).pool.connection() as conn, conn.transaction():
        cur = await conn.execute(_FACILITIES)
        facilities = await cur.fetchall()
        found = []
        for row in facilities:
            report = await production.oee(
                conn, start=start, end=end, facility_id=row["facility_id"]
            )
            found.append(
                FacilityOee(
                    facility_id=row["facility_id"],
                    name=row["name"],
                    start=start,
                    end=end,
                    figures=report.total,
                )
            )
    return found


@router.get("/sensors/history", response_model=list[SensorSeries], summary="Recent sensor readings")
async def sensor_history(
    request: Request,
    _: Annotated[Principal, needs(P.MACHINE_VIEW)],
    machine: Annotated[
        list[Annotated[str, StringConstraints(pattern=MACHINE_ID)]] | None,
        Query(max_length=50, description="Only these machines (repeatable), e.g. PHX-CNC-007."),
    ] = None,
    points: Annotated[int, Query(ge=2, le=500, description="Readings per sensor.")] = 40,
) -> list[SensorSeries]:
    """The newest `points` readings of every sensor of every machine (or those named), oldest
    first; sensors with no readings are left out."""
    series: dict[tuple[str, str], SensorSeries] = {}
    async with service_of(request).pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            _HISTORY, {"sensors": list(SENSORS), "points": points, "machines": machine}
        )
        for row in await cur.fetchall():
            key = (row["machine_id"], row["sensor"])
            if key not in series:
                series[key] = SensorSeries(
                    machine_id=row["machine_id"], sensor=row["sensor"], unit=row["unit"], points=[]
                )
            series[key].points.append(SensorPoint(ts=row["ts"], value=row["value"]))
    return list(series.values())


@router.get("/events/recent", response_model=RecentEvents, summary="The latest events")
async def recent_events(
    request: Request,
    _: Annotated[Principal, needs(P.REPORT_VIEW)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    readings: Annotated[
        bool, Query(description="Include the sensor reading batches (one per engine step).")
    ] = False,
) -> RecentEvents:
    """The latest `limit` events, oldest first; follow on with `/events/stream` sending
    `Last-Event-ID: newest_event_id`, and nothing is missed or repeated."""
    async with service_of(request).pool.connection() as conn, conn.transaction():
        cur = await conn.execute(_NEWEST)
        row = await cur.fetchone()
        newest = int(row["newest"]) if row else 0
        cur = await conn.execute(_RECENT, {"newest": newest, "readings": readings, "limit": limit})
        found = [Event.model_validate(r) for r in await cur.fetchall()]
    return RecentEvents(newest_event_id=newest, events=found[::-1])
