"""The business side of history in bulk: shift counters, and completed orders with their
delivered shipments, in a few round trips (`executemany` in pipeline mode).

History is the plant's past as it was: rows are written as they stand (a COMPLETED order with its
whole status history), without the lifecycle checks, events and audit rows of a live change.
"""

from __future__ import annotations

from typing import Any

from tools.core.db import AsyncConn
from tools.logistics.shipments import tracking_number


async def write_counters(conn: AsyncConn, counters: list[dict[str, Any]]) -> int:
    """Store shift counters, each {m: machine, d: shift date, n: shift name, produced,
    defective, planned, runtime, cycle, at}; a shift already counted is kept as it is. The number
    of counters given."""
    async with conn.cursor() as cur:
        await cur.executemany(
            "insert into production_counters (machine_id, shift_date, shift_name, parts_produced, "
            "parts_defective, planned_minutes, runtime_minutes, ideal_cycle_minutes, updated_at) "
            "values (%(m)s, %(d)s, %(n)s, %(produced)s, %(defective)s, %(planned)s, %(runtime)s, "
            "%(cycle)s, %(at)s) on conflict do nothing",
            counters,
        )
    return len(counters)


async def write_completed_orders(conn: AsyncConn, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Store completed orders with their lines, status history, one delivered shipment each with
    its lines and tracking scans, and their stock movements. `tables` holds the rows by table
    ("orders", "lines", "events", "shipments", "shipment_lines", "scans", "movements"), each
    naming its order by `n`, its index in "orders"; the order and shipment numbers are drawn
    here from their sequences, in one round trip."""
    count = len(tables["orders"])
    if not count:
        return
    drawn = await conn.execute(
        "select nextval('order_number') as o, nextval('shipment_number') as s "
        "from generate_series(1, %(n)s) order by 1",
        {"n": count},
    )
    numbers = await drawn.fetchall()
    oid = {i: f"ORD-{r['o']}" for i, r in enumerate(numbers)}
    sid = {i: (f"SHP-{r['s']}", int(r["s"])) for i, r in enumerate(numbers)}
    statements = (
        (
            "insert into orders (order_id, customer_id, status, priority, is_rush, facility_id, "
            "ship_to_region, due_at, created_at, updated_at, notes) values (%(order_id)s, "
            "%(customer_id)s, 'COMPLETED', %(priority)s, %(rush)s, %(facility_id)s, %(region)s, "
            "%(due_at)s, %(created_at)s, %(updated_at)s, 'history')",
            "orders",
        ),
        (
            "insert into order_lines (order_id, line_no, sku, quantity, unit_price, "
            "quantity_shipped) values (%(order_id)s, %(line_no)s, %(sku)s, %(quantity)s, "
            "%(unit_price)s, %(quantity)s)",
            "lines",
        ),
        (
            "insert into order_events (order_id, from_status, to_status, at, actor, note) values "
            "(%(order_id)s, %(from_status)s, %(to_status)s, %(at)s, %(actor)s, 'history')",
            "events",
        ),
        (
            "insert into shipments (shipment_id, order_id, carrier_id, origin_facility_id, "
            "destination_region, service_level, status, tracking_number, weight_kg, cost, "
            "created_at, shipped_at, eta, delivered_at) values (%(shipment_id)s, %(order_id)s, "
            "%(carrier)s, %(origin)s, %(dest)s, %(service)s, 'DELIVERED', %(tracking)s, %(kg)s, "
            "%(cost)s, %(shipped)s - interval '1 hour', %(shipped)s, %(shipped)s + %(transit)s, "
            "%(delivered)s)",
            "shipments",
        ),
        (
            "insert into shipment_lines (shipment_id, order_id, line_no, quantity) values "
            "(%(shipment_id)s, %(order_id)s, %(line_no)s, %(quantity)s)",
            "shipment_lines",
        ),
        (
            "insert into shipment_events (shipment_id, status, location, at, note) values "
            "(%(shipment_id)s, %(status)s, %(location)s, %(at)s, 'history')",
            "scans",
        ),
        (
            "insert into stock_movements (sku, facility_id, quantity, kind, reference_type, "
            "reference_id, at, actor) values (%(sku)s, %(facility_id)s, %(quantity)s, %(kind)s, "
            "'order', %(order_id)s, %(at)s, 'simulator')",
            "movements",
        ),
    )
    async with conn.cursor() as cur:
        for query, table in statements:
            params = []
            for row in tables[table]:
                shipment_id, number = sid[row["n"]]
                params.append(
                    row
                    | {
                        "order_id": oid[row["n"]],
                        "shipment_id": shipment_id,
                        "tracking": tracking_number(row.get("carrier", "DHL"), number),
                    }
                )
            await cur.executemany(query, params)
