"""Live streams over Server-Sent Events: the event log, and sensor readings as they arrive.

Every SSE message carries its event-log ID as `id:`; a client that reconnects with
`Last-Event-ID` gets everything after it, in order. Without one a stream starts with the next
event (or after `after`, when given).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from api.http.auth import needs
from api.http.errors import JSON_ERRORS
from api.http.service import Service, service_of
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.core import events
from tools.core.event_cursor import EventCursor

router = APIRouter(tags=["live"])

PAGE = 500
GAP_POLL_S = 0.25  # how often a stream held back by an uncommitted event looks again
READINGS_EVENT = "sensor.readings_recorded"

TypePrefix = Annotated[
    str | None,
    Query(
        alias="type",
        pattern=r"^[a-z][a-z_]*(\.[a-z_]*)*$",
        max_length=100,
        description="Only events whose type starts with this, such as `order.` or `sensor.`.",
    ),
]
After = Annotated[
    int | None,
    Query(ge=0, le=2**63 - 1, description="Start after this event ID (0: from the first)."),
]
LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", pattern=r"^\d{1,18}$", description="Resume after this ID."),
]


async def _start(service: Service, last_event_id: str | None, after: int | None) -> int:
    """The cursor a stream starts from: Last-Event-ID, else `after`, else the newest event."""
    if last_event_id is not None:
        return int(last_event_id)
    if after is not None:
        return after
    async with service.pool.connection() as conn, conn.transaction():
        cur = await conn.execute("select coalesce(max(event_id), 0) as newest from event_log")
        row = await cur.fetchone()
    return int(row["newest"]) if row else 0


async def _follow(
    service: Service, cursor: int, type_prefix: str | None
) -> AsyncIterator[events.Event]:
    """Events after `cursor`, in ID order, waiting for new ones until the service stops. An
    event that commits after a later one is not skipped (see `EventCursor`)."""
    reader = EventCursor(cursor, type_prefix=type_prefix)
    async with service.hub.waiter() as waiter:  # before the first read: no commit slips by
        while True:
            async with service.pool.connection() as conn, conn.transaction():
                batch = await reader.read(conn, limit=PAGE)
            for event in batch:
                yield event
            if reader.behind:
                continue
            poll = GAP_POLL_S if reader.waiting_on_gap else None
            if not await waiter.wait(poll):
                return


@router.get(
    "/events/stream",
    response_class=EventSourceResponse,
    responses=JSON_ERRORS,
    summary="Stream events",
)
async def event_stream(
    request: Request,
    _: Annotated[Principal, needs(P.REPORT_VIEW)],
    type_prefix: TypePrefix = None,
    entity_type: Annotated[str | None, Query(max_length=100)] = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    after: After = None,
    last_event_id: LastEventId = None,
) -> AsyncIterator[ServerSentEvent]:
    """The event log as it grows: one SSE message per event (`event:` its type, `id:` its ID,
    `data:` the event), filtered by type prefix and entity."""
    service = service_of(request)
    cursor = await _start(service, last_event_id, after)
    async for event in _follow(service, cursor, type_prefix):
        if entity_type is not None and event.entity_type != entity_type:
            continue
        if entity_id is not None and event.entity_id != entity_id:
            continue
        yield ServerSentEvent(
            id=str(event.event_id), event=event.type, data=event.model_dump(mode="json")
        )


class SensorReading(BaseModel):
    machine_id: str
    sensor: str
    ts: datetime
    value: float
    unit: str


class ReadingBatch(BaseModel):
    """The readings one recorded batch brought, for the machines asked for."""

    event_id: int
    batch_id: str
    readings: list[SensorReading]


_READINGS = """
select machine_id, sensor, ts, value, unit from sensor_readings
where machine_id = any(%(machines)s) and ts between %(first)s and %(last)s
order by ts, machine_id, sensor
"""


async def _batch(service: Service, event: events.Event, machines: set[str] | None) -> ReadingBatch:
    payload = event.payload
    per_machine = payload.get("per_machine")
    wanted = sorted(per_machine) if isinstance(per_machine, dict) else []
    if machines is not None:
        wanted = [m for m in wanted if m in machines]
    found: list[SensorReading] = []
    if wanted:
        async with service.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                _READINGS,
                {
                    "machines": wanted,
                    "first": payload.get("first_ts"),
                    "last": payload.get("last_ts"),
                },
            )
            found = [SensorReading.model_validate(r) for r in await cur.fetchall()]
    return ReadingBatch(event_id=event.event_id, batch_id=str(event.entity_id), readings=found)


@router.get(
    "/sensors/stream",
    response_class=EventSourceResponse,
    responses=JSON_ERRORS,
    summary="Stream readings",
)
async def sensor_stream(
    request: Request,
    _: Annotated[Principal, needs(P.MACHINE_VIEW)],
    machine: Annotated[
        list[str] | None, Query(max_length=50, description="Only these machines (repeatable).")
    ] = None,
    after: After = None,
    last_event_id: LastEventId = None,
) -> AsyncIterator[ServerSentEvent]:
    """Sensor readings as they are recorded: one `readings` message per recorded batch that
    has readings of the machines asked for (`id:` the batch's event ID)."""
    service = service_of(request)
    machines = set(machine) if machine else None
    cursor = await _start(service, last_event_id, after)
    async for event in _follow(service, cursor, READINGS_EVENT):
        batch = await _batch(service, event, machines)
        if batch.readings:
            yield ServerSentEvent(
                id=str(event.event_id), event="readings", data=batch.model_dump(mode="json")
            )
