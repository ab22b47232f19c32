"""The business side of backfilled history: shift counters, and completed orders with their
delivered shipments, written in bulk.

Counters: every busy shift of every machine (the same draw as its readings), with runtime 78-95 %
of the planned minutes, parts at the ideal cycle time and the machine's efficiency less 2-15 %,
and up to one defect in thirty. Orders arrive as a Poisson process (`orders_per_day`), drawn
like the live generator's (`simulation.world.orders.draw_order`), are made at a facility stocking
all their goods, and go CREATED → … → COMPLETED with typical gaps (shorter for a rush); only orders
completed before the end of the span are written, with their status history, one delivered
shipment with its tracking scans, and the stock ledger's PRODUCTION and SHIPMENT movements
(which cancel out, so the ledger keeps summing to on-hand).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from simulation.context import poisson, rows
from simulation.world.carriers import hub
from simulation.world.machines import MachineRow
from simulation.world.orders import buyers, draw_order
from simulation.world.production import CYCLE_MINUTES
from simulation.world.shifts import ShiftSpan
from tools.core.db import AsyncConn
from tools.demo.catalogue import CARRIERS, CUSTOMERS
from tools.history.business import write_completed_orders, write_counters

UTILISATION = 0.8
CENT = Decimal("0.01")
# status reached → minutes after the one before: (least, most)
_GAPS = (
    ("VALIDATED", 10, 240),
    ("RESERVED", 30, 720),
    ("IN_PRODUCTION", 240, 2880),
    ("READY", 1440, 5760),
    ("SHIPPED", 120, 1440),
)
_CITIES = {c.customer_id: c.city for c in CUSTOMERS}


@dataclass(frozen=True)
class BusinessHistory:
    counters: int
    orders: int
    shipments: int


async def write_business_history(
    conn: AsyncConn,
    *,
    seed: int,
    start: datetime,
    end: datetime,
    machines: list[MachineRow],
    spans: dict[str, list[ShiftSpan]],
    orders_per_day: float,
) -> BusinessHistory:
    """Counters and completed orders of [start, end), in the caller's transaction."""
    counters = await _counters(conn, seed, end, machines, spans)
    orders, shipments = await _orders(conn, seed, start, end, orders_per_day)
    return BusinessHistory(counters=counters, orders=orders, shipments=shipments)


def busy(seed: int, machine_id: str, span: ShiftSpan) -> bool:
    """Whether the machine had work in the shift (the same draw as its backfilled readings)."""
    key = f"{seed}:busy:{machine_id}:{span.shift_date}:{span.shift_name}"
    return random.Random(key).random() < UTILISATION


async def _counters(
    conn: AsyncConn,
    seed: int,
    end: datetime,
    machines: list[MachineRow],
    spans: dict[str, list[ShiftSpan]],
) -> int:
    rng = random.Random(f"{seed}:backfill:counters")
    made: list[dict[str, Any]] = []
    for m in machines:
        for span in spans.get(f"{m.facility_id}-STD", []):
            if span.ends_at > end or not busy(seed, m.machine_id, span):
                continue
            cycle = CYCLE_MINUTES[m.wc_type]
            runtime = round(span.planned_minutes * rng.uniform(0.78, 0.95))
            produced = int(runtime / cycle * m.efficiency * rng.uniform(0.85, 0.98))
            made.append(
                {
                    "m": m.machine_id,
                    "d": span.shift_date,
                    "n": span.shift_name,
                    "produced": produced,
                    "defective": rng.randint(0, max(1, produced // 30)),
                    "planned": span.planned_minutes,
                    "runtime": runtime,
                    "cycle": cycle,
                    "at": span.ends_at,
                }
            )
    return await write_counters(conn, made)


async def _reference(conn: AsyncConn) -> dict[str, Any]:
    """What orders need to be laid out: who holds what, prices and weights, regions, rates."""
    held: dict[str, set[str]] = {}
    for r in await rows(conn, "select sku, facility_id from stock_levels order by sku"):
        held.setdefault(r["sku"], set()).add(r["facility_id"])
    products = {
        r["sku"]: r
        for r in await rows(conn, "select sku, unit_price, unit_weight_kg from products")
    }
    facilities = {
        r["facility_id"]: r
        for r in await rows(conn, "select facility_id, region, city, country from facilities")
    }
    regions = {
        r["customer_id"]: r["region"]
        for r in await rows(conn, "select customer_id, region from customers")
    }
    rates = await rows(conn, "select * from shipping_rates order by rate_id")
    return {
        "held": held,
        "products": products,
        "facilities": facilities,
        "regions": regions,
        "rates": rates,
    }


def _rate(
    ref: dict[str, Any], carrier: str, origin: str, dest: str, service: str, kg: Decimal
) -> dict[str, Any] | None:
    rates: list[dict[str, Any]] = ref["rates"]
    for r in rates:
        key = (r["carrier_id"], r["origin_region"], r["destination_region"], r["service_level"])
        if (
            key == (carrier, origin, dest, service)
            and r["min_weight_kg"] <= kg < r["max_weight_kg"]
        ):
            return r
    return None


async def _orders(
    conn: AsyncConn, seed: int, start: datetime, end: datetime, per_day: float
) -> tuple[int, int]:
    rng = random.Random(f"{seed}:backfill:orders")
    customers = await buyers(conn)
    if not customers:
        return 0, 0
    ref = await _reference(conn)
    days = (end - start).total_seconds() / 86400
    arrivals = sorted(
        start + (end - start) * rng.random() for _ in range(poisson(rng, per_day * days))
    )
    tables: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in ("orders", "lines", "events", "shipments", "shipment_lines", "scans", "movements")
    }
    for created in arrivals:
        draft = draw_order(rng, customers, created)
        skus = [line.sku for line in draft.lines]
        places = set.intersection(*(ref["held"].get(s, set()) for s in skus))
        if not places:
            continue
        facility = rng.choice(sorted(places))
        times = [("CREATED", created)]
        for status, least, most in _GAPS:
            factor = 0.25 if draft.is_rush else 1.0
            times.append(
                (status, times[-1][1] + timedelta(minutes=rng.uniform(least, most) * factor))
            )
        shipment = _shipment(rng, ref, draft.customer_id, facility, skus, draft, times[-1][1])
        if shipment is None or shipment["completed"] > end:
            continue
        _lay_out(tables, ref, draft, facility, times, shipment)
    await write_completed_orders(conn, tables)
    return len(tables["orders"]), len(tables["shipments"])


def _shipment(
    rng: random.Random,
    ref: dict[str, Any],
    customer: str,
    facility: str,
    skus: list[str],
    draft: Any,
    shipped: datetime,
) -> dict[str, Any] | None:
    kg = sum(
        (ref["products"][ln.sku]["unit_weight_kg"] * ln.quantity for ln in draft.lines), Decimal(0)
    )
    kg = max(kg.quantize(CENT), CENT)
    service = (
        "FREIGHT"
        if kg >= 150
        else "OVERNIGHT"
        if draft.is_rush
        else rng.choice(("GROUND", "EXPRESS"))
    )
    carrier = rng.choice(CARRIERS).carrier_id
    dest = ref["regions"][customer]
    rate = _rate(ref, carrier, ref["facilities"][facility]["region"], dest, service, kg)
    if rate is None:
        return None
    transit = timedelta(days=rate["transit_days"])
    delivered = shipped + transit + timedelta(minutes=rng.uniform(-240, 120))
    return {
        "carrier": carrier,
        "service": service,
        "kg": kg,
        "transit": transit,
        "dest": dest,
        "cost": (rate["base_cost"] + rate["cost_per_kg"] * kg).quantize(CENT),
        "shipped": shipped,
        "delivered": delivered,
        "completed": delivered + timedelta(minutes=rng.uniform(1440, 2880)),
    }


def _lay_out(
    tables: dict[str, list[dict[str, Any]]],
    ref: dict[str, Any],
    draft: Any,
    facility: str,
    times: list[tuple[str, datetime]],
    ship: dict[str, Any],
) -> None:
    """Rows of one completed order; IDs are filled in when written."""
    n = len(tables["orders"])
    times = [*times, ("DELIVERED", ship["delivered"]), ("COMPLETED", ship["completed"])]
    tables["orders"].append(
        {
            "n": n,
            "customer_id": draft.customer_id,
            "rush": draft.is_rush,
            "priority": 1 if draft.is_rush else 3,
            "facility_id": facility,
            "region": ship["dest"],
            "due_at": draft.due_at,
            "created_at": times[0][1],
            "updated_at": times[-1][1],
        }
    )
    for no, line in enumerate(draft.lines, start=1):
        price = ref["products"][line.sku]["unit_price"]
        tables["lines"].append(
            {"n": n, "line_no": no, "sku": line.sku, "quantity": line.quantity, "unit_price": price}
        )
        for kind, sign, at in (("PRODUCTION", 1, times[4][1]), ("SHIPMENT", -1, ship["shipped"])):
            tables["movements"].append(
                {
                    "n": n,
                    "sku": line.sku,
                    "facility_id": facility,
                    "quantity": sign * line.quantity,
                    "kind": kind,
                    "at": at,
                }
            )
    for i, (status, at) in enumerate(times):
        tables["events"].append(
            {
                "n": n,
                "from_status": times[i - 1][0] if i else None,
                "to_status": status,
                "at": at,
                "actor": "simulator" if status in ("CREATED", "DELIVERED") else "system",
            }
        )
    origin = ref["facilities"][facility]
    city = _CITIES.get(draft.customer_id, ship["dest"])
    tables["shipments"].append({"n": n, **ship, "origin": facility})
    tables["shipment_lines"] += [
        {"n": n, "line_no": no, "quantity": ln.quantity}
        for no, ln in enumerate(draft.lines, start=1)
    ]
    for status, where, at in (
        ("PICKED_UP", f"{origin['city']}, {origin['country']}", ship["shipped"]),
        ("IN_TRANSIT", hub(ship["carrier"], ship["dest"]), ship["shipped"] + ship["transit"] * 0.3),
        ("OUT_FOR_DELIVERY", city, ship["delivered"] - timedelta(hours=3)),
        ("DELIVERED", city, ship["delivered"]),
    ):
        tables["scans"].append({"n": n, "status": status, "location": where, "at": at})
