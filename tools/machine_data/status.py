"""Changing a machine's status: by hand within the allowed transitions, to and from
MAINTENANCE through work orders, and DOWN when its heartbeat stops."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.lifecycle import Lifecycle
from tools.core.operations import Actor, atomic, idempotent, record
from tools.maintenance.health import DEFAULT_HEARTBEAT_TIMEOUT_S, MACHINE_STATUSES, MachineStatus

# What set_machine_status may do; MAINTENANCE is entered and left through work orders only.
MACHINE_LIFECYCLE: Lifecycle[MachineStatus] = Lifecycle(
    entity="machine",
    statuses=MACHINE_STATUSES,
    moves={
        "RUNNING": frozenset({"IDLE", "DOWN", "OFFLINE"}),
        "IDLE": frozenset({"RUNNING", "DOWN", "OFFLINE"}),
        "DOWN": frozenset({"IDLE", "RUNNING", "OFFLINE"}),
        "OFFLINE": frozenset({"IDLE", "DOWN"}),
        "MAINTENANCE": frozenset(),
    },
    hints={
        "MAINTENANCE": "work orders start and end maintenance: complete or cancel its work order"
    },
)


class StatusChange(BaseModel):
    machine_id: str
    from_status: MachineStatus
    to_status: MachineStatus
    at: datetime
    reason: str


class StatusChanges(BaseModel):
    changes: list[StatusChange]


async def mark_stale_machines_down(
    conn: AsyncConn,
    actor: Actor,
    *,
    timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
    as_of: datetime | None = None,
    idempotency_key: str | None = None,
) -> list[StatusChange]:
    """Mark RUNNING and IDLE machines whose heartbeat is older than `timeout_s` DOWN.

    `as_of` (default now) is the moment the heartbeats are judged at: the simulation passes the
    time its machines last reported, so that its own pauses do not count as theirs."""
    if not timeout_s > 0:
        raise ValidationError(f"the heartbeat timeout must be positive, got {timeout_s} s")

    async def run() -> StatusChanges:
        cutoff = (as_of or clock.now()) - timedelta(seconds=timeout_s)
        cur = await conn.execute(
            "select machine_id, status, last_heartbeat_at from equipment "
            "where status in ('RUNNING', 'IDLE') "
            "and (last_heartbeat_at is null or last_heartbeat_at < %(cutoff)s) "
            "order by machine_id for update",
            {"cutoff": cutoff},
        )
        changes: list[StatusChange] = []
        for row in await cur.fetchall():
            beat = row["last_heartbeat_at"]
            reason = (
                f"no heartbeat for more than {timeout_s:g} s "
                f"(last {'never' if beat is None else beat.isoformat()})"
            )
            change = await apply_status(
                conn,
                actor,
                machine_id=row["machine_id"],
                from_status=row["status"],
                to_status="DOWN",
                reason=reason,
                event_type="machine.down",
            )
            changes.append(change)
        return StatusChanges(changes=changes)

    async with atomic(conn):
        done = await idempotent(conn, idempotency_key, "health.mark_down", StatusChanges, run)
    return done.changes


async def set_machine_status(
    conn: AsyncConn,
    actor: Actor,
    *,
    machine_id: str,
    status: str,
    reason: str,
    idempotency_key: str | None = None,
) -> StatusChange:
    """Move a machine to RUNNING, IDLE, DOWN or OFFLINE (MAINTENANCE goes by work orders)."""
    if status not in MACHINE_STATUSES:
        raise ValidationError(f"machine status {status!r} is unknown; use {MACHINE_STATUSES}")
    if not 1 <= len(reason.strip()) <= 500:
        raise ValidationError("a machine status change needs a reason of 1 to 500 characters")

    async def run() -> StatusChange:
        cur = await conn.execute(
            "select machine_id, status from equipment where machine_id = %s for update",
            (machine_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFoundError(
                f"machine {machine_id!r} does not exist; list machines",
                entity="machine",
                id=str(machine_id),
            )
        MACHINE_LIFECYCLE.check(machine_id, row["status"], status)
        event = "machine.down" if status == "DOWN" else "machine.status_changed"
        return await apply_status(
            conn,
            actor,
            machine_id=machine_id,
            from_status=row["status"],
            to_status=status,
            reason=reason.strip(),
            event_type=event,
        )

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "health.set_status", StatusChange, run)


async def apply_status(
    conn: AsyncConn,
    actor: Actor,
    *,
    machine_id: str,
    from_status: str,
    to_status: str,
    reason: str,
    event_type: str = "machine.status_changed",
) -> StatusChange:
    """Write a machine's new status with its event and audit row; the caller holds the row lock
    and has checked the transition."""
    at = clock.now()
    await conn.execute(
        "update equipment set status = %(s)s, status_changed_at = %(at)s where machine_id = %(m)s",
        {"s": to_status, "at": at, "m": machine_id},
    )
    await record(
        conn,
        actor,
        event_type=event_type,
        entity_type="equipment",
        entity_id=machine_id,
        action="set_status",
        before={"status": from_status},
        after={"status": to_status},
        payload={"from_status": from_status, "to_status": to_status, "reason": reason},
    )
    return StatusChange.model_validate(
        {
            "machine_id": machine_id,
            "from_status": from_status,
            "to_status": to_status,
            "at": at,
            "reason": reason,
        }
    )
