"""Machine data from a plant's own feed (MQTT, OPC UA), stored in one transaction per batch.

A batch holds messages already parsed against the payload contract
(`tools.machine_data.contract`) and the messages that could not be parsed. `store_feed` checks what
only the database knows — that the machine exists and stands in the facility the topic names —
and each reading's sensor, unit, range and time (`sensors.reading_problem`). A message is used
whole or not at all: one that fails goes to the dead letters (`tools.machine_data.dead_letters`)
with its reason, and the others are stored:

- readings in bulk, idempotent on (machine, sensor, time), so a repeated delivery changes
  nothing; one `sensor.readings_recorded` event and audit row per batch, as the simulation's
  batches leave;
- heartbeats move `equipment.last_heartbeat_at` forward (never back);
- production messages carry the shift's cumulative parts and defects: the counter of the shift
  at the message's time is raised to them (`production.record_production`), never lowered, so a
  repeated or late message changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import TitanError
from tools.core.operations import Actor, record
from tools.machine_data.dead_letters import DeadLetter, DeadLetterKind, store_dead_letters
from tools.machine_data.production import record_production, shift_at
from tools.machine_data.sensors import FUTURE_TOLERANCE, Reading, move_heartbeats, reading_problem
from tools.machine_data.sensors import store_new_readings as store_readings

log = logging.getLogger(__name__)

MessageKind = Literal["sensors", "heartbeat", "production"]


class FeedMessage(BaseModel):
    """One message that matched the payload contract, with where it came from."""

    source: str
    topic: str
    payload: str = Field(description="The raw payload, kept for a dead letter.")
    received_at: datetime
    kind: MessageKind
    facility_id: str
    machine_id: str
    readings: list[Reading] = Field(default_factory=list)
    ts: datetime | None = None
    parts_produced: int | None = None
    parts_defective: int | None = None


class FeedStored(BaseModel):
    """What one batch did."""

    messages: int = 0
    stored: int = 0
    readings: int = 0
    duplicates: int = 0
    heartbeats: int = 0
    production: int = 0
    dead_letters: dict[str, int] = Field(default_factory=dict)
    machines_with_readings: list[str] = Field(default_factory=list)


async def store_feed(
    conn: AsyncConn,
    actor: Actor,
    *,
    messages: Sequence[FeedMessage],
    rejected: Sequence[DeadLetter] = (),
) -> FeedStored:
    """What the batch stored and what went to the dead letters; one transaction."""
    async with conn.transaction():
        return await _store(conn, actor, messages, list(rejected))


async def _store(
    conn: AsyncConn, actor: Actor, messages: Sequence[FeedMessage], dead: list[DeadLetter]
) -> FeedStored:
    facilities = await _facilities(conn, {m.machine_id for m in messages})
    latest = clock.now() + FUTURE_TOLERANCE
    good: list[FeedMessage] = []
    for m in messages:
        problem = _problem(m, facilities, latest)
        if problem is None:
            good.append(m)
        else:
            dead.append(_dead(m, *problem))
    readings = [r for m in good if m.kind == "sensors" for r in m.readings]
    new = await store_readings(conn, readings)
    beats: dict[str, datetime] = {}
    for m in good:
        if m.kind == "heartbeat" and m.ts is not None:
            beats[m.machine_id] = max(m.ts, beats.get(m.machine_id, m.ts))
    await move_heartbeats(conn, beats)
    counted = 0
    for m in [m for m in good if m.kind == "production"]:
        refused = await _production(conn, actor, m)
        if refused is None:
            counted += 1
        else:
            good.remove(m)
            dead.append(_dead(m, "rejected", refused))
    if readings:
        await _summary(conn, actor, readings, new)
    await store_dead_letters(conn, dead)
    return FeedStored(
        messages=len(good) + len(dead),
        stored=len(good),
        readings=new,
        duplicates=len(readings) - new,
        heartbeats=sum(1 for m in good if m.kind == "heartbeat"),
        production=counted,
        dead_letters=dict(Counter(d.kind for d in dead)),
        machines_with_readings=sorted({r.machine_id for r in readings}),
    )


async def _facilities(conn: AsyncConn, machine_ids: set[str]) -> dict[str, str]:
    if not machine_ids:
        return {}
    cur = await conn.execute(
        "select machine_id, facility_id from equipment where machine_id = any(%(ids)s)",
        {"ids": sorted(machine_ids)},
    )
    return {row["machine_id"]: row["facility_id"] for row in await cur.fetchall()}


def _problem(
    m: FeedMessage, facilities: dict[str, str], latest: datetime
) -> tuple[DeadLetterKind, str] | None:
    where = facilities.get(m.machine_id)
    if where is None:
        return "unknown_machine", f"machine {m.machine_id!r} does not exist"
    if where != m.facility_id:
        return "unknown_machine", (
            f"machine {m.machine_id} stands in facility {where}, not {m.facility_id}"
        )
    if m.ts is not None and m.ts > latest:
        return "future_time", (
            f"time {m.ts.isoformat()} is in the future; machine clocks may be at most "
            f"{FUTURE_TOLERANCE} ahead of the plant clock"
        )
    seen: set[tuple[str, datetime]] = set()
    for i, r in enumerate(m.readings):
        found = reading_problem(r, latest)
        if found is not None:
            return found[0], f"reading {i}: {found[1]}"
        if (r.sensor, r.ts) in seen:
            return "invalid_field", (
                f"reading {i}: {r.sensor} at {r.ts.isoformat()} appears twice in the message; "
                "each sensor has one reading per instant"
            )
        seen.add((r.sensor, r.ts))
    return None


def _dead(m: FeedMessage, kind: DeadLetterKind, reason: str) -> DeadLetter:
    return DeadLetter(
        source=m.source,
        topic=m.topic,
        payload=m.payload,
        kind=kind,
        reason=reason,
        received_at=m.received_at,
    )


async def _production(conn: AsyncConn, actor: Actor, m: FeedMessage) -> str | None:
    """Raise the shift's counter to the message's totals; why not, when it cannot."""
    at = m.ts or m.received_at
    produced, defective = m.parts_produced or 0, m.parts_defective or 0
    try:
        shift = await shift_at(conn, m.machine_id, at=at)
        cur = await conn.execute(
            "select parts_produced, parts_defective from production_counters "
            "where machine_id = %(m)s and shift_date = %(d)s and shift_name = %(n)s",
            {"m": m.machine_id, "d": shift.shift_date, "n": shift.shift_name},
        )
        row = await cur.fetchone()
        before = (row["parts_produced"], row["parts_defective"]) if row else (0, 0)
        add_produced = max(0, produced - before[0])
        add_defective = max(0, defective - before[1])
        if add_produced or add_defective:
            await record_production(
                conn,
                actor,
                machine_id=m.machine_id,
                parts_produced=add_produced,
                parts_defective=add_defective,
                at=at,
            )
    except TitanError as exc:
        return str(exc)
    return None


async def _summary(conn: AsyncConn, actor: Actor, readings: Sequence[Reading], new: int) -> None:
    stamps = [r.ts for r in readings]
    batch_id = f"feed-{uuid.uuid4().hex[:16]}"
    summary: dict[str, JsonValue] = {
        "batch_id": batch_id,
        "readings": new,
        "repeated": len(readings) - new,
        "machines": len({r.machine_id for r in readings}),
        "first_ts": min(stamps).isoformat(),
        "last_ts": max(stamps).isoformat(),
        "per_machine": dict(Counter(r.machine_id for r in readings)),
        "per_sensor": dict(Counter(r.sensor for r in readings)),
    }
    await record(
        conn,
        actor,
        event_type="sensor.readings_recorded",
        entity_type="sensor_batch",
        entity_id=batch_id,
        action="ingest_readings",
        after=summary,
        payload=summary,
    )
