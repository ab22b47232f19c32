"""An order's traceability record: everything that made and moved it, and what is missing.

Material batches per line with their certificates, the machines and work centers that worked on
it (from batch usage and from applied schedules), its status history, stock movements that name it
or its shipments, shipments with tracking events, every event about it or its shipments (or
carrying its order_id), their audit rows, and the approvals involved with who decided them. The
gaps name what an auditor would miss: certified lines without material, material used without a
certificate in force, lines no machine is recorded for, shipped orders without shipments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, LiteralString

from pydantic import BaseModel

from tools.core import clock, events
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError
from tools.governance.audit import (
    AUDIT_COLUMNS,
    MOVEMENT_COLUMNS,
    AuditEntry,
    StockMovement,
    UsedBatch,
    line_materials,
)

MAX_EVENTS = 2000


class OrderHeader(BaseModel):
    order_id: str
    customer_id: str
    customer_name: str
    status: str
    is_rush: bool
    facility_id: str | None
    ship_to_region: str
    due_at: datetime
    created_at: datetime


class TracedLine(BaseModel):
    """An order line and the material batches (with certificates) it was made from."""

    line_no: int
    sku: str
    product_name: str
    requires_certification: bool
    quantity: int
    quantity_shipped: int
    batches: list[UsedBatch]


class MachineUse(BaseModel):
    """A machine that worked on a line: from batch usage, or from an applied schedule's slot."""

    line_no: int
    machine_id: str
    machine_name: str
    work_center_id: str
    work_center_name: str
    facility_id: str
    source: Literal["batch_usage", "schedule"]
    operation: str | None
    starts_at: datetime
    ends_at: datetime | None


class TrackingEvent(BaseModel):
    status: str
    location: str
    at: datetime
    note: str


class ShipmentTrace(BaseModel):
    shipment_id: str
    carrier_id: str
    status: str
    tracking_number: str | None
    origin_facility_id: str
    service_level: str
    shipped_at: datetime | None
    eta: datetime | None
    delivered_at: datetime | None
    lines: dict[int, int]  # line number → units in this shipment
    tracking: list[TrackingEvent]


class StatusChange(BaseModel):
    from_status: str | None
    to_status: str
    at: datetime
    actor: str
    note: str


class ApprovalRecord(BaseModel):
    """An approval touching the order, and who decided it."""

    approval_id: str
    thread_id: str
    status: str
    agent: str
    action: str
    reason: str
    requested_at: datetime
    decided_by: str | None
    decided_by_name: str | None
    decided_by_role: str | None
    decided_at: datetime | None
    decision_reason: str | None


class TraceabilityReport(BaseModel):
    """Everything that made and moved one order, and the gaps in that record."""

    order: OrderHeader
    lines: list[TracedLine]
    machines: list[MachineUse]
    work_centers: list[str]
    status_history: list[StatusChange]
    stock_movements: list[StockMovement]
    shipments: list[ShipmentTrace]
    events: list[events.Event]
    events_truncated: bool
    audit: list[AuditEntry]
    approvals: list[ApprovalRecord]
    gaps: list[str]
    generated_at: datetime


_ORDER = """
select o.order_id, o.customer_id, c.name as customer_name, o.status, o.is_rush, o.facility_id,
    o.ship_to_region, o.due_at, o.created_at,
    o.status in ('IN_PRODUCTION', 'READY', 'SHIPPED', 'DELIVERED', 'COMPLETED') or exists (
        select 1 from order_events oe where oe.order_id = o.order_id
        and oe.to_status = 'IN_PRODUCTION') as produced
from orders o join customers c on c.customer_id = o.customer_id where o.order_id = %s
"""
_LINES = """
select l.line_no, l.sku, p.name as product_name, p.requires_certification, l.quantity,
    l.quantity_shipped
from order_lines l join products p on p.sku = l.sku where l.order_id = %s order by l.line_no
"""
_MACHINES = """
select u.line_no, u.machine_id, 'batch_usage' as source, null as operation, u.used_at as starts_at,
    null::timestamptz as ends_at
from batch_usage u where u.order_id = %(order)s and u.machine_id is not null
union all
select ss.line_no, ss.machine_id, 'schedule', r.operation, ss.starts_at, ss.ends_at
from schedule_slots ss
join schedules s on s.schedule_id = ss.schedule_id and s.applied_at is not null
join order_lines l on (l.order_id, l.line_no) = (ss.order_id, ss.line_no)
left join routings r on (r.sku, r.seq) = (l.sku, ss.op_seq)
where ss.order_id = %(order)s
"""
_EVENTS = """
select event_id, type, source, entity_type, entity_id, payload, occurred_at from event_log
where (entity_type = 'order' and entity_id = %(order)s)
   or (entity_type = 'shipment' and entity_id = any(%(shipments)s))
   or (payload ? 'order_id' and payload ->> 'order_id' = %(order)s)
order by event_id limit %(limit)s
"""
_AUDIT = f"""
select {AUDIT_COLUMNS} from audit_log
where (entity_type = 'order' and entity_id = %(order)s)
   or (entity_type = 'shipment' and entity_id = any(%(shipments)s))
order by audit_id
"""
_APPROVALS = """
select a.approval_id, a.thread_id, a.status, a.agent, a.action, a.reason, a.requested_at,
    a.decided_by, u.display_name as decided_by_name, u.role as decided_by_role, a.decided_at,
    a.decision_reason
from approvals a left join users u on u.user_id = a.decided_by
where a.approval_id = any(%(approvals)s)
   or (a.arguments ? 'order_id' and a.arguments ->> 'order_id' = %(order)s)
order by a.requested_at, a.approval_id
"""


async def _rows(
    conn: AsyncConn, query: LiteralString, params: Sequence[Any] | Mapping[str, Any]
) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def order_traceability(conn: AsyncConn, order_id: str) -> TraceabilityReport:
    """The traceability record of one order, with what is missing from it."""
    cur = await conn.execute(_ORDER, (order_id,))
    head = await cur.fetchone()
    if head is None:
        raise NotFoundError(
            f"no order {order_id!r}; order IDs look like ORD-10001",
            entity="order",
            id=str(order_id),
        )
    materials = await line_materials(conn, [order_id])
    lines = [
        TracedLine.model_validate(r | {"batches": materials.get((order_id, r["line_no"]), [])})
        for r in await _rows(conn, _LINES, (order_id,))
    ]
    machines = await _machines(conn, order_id)
    shipments = await _shipments(conn, order_id)
    ids = {"order": order_id, "shipments": [s.shipment_id for s in shipments]}
    logged = [
        events.Event.model_validate(r)
        for r in await _rows(conn, _EVENTS, ids | {"limit": MAX_EVENTS + 1})
    ]
    audit = [AuditEntry.model_validate(r) for r in await _rows(conn, _AUDIT, ids)]
    approval_ids = sorted({a.approval_id for a in audit if a.approval_id})
    approval_ids += sorted(
        {str(e.payload["approval_id"]) for e in logged if "approval_id" in e.payload}
    )
    approvals = [
        ApprovalRecord.model_validate(r)
        for r in await _rows(conn, _APPROVALS, {"order": order_id, "approvals": approval_ids})
    ]
    history = [
        StatusChange.model_validate(r)
        for r in await _rows(
            conn,
            "select from_status, to_status, at, actor, note from order_events "
            "where order_id = %s order by at, order_event_id",
            (order_id,),
        )
    ]
    movements = [
        StockMovement.model_validate(r)
        for r in await _rows(
            conn,
            f"select {MOVEMENT_COLUMNS} from stock_movements "
            "where reference_id = any(%(refs)s) order by at, movement_id",
            {"refs": [order_id, *ids["shipments"]]},
        )
    ]
    return TraceabilityReport(
        order=OrderHeader.model_validate(head),
        lines=lines,
        machines=machines,
        work_centers=sorted({m.work_center_id for m in machines}),
        status_history=history,
        stock_movements=movements,
        shipments=shipments,
        events=logged[:MAX_EVENTS],
        events_truncated=len(logged) > MAX_EVENTS,
        audit=audit,
        approvals=approvals,
        gaps=_gaps(head, lines, machines, shipments),
        generated_at=clock.now(),
    )


async def _machines(conn: AsyncConn, order_id: str) -> list[MachineUse]:
    cur = await conn.execute(
        "select m.*, e.name as machine_name, e.work_center_id, w.name as work_center_name, "
        f"e.facility_id from ({_MACHINES}) m join equipment e on e.machine_id = m.machine_id "
        "join work_centers w on w.work_center_id = e.work_center_id "
        "order by m.line_no, m.starts_at, m.machine_id",
        {"order": order_id},
    )
    return [MachineUse.model_validate(r) for r in await cur.fetchall()]


async def _shipments(conn: AsyncConn, order_id: str) -> list[ShipmentTrace]:
    cur = await conn.execute(
        "select s.shipment_id, s.carrier_id, s.status, s.tracking_number, s.origin_facility_id, "
        "s.service_level, s.shipped_at, s.eta, s.delivered_at, "
        "coalesce((select jsonb_object_agg(sl.line_no, sl.quantity) from shipment_lines sl "
        "          where sl.shipment_id = s.shipment_id), '{}') as lines, "
        "coalesce((select jsonb_agg(jsonb_build_object('status', se.status, 'location', "
        "          se.location, 'at', se.at, 'note', se.note) order by se.at, "
        "          se.shipment_event_id) from shipment_events se "
        "          where se.shipment_id = s.shipment_id), '[]') as tracking "
        "from shipments s where s.order_id = %s order by s.created_at, s.shipment_id",
        (order_id,),
    )
    return [ShipmentTrace.model_validate(r) for r in await cur.fetchall()]


def _gaps(
    head: Mapping[str, Any],
    lines: list[TracedLine],
    machines: list[MachineUse],
    shipments: list[ShipmentTrace],
) -> list[str]:
    gaps: list[str] = []
    if head["produced"]:
        worked = {m.line_no for m in machines}
        for line in lines:
            label = f"line {line.line_no} ({line.sku})"
            if line.requires_certification and not line.batches:
                gaps.append(f"{label}: no material batch is recorded for a certified product")
            for b in line.batches:
                if not b.certified_on_use():
                    gaps.append(
                        f"{label}: batch {b.batch_id} had no certificate in force when used on "
                        f"{b.used_at.astimezone(UTC).date().isoformat()}"
                    )
            if line.line_no not in worked:
                gaps.append(f"{label}: no machine is recorded as having worked on it")
    if head["status"] in ("SHIPPED", "DELIVERED", "COMPLETED") and not shipments:
        gaps.append(f"the order is {head['status']} but has no shipment")
    return gaps
