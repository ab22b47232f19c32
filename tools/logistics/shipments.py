"""Shipments: created for a READY order from the stock held for it, read and listed.

One shipment leaves from each facility holding the order's stock (a split reservation gives a
split shipment), weighing its units' product weights, with the carrier and service level asked
for or else the cheapest rate (for a rush order the cheapest of the fastest). Stock leaves the
books when the carrier picks a shipment up (`tools.logistics.tracking`), not when it is created:
until then a shipment can be cancelled and its stock is still held for the order. Units already
on an open shipment are not shipped again.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ConflictError, InvalidTransitionError, NotFoundError, ValidationError
from tools.core.limits import check_page
from tools.core.operations import Actor, atomic, idempotent, record
from tools.logistics.rates import CENT, Quote, ServiceLevel, choose, quotes
from tools.orders.lifecycle import OrderHeader, lock_order

ShipmentStatus = Literal[
    "CREATED",
    "LABEL_PRINTED",
    "PICKED_UP",
    "IN_TRANSIT",
    "DELAYED",
    "OUT_FOR_DELIVERY",
    "DELIVERED",
    "EXCEPTION",
    "CANCELLED",
]
SHIPMENT_STATUSES: tuple[ShipmentStatus, ...] = get_args(ShipmentStatus)
# Not yet with the carrier: the stock is still in the building and still held for the order.
AT_DOCK: tuple[ShipmentStatus, ...] = ("CREATED", "LABEL_PRINTED")


class ShipmentLine(BaseModel):
    """Units of one order line on a shipment."""

    line_no: int
    sku: str
    quantity: int


class TrackingEvent(BaseModel):
    """One scan of a shipment: where it was, when, and why when it went wrong."""

    shipment_event_id: int
    status: str
    location: str
    at: datetime
    note: str
    reason: str | None


class Shipment(BaseModel):
    """A shipment with its lines and tracking history, oldest first."""

    shipment_id: str
    order_id: str
    carrier_id: str
    origin_facility_id: str
    destination_region: str
    service_level: ServiceLevel
    status: ShipmentStatus
    tracking_number: str | None
    weight_kg: Decimal
    cost: Decimal
    created_at: datetime
    shipped_at: datetime | None
    eta: datetime | None
    delivered_at: datetime | None
    lines: list[ShipmentLine]
    events: list[TrackingEvent]


SHIPMENT_COLUMNS = (
    "shipment_id, order_id, carrier_id, origin_facility_id, destination_region, service_level, "
    "status, tracking_number, weight_kg, cost, created_at, shipped_at, eta, delivered_at"
)


async def load_shipment(conn: AsyncConn, shipment_id: str) -> Shipment:
    """The shipment with its lines and events, in the caller's transaction."""
    cur = await conn.execute(
        f"select {SHIPMENT_COLUMNS} from shipments where shipment_id = %s", (shipment_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"shipment {shipment_id!r} does not exist; IDs look like SHP-7001",
            entity="shipment",
            id=str(shipment_id),
        )
    cur = await conn.execute(
        "select sl.line_no, l.sku, sl.quantity from shipment_lines sl "
        "join order_lines l on l.order_id = sl.order_id and l.line_no = sl.line_no "
        "where sl.shipment_id = %s order by sl.line_no",
        (shipment_id,),
    )
    lines = await cur.fetchall()
    cur = await conn.execute(
        "select shipment_event_id, status, location, at, note, reason from shipment_events "
        "where shipment_id = %s order by at, shipment_event_id",
        (shipment_id,),
    )
    return Shipment.model_validate({**row, "lines": lines, "events": await cur.fetchall()})


async def get_shipment(conn: AsyncConn, shipment_id: str) -> Shipment:
    """The shipment with its lines and tracking history."""
    async with conn.transaction():
        return await load_shipment(conn, shipment_id)


async def track(conn: AsyncConn, tracking_number: str) -> Shipment:
    """The shipment with this tracking number."""
    async with conn.transaction():
        cur = await conn.execute(
            "select shipment_id from shipments where tracking_number = %s", (tracking_number,)
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFoundError(f"no shipment has tracking number {tracking_number!r}")
        return await load_shipment(conn, row["shipment_id"])


async def list_shipments(
    conn: AsyncConn,
    *,
    order_id: str | None = None,
    status: str | None = None,
    carrier_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Shipment]:
    """Shipments matching every filter given, newest first (`limit` 1 to 500)."""
    check_page(limit, offset)
    if status is not None and status not in SHIPMENT_STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(SHIPMENT_STATUSES)}")
    async with conn.transaction():
        cur = await conn.execute(
            "select shipment_id from shipments "
            "where (%(order)s::text is null or order_id = %(order)s) "
            "and (%(status)s::text is null or status = %(status)s) "
            "and (%(carrier)s::text is null or carrier_id = %(carrier)s) "
            "order by created_at desc, shipment_id desc limit %(limit)s offset %(offset)s",
            {"order": order_id, "status": status, "carrier": carrier_id, "limit": limit,
             "offset": offset},
        )  # fmt: skip
        return [await load_shipment(conn, r["shipment_id"]) for r in await cur.fetchall()]


# ───────────────────────── create ─────────────────────────

# Per line and facility: units held for the order, units already on shipments at the dock.
_SHIPPABLE = """
select r.line_no, l.sku, r.facility_id, p.unit_weight_kg, sum(r.quantity)::int as held,
    coalesce((select sum(sl.quantity) from shipment_lines sl
              join shipments s on s.shipment_id = sl.shipment_id
              where sl.order_id = r.order_id and sl.line_no = r.line_no
                and s.origin_facility_id = r.facility_id
                and s.status in ('CREATED', 'LABEL_PRINTED')), 0)::int as pending
from stock_reservations r
join order_lines l on l.order_id = r.order_id and l.line_no = r.line_no
join products p on p.sku = l.sku
where r.order_id = %(order_id)s and r.status in ('RESERVED', 'COMMITTED')
group by r.order_id, r.line_no, l.sku, r.facility_id, p.unit_weight_kg
order by r.facility_id, r.line_no
"""
_INSERT = """
insert into shipments (shipment_id, order_id, carrier_id, origin_facility_id, destination_region,
    service_level, status, tracking_number, weight_kg, cost, created_at, eta)
values (%(shipment_id)s, %(order_id)s, %(carrier_id)s, %(origin)s, %(destination)s,
    %(service)s, 'CREATED', %(tracking)s, %(weight)s, %(cost)s, %(at)s, %(eta)s)
"""
_INSERT_LINES = """
insert into shipment_lines (shipment_id, order_id, line_no, quantity)
select %(shipment_id)s, %(order_id)s, line_no, quantity
from unnest(%(line_nos)s::smallint[], %(quantities)s::int[]) as l(line_no, quantity)
"""
TRACK_SQL = """
insert into shipment_events (shipment_id, status, location, at, note, reason)
values (%(shipment_id)s, %(status)s, %(location)s, %(at)s, %(note)s, %(reason)s)
"""


async def create_shipments(
    conn: AsyncConn,
    actor: Actor,
    order_id: str,
    *,
    carrier_id: str | None = None,
    service_level: str | None = None,
    idempotency_key: str | None = None,
) -> list[Shipment]:
    """One new shipment per facility holding stock of a READY order not yet on a shipment."""

    async def run() -> ShipmentBatch:
        order = await lock_order(conn, order_id)
        if order.status != "READY":
            raise InvalidTransitionError(
                f"order {order_id} is {order.status}; shipments are created for READY orders"
            )
        cur = await conn.execute(_SHIPPABLE, {"order_id": order_id})
        by_facility: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in await cur.fetchall():
            if r["held"] > r["pending"]:
                by_facility[r["facility_id"]].append(r)
        if not by_facility:
            raise ConflictError(
                f"order {order_id} has nothing left to ship: every unit held for it is already "
                "on a shipment (or nothing is held; reserve stock first)"
            )
        made = []
        for facility_id, rows in sorted(by_facility.items()):
            made.append(
                await _create_one(
                    conn,
                    actor,
                    order,
                    facility_id,
                    rows,
                    carrier_id=carrier_id,
                    service_level=service_level,
                )
            )
        return ShipmentBatch(shipments=made)

    async with atomic(conn):
        batch = await idempotent(conn, idempotency_key, "logistics.create", ShipmentBatch, run)
    return batch.shipments


class ShipmentBatch(BaseModel):
    """The shipments one call created."""

    shipments: list[Shipment]


async def _create_one(
    conn: AsyncConn,
    actor: Actor,
    order: OrderHeader,
    facility_id: str,
    rows: list[dict[str, Any]],
    *,
    carrier_id: str | None,
    service_level: str | None,
) -> Shipment:
    lines = [(r["line_no"], r["held"] - r["pending"]) for r in rows]
    weight = sum((Decimal(r["unit_weight_kg"]) * q for r, (_, q) in zip(rows, lines, strict=True)),
                 Decimal(0))  # fmt: skip
    weight = max(weight.quantize(CENT), CENT)
    quote: Quote = choose(
        await quotes(
            conn, origin_facility_id=facility_id, destination_region=order.ship_to_region,
            weight_kg=weight, carrier_id=carrier_id, service_level=service_level,
        ),
        rush=order.is_rush,
    )  # fmt: skip
    cur = await conn.execute("select nextval('shipment_number') as n")
    number = await cur.fetchone()
    assert number is not None
    shipment_id = f"SHP-{number['n']}"
    tracking = tracking_number(quote.carrier_id, int(number["n"]))
    at = clock.now()
    await conn.execute(
        _INSERT,
        {"shipment_id": shipment_id, "order_id": order.order_id, "carrier_id": quote.carrier_id,
         "origin": facility_id, "destination": order.ship_to_region,
         "service": quote.service_level, "tracking": tracking, "weight": weight,
         "cost": quote.cost, "at": at, "eta": quote.eta},
    )  # fmt: skip
    await conn.execute(
        _INSERT_LINES,
        {"shipment_id": shipment_id, "order_id": order.order_id,
         "line_nos": [n for n, _ in lines], "quantities": [q for _, q in lines]},
    )  # fmt: skip
    where = await facility_location(conn, facility_id)
    await conn.execute(
        TRACK_SQL,
        {"shipment_id": shipment_id, "status": "CREATED", "location": where, "at": at,
         "note": f"{quote.carrier_name} {quote.service_level}, {quote.transit_days} days",
         "reason": None},
    )  # fmt: skip
    await record(
        conn,
        actor,
        event_type="shipment.created",
        entity_type="shipment",
        entity_id=shipment_id,
        action="shipment.create",
        after={"status": "CREATED", "carrier_id": quote.carrier_id, "cost": str(quote.cost)},
        payload={
            "shipment_id": shipment_id, "order_id": order.order_id,
            "customer_id": order.customer_id, "carrier_id": quote.carrier_id,
            "service_level": quote.service_level, "tracking_number": tracking,
            "origin_facility_id": facility_id, "eta": quote.eta.isoformat(),
            "weight_kg": str(weight), "cost": str(quote.cost),
            "lines": [{"line_no": n, "quantity": q} for n, q in lines],
        },
    )  # fmt: skip
    return await load_shipment(conn, shipment_id)


def tracking_number(carrier_id: str, number: int) -> str:
    """A carrier-style tracking number for shipment `number` (unique per shipment)."""
    if carrier_id == "DHL":
        return f"JD019{number:015d}"
    if carrier_id == "UPS":
        return f"1ZTTNMFG03{number:08d}"
    if carrier_id == "FEDEX":
        return f"9{number:011d}"
    return f"{carrier_id[:4]}-{number:010d}"


async def facility_location(conn: AsyncConn, facility_id: str) -> str:
    """'City, Country' of a facility, as tracking events name places."""
    cur = await conn.execute(
        "select city || ', ' || country as place from facilities where facility_id = %s",
        (facility_id,),
    )
    row = await cur.fetchone()
    return facility_id if row is None else str(row["place"])


async def cancel_dock_shipments(
    conn: AsyncConn, actor: Actor, order: OrderHeader, *, reason: str
) -> list[str]:
    """Cancel a locked order's shipments not yet picked up; refuse if any has left.

    For cancelling the order: its held stock is then released by the caller.
    """
    cur = await conn.execute(
        "select shipment_id, status, origin_facility_id from shipments where order_id = %s "
        "and status <> 'CANCELLED' order by shipment_id for update",
        (order.order_id,),
    )
    rows = await cur.fetchall()
    gone = [f"{r['shipment_id']} ({r['status']})" for r in rows if r["status"] not in AT_DOCK]
    if gone:
        raise InvalidTransitionError(
            f"order {order.order_id} has shipments with the carrier: {', '.join(gone)}; "
            "it can no longer be cancelled"
        )
    at = clock.now()
    for r in rows:
        await conn.execute(
            "update shipments set status = 'CANCELLED' where shipment_id = %s",
            (r["shipment_id"],),
        )
        await conn.execute(
            TRACK_SQL,
            {"shipment_id": r["shipment_id"], "status": "CANCELLED",
             "location": await facility_location(conn, r["origin_facility_id"]), "at": at,
             "note": "order cancelled", "reason": reason},
        )  # fmt: skip
        await record(
            conn,
            actor,
            event_type="shipment.cancelled",
            entity_type="shipment",
            entity_id=r["shipment_id"],
            action="shipment.cancelled",
            before={"status": r["status"]},
            after={"status": "CANCELLED"},
            payload={"shipment_id": r["shipment_id"], "order_id": order.order_id,
                     "customer_id": order.customer_id, "reason": reason},
        )  # fmt: skip
    return [r["shipment_id"] for r in rows]
