"""Maintenance work orders and their spare parts: opening one, reading them, and the spare-part
moves every step of their life makes (`tools.maintenance.lifecycle` has the steps after opening).

Spare parts (`work_order_parts`) come from the stock of the machine's facility, through the
stock ledger's one write path (`stock_ledger.lock_levels` / `apply_changes`: levels locked in key
order, the ledger booked, low stock noted): reserved on create, topped up on schedule and start
(starting needs every part reserved), consumed on complete (a CONSUMPTION movement referencing
the work order, so the ledger keeps summing to on-hand), released on cancel. The work order's
event and audit row carry what each step moved. Rows are locked in one order everywhere: the
work order, then its machine, then stock levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.lifecycle import Lifecycle
from tools.core.operations import Actor, atomic, idempotent, record
from tools.inventory.ledger import LevelChange, apply_changes, lock_levels
from tools.maintenance.fault_types import FAULT_TYPES
from tools.maintenance.faults import classify_fault

WorkOrderStatus = Literal["OPEN", "SCHEDULED", "IN_PROGRESS", "COMPLETED", "CANCELLED"]
KINDS = ("CORRECTIVE", "PREVENTIVE", "PREDICTIVE", "INSPECTION")
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
WORK_ORDER_LIFECYCLE: Lifecycle[WorkOrderStatus] = Lifecycle(
    entity="work order",
    statuses=get_args(WorkOrderStatus),
    moves={
        "OPEN": frozenset({"SCHEDULED", "IN_PROGRESS", "CANCELLED"}),
        "SCHEDULED": frozenset({"SCHEDULED", "IN_PROGRESS", "CANCELLED"}),
        "IN_PROGRESS": frozenset({"COMPLETED"}),
        "COMPLETED": frozenset(),
        "CANCELLED": frozenset(),
    },
)
# Work orders that answer a fault; a routine PREVENTIVE or INSPECTION one does not.
FAULT_KINDS = ("CORRECTIVE", "PREDICTIVE")
# The fault to suspect from an anomaly's sensor when the signature names none.
SENSOR_FAULTS = {
    "vibration": "BEARING_DEGRADATION",
    "temperature": "MOTOR_BURNOUT",
    "spindle_load": "SPINDLE_WEAR",
    "spindle_speed": "SPINDLE_WEAR",
    "coolant_pressure": "COOLANT_FAILURE",
    "motor_current": "ELECTRICAL_FAULT",
    "power": "ELECTRICAL_FAULT",
}
Step = Literal["reserve", "release", "consume"]


class PartRequest(BaseModel):
    sku: str
    quantity: int = Field(gt=0)
    part_role: str = ""


class WorkOrderPart(BaseModel):
    sku: str
    facility_id: str
    part_role: str
    quantity: int
    reserved: int
    consumed: int
    status: Literal["PENDING", "RESERVED", "CONSUMED", "RELEASED"]


class WorkOrder(BaseModel):
    work_order_id: str
    machine_id: str
    kind: str
    priority: str
    status: WorkOrderStatus
    fault_type: str | None
    description: str
    anomaly_id: int | None
    prediction_id: int | None
    assigned_to: str | None
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    cancel_reason: str | None
    resolution: str | None
    parts: list[WorkOrderPart]

    @property
    def shortages(self) -> dict[str, int]:
        """SKU → quantity still to reserve (parts not yet consumed or released)."""
        live = (p for p in self.parts if p.status in ("PENDING", "RESERVED"))
        return {p.sku: p.quantity - p.reserved for p in live if p.reserved < p.quantity}


class FaultWorkOrder(BaseModel):
    """What `open_work_order_for_anomaly` did: `created` is False when one was open already."""

    created: bool
    work_order: WorkOrder


# ───────────────────────── reading ─────────────────────────

_COLUMNS = """w.work_order_id, w.machine_id, w.kind, w.priority, w.status, w.fault_type,
    w.description, w.anomaly_id, w.prediction_id, w.assigned_to, w.scheduled_start,
    w.scheduled_end, w.created_at, w.started_at, w.completed_at, w.cancel_reason, w.resolution,
    coalesce((select json_agg(p order by p.sku) from (select sku, facility_id, part_role,
        quantity, reserved, consumed, status from work_order_parts
        where work_order_id = w.work_order_id) p), '[]') as parts"""


async def load_work_order(conn: AsyncConn, work_order_id: str, *, lock: bool = False) -> WorkOrder:
    if lock:
        await conn.execute(
            "select 1 from work_orders where work_order_id = %s for update", (work_order_id,)
        )
    cur = await conn.execute(
        f"select {_COLUMNS} from work_orders w where w.work_order_id = %s", (work_order_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"work order {work_order_id!r} does not exist; list work orders for valid IDs"
        )
    return WorkOrder.model_validate(row)


async def get_work_order(conn: AsyncConn, work_order_id: str) -> WorkOrder:
    """One work order with its parts."""
    return await load_work_order(conn, work_order_id)


async def list_work_orders(
    conn: AsyncConn,
    *,
    machine_id: str | None = None,
    status: str | None = None,
    facility_id: str | None = None,
    limit: int = 100,
) -> list[WorkOrder]:
    """Work orders with their parts, newest first, optionally of a machine, status, facility."""
    if status is not None and status not in WORK_ORDER_LIFECYCLE.statuses:
        raise ValidationError(
            f"work order status {status!r} is unknown; use {WORK_ORDER_LIFECYCLE.statuses}"
        )
    cur = await conn.execute(
        f"select {_COLUMNS} from work_orders w join equipment e using (machine_id) "
        "where (%(m)s::text is null or w.machine_id = %(m)s) "
        "and (%(s)s::text is null or w.status = %(s)s) "
        "and (%(f)s::text is null or e.facility_id = %(f)s) "
        "order by w.created_at desc, w.work_order_id desc limit %(limit)s",
        {"m": machine_id, "s": status, "f": facility_id, "limit": limit},
    )
    return [WorkOrder.model_validate(row) for row in await cur.fetchall()]


# ───────────────────────── spare parts ─────────────────────────


async def move_parts(conn: AsyncConn, actor: Actor, wo: WorkOrder, step: Step) -> dict[str, int]:
    """Reserve what is free for the parts still short, or release or consume what they hold;
    returns SKU → quantity moved."""
    live = [p for p in wo.parts if p.status in ("PENDING", "RESERVED")]
    levels = await lock_levels(conn, keys=[(p.sku, p.facility_id) for p in live])
    changes: list[LevelChange] = []
    moved: dict[str, int] = {}
    for part in live:
        level = levels.get((part.sku, part.facility_id))
        if level is None:
            continue  # not stocked at this facility: the part stays short
        free = min(level.available, part.quantity - part.reserved)
        qty = free if step == "reserve" else part.reserved
        if qty <= 0:
            continue
        held = part.reserved + qty if step == "reserve" else 0
        status = {"reserve": "RESERVED" if held == part.quantity else "PENDING",
                  "release": "RELEASED", "consume": "CONSUMED"}[step]  # fmt: skip
        await conn.execute(
            "update work_order_parts set reserved = %(r)s, consumed = %(c)s, status = %(s)s "
            "where work_order_id = %(w)s and sku = %(sku)s",
            {"r": held, "c": qty if step == "consume" else 0, "s": status,
             "w": wo.work_order_id, "sku": part.sku},
        )  # fmt: skip
        changes.append(LevelChange(
            sku=part.sku, facility_id=part.facility_id,
            on_hand=-qty if step == "consume" else 0,
            reserved=qty if step == "reserve" else -qty,
            kind="CONSUMPTION", reference_type="work_order", reference_id=wo.work_order_id,
        ))  # fmt: skip
        moved[part.sku] = qty
    await apply_changes(conn, actor, changes)
    return moved


async def _parts_for(
    conn: AsyncConn,
    machine: dict[str, Any],
    fault_type: str | None,
    parts: Sequence[PartRequest] | None,
) -> list[PartRequest]:
    """The parts asked for (checked), or those that fix the fault on the machine's model."""
    if parts is None:
        cur = await conn.execute(
            "select sku, sum(quantity)::int as quantity, string_agg(part_role, ', ') as part_role "
            "from spare_part_compatibility where model = %s and fault_type = %s "
            "group by sku order by sku",
            (machine["model"], fault_type),
        )
        return [PartRequest.model_validate(r) for r in await cur.fetchall()]
    skus = [p.sku for p in parts]
    if len(set(skus)) != len(skus):
        raise ValidationError("a work order lists each spare part SKU once; merge the quantities")
    cur = await conn.execute("select sku from products where sku = any(%s)", (skus,))
    unknown = set(skus) - {r["sku"] for r in await cur.fetchall()}
    if unknown:
        raise NotFoundError(f"spare parts {', '.join(sorted(unknown))} are not known products")
    return list(parts)


# ───────────────────────── creating ─────────────────────────


def checked_text(name: str, value: str | None, most: int, *, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise ValidationError(f"a work order needs a {name} (1 to {most} characters)")
        return None
    if len(value.strip()) > most:
        raise ValidationError(
            f"a work order's {name} is at most {most} characters, got {len(value)}"
        )
    return value.strip()


async def lock_machine(conn: AsyncConn, machine_id: str) -> dict[str, Any]:
    cur = await conn.execute(
        "select machine_id, facility_id, model, status from equipment where machine_id = %s "
        "for update",
        (machine_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"machine {machine_id!r} does not exist; list machines for valid IDs",
            entity="machine",
            id=str(machine_id),
        )
    return row


def _check_link(what: str, row: dict[str, Any] | None, machine_id: str) -> None:
    if row is None or row["machine_id"] != machine_id:
        raise NotFoundError(f"{what} does not exist for machine {machine_id}")


async def create_work_order(
    conn: AsyncConn,
    actor: Actor,
    *,
    machine_id: str,
    kind: str,
    priority: str,
    description: str,
    fault_type: str | None = None,
    anomaly_id: int | None = None,
    prediction_id: int | None = None,
    assigned_to: str | None = None,
    parts: Sequence[PartRequest] | None = None,
    idempotency_key: str | None = None,
) -> WorkOrder:
    """Open a work order and reserve its spare parts at the machine's facility (by default the
    parts that fix `fault_type` on the machine's model); shortages are reported, not refused."""
    for name, value, allowed in (("kind", kind, KINDS), ("priority", priority, PRIORITIES)):
        if value not in allowed:
            raise ValidationError(f"work order {name} {value!r} is invalid; use {allowed}")
    if fault_type is not None and fault_type not in FAULT_TYPES:
        raise ValidationError(f"fault type {fault_type!r} is unknown; use {FAULT_TYPES}")
    text = checked_text("description", description, 2000, required=True) or ""
    who = checked_text("assignee", assigned_to, 200)

    async def run() -> WorkOrder:
        machine = await lock_machine(conn, machine_id)
        if anomaly_id is not None:
            cur = await conn.execute(
                "select machine_id from anomalies where anomaly_id = %s", (anomaly_id,)
            )
            _check_link(f"anomaly {anomaly_id}", await cur.fetchone(), machine_id)
        if prediction_id is not None:
            cur = await conn.execute(
                "select machine_id from failure_predictions where prediction_id = %s",
                (prediction_id,),
            )
            _check_link(f"prediction {prediction_id}", await cur.fetchone(), machine_id)
        wanted = await _parts_for(conn, machine, fault_type, parts)
        return await _create(
            conn, actor, machine, wanted, kind=kind, priority=priority, description=text,
            fault_type=fault_type, anomaly_id=anomaly_id, prediction_id=prediction_id,
            assigned_to=who,
        )  # fmt: skip

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "work_orders.create", WorkOrder, run)


async def _create(
    conn: AsyncConn,
    actor: Actor,
    machine: dict[str, Any],
    parts: list[PartRequest],
    **fields: Any,
) -> WorkOrder:
    cur = await conn.execute(
        "insert into work_orders (machine_id, kind, priority, fault_type, description, "
        "anomaly_id, prediction_id, assigned_to, created_at) values (%(machine_id)s, %(kind)s, "
        "%(priority)s, %(fault_type)s, %(description)s, %(anomaly_id)s, %(prediction_id)s, "
        "%(assigned_to)s, %(at)s) returning work_order_id",
        fields | {"machine_id": machine["machine_id"], "at": clock.now()},
    )
    row = await cur.fetchone()
    assert row is not None
    wo_id = row["work_order_id"]
    async with conn.cursor() as many:
        await many.executemany(
            "insert into work_order_parts (work_order_id, sku, facility_id, part_role, quantity) "
            "values (%(w)s, %(sku)s, %(f)s, %(role)s, %(q)s)",
            [{"w": wo_id, "sku": p.sku, "f": machine["facility_id"], "role": p.part_role,
              "q": p.quantity} for p in parts],
        )  # fmt: skip
    reserved = await move_parts(conn, actor, await load_work_order(conn, wo_id), "reserve")
    created = await load_work_order(conn, wo_id)
    await record(
        conn, actor, event_type="work_order.created", entity_type="work_order", entity_id=wo_id,
        action="create", after={"status": "OPEN", "kind": fields["kind"]},
        payload={"machine_id": machine["machine_id"], "facility_id": machine["facility_id"],
                 "kind": fields["kind"], "priority": fields["priority"],
                 "fault_type": fields["fault_type"], "anomaly_id": fields["anomaly_id"],
                 "parts": {p.sku: p.quantity for p in parts}, "reserved": counts_json(reserved),
                 "shortages": counts_json(created.shortages)},
    )  # fmt: skip
    return created


def counts_json(moved: dict[str, int]) -> dict[str, JsonValue]:
    return dict(moved.items())


async def open_work_order_for_anomaly(
    conn: AsyncConn, actor: Actor, *, anomaly_id: int, idempotency_key: str | None = None
) -> FaultWorkOrder:
    """A work order for an anomaly (PREDICTIVE for a trend, else CORRECTIVE; priority CRITICAL
    for a critical anomaly, else MEDIUM) with the fault from the machine's sensor signature and
    the parts that fix it. Nothing is written when the machine already has an open CORRECTIVE or
    PREDICTIVE work order: that one is returned with `created` False."""

    async def run() -> FaultWorkOrder:
        cur = await conn.execute(
            "select machine_id, sensor, kind, severity, description from anomalies "
            "where anomaly_id = %s",
            (anomaly_id,),
        )
        anomaly = await cur.fetchone()
        if anomaly is None:
            raise NotFoundError(
                f"anomaly {anomaly_id} does not exist; list anomalies",
                entity="anomaly",
                id=str(anomaly_id),
            )
        machine = await lock_machine(conn, anomaly["machine_id"])  # one opener per machine
        cur = await conn.execute(
            "select work_order_id from work_orders where machine_id = %s and status in "
            "('OPEN', 'SCHEDULED', 'IN_PROGRESS') and kind = any(%s) order by created_at limit 1",
            (machine["machine_id"], list(FAULT_KINDS)),
        )
        existing = await cur.fetchone()
        if existing is not None:
            found = await load_work_order(conn, existing["work_order_id"])
            return FaultWorkOrder(created=False, work_order=found)
        diagnosis = await classify_fault(conn, machine["machine_id"])
        flat = anomaly["kind"] == "FLATLINE"
        fault = diagnosis.fault_type or (
            "SENSOR_DRIFT" if flat else SENSOR_FAULTS[anomaly["sensor"]]
        )
        why = "; ".join(diagnosis.candidates[0].evidence) if diagnosis.fault_type else "by sensor"
        suspected = fault.lower().replace("_", " ")
        wo = await _create(
            conn, actor, machine, await _parts_for(conn, machine, fault, None),
            kind="PREDICTIVE" if anomaly["kind"] == "TREND" else "CORRECTIVE",
            priority="CRITICAL" if anomaly["severity"] == "CRITICAL" else "MEDIUM",
            description=f"{anomaly['description']}. Suspected {suspected}: {why}"[:2000],
            fault_type=fault, anomaly_id=anomaly_id, prediction_id=None, assigned_to=None,
        )  # fmt: skip
        return FaultWorkOrder(created=True, work_order=wo)

    async with atomic(conn):
        return await idempotent(
            conn, idempotency_key, "work_orders.for_anomaly", FaultWorkOrder, run
        )
