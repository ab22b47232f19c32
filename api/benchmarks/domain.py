"""The domain benchmark: the operations Titan's agents and simulation lean on hardest.

Runs in a scratch database of its own (the demo plant, then what each benchmark needs):
reserving stock for an order, recording 10,000 sensor readings in one batch, the health of all
24 machines over the last hour with a week of readings in the table, and one order's audit trail.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from api.benchmarks.harness import Measurement, measure
from tools.core import clock, db
from tools.core.operations import Actor
from tools.governance import audit as governance
from tools.inventory import reservations
from tools.inventory import stock as inventory
from tools.machine_data import sensors
from tools.maintenance import health
from tools.orders import orders
from tools.orders.contracts import LineRequest, OrderDraft

BENCH = Actor(type="system", id="bench")
SENSORS = ("vibration", "temperature", "spindle_speed", "spindle_load", "coolant_pressure",
           "motor_current", "power")  # fmt: skip
BASELINE = {"vibration": 2.0, "temperature": 45.0, "spindle_speed": 8000.0, "spindle_load": 40.0,
            "coolant_pressure": 6.0, "motor_current": 20.0, "power": 12.0}  # fmt: skip

Progress = Callable[[str], None]


async def _bench_order_lines(conn: db.AsyncConn) -> tuple[str, str, str]:
    """A customer, a SKU they may buy (no certification needed) and the facility stocking it."""
    cur = await conn.execute(
        "select c.customer_id, p.sku, s.facility_id from customers c "
        "join customer_divisions d using (customer_id) "
        "join products p on p.division_id = d.division_id and p.is_manufactured "
        "and not p.requires_certification "
        "join stock_levels s on s.sku = p.sku "
        "where not exists (select 1 from customer_compliance x where x.customer_id = c.customer_id "
        "and x.requirement in ('MATERIAL_CERT', 'ITAR')) "
        "order by c.customer_id, p.sku, s.facility_id limit 1"
    )
    row = await cur.fetchone()
    if row is None:
        raise RuntimeError("the demo plant has no customer and SKU to benchmark reservations with")
    return row["customer_id"], row["sku"], row["facility_id"]


async def bench_reserve(url: str, *, count: int) -> Measurement:
    async with db.connection(url) as conn:
        customer_id, sku, facility = await _bench_order_lines(conn)
        await inventory.adjust_stock(
            conn, BENCH, sku, facility, delta=count * 2 + 100, reason="benchmark stock"
        )
        ids: list[str] = []
        due = clock.now() + timedelta(days=30)
        for _ in range(count + 3):
            draft = OrderDraft(
                customer_id=customer_id, lines=[LineRequest(sku=sku, quantity=1)],
                due_at=due, facility_id=facility,
            )  # fmt: skip
            order = await orders.create_order(conn, BENCH, draft)
            await orders.validate_order(conn, BENCH, order.order_id)
            ids.append(order.order_id)

        async def reserve(i: int) -> None:
            await reservations.reserve_stock(conn, BENCH, ids[i])

        return await measure(
            "reserve stock for an order", reserve, repeat=count, warmup=3,
            note=f"{customer_id} order of 1 x {sku} at {facility}, one client",
        )  # fmt: skip


def _readings(machines: list[str], start_minute: int, minutes: int) -> list[sensors.Reading]:
    rng = random.Random(start_minute)
    base = clock.now() - timedelta(days=30)  # before the week the health benchmark reads
    return [
        sensors.Reading(
            machine_id=m, sensor=s, ts=base + timedelta(minutes=start_minute + k),
            value=BASELINE[s] * (1 + rng.gauss(0, 0.02)),
        )
        for k in range(minutes) for m in machines for s in SENSORS
    ]  # fmt: skip


async def _machines(conn: db.AsyncConn) -> list[str]:
    cur = await conn.execute("select machine_id from equipment order by machine_id")
    return [r["machine_id"] for r in await cur.fetchall()]


async def bench_readings(url: str, *, batches: int) -> Measurement:
    async with db.connection(url) as conn:
        machines = await _machines(conn)
        per_batch = 10_000
        minutes = -(-per_batch // (len(machines) * len(SENSORS)))
        prepared = [
            _readings(machines, 20_000 + i * minutes, minutes)[:per_batch]
            for i in range(batches + 2)
        ]

        async def record(i: int) -> None:
            await sensors.record_readings(
                conn, BENCH, readings=prepared[i + 2 if i >= 0 else -i - 1]
            )

        return await measure(
            "record 10,000 sensor readings in one batch", record, repeat=batches, warmup=2,
            units_per_op=per_batch, note="ops/s counts readings",
        )  # fmt: skip


async def fill_week_of_readings(url: str, progress: Progress) -> int:
    """A week of readings at one a minute per sensor for every machine, up to now."""
    async with db.connection(url) as conn:
        machines = await _machines(conn)
        week = 7 * 24 * 60
        start = clock.now() - timedelta(minutes=week)
        written = 0
        chunk = 240  # minutes per batch: 24 machines x 7 sensors x 240 = 40,320 readings
        for first in range(0, week, chunk):
            rng = random.Random(first)
            batch = [
                sensors.Reading(
                    machine_id=m, sensor=s, ts=start + timedelta(minutes=first + k),
                    value=BASELINE[s] * (1 + rng.gauss(0, 0.02)),
                )
                for k in range(min(chunk, week - first)) for m in machines for s in SENSORS
            ]  # fmt: skip
            await sensors.record_readings(conn, BENCH, readings=batch)
            written += len(batch)
            progress(f"a week of readings: {written:,}")
        return written


async def bench_health(url: str, *, repeat: int, week: bool) -> Measurement:
    async with db.connection(url) as conn:

        async def all_machines(_: int) -> None:
            found = await health.equipment_health(conn, window_minutes=60)
            assert len(found) == 24

        return await measure(
            "health of all 24 machines over the last hour", all_machines, repeat=repeat,
            note="a week of readings (1.7 M rows) in the table" if week else "quick: no history",
        )  # fmt: skip


async def bench_audit(url: str, *, repeat: int) -> Measurement:
    async with db.connection(url) as conn:
        cur = await conn.execute(
            "select entity_id, count(*) as n from audit_log where entity_type = 'order' "
            "group by entity_id order by n desc, entity_id limit 1"
        )
        row = await cur.fetchone()
        order_id = row["entity_id"] if row else "ORD-10001"
        query = governance.AuditQuery(entity_type="order", entity_id=order_id, limit=100)

        async def trail(_: int) -> None:
            await governance.audit_trail(conn, query)

        return await measure("audit trail for one order", trail, repeat=repeat, note=f"{order_id}")


async def run_domain_bench(url: str, *, quick: bool, progress: Progress) -> list[Measurement]:
    """Every domain measurement, in a scratch database at `url`."""
    results = []
    progress("reserving stock")
    results.append(await bench_reserve(url, count=100 if quick else 500))
    progress("recording readings")
    results.append(await bench_readings(url, batches=5 if quick else 20))
    if not quick:
        await fill_week_of_readings(url, progress)
    progress("machine health")
    results.append(await bench_health(url, repeat=20 if quick else 100, week=not quick))
    progress("audit trail")
    results.append(await bench_audit(url, repeat=50 if quick else 300))
    return results
