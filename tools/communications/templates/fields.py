"""The fields a notification template can use: an entity's own, read by its type and ID.

Each entity type below has one query whose columns are the fields; an entity type not listed
gives only the event's own fields. A stock entity (`stock_level`) has the ID `<SKU>@<facility>`
(also `/` or `:`), or a bare SKU with the facility in the event payload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import LiteralString

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError

_MACHINE_COLUMNS = """e.machine_id, e.name as machine_name, e.facility_id, f.name as facility_name,
    e.work_center_id, w.name as work_center_name, e.model, e.status as machine_status"""
_MACHINE_JOINS = """join facilities f on f.facility_id = e.facility_id
    join work_centers w on w.work_center_id = e.work_center_id"""

_ORDER = """
select o.order_id, o.customer_id, c.name as customer_name, c.contact_email, o.status, o.priority,
    o.is_rush, o.facility_id, f.name as facility_name, o.ship_to_region, o.due_at, o.created_at,
    o.hold_reason, o.cancel_reason, o.notes,
    (select count(*) from order_lines l where l.order_id = o.order_id) as line_count,
    (select coalesce(sum(l.quantity * l.unit_price), 0) from order_lines l
     where l.order_id = o.order_id) as order_value,
    (select coalesce(string_agg(cc.requirement, ', ' order by cc.requirement), 'none')
     from customer_compliance cc where cc.customer_id = o.customer_id) as compliance,
    (select string_agg(format('- %%s x %%s (%%s)', l.quantity, p.name, l.sku), e'\\n'
                       order by l.line_no)
     from order_lines l join products p on p.sku = l.sku where l.order_id = o.order_id) as lines
from orders o
join customers c on c.customer_id = o.customer_id
left join facilities f on f.facility_id = o.facility_id
where o.order_id = %(id)s
"""

_SHIPMENT = """
select s.shipment_id, s.order_id, o.customer_id, c.name as customer_name, c.contact_email,
    s.carrier_id, ca.name as carrier_name, s.tracking_number, s.service_level, s.status, s.eta,
    s.shipped_at, s.delivered_at, s.origin_facility_id as facility_id, f.city as origin_city,
    s.destination_region, s.weight_kg, ev.location as last_location, ev.note as last_note,
    ev.at as last_event_at,
    (select coalesce(to_jsonb(se) ->> 'reason', se.note) from shipment_events se
     where se.shipment_id = s.shipment_id and se.status = 'DELAYED'
     order by se.at desc, se.shipment_event_id desc limit 1) as delay_reason,
    (select string_agg(format('- %%s x %%s (%%s)', sl.quantity, p.name, l.sku), e'\\n'
                       order by sl.line_no)
     from shipment_lines sl
     join order_lines l on (l.order_id, l.line_no) = (sl.order_id, sl.line_no)
     join products p on p.sku = l.sku
     where sl.shipment_id = s.shipment_id) as lines
from shipments s
join orders o on o.order_id = s.order_id
join customers c on c.customer_id = o.customer_id
join carriers ca on ca.carrier_id = s.carrier_id
join facilities f on f.facility_id = s.origin_facility_id
left join lateral (
    select location, note, at from shipment_events se where se.shipment_id = s.shipment_id
    order by at desc, shipment_event_id desc limit 1
) ev on true
where s.shipment_id = %(id)s
"""

_MACHINE = f"""
select {_MACHINE_COLUMNS}, a.anomaly_id, a.sensor, a.kind as anomaly_kind, a.severity, a.value,
    a.threshold, a.detected_at, a.description as anomaly_description
from equipment e {_MACHINE_JOINS}
left join lateral (
    select * from anomalies an where an.machine_id = e.machine_id
    order by detected_at desc, anomaly_id desc limit 1
) a on true
where e.machine_id = %(id)s
"""

_ANOMALY = f"""
select a.anomaly_id, a.sensor, a.kind as anomaly_kind, a.severity, a.value, a.threshold,
    a.detected_at, a.status, a.description as anomaly_description, {_MACHINE_COLUMNS}
from anomalies a join equipment e on e.machine_id = a.machine_id {_MACHINE_JOINS}
where a.anomaly_id::text = %(id)s
"""

_WORK_ORDER = f"""
select wo.work_order_id, wo.kind, wo.priority, wo.status, wo.fault_type, wo.description,
    wo.assigned_to, wo.scheduled_start, wo.scheduled_end, wo.created_at, {_MACHINE_COLUMNS}
from work_orders wo join equipment e on e.machine_id = wo.machine_id {_MACHINE_JOINS}
where wo.work_order_id = %(id)s
"""

_PURCHASE_ORDER = """
select po.po_id, po.supplier_id, s.name as supplier_name, s.contact_email as supplier_email,
    po.sku, p.name as product_name, po.facility_id, po.quantity, po.unit_price,
    po.quantity * po.unit_price as po_value, po.status, po.ordered_at, po.expected_at,
    po.received_at, po.delay_reason
from purchase_orders po
join suppliers s on s.supplier_id = po.supplier_id
join products p on p.sku = po.sku
where po.po_id = %(id)s
"""

_STOCK = """
select p.sku, p.name as product_name, p.category, sl.facility_id, sl.on_hand, sl.reserved,
    sl.on_hand - sl.reserved as available, sl.reorder_point, sl.reorder_quantity
from products p
left join stock_levels sl on sl.sku = p.sku and sl.facility_id = %(facility)s
where p.sku = %(id)s
"""

_INQUIRY = """
select i.inquiry_id, i.customer_id, c.name as customer_name, c.contact_email, i.order_id,
    i.channel as inquiry_channel, i.kind, i.subject as inquiry_subject, i.status, i.received_at,
    i.answered_at, i.response
from customer_inquiries i join customers c on c.customer_id = i.customer_id
where i.inquiry_id = %(id)s
"""

_CUSTOMER = """
select customer_id, name as customer_name, contact_email, region, priority,
    contract_valid_until
from customers where customer_id = %(id)s
"""

_APPROVAL = """
select approval_id, thread_id, agent, action, reason, required_role,
    coalesce(requested_by, 'the agents') as requested_by, requested_at, status
from approvals where approval_id = %(id)s
"""

_QUERIES: dict[str, LiteralString] = {
    "approval": _APPROVAL,
    "order": _ORDER,
    "shipment": _SHIPMENT,
    "machine": _MACHINE,
    "equipment": _MACHINE,
    "anomaly": _ANOMALY,
    "work_order": _WORK_ORDER,
    "purchase_order": _PURCHASE_ORDER,
    "stock": _STOCK,
    "stock_level": _STOCK,
    "product": _STOCK,
    "inquiry": _INQUIRY,
    "customer": _CUSTOMER,
}
ENTITY_TYPES = tuple(_QUERIES)

_FACILITY = re.compile(r"^[A-Z]{3}$")


def _stock_key(entity_id: str, hints: Mapping[str, object]) -> tuple[str, str | None]:
    parts = re.split(r"[@/:]", entity_id)
    if len(parts) == 2:
        first, second = parts
        return (second, first) if _FACILITY.match(first) else (first, second)
    facility = hints.get("facility_id")
    return entity_id, facility if isinstance(facility, str) else None


async def entity_fields(
    conn: AsyncConn, entity_type: str, entity_id: str, *, hints: Mapping[str, object] | None = None
) -> dict[str, object]:
    """The fields of the entity (empty for an entity type without a query).

    `hints` (the event payload) supplies what the ID leaves out, such as a stock entity's
    facility. An ID of a listed entity type that names nothing is a NotFoundError.
    """
    query = _QUERIES.get(entity_type)
    if query is None:
        return {}
    params: dict[str, object] = {"id": entity_id, "facility": None}
    if entity_type in ("stock", "stock_level", "product"):
        params["id"], params["facility"] = _stock_key(entity_id, hints or {})
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"no {entity_type} {entity_id!r}: there is nothing to notify about; check the "
            f"{entity_type} ID"
        )
    fields: dict[str, object] = dict(row)
    for name, value in row.items():
        if isinstance(value, datetime) and name.endswith("_at"):
            fields[name.removesuffix("_at") + "_date"] = value.astimezone(UTC).date()
    eta = fields.get("eta")
    if isinstance(eta, datetime):
        fields["eta_date"] = eta.astimezone(UTC).date()
    return fields


async def message_fields(
    conn: AsyncConn,
    event_type: str,
    entity_type: str,
    entity_id: str,
    extra: Mapping[str, object],
) -> dict[str, object]:
    """Everything a template may use: the event's type and entity, the entity's fields, and
    `extra` (the event's payload), which wins over the entity's stored values."""
    fields: dict[str, object] = {
        "event_type": event_type,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "now": clock.now(),
    }
    fields.update(await entity_fields(conn, entity_type, entity_id, hints=extra))
    # the event's own facts (a new ETA, a reason) are fresher than the entity's stored ones;
    # an empty one does not hide a stored value
    fields.update(
        {k: v for k, v in extra.items() if v is not None and not isinstance(v, dict | list)}
    )
    for name, value in extra.items():
        if name == "eta" or name.endswith("_at"):
            when = _as_time(value)
            if when is not None:
                fields[name.removesuffix("_at") + "_date"] = when.astimezone(UTC).date()
    return fields


def _as_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.utcoffset() is not None else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.utcoffset() is not None else None
    return None
