"""The demo plant: Titan Manufacturing, loaded deterministically from a seed.

The catalogue (sites, machines, products, routings, customers, suppliers, carriers) is fixed and
lives in `tools.demo.catalogue`; the seed varies quantities, stock levels, the order mix and
times. Every time is laid around the *plant day*: 06:00 UTC of the day `now` falls in (of the
day before when `now` is earlier than 06:00). The same seed on the same plant day gives
identical rows; each area draws from its own `random.Random(f"{seed}:{area}")`, so that a
change in one area leaves the others as they were.
"""

from __future__ import annotations

import math
import random
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import BaseModel, JsonValue

from tools.core import clock, events
from tools.core.admin import ACCOUNT_TABLES, RESET_TABLE, plant_tables, wipe
from tools.core.db import AsyncConn
from tools.core.errors import ConflictError
from tools.demo import catalogue as cat

Row = Mapping[str, object]
CENT = Decimal("0.01")


class PlantSummary(BaseModel):
    """What a load of the demo plant wrote."""

    seed: int
    anchor: datetime  # the plant day the data is laid around
    counts: dict[str, int]  # rows inserted per table


async def seed(conn: AsyncConn, *, seed: int, now: datetime | None = None) -> PlantSummary:
    """Load the demo plant into empty tables, in the caller's transaction."""
    return await _load(conn, seed, now or clock.now())


class PlantReset(BaseModel):
    """The record a reset keeps of itself (it survives later resets)."""

    reset_id: str
    reset_at: datetime
    requested_by: str
    seed: int
    wiped: dict[str, int]
    last_event_id: int | None
    last_audit_id: int | None


async def reset(
    conn: AsyncConn, *, seed: int, by: str, now: datetime | None = None
) -> PlantSummary:
    """Wipe the plant (accounts and the record of resets kept) and load the demo plant; the
    caller owns the transaction. `by` is who asked: the reset is kept in `plant_resets` with
    the rows it wiped per table and the last event and audit row it wiped."""
    at = now or clock.now()
    await _record_reset(conn, seed=seed, by=by, at=at)
    await wipe(conn, keep_accounts=True)
    return await _load(conn, seed, at)


async def _record_reset(conn: AsyncConn, *, seed: int, by: str, at: datetime) -> None:
    wiped: dict[str, int] = {}
    for table in await plant_tables(conn):
        if table in (*ACCOUNT_TABLES, RESET_TABLE):
            continue
        cur = await conn.execute(
            sql.SQL("select count(*) as n from {}").format(sql.Identifier(table))
        )
        row = await cur.fetchone()
        if row and row["n"]:
            wiped[table] = row["n"]
    cur = await conn.execute(
        "select (select max(event_id) from event_log) as event, "
        "(select max(audit_id) from audit_log) as audit"
    )
    last = await cur.fetchone()
    assert last is not None
    await conn.execute(
        "insert into plant_resets (reset_id, reset_at, requested_by, seed, wiped, "
        "last_event_id, last_audit_id) values (%s, %s, %s, %s, %s, %s, %s)",
        (f"RST-{uuid.uuid4().hex[:12].upper()}", at, by, seed, Jsonb(wiped),
         last["event"], last["audit"]),
    )  # fmt: skip


async def resets(conn: AsyncConn, *, limit: int = 50) -> list[PlantReset]:
    """The plant's resets, newest first."""
    cur = await conn.execute(
        "select reset_id, reset_at, requested_by, seed, wiped, last_event_id, last_audit_id "
        "from plant_resets order by recorded_at desc limit %s",
        (limit,),
    )
    return [PlantReset.model_validate(r) for r in await cur.fetchall()]


def plant_anchor(now: datetime) -> datetime:
    """06:00 UTC of the plant day `now` falls in."""
    if now.tzinfo is None:
        raise ValueError(f"the plant day needs a time with a timezone; got {now.isoformat()}")
    utc = now.astimezone(UTC)
    anchor = utc.replace(hour=6, minute=0, second=0, microsecond=0)
    return anchor if utc >= anchor else anchor - timedelta(days=1)


@dataclass
class _Plant:
    seed: int
    anchor: datetime
    counts: dict[str, int] = field(default_factory=dict)

    def rng(self, area: str) -> random.Random:
        return random.Random(f"{self.seed}:{area}")

    def ago(self, rng: random.Random, least_minutes: int, most_minutes: int) -> datetime:
        return self.anchor - timedelta(minutes=rng.randint(least_minutes, most_minutes))


async def _load(conn: AsyncConn, seed: int, now: datetime) -> PlantSummary:
    plant = _Plant(seed=seed, anchor=plant_anchor(now))
    cur = await conn.execute("select exists (select 1 from facilities) as loaded")
    row = await cur.fetchone()
    if row is not None and row["loaded"]:
        raise ConflictError("the database already holds a plant; reset it to load the demo plant")
    await _seed_sites(conn, plant)
    await _seed_catalogue(conn, plant)
    await _seed_partners(conn, plant)
    book = _draw_order_book(plant)
    await _seed_stock(conn, plant, book)
    await _seed_orders(conn, plant, book)
    await _seed_shipments(conn, plant, book)
    await _seed_materials(conn, plant, book)
    await _seed_purchasing(conn, plant)
    await _seed_maintenance(conn, plant)
    await _seed_inquiries(conn, plant, book)
    payload: dict[str, JsonValue] = {
        "seed": seed,
        "anchor": plant.anchor.isoformat(),
        "orders": len(book.orders),
    }
    await events.emit(conn, "plant.seeded", source="system", payload=payload, occurred_at=now)
    return PlantSummary(seed=seed, anchor=plant.anchor, counts=dict(plant.counts))


async def _insert(conn: AsyncConn, plant: _Plant, query: str, rows: Sequence[Row]) -> None:
    """Run an `insert into <table> ...` for every row, counting the rows per table."""
    async with conn.cursor() as cur:
        await cur.executemany(query, rows)
    table = query.split()[2]
    plant.counts[table] = plant.counts.get(table, 0) + len(rows)


async def _advance(conn: AsyncConn, sequence: str, last: int) -> None:
    # IDs were written explicitly; the sequence must hand out the next one, not a taken one.
    await conn.execute("select setval(%s::regclass, %s)", (sequence, last))


def _local(day: date, at: time, timezone: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _five_pm(day: date) -> datetime:
    return datetime.combine(day, time(17), tzinfo=UTC)


# ───────────────────────── sites and machines ─────────────────────────

_FACILITY = """insert into facilities (facility_id, name, city, country, region, timezone)
values (%(facility_id)s, %(name)s, %(city)s, %(country)s, %(region)s, %(timezone)s)"""
_CALENDAR = """insert into shift_calendars (calendar_id, facility_id, name)
values (%(facility_id)s || '-STD', %(facility_id)s, %(city)s || ' standard week')"""
_SHIFT = """insert into shifts (calendar_id, name, day_of_week, start_time, duration_minutes)
values (%(calendar_id)s, %(name)s, %(day)s, %(start)s, %(minutes)s)"""
_BREAKS = """insert into shift_breaks (shift_id, offset_minutes, duration_minutes)
select shift_id, %(offset)s, %(minutes)s from shifts order by shift_id"""
_EXCEPTION = """insert into calendar_exceptions (calendar_id, kind, starts_at, ends_at, description)
values (%(facility_id)s || '-STD', %(kind)s, %(starts_at)s, %(ends_at)s, %(description)s)"""
_WORK_CENTER = """insert into work_centers (work_center_id, facility_id, name, wc_type, calendar_id)
values (%(work_center_id)s, %(facility_id)s, %(name)s, %(wc_type)s, %(facility_id)s || '-STD')"""


async def _seed_sites(conn: AsyncConn, plant: _Plant) -> None:
    await _insert(conn, plant, _FACILITY, [f._asdict() for f in cat.FACILITIES])
    await _insert(conn, plant, _CALENDAR, [f._asdict() for f in cat.FACILITIES])
    shifts = [
        {"calendar_id": f.calendar_id, "name": name, "day": day,
         "start": cat.SHIFTS[name][0], "minutes": cat.SHIFTS[name][1]}
        for f in cat.FACILITIES for day in range(1, 6) for name in f.shifts
    ]  # fmt: skip
    await _insert(conn, plant, _SHIFT, shifts)
    breaks = {"offset": cat.BREAK_OFFSET_MINUTES, "minutes": cat.BREAK_MINUTES}
    cur = await conn.execute(_BREAKS, breaks)
    plant.counts["shift_breaks"] = cur.rowcount
    exceptions: list[Row] = []
    for ex in cat.CALENDAR_EXCEPTIONS:
        tz = _FACILITIES[ex.facility_id].timezone
        today = plant.anchor.astimezone(ZoneInfo(tz)).date()
        ahead = ex.days_ahead if ex.days_ahead >= 0 else (6 - today.isoweekday()) % 7 or 7
        starts = _local(today + timedelta(days=ahead), ex.start, tz)
        ends = starts + timedelta(hours=ex.hours)
        exceptions.append(ex._asdict() | {"starts_at": starts, "ends_at": ends})
    await _insert(conn, plant, _EXCEPTION, exceptions)
    await _insert(conn, plant, _WORK_CENTER, [w._asdict() for w in cat.WORK_CENTERS])


_MODEL = """insert into machine_models (model, manufacturer, wc_type, rated_power_kw,
    max_spindle_rpm)
values (%(model)s, %(manufacturer)s, %(wc_type)s, %(rated_power_kw)s, %(max_spindle_rpm)s)"""
_MACHINE = """insert into equipment (machine_id, facility_id, work_center_id, model, name,
    status, efficiency, installed_on, operating_hours, status_changed_at, last_heartbeat_at,
    last_maintenance_at)
values (%(machine_id)s, left(%(machine_id)s, 3), %(work_center_id)s, %(model)s, %(name)s,
    %(status)s, %(efficiency)s, %(installed_on)s, %(operating_hours)s, %(status_changed_at)s,
    %(last_heartbeat_at)s, %(last_maintenance_at)s)"""
_THRESHOLD = """insert into sensor_thresholds (sensor, machine_id, unit, direction, warning,
    critical)
values (%(sensor)s, %(machine_id)s, %(unit)s, %(direction)s, %(warning)s, %(critical)s)"""


async def _seed_machines(conn: AsyncConn, plant: _Plant) -> None:
    await _insert(conn, plant, _MODEL, [m._asdict() for m in cat.MACHINE_MODELS])
    rng = plant.rng("equipment")
    machines: list[Row] = []
    for m in cat.MACHINES:
        down = cat.MAINTENANCE_STARTED_MINUTES_AGO if m.status == "MAINTENANCE" else None
        hours = m.years_installed * 8760 * rng.uniform(0.45, 0.7)
        machines.append(m._asdict() | {
            "efficiency": Decimal(f"{rng.uniform(0.85, 1.10):.3f}"),
            "installed_on": plant.anchor.date() - timedelta(days=round(m.years_installed * 365.25)),
            "operating_hours": Decimal(f"{hours:.1f}"),
            "status_changed_at": plant.anchor - timedelta(minutes=down or rng.randint(20, 900)),
            "last_heartbeat_at": plant.anchor - timedelta(seconds=rng.randint(5, 55)),
            "last_maintenance_at": plant.ago(rng, 14 * 1440, 180 * 1440),
        })  # fmt: skip
    await _insert(conn, plant, _MACHINE, machines)
    await _insert(conn, plant, _THRESHOLD, [t._asdict() for t in cat.SENSOR_THRESHOLDS])


# ───────────────────────── products and partners ─────────────────────────

_DIVISION = "insert into divisions (division_id, name) values (%(id)s, %(name)s)"
_PRODUCT = """insert into products (sku, name, division_id, category, unit_price, unit_weight_kg,
    is_manufactured, requires_certification)
values (%(sku)s, %(name)s, %(division_id)s, %(category)s, %(unit_price)s, %(unit_weight_kg)s,
    %(is_manufactured)s, %(requires_certification)s)"""
_ROUTING = """insert into routings (sku, seq, operation, wc_type, setup_minutes,
    run_minutes_per_unit, may_span_break)
values (%(sku)s, %(seq)s, %(operation)s, %(wc_type)s, %(setup_minutes)s,
    %(run_minutes_per_unit)s, %(may_span_break)s)"""
_SPARE = """insert into spare_part_compatibility (model, fault_type, part_role, sku, quantity)
values (%(model)s, %(fault_type)s, %(part_role)s, %(sku)s, %(quantity)s)"""


async def _seed_catalogue(conn: AsyncConn, plant: _Plant) -> None:
    await _seed_machines(conn, plant)
    await _insert(conn, plant, _DIVISION, [{"id": d, "name": n} for d, n in cat.DIVISIONS])
    await _insert(conn, plant, _PRODUCT, [p._asdict() for p in cat.PRODUCTS])
    routings = [
        op._asdict() | {"sku": sku, "seq": seq}
        for sku, ops in cat.ROUTINGS.items()
        for seq, op in enumerate(ops, start=1)
    ]
    await _insert(conn, plant, _ROUTING, routings)
    await _insert(conn, plant, _SPARE, [s._asdict() for s in cat.SPARE_PARTS])


_CUSTOMER = """insert into customers (customer_id, name, region, priority, rush_allowed,
    payment_terms_days, contract_valid_until, contact_email)
values (%(customer_id)s, %(name)s, %(region)s, %(priority)s, %(rush_allowed)s,
    %(payment_terms_days)s, %(until)s, %(contact_email)s)"""
_CUSTOMER_DIVISION = """insert into customer_divisions (customer_id, division_id)
values (%(customer_id)s, %(item)s)"""
_COMPLIANCE = """insert into customer_compliance (customer_id, requirement)
values (%(customer_id)s, %(item)s)"""
_SUPPLIER = """insert into suppliers (supplier_id, name, country, region, reliability,
    contact_email)
values (%(supplier_id)s, %(name)s, %(country)s, %(region)s, %(reliability)s, %(contact_email)s)"""
_SUPPLIER_ITEM = """insert into supplier_items (supplier_id, sku, unit_price, lead_time_days,
    min_order_qty, is_preferred)
values (%(supplier_id)s, %(sku)s, %(unit_price)s, %(lead_time_days)s, %(min_order_qty)s,
    %(is_preferred)s)"""
_CARRIER = """insert into carriers (carrier_id, name, reliability)
values (%(carrier_id)s, %(name)s, %(reliability)s)"""
_RATE = """insert into shipping_rates (carrier_id, origin_region, destination_region,
    service_level, min_weight_kg, max_weight_kg, base_cost, cost_per_kg, transit_days)
values (%(carrier_id)s, %(origin_region)s, %(destination_region)s, %(service_level)s,
    %(min_weight_kg)s, %(max_weight_kg)s, %(base_cost)s, %(cost_per_kg)s, %(transit_days)s)"""


async def _seed_partners(conn: AsyncConn, plant: _Plant) -> None:
    def until(c: cat.Customer) -> date:
        return plant.anchor.date() + timedelta(days=c.contract_days)

    customers = cat.CUSTOMERS
    await _insert(conn, plant, _CUSTOMER, [c._asdict() | {"until": until(c)} for c in customers])
    divisions = [{"customer_id": c.customer_id, "item": d} for c in customers for d in c.divisions]
    await _insert(conn, plant, _CUSTOMER_DIVISION, divisions)
    compliance = [
        {"customer_id": c.customer_id, "item": r} for c in customers for r in c.compliance
    ]
    await _insert(conn, plant, _COMPLIANCE, compliance)
    await _insert(conn, plant, _SUPPLIER, [s._asdict() for s in cat.SUPPLIERS])
    await _insert(conn, plant, _SUPPLIER_ITEM, [i._asdict() for i in cat.SUPPLIER_ITEMS])
    await _insert(conn, plant, _CARRIER, [c._asdict() for c in cat.CARRIERS])
    await _insert(conn, plant, _RATE, [vars(r) for r in _RATES])


@dataclass(frozen=True)
class _Rate:
    carrier_id: str
    origin_region: str
    destination_region: str
    service_level: str
    min_weight_kg: Decimal
    max_weight_kg: Decimal
    base_cost: Decimal
    cost_per_kg: Decimal
    transit_days: int


def _rate_table() -> list[_Rate]:
    """Every carrier, facility region, destination region, service level and weight band."""
    rates: list[_Rate] = []
    for carrier in cat.CARRIERS:
        for origin in (f.region for f in cat.FACILITIES):
            for dest in cat.DESTINATION_REGIONS:
                same_continent = origin[:2] == dest[:2]
                distance = "LOCAL" if origin == dest else "CONTINENTAL" if same_continent \
                    else "INTERCONTINENTAL"  # fmt: skip
                for service, (base, per_kg, days) in cat.RATE_TABLE[distance].items():
                    for band, (low, high) in enumerate(cat.WEIGHT_BANDS[service]):
                        # heavier parcels: a higher base, a lower price per kilogram
                        base_factor = carrier.price_factor * Decimal("1.5" if band else "1")
                        kg_factor = carrier.price_factor * Decimal("0.85" if band else "1")
                        rates.append(_Rate(
                            carrier.carrier_id, origin, dest, service, low, high,
                            (base * base_factor).quantize(CENT),
                            (per_kg * kg_factor).quantize(CENT), days,
                        ))  # fmt: skip
    return rates


_RATES = _rate_table()
_PRODUCTS = {p.sku: p for p in cat.PRODUCTS}
_CUSTOMERS = {c.customer_id: c for c in cat.CUSTOMERS}
_FACILITIES = {f.facility_id: f for f in cat.FACILITIES}


def _rate_for(carrier_id: str, origin: str, dest: str, service: str, weight: Decimal) -> _Rate:
    return next(
        r for r in _RATES
        if (r.carrier_id, r.origin_region, r.destination_region, r.service_level)
        == (carrier_id, origin, dest, service) and r.min_weight_kg <= weight < r.max_weight_kg
    )  # fmt: skip


# ───────────────────────── the order book ─────────────────────────

_PROGRESS = ("CREATED", "VALIDATED", "RESERVED", "IN_PRODUCTION", "READY", "SHIPPED",
             "DELIVERED", "COMPLETED")  # fmt: skip
# status → minutes since the status before it: (least, most)
_STEP_MINUTES = {"VALIDATED": (10, 240), "RESERVED": (30, 720), "IN_PRODUCTION": (240, 2880),
                 "READY": (1440, 7200), "ON_HOLD": (60, 1440)}  # fmt: skip
# status → days from the plant day to the due date: (least, most)
_DUE_DAYS = {"CREATED": (21, 60), "VALIDATED": (18, 50), "ON_HOLD": (14, 45),
             "RESERVED": (10, 35), "IN_PRODUCTION": (5, 25), "READY": (2, 8)}  # fmt: skip
_NOTES = {"CREATED": "order received by EDI", "VALIDATED": "contract, compliance, credit checked",
          "RESERVED": "stock reserved", "IN_PRODUCTION": "released to production",
          "READY": "final inspection passed, packed", "SHIPPED": "handed to the carrier",
          "DELIVERED": "proof of delivery received",
          "COMPLETED": "closed after delivery confirmation"}  # fmt: skip
_DELAYS = ("held at customs: commercial invoice query", "missed connection at the hub",
           "weather: hub operations suspended")  # fmt: skip


@dataclass
class _Line:
    order_id: str
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    quantity_shipped: int = 0


@dataclass
class _Reservation:
    order_id: str
    line_no: int
    sku: str
    facility_id: str
    quantity: int
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass
class _Shipment:
    order_id: str
    carrier_id: str
    origin_facility_id: str
    destination_region: str
    service_level: str
    status: str
    tracking_number: str
    weight_kg: Decimal
    cost: Decimal
    created_at: datetime
    shipped_at: datetime
    eta: datetime
    delivered_at: datetime | None
    promised: datetime  # the first ETA the carrier gave
    lines: list[tuple[int, int]]  # (line_no, quantity)
    events: list[dict[str, object]]
    shipment_id: str = ""


@dataclass
class _Order:
    order_id: str
    plan: cat.OrderPlan
    lines: list[_Line]
    history: list[tuple[str, datetime]]  # each status reached, and when
    due_at: datetime
    shipments: list[_Shipment]
    reservations: list[_Reservation] = field(default_factory=list)

    def at(self, status: str) -> datetime:
        return next(t for s, t in self.history if s == status)

    def reached(self, status: str) -> bool:
        return any(s == status for s, _ in self.history)


@dataclass
class _Book:
    orders: list[_Order]

    def tagged(self, tag: str) -> _Order:
        return next(o for o in self.orders if o.plan.tag == tag)


def _draw_order_book(plant: _Plant) -> _Book:
    rng = plant.rng("orders")
    orders = [
        _draw_order(plant, f"ORD-{cat.FIRST_ORDER_NUMBER + i}", plan, rng)
        for i, plan in enumerate(cat.ORDER_PLANS)
    ]
    for number, shipment in enumerate((s for o in orders for s in o.shipments), start=7001):
        shipment.shipment_id = f"SHP-{number}"
    return _Book(orders)


def _draw_order(plant: _Plant, order_id: str, plan: cat.OrderPlan, rng: random.Random) -> _Order:
    lines = _draw_lines(order_id, plan, rng)
    if plan.status == "ON_HOLD":
        path: Sequence[str] = ("CREATED", "VALIDATED", "ON_HOLD")
    else:
        path = _PROGRESS[: _PROGRESS.index(plan.status) + 1]
    shipments: list[_Shipment] = []
    if plan.status in ("SHIPPED", "DELIVERED", "COMPLETED"):
        shipments, tail, due_at = _draw_shipments(plant, order_id, plan, lines, rng)
        made = path.index("READY") + 1
        history = _lay_back(path[:made], tail["READY"], rng) + [(s, tail[s]) for s in path[made:]]
        for line in lines:
            line.quantity_shipped = line.quantity
    else:
        history = _lay_back(path, plant.ago(rng, 60, 2880), rng)
        least, most = (3, 5) if plan.rush else _DUE_DAYS[plan.status]
        due_at = _five_pm(plant.anchor.date() + timedelta(days=rng.randint(least, most)))
    order = _Order(order_id, plan, lines, history, due_at, shipments)
    if plan.status in ("RESERVED", "IN_PRODUCTION", "READY"):
        # reserved stock is committed once production starts
        status = "RESERVED" if plan.status == "RESERVED" else "COMMITTED"
        updated = order.at("IN_PRODUCTION" if status == "COMMITTED" else "RESERVED")
        sources = plan.sources if plan.sources and status == "RESERVED" else (plan.facility_id,)
        for line in lines:
            for fac, qty in zip(sources, _split(line.quantity, len(sources), rng), strict=True):
                order.reservations.append(_Reservation(
                    order_id, line.line_no, line.sku, fac, qty, status,
                    order.at("RESERVED"), updated,
                ))  # fmt: skip
    return order


def _draw_lines(order_id: str, plan: cat.OrderPlan, rng: random.Random) -> list[_Line]:
    """The fixed SKUs of the plan, else one to three the facility makes for the customer."""
    skus = list(plan.skus)
    if not skus:
        divisions = _CUSTOMERS[plan.customer_id].divisions
        held = [h.sku for h in cat.HOLDINGS if plan.facility_id in h.facilities]
        candidates = [
            p.sku for p in cat.PRODUCTS
            if p.division_id in divisions and p.is_manufactured and p.sku in held
        ]  # fmt: skip
        skus = rng.sample(candidates, rng.randint(1, min(3, len(candidates))))
    lines = []
    for line_no, sku in enumerate(skus, start=1):
        least, most = cat.ORDER_QUANTITY[_PRODUCTS[sku].category]
        quantity = rng.randint(least, most)
        lines.append(_Line(order_id, line_no, sku, quantity, _PRODUCTS[sku].unit_price))
    return lines


def _lay_back(
    path: Sequence[str], last_at: datetime, rng: random.Random
) -> list[tuple[str, datetime]]:
    """The statuses of `path` with times: the last at `last_at`, the others typical gaps back."""
    times = [last_at]
    for status in reversed(path[1:]):
        least, most = _STEP_MINUTES[status]
        times.append(times[-1] - timedelta(minutes=rng.randint(least, most)))
    return list(zip(path, reversed(times), strict=True))


def _split(quantity: int, parts: int, rng: random.Random) -> list[int]:
    if parts == 1:
        return [quantity]
    first = max(1, min(quantity - 1, round(quantity * rng.uniform(0.45, 0.7))))
    return [first, quantity - first]


def _draw_shipments(
    plant: _Plant, order_id: str, plan: cat.OrderPlan, lines: list[_Line], rng: random.Random
) -> tuple[list[_Shipment], dict[str, datetime], datetime]:
    """The order's shipments, when it reached READY and each later status, and its due time."""
    origins = plan.sources if plan.shipment == "SPLIT" else (plan.facility_id,)
    shares = [_split(line.quantity, len(origins), rng) for line in lines]
    delivered: datetime | None = None
    if plan.status == "DELIVERED":
        delivered = plant.ago(rng, 180, 1200)
    elif plan.status == "COMPLETED":
        delivered = plant.ago(rng, 4 * 1440, 8 * 1440)
    shipments = []
    for i, origin in enumerate(origins):
        parts = [(line, share[i]) for line, share in zip(lines, shares, strict=True)]
        shipments.append(_draw_shipment(plant, order_id, plan, origin, parts, delivered, rng))
    shipped = [s.shipped_at for s in shipments]
    ready = min(shipped) - timedelta(minutes=rng.randint(120, 1440))
    tail = {"READY": ready, "SHIPPED": max(shipped)}
    if delivered is not None:
        tail["DELIVERED"] = delivered
        tail["COMPLETED"] = delivered + timedelta(minutes=rng.randint(1440, 2880))
        due_day = delivered.date() + timedelta(days=rng.randint(0, 3))
    elif plan.shipment == "DELAYED":
        due_day = shipments[0].promised.date()  # the delay makes the order late
    else:
        due_day = max(s.eta for s in shipments).date() + timedelta(days=rng.randint(1, 3))
    return shipments, tail, _five_pm(due_day)


def _draw_shipment(
    plant: _Plant,
    order_id: str,
    plan: cat.OrderPlan,
    origin: str,
    parts: list[tuple[_Line, int]],
    delivered: datetime | None,
    rng: random.Random,
) -> _Shipment:
    customer = _CUSTOMERS[plan.customer_id]
    facility = _FACILITIES[origin]
    weight = sum((q * _PRODUCTS[line.sku].unit_weight_kg for line, q in parts), Decimal(0))
    weight = max(weight.quantize(CENT), CENT)
    if weight >= 150:
        service = "FREIGHT"
    else:
        service = "OVERNIGHT" if plan.rush else rng.choice(("GROUND", "EXPRESS"))
    carrier = rng.choice(cat.CARRIERS)
    rate = _rate_for(carrier.carrier_id, facility.region, customer.region, service, weight)
    transit = timedelta(days=rate.transit_days)
    hub = carrier.hub_na if customer.region.startswith("NA") else carrier.hub_eu
    status, delayed_at = "IN_TRANSIT", None
    if delivered is not None:
        status = "DELIVERED"
        shipped = delivered - transit - timedelta(minutes=rng.randint(0, 240))
    elif plan.shipment == "DELAYED":
        status = "DELAYED"
        shipped = plant.ago(rng, 720, 2160) - transit
        delayed_at = shipped + transit - timedelta(minutes=rng.randint(120, 600))
    else:
        shipped = plant.anchor - transit * rng.uniform(0.35, 0.8)
        shipped = shipped.replace(second=0, microsecond=0)
    promised = shipped + transit
    eta = promised
    if status == "DELAYED":
        eta = plant.anchor + timedelta(minutes=rng.randint(1440, 4320))  # the carrier's new ETA
    track = [
        ("PICKED_UP", f"{facility.city}, {facility.country}", shipped, f"by {carrier.name}"),
        ("IN_TRANSIT", hub, shipped + transit * 0.3, "arrived at the hub"),
    ]
    if delayed_at is not None:
        track.append(("DELAYED", hub, delayed_at, rng.choice(_DELAYS)))
    if delivered is not None:
        out = delivered - timedelta(minutes=rng.randint(120, 360))
        track.append(("OUT_FOR_DELIVERY", customer.city, out, "out for delivery"))
        track.append(("DELIVERED", customer.city, delivered, "signed for at the receiving dock"))
    return _Shipment(
        order_id=order_id,
        carrier_id=carrier.carrier_id,
        origin_facility_id=origin,
        destination_region=customer.region,
        service_level=service,
        status=status,
        tracking_number=_tracking_number(carrier.carrier_id, rng),
        weight_kg=weight,
        cost=(rate.base_cost + rate.cost_per_kg * weight).quantize(CENT),
        created_at=shipped - timedelta(minutes=rng.randint(30, 110)),
        shipped_at=shipped,
        eta=eta,
        delivered_at=delivered,
        promised=promised,
        lines=[(line.line_no, q) for line, q in parts],
        events=[dict(zip(("status", "location", "at", "note"), e, strict=True)) for e in track],
    )


def _tracking_number(carrier_id: str, rng: random.Random) -> str:
    def digits(k: int) -> str:
        return "".join(rng.choices(string.digits, k=k))

    if carrier_id == "DHL":
        return "JD01" + digits(16)
    if carrier_id == "UPS":
        return "1Z" + "".join(rng.choices(string.ascii_uppercase, k=6)) + "03" + digits(8)
    return digits(12)


# ───────────────────────── writing the order book ─────────────────────────

_STOCK = """insert into stock_levels (sku, facility_id, on_hand, reserved, reorder_point,
    reorder_quantity, updated_at)
values (%(sku)s, %(facility_id)s, %(on_hand)s, %(reserved)s, %(reorder_point)s,
    %(reorder_quantity)s, %(updated_at)s)"""


_OPENING_BALANCE = """insert into stock_movements (sku, facility_id, quantity, kind,
    reference_type, reference_id, at, actor)
values (%(sku)s, %(facility_id)s, %(quantity)s, 'ADJUSTMENT', 'opening_balance', null, %(at)s,
    'system')"""


async def _seed_stock(conn: AsyncConn, plant: _Plant, book: _Book) -> None:
    """Stock of every SKU where it is held: what the order book reserves, and some free."""
    reserved: dict[tuple[str, str], int] = {}
    for r in (r for o in book.orders for r in o.reservations):
        reserved[r.sku, r.facility_id] = reserved.get((r.sku, r.facility_id), 0) + r.quantity
    rng = plant.rng("stock")
    rows: list[Row] = []
    for h in cat.HOLDINGS:
        for fac in h.facilities:
            least, most = cat.LOW_STOCK.get((h.sku, fac), (h.free_min, h.free_max))
            held = reserved.get((h.sku, fac), 0)
            rows.append(h._asdict() | {
                "facility_id": fac, "on_hand": held + rng.randint(least, most),
                "reserved": held, "updated_at": plant.ago(rng, 10, 1440),
            })  # fmt: skip
    await _insert(conn, plant, _STOCK, rows)
    # The ledger opens with each level's balance, so movements always sum to on-hand.
    opened_at = plant.anchor - timedelta(days=30)
    opening: list[Row] = [
        {"sku": r["sku"], "facility_id": r["facility_id"], "quantity": r["on_hand"],
         "at": opened_at}
        for r in rows if r["on_hand"] != 0
    ]  # fmt: skip
    await _insert(conn, plant, _OPENING_BALANCE, opening)


_ORDER = """insert into orders (order_id, customer_id, status, priority, is_rush, facility_id,
    ship_to_region, due_at, created_at, updated_at, hold_reason, notes)
values (%(order_id)s, %(customer_id)s, %(status)s, %(priority)s, %(rush)s, %(facility_id)s,
    %(region)s, %(due_at)s, %(created_at)s, %(updated_at)s, %(hold_reason)s, %(notes)s)"""
_LINE = """insert into order_lines (order_id, line_no, sku, quantity, unit_price,
    quantity_shipped)
values (%(order_id)s, %(line_no)s, %(sku)s, %(quantity)s, %(unit_price)s,
    %(quantity_shipped)s)"""
_ORDER_EVENT = """insert into order_events (order_id, from_status, to_status, at, actor, note)
values (%(order_id)s, %(from_status)s, %(to_status)s, %(at)s, %(actor)s, %(note)s)"""
_RESERVATION = """insert into stock_reservations (order_id, line_no, sku, facility_id, quantity,
    status, created_at, updated_at)
values (%(order_id)s, %(line_no)s, %(sku)s, %(facility_id)s, %(quantity)s, %(status)s,
    %(created_at)s, %(updated_at)s)"""


async def _seed_orders(conn: AsyncConn, plant: _Plant, book: _Book) -> None:
    orders: list[Row] = []
    steps: list[Row] = []
    for o in book.orders:
        customer = _CUSTOMERS[o.plan.customer_id]
        orders.append(o.plan._asdict() | {
            "order_id": o.order_id, "priority": 1 if o.plan.rush else customer.priority,
            "region": customer.region, "due_at": o.due_at, "created_at": o.history[0][1],
            "updated_at": o.history[-1][1],
        })  # fmt: skip
        for i, (status, at) in enumerate(o.history):
            # the outside world (customers, carriers) moves an order in and out; Titan the rest
            actor = "simulator" if status in ("CREATED", "DELIVERED") else "system"
            note = o.plan.hold_reason if status == "ON_HOLD" else _NOTES[status]
            steps.append({
                "order_id": o.order_id, "from_status": o.history[i - 1][0] if i else None,
                "to_status": status, "at": at, "actor": actor, "note": note,
            })  # fmt: skip
    await _insert(conn, plant, _ORDER, orders)
    await _insert(conn, plant, _LINE, [vars(line) for o in book.orders for line in o.lines])
    await _insert(conn, plant, _ORDER_EVENT, steps)
    await _insert(conn, plant, _RESERVATION, [vars(r) for o in book.orders for r in o.reservations])
    await _advance(conn, "order_number", cat.FIRST_ORDER_NUMBER + len(book.orders) - 1)


_SHIPMENT = """insert into shipments (shipment_id, order_id, carrier_id, origin_facility_id,
    destination_region, service_level, status, tracking_number, weight_kg, cost, created_at,
    shipped_at, eta, delivered_at)
values (%(shipment_id)s, %(order_id)s, %(carrier_id)s, %(origin_facility_id)s,
    %(destination_region)s, %(service_level)s, %(status)s, %(tracking_number)s, %(weight_kg)s,
    %(cost)s, %(created_at)s, %(shipped_at)s, %(eta)s, %(delivered_at)s)"""
_SHIPMENT_LINE = """insert into shipment_lines (shipment_id, order_id, line_no, quantity)
values (%(shipment_id)s, %(order_id)s, %(line_no)s, %(quantity)s)"""
_SHIPMENT_EVENT = """insert into shipment_events (shipment_id, status, location, at, note)
values (%(shipment_id)s, %(status)s, %(location)s, %(at)s, %(note)s)"""


async def _seed_shipments(conn: AsyncConn, plant: _Plant, book: _Book) -> None:
    shipments = [s for o in book.orders for s in o.shipments]
    lines = [
        {"shipment_id": s.shipment_id, "order_id": s.order_id, "line_no": n, "quantity": q}
        for s in shipments
        for n, q in s.lines
    ]
    tracking = [e | {"shipment_id": s.shipment_id} for s in shipments for e in s.events]
    await _insert(conn, plant, _SHIPMENT, [vars(s) for s in shipments])
    await _insert(conn, plant, _SHIPMENT_LINE, lines)
    await _insert(conn, plant, _SHIPMENT_EVENT, tracking)
    await _advance(conn, "shipment_number", 7000 + len(shipments))


# ───────────────────────── traceability ─────────────────────────


@dataclass
class _Batch:
    batch_id: str
    sku: str
    supplier_id: str
    facility_id: str
    heat_number: str
    quantity: int
    received_at: datetime
    left: int = 0


@dataclass
class _Certificate:
    batch_id: str
    kind: str
    issued_by: str
    issued_on: date
    document_ref: str
    valid_until: date | None = None


@dataclass
class _Usage:
    batch_id: str
    order_id: str
    line_no: int
    quantity: int
    machine_id: str
    used_at: datetime


_BATCH = """insert into material_batches (batch_id, sku, supplier_id, facility_id, heat_number,
    quantity, received_at)
values (%(batch_id)s, %(sku)s, %(supplier_id)s, %(facility_id)s, %(heat_number)s, %(quantity)s,
    %(received_at)s)"""
_CERTIFICATE = """insert into batch_certificates (certificate_id, batch_id, kind, issued_by,
    issued_on, valid_until, document_ref)
values (%(certificate_id)s, %(batch_id)s, %(kind)s, %(issued_by)s, %(issued_on)s,
    %(valid_until)s, %(document_ref)s)"""
_USAGE = """insert into batch_usage (batch_id, order_id, line_no, quantity, machine_id, used_at)
values (%(batch_id)s, %(order_id)s, %(line_no)s, %(quantity)s, %(machine_id)s, %(used_at)s)"""


async def _seed_materials(conn: AsyncConn, plant: _Plant, book: _Book) -> None:
    """Certified heats of raw material, finished blade lots, and the order lines that used them."""
    rng = plant.rng("materials")
    heats: list[_Batch] = []
    for sku, fac, count in cat.RAW_HEATS:
        for n in range(1, count + 1):
            bars, heat_number = rng.randint(60, 90), f"H{rng.randint(100000, 999999)}"
            received = plant.ago(rng, 45 * 1440, 160 * 1440)
            batch_id = f"B-{sku[7:]}-{fac}-{n}"
            heats.append(_Batch(batch_id, sku, "TITANMET", fac, heat_number, bars, received, bars))
    certificates = [
        c for b in heats for c in (
            _Certificate(batch_id=b.batch_id, kind="MILL_CERT", issued_by="TitanMet Alloys",
                         issued_on=b.received_at.date() - timedelta(days=rng.randint(3, 12)),
                         document_ref=f"TITANMET/MTR/{b.heat_number}"),
            _Certificate(batch_id=b.batch_id, kind="MATERIAL_TEST",
                         issued_by=f"Titan Manufacturing {b.facility_id} materials lab",
                         issued_on=b.received_at.date() + timedelta(days=rng.randint(1, 3)),
                         document_ref=f"LAB/{b.batch_id}"),
        )
    ]  # fmt: skip
    lots: list[_Batch] = []
    usage: list[_Usage] = []
    for order in (o for o in book.orders if o.reached("IN_PRODUCTION")):
        fac = order.plan.facility_id
        for line in order.lines:
            product = _PRODUCTS[line.sku]
            if product.material is None:
                continue
            heat = max((b for b in heats if (b.sku, b.facility_id) == (product.material, fac)),
                       key=lambda b: b.left)  # fmt: skip
            bars = math.ceil(line.quantity * product.material_per_unit)
            heat.left -= bars
            first_op = cat.ROUTINGS[line.sku][0].wc_type
            machine = rng.choice(
                [
                    m.machine_id
                    for m in cat.MACHINES
                    if (m.facility_id, m.wc_type) == (fac, first_op)
                ]
            )
            used = order.at("IN_PRODUCTION") + timedelta(minutes=rng.randint(5, 25))
            usage.append(_Usage(batch_id=heat.batch_id, order_id=order.order_id,
                                line_no=line.line_no, quantity=bars, machine_id=machine,
                                used_at=used))  # fmt: skip
            if product.category != "TURBINE_BLADE" or not order.reached("READY"):
                continue
            # a finished lot of blades, released with its FAA 8130-3 tag after final inspection
            ready = order.at("READY")
            lot = _Batch(f"LOT-{order.order_id[4:]}-{line.line_no}", line.sku, heat.supplier_id,
                         fac, heat.heat_number, line.quantity, ready)  # fmt: skip
            lots.append(lot)
            certificates.append(_Certificate(
                batch_id=lot.batch_id, kind="FAA_8130_3", issued_on=ready.date(),
                issued_by=f"Titan Manufacturing {fac} Quality",
                document_ref=f"8130-3/{fac}/{order.order_id}-{line.line_no}"))  # fmt: skip
            usage.append(_Usage(batch_id=lot.batch_id, order_id=order.order_id,
                                line_no=line.line_no, quantity=line.quantity,
                                machine_id=f"{fac}-CMM-001", used_at=ready))  # fmt: skip
    certificates.sort(key=lambda c: (c.batch_id, c.kind))
    await _insert(conn, plant, _BATCH, [vars(b) for b in heats + lots])
    await _insert(conn, plant, _CERTIFICATE, [
        vars(c) | {"certificate_id": f"CERT-{n:04d}"}
        for n, c in enumerate(certificates, start=1)
    ])  # fmt: skip
    await _insert(conn, plant, _USAGE, [vars(u) for u in usage])


# ───────────────────────── purchasing, maintenance, customers ─────────────────────────

_PURCHASE = """insert into purchase_orders (po_id, supplier_id, sku, facility_id, quantity,
    unit_price, status, ordered_at, expected_at, received_at)
values (%(po_id)s, %(supplier_id)s, %(sku)s, %(facility_id)s, %(quantity)s, %(unit_price)s,
    %(status)s, %(ordered_at)s, %(expected_at)s, %(received_at)s)"""


async def _seed_purchasing(conn: AsyncConn, plant: _Plant) -> None:
    rng = plant.rng("purchasing")
    rows: list[Row] = []
    for n, po in enumerate(cat.PURCHASE_PLANS, start=5001):
        item = next(i for i in cat.SUPPLIER_ITEMS if (i.supplier_id, i.sku) == po[:2])
        lead = item.lead_time_days
        days_ago = {"PENDING": rng.randint(1, 5), "IN_TRANSIT": lead - rng.randint(2, 6),
                    "RECEIVED": lead + rng.randint(5, 15)}[po.status]  # fmt: skip
        ordered = plant.anchor - timedelta(days=days_ago, minutes=rng.randint(0, 600))
        expected = ordered + timedelta(days=lead)
        moq = item.min_order_qty
        rows.append(po._asdict() | {
            "po_id": f"PO-{n}", "quantity": math.ceil(rng.randint(po.least, po.most) / moq) * moq,
            "unit_price": item.unit_price, "ordered_at": ordered, "expected_at": expected,
            "received_at": expected if po.status == "RECEIVED" else None,
        })  # fmt: skip
    await _insert(conn, plant, _PURCHASE, rows)
    await _advance(conn, "purchase_order_number", 5000 + len(rows))


_WORK_ORDER = """insert into work_orders (work_order_id, machine_id, kind, priority, status,
    fault_type, description, assigned_to, scheduled_start, scheduled_end, created_at, started_at)
values (%(work_order_id)s, %(machine_id)s, %(kind)s, %(priority)s, %(status)s, %(fault_type)s,
    %(description)s, %(assigned_to)s, %(start)s, %(end)s, %(created_at)s, %(started_at)s)"""
_COUNTER = """insert into production_counters (machine_id, shift_date, shift_name,
    parts_produced, parts_defective, planned_minutes, runtime_minutes, ideal_cycle_minutes,
    updated_at)
values (%(machine_id)s, %(shift_date)s, %(shift_name)s, %(produced)s, %(defective)s,
    %(planned)s, %(runtime)s, %(cycle)s, %(updated_at)s)"""
# ideal minutes per part by work-center type, for the production counters
_CYCLE_MINUTES = {"CNC_MILL": 14, "CNC_LATHE": 9, "GRINDING": 12, "HEAT_TREAT": 6,
                  "INSPECTION": 8, "ASSEMBLY": 22}  # fmt: skip


async def _seed_maintenance(conn: AsyncConn, plant: _Plant) -> None:
    """Open work orders, and each running machine's counters for its last shift."""
    rng = plant.rng("maintenance")
    orders: list[Row] = []
    for n, wo in enumerate(cat.WORK_ORDER_PLANS, start=3001):
        if wo.status == "IN_PROGRESS":
            start = plant.anchor - timedelta(minutes=cat.MAINTENANCE_STARTED_MINUTES_AGO)
            created, started = start - timedelta(minutes=rng.randint(10, 40)), start
        else:
            created, started = plant.ago(rng, 1440, 10 * 1440), None
            start = plant.anchor + timedelta(days=rng.randint(1, 14), hours=rng.choice((2, 10)))
        end = start + timedelta(hours=rng.randint(2, 8))
        planned = wo.status != "OPEN"
        orders.append(wo._asdict() | {
            "work_order_id": f"WO-{n}", "start": start if planned else None,
            "end": end if planned else None, "created_at": created, "started_at": started,
        })  # fmt: skip
    await _insert(conn, plant, _WORK_ORDER, orders)
    await _advance(conn, "work_order_number", 3000 + len(orders))
    counters: list[Row] = []
    for m in (m for m in cat.MACHINES if m.status == "RUNNING"):
        day, name, ends = _last_shift(_FACILITIES[m.facility_id], plant.anchor)
        planned_minutes = cat.SHIFTS[name][1] - cat.BREAK_MINUTES
        runtime = round(planned_minutes * rng.uniform(0.78, 0.95))
        cycle = _CYCLE_MINUTES[m.wc_type]
        produced = int(runtime / cycle * rng.uniform(0.85, 0.98))
        counters.append({
            "machine_id": m.machine_id, "shift_date": day, "shift_name": name,
            "produced": produced, "defective": rng.randint(0, max(1, produced // 30)),
            "planned": planned_minutes, "runtime": runtime, "cycle": cycle, "updated_at": ends,
        })  # fmt: skip
    await _insert(conn, plant, _COUNTER, counters)


def _last_shift(facility: cat.Facility, anchor: datetime) -> tuple[date, str, datetime]:
    """The facility's last shift to end by `anchor`: its local date, its name, its end."""
    today = anchor.astimezone(ZoneInfo(facility.timezone)).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if day.isoweekday() > 5:
            continue
        for name in sorted(facility.shifts, key=lambda s: cat.SHIFTS[s][0], reverse=True):
            start, minutes = cat.SHIFTS[name]
            ends = _local(day, start, facility.timezone) + timedelta(minutes=minutes)
            if ends <= anchor:
                return day, name, ends
    raise AssertionError(f"{facility.facility_id} works no shift in a week")


_INQUIRY = """insert into customer_inquiries (inquiry_id, customer_id, order_id, channel, kind,
    subject, body, status, received_at, answered_at, response)
values (%(inquiry_id)s, %(customer_id)s, %(order_id)s, %(channel)s, %(kind)s, %(subject)s, %(body)s,
    %(status)s, %(received_at)s, %(answered_at)s, %(response)s)"""


async def _seed_inquiries(conn: AsyncConn, plant: _Plant, book: _Book) -> None:
    rng = plant.rng("inquiries")
    rows: list[Row] = []
    for n, inq in enumerate(cat.INQUIRY_PLANS, start=9001):
        order_id = book.tagged(inq.order_tag).order_id
        received = plant.ago(rng, 30, 170)
        answered = inq.response is not None
        rows.append(inq._asdict() | {
            "inquiry_id": f"INQ-{n}", "order_id": order_id,
            "subject": inq.subject.format(order_id=order_id),
            "body": inq.body.format(order_id=order_id),
            "status": "ANSWERED" if answered else "OPEN", "received_at": received,
            "answered_at": received + timedelta(minutes=25) if answered else None,
            "response": inq.response.format(order_id=order_id) if inq.response else None,
        })  # fmt: skip
    await _insert(conn, plant, _INQUIRY, rows)
    await _advance(conn, "inquiry_number", 9000 + len(rows))
