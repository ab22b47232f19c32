"""A work order's life after it is opened: scheduled, started, completed or cancelled.

    OPEN ──schedule──► SCHEDULED ──start──► IN_PROGRESS ──complete──► COMPLETED
    OPEN ──start──► IN_PROGRESS          SCHEDULED ──schedule──► SCHEDULED (a new window)
    OPEN, SCHEDULED ──cancel──► CANCELLED

Each step moves the spare parts (`work_orders.move_parts`): topped up on schedule and start
(starting needs every part reserved), consumed on complete, released on cancel. Starting puts
the machine in MAINTENANCE; completing the last work order in progress on it puts it back to
IDLE with `last_maintenance_at` set, and resolves its unresolved anomalies. Rows are locked in
one order everywhere: the work order, then its machine, then stock levels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import (
    ConflictError,
    InsufficientStockError,
    InvalidTransitionError,
    ValidationError,
)
from tools.core.operations import Actor, atomic, idempotent, record
from tools.machine_data.status import apply_status
from tools.maintenance.anomalies import change_anomaly_status
from tools.maintenance.work_orders import (
    WORK_ORDER_LIFECYCLE,
    WorkOrder,
    checked_text,
    counts_json,
    load_work_order,
    lock_machine,
    move_parts,
)


def _check_transition(wo: WorkOrder, to: str, verb: str) -> None:
    WORK_ORDER_LIFECYCLE.check(wo.work_order_id, wo.status, to, verb=f"be {verb}")


async def _transition(
    conn: AsyncConn,
    actor: Actor,
    wo: WorkOrder,
    to: str,
    sets: dict[str, Any],
    payload: dict[str, JsonValue],
) -> WorkOrder:
    """Write the new status and columns of a locked work order, with its event and audit row."""
    columns = ", ".join(f"{column} = %({column})s" for column in sets)
    await conn.execute(
        f"update work_orders set status = %(status)s, {columns} where work_order_id = %(wo)s",
        {"status": to, "wo": wo.work_order_id, **sets},
    )
    event = {"SCHEDULED": "scheduled", "IN_PROGRESS": "started", "COMPLETED": "completed",
             "CANCELLED": "cancelled"}[to]  # fmt: skip
    await record(
        conn, actor, event_type=f"work_order.{event}", entity_type="work_order",
        entity_id=wo.work_order_id, action=event, before={"status": wo.status},
        after={"status": to}, payload={"machine_id": wo.machine_id, **payload},
    )  # fmt: skip
    return await load_work_order(conn, wo.work_order_id)


async def schedule_work_order(
    conn: AsyncConn,
    actor: Actor,
    *,
    work_order_id: str,
    starts_at: datetime,
    ends_at: datetime,
    assigned_to: str | None = None,
    idempotency_key: str | None = None,
) -> WorkOrder:
    """Give a work order its maintenance window (again, to reschedule) and top up its parts."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationError("a maintenance window's times need a timezone")
    if ends_at <= starts_at:
        raise ValidationError(
            f"a maintenance window must end after it starts ({starts_at} to {ends_at})"
        )
    who = checked_text("assignee", assigned_to, 200)

    async def run() -> WorkOrder:
        wo = await load_work_order(conn, work_order_id, lock=True)
        _check_transition(wo, "SCHEDULED", "scheduled")
        if ends_at <= clock.now():
            raise ValidationError(f"the window for {work_order_id} ends in the past ({ends_at})")
        cur = await conn.execute(
            "select work_order_id from work_orders where machine_id = %(m)s and status = "
            "'SCHEDULED' and work_order_id <> %(w)s and tstzrange(scheduled_start, scheduled_end) "
            "&& tstzrange(%(s)s, %(e)s) order by scheduled_start limit 1",
            {"m": wo.machine_id, "w": work_order_id, "s": starts_at, "e": ends_at},
        )
        clash = await cur.fetchone()
        if clash:
            raise ConflictError(
                f"{wo.machine_id} already has work order {clash['work_order_id']} scheduled in "
                f"that window; choose a window that does not overlap it"
            )
        reserved = await move_parts(conn, actor, wo, "reserve")
        sets = {"scheduled_start": starts_at, "scheduled_end": ends_at,
                "assigned_to": who or wo.assigned_to}  # fmt: skip
        payload: dict[str, JsonValue] = {"starts_at": starts_at.isoformat(),
                                         "ends_at": ends_at.isoformat(),
                                         "reserved": counts_json(reserved)}  # fmt: skip
        return await _transition(conn, actor, wo, "SCHEDULED", sets, payload)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "work_orders.schedule", WorkOrder, run)


async def start_work_order(
    conn: AsyncConn, actor: Actor, *, work_order_id: str, idempotency_key: str | None = None
) -> WorkOrder:
    """Start the work: every part reserved (or InsufficientStockError), machine in MAINTENANCE."""

    async def run() -> WorkOrder:
        wo = await load_work_order(conn, work_order_id, lock=True)
        _check_transition(wo, "IN_PROGRESS", "started")
        machine = await lock_machine(conn, wo.machine_id)  # locks: work order, machine, stock
        reserved = await move_parts(conn, actor, wo, "reserve")
        short = (await load_work_order(conn, work_order_id)).shortages
        if short:
            missing = ", ".join(f"{q} x {sku}" for sku, q in short.items())
            raise InsufficientStockError(
                f"work order {work_order_id} cannot start: {missing} not free at "
                f"{wo.parts[0].facility_id}; receive or transfer them, or change its parts"
            )
        payload: dict[str, JsonValue] = {"reserved": counts_json(reserved)}
        started = await _transition(
            conn, actor, wo, "IN_PROGRESS", {"started_at": clock.now()}, payload
        )
        if machine["status"] != "MAINTENANCE":
            await apply_status(
                conn, actor, machine_id=wo.machine_id, from_status=machine["status"],
                to_status="MAINTENANCE", reason=f"work order {work_order_id} started",
            )  # fmt: skip
        return started

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "work_orders.start", WorkOrder, run)


async def complete_work_order(
    conn: AsyncConn,
    actor: Actor,
    *,
    work_order_id: str,
    resolution: str,
    idempotency_key: str | None = None,
) -> WorkOrder:
    """Finish the work: parts consumed; with no other work in progress on it the machine goes
    back to IDLE, maintained now, and its unresolved anomalies are resolved."""
    text = checked_text("resolution", resolution, 2000, required=True)

    async def run() -> WorkOrder:
        wo = await load_work_order(conn, work_order_id, lock=True)
        _check_transition(wo, "COMPLETED", "completed")
        machine = await lock_machine(conn, wo.machine_id)  # locks: work order, machine, stock
        consumed = await move_parts(conn, actor, wo, "consume")
        now = clock.now()
        sets = {"completed_at": now, "resolution": text}
        done = await _transition(
            conn, actor, wo, "COMPLETED", sets, {"consumed": counts_json(consumed)}
        )
        cur = await conn.execute(
            "select 1 from work_orders where machine_id = %s and status = 'IN_PROGRESS'",
            (wo.machine_id,),
        )
        if machine["status"] != "MAINTENANCE" or await cur.fetchone() is not None:
            return done
        await conn.execute(
            "update equipment set last_maintenance_at = %s where machine_id = %s",
            (now, wo.machine_id),
        )
        await apply_status(
            conn, actor, machine_id=wo.machine_id, from_status="MAINTENANCE", to_status="IDLE",
            reason=f"work order {work_order_id} completed",
        )  # fmt: skip
        cur = await conn.execute(
            "select anomaly_id from anomalies where machine_id = %s and status <> 'RESOLVED' "
            "order by anomaly_id",
            (wo.machine_id,),
        )
        for row in await cur.fetchall():
            await change_anomaly_status(
                conn, actor, anomaly_id=row["anomaly_id"], status="RESOLVED",
                note=f"work order {work_order_id} completed",
            )  # fmt: skip
        return done

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "work_orders.complete", WorkOrder, run)


async def cancel_work_order(
    conn: AsyncConn,
    actor: Actor,
    *,
    work_order_id: str,
    reason: str,
    idempotency_key: str | None = None,
) -> WorkOrder:
    """Cancel a work order that has not started; its reserved parts go back to free stock."""
    text = checked_text("cancellation reason", reason, 500, required=True)

    async def run() -> WorkOrder:
        wo = await load_work_order(conn, work_order_id, lock=True)
        if wo.status == "IN_PROGRESS":
            raise InvalidTransitionError(
                f"work order {work_order_id} is IN_PROGRESS and cannot be cancelled; complete it "
                "(saying what was done) to return the machine to service"
            )
        _check_transition(wo, "CANCELLED", "cancelled")
        released = await move_parts(conn, actor, wo, "release")
        payload: dict[str, JsonValue] = {"reason": text, "released": counts_json(released)}
        return await _transition(conn, actor, wo, "CANCELLED", {"cancel_reason": text}, payload)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "work_orders.cancel", WorkOrder, run)


# ───────────────────────── for the reactors ─────────────────────────
