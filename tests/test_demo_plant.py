"""The demo plant: deterministic per seed and plant day, complete, and consistent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from psycopg import sql

from tools.core import admin, db
from tools.core.clock import FixedClock
from tools.core.errors import ConflictError
from tools.demo import plant as demo_plant

Dump = dict[str, list[dict[str, Any]]]

# set by the database, not by the plant: when the event row was written
UNSEEDED_COLUMNS = {"event_log": {"recorded_at"}}
CATALOGUE_KEYS = {
    "facilities": "facility_id",
    "work_centers": "work_center_id",
    "machine_models": "model",
    "equipment": "machine_id",
    "products": "sku",
    "customers": "customer_id",
    "suppliers": "supplier_id",
    "carriers": "carrier_id",
}


async def rows(conn: db.AsyncConn, query: str, *params: object) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def dump(conn: db.AsyncConn) -> Dump:
    """Every table's rows, ordered by its primary key."""
    tables: Dump = {}
    for table in await admin.plant_tables(conn):
        if table == admin.RESET_TABLE:
            continue  # the record of resets grows with each
        key = await rows(
            conn,
            "select k.column_name from information_schema.table_constraints c "
            "join information_schema.key_column_usage k using (constraint_schema, constraint_name) "
            "where c.table_schema = 'public' and c.table_name = %s "
            "and c.constraint_type = 'PRIMARY KEY' order by k.ordinal_position",
            table,
        )
        query = sql.SQL("select * from {} order by {}").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(k["column_name"]) for k in key)
        )
        skip = UNSEEDED_COLUMNS.get(table, set())
        cur = await conn.execute(query)
        tables[table] = [
            {c: v for c, v in row.items() if c not in skip} for row in await cur.fetchall()
        ]
    return tables


async def reset(conn: db.AsyncConn, seed: int) -> demo_plant.PlantSummary:
    async with conn.transaction():
        return await demo_plant.reset(conn, seed=seed, by="test")


@pytest.mark.anyio
async def test_the_same_seed_on_the_same_clock_gives_identical_rows_in_every_table(
    plant: db.AsyncConn,
) -> None:
    first = await dump(plant)
    await reset(plant, 42)
    second = await dump(plant)

    assert first == second
    assert sum(len(r) for r in first.values()) > 500


@pytest.mark.anyio
async def test_a_later_time_on_the_same_plant_day_lays_out_the_same_plant(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    first = await dump(plant)
    fixed_clock.advance(timedelta(hours=23, minutes=59))
    summary = await reset(plant, 42)
    second = await dump(plant)

    assert summary.anchor == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    del first["event_log"], second["event_log"]  # the event says when it was loaded
    assert first == second


@pytest.mark.anyio
async def test_a_different_seed_gives_a_different_plant_with_the_same_catalogue(
    plant: db.AsyncConn,
) -> None:
    first = await dump(plant)
    await reset(plant, 7)
    second = await dump(plant)

    for table, key in CATALOGUE_KEYS.items():
        assert [r[key] for r in first[table]] == [r[key] for r in second[table]], table
    assert first["products"] == second["products"]
    assert first["routings"] == second["routings"]
    assert first["order_lines"] != second["order_lines"]
    assert first["stock_levels"] != second["stock_levels"]
    assert first["order_events"] != second["order_events"]


@pytest.mark.anyio
async def test_the_entities_the_design_names_exist(plant: db.AsyncConn) -> None:
    machines = {
        r["machine_id"]: r["wc_type"]
        for r in await rows(
            plant,
            "select machine_id, wc_type from equipment join work_centers using (work_center_id)",
        )
    }
    customers = {r["customer_id"] for r in await rows(plant, "select customer_id from customers")}
    suppliers = {r["supplier_id"]: r["name"] for r in await rows(plant, "select * from suppliers")}
    products = await rows(plant, "select sku, is_manufactured from products")
    routed = {r["sku"] for r in await rows(plant, "select distinct sku from routings")}
    facilities = {r["facility_id"] for r in await rows(plant, "select * from facilities")}

    assert {"PHX", "MUC"} <= facilities and len(facilities) >= 3
    assert len(machines) == 24
    for machine in ("PHX-CNC-007", "PHX-CNC-012", "MUC-CNC-001"):
        assert machines[machine] == "CNC_MILL"
    assert len(customers) == 6 and {"BOEING", "TESLA"} <= customers
    assert len(suppliers) == 4 and suppliers["NIPPONBEARING"] == "NipponBearing"
    assert len(products) == 20
    assert routed == {p["sku"] for p in products if p["is_manufactured"]}


@pytest.mark.anyio
async def test_customers_only_order_products_of_their_divisions(plant: db.AsyncConn) -> None:
    outside = await rows(
        plant,
        "select o.order_id, o.customer_id, l.sku from orders o join order_lines l using (order_id) "
        "join products p using (sku) where not exists (select 1 from customer_divisions d "
        "where d.customer_id = o.customer_id and d.division_id = p.division_id)",
    )
    buyers = await rows(
        plant,
        "select distinct o.customer_id, p.division_id from orders o "
        "join order_lines l using (order_id) join products p using (sku)",
    )

    assert outside == []
    assert {"customer_id": "BOEING", "division_id": "AERO"} in buyers
    assert {"customer_id": "TESLA", "division_id": "MOBILITY"} in buyers


@pytest.mark.anyio
async def test_reserved_stock_equals_the_open_reservations_of_each_sku_and_facility(
    plant: db.AsyncConn,
) -> None:
    mismatched = await rows(
        plant,
        "select s.sku, s.facility_id, s.reserved, coalesce(sum(r.quantity), 0) as held "
        "from stock_levels s left join stock_reservations r on r.sku = s.sku "
        "and r.facility_id = s.facility_id and r.status in ('RESERVED', 'COMMITTED') "
        "group by s.sku, s.facility_id having s.reserved <> coalesce(sum(r.quantity), 0)",
    )
    reserving = await rows(
        plant,
        "select distinct o.status from orders o join stock_reservations r using (order_id)",
    )

    assert mismatched == []
    assert {"status": "RESERVED"} in reserving and {"status": "IN_PRODUCTION"} in reserving


@pytest.mark.anyio
async def test_the_stories_find_their_setting(plant: db.AsyncConn) -> None:
    bearings = await rows(
        plant,
        "select on_hand - reserved as free, reorder_point from stock_levels "
        "where sku = 'SKU-BRG-7014' and facility_id = 'PHX'",
    )
    boeing_rush = await rows(
        plant,
        "select distinct r.facility_id from orders o join stock_reservations r using (order_id) "
        "where o.customer_id = 'BOEING' and o.is_rush order by 1",
    )
    split = await rows(
        plant, "select order_id from shipments group by order_id having count(*) > 1"
    )
    shipments = {r["status"] for r in await rows(plant, "select status from shipments")}
    nippon = await rows(
        plant,
        "select po_id from purchase_orders where supplier_id = 'NIPPONBEARING' "
        "and status in ('PENDING', 'IN_TRANSIT')",
    )
    traced = await rows(
        plant,
        "select c.kind from batch_usage u join material_batches b using (batch_id) "
        "join batch_certificates c using (batch_id) join orders o using (order_id) "
        "where o.customer_id = 'BOEING'",
    )

    assert bearings[0]["free"] < bearings[0]["reorder_point"]
    assert boeing_rush == [{"facility_id": "MUC"}, {"facility_id": "PHX"}]
    assert len(split) == 1
    assert {"IN_TRANSIT", "DELAYED", "DELIVERED"} <= shipments
    assert nippon
    assert {"MILL_CERT", "FAA_8130_3"} <= {t["kind"] for t in traced}


@pytest.mark.anyio
async def test_the_past_lies_before_the_plant_day_and_promises_after_it(
    plant: db.AsyncConn,
) -> None:
    anchor = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    late_events = await rows(
        plant,
        "select at from order_events where at > %s union all "
        "select at from shipment_events where at > %s union all "
        "select used_at from batch_usage where used_at > %s",
        anchor, anchor, anchor,
    )  # fmt: skip
    in_flight = await rows(
        plant, "select eta from shipments where status in ('IN_TRANSIT', 'DELAYED')"
    )
    open_orders = await rows(
        plant,
        "select due_at from orders where status not in ('SHIPPED', 'DELIVERED', 'COMPLETED')",
    )

    assert late_events == []
    assert in_flight and all(r["eta"] > anchor for r in in_flight)
    assert open_orders and all(r["due_at"] > anchor for r in open_orders)


@pytest.mark.anyio
async def test_new_ids_continue_after_the_demo_plant_s_own(plant: db.AsyncConn) -> None:
    taken = {r["order_id"] for r in await rows(plant, "select order_id from orders")}
    cur = await plant.execute(
        "select nextval('order_number') as o, nextval('shipment_number') as s, "
        "nextval('purchase_order_number') as p, nextval('work_order_number') as w, "
        "nextval('inquiry_number') as i"
    )
    following = await cur.fetchone()

    assert following is not None
    assert f"ORD-{following['o']}" not in taken
    for table, column, prefix, value in (
        ("shipments", "shipment_id", "SHP", following["s"]),
        ("purchase_orders", "po_id", "PO", following["p"]),
        ("work_orders", "work_order_id", "WO", following["w"]),
        ("customer_inquiries", "inquiry_id", "INQ", following["i"]),
    ):
        query = sql.SQL("select count(*) as n from {} where {} = %s").format(
            sql.Identifier(table), sql.Identifier(column)
        )
        found = await (await plant.execute(query, (f"{prefix}-{value}",))).fetchone()
        assert found is not None and found["n"] == 0, table


@pytest.mark.anyio
async def test_reset_keeps_accounts_and_replaces_the_plant(plant: db.AsyncConn) -> None:
    async with plant.transaction():
        await plant.execute(
            "insert into users (user_id, display_name, email, role) "
            "values ('maria', 'Maria Lopez', 'maria@titan.example', 'production_manager')"
        )
        await plant.execute(
            "insert into api_keys (key_id, user_id, key_hash, role) "
            "values ('key-1', 'maria', 'hash-1', 'production_manager')"
        )
    before = await rows(plant, "select * from order_lines order by order_id, line_no")

    summary = await reset(plant, 43)

    assert [r["user_id"] for r in await rows(plant, "select user_id from users")] == ["maria"]
    assert [r["key_id"] for r in await rows(plant, "select key_id from api_keys")] == ["key-1"]
    assert await rows(plant, "select * from order_lines order by order_id, line_no") != before
    seeded = await rows(plant, "select payload from event_log where type = 'plant.seeded'")
    assert [e["payload"]["seed"] for e in seeded] == [43]
    assert summary.seed == 43 and summary.counts["equipment"] == 24


@pytest.mark.anyio
async def test_loading_writes_one_plant_seeded_event_and_counts_what_it_wrote(
    conn: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    async with conn.transaction():
        summary = await demo_plant.seed(conn, seed=5)

    events = await rows(conn, "select * from event_log")
    orders = await rows(conn, "select count(*) as n from orders")
    assert len(events) == 1
    assert events[0]["type"] == "plant.seeded" and events[0]["source"] == "system"
    assert events[0]["payload"]["seed"] == 5
    assert events[0]["occurred_at"] == fixed_clock.now()
    assert summary.anchor == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert summary.counts["orders"] == orders[0]["n"]
    assert "event_log" not in summary.counts and "users" not in summary.counts


@pytest.mark.anyio
async def test_loading_onto_a_plant_already_there_is_refused(plant: db.AsyncConn) -> None:
    with pytest.raises(ConflictError, match="already holds a plant"):
        async with plant.transaction():
            await demo_plant.seed(plant, seed=42)


@pytest.mark.parametrize(
    ("now", "anchor"),
    [
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), datetime(2026, 3, 2, 6, 0, tzinfo=UTC)),
        (datetime(2026, 3, 2, 5, 59, tzinfo=UTC), datetime(2026, 3, 1, 6, 0, tzinfo=UTC)),
        (datetime(2026, 3, 2, 23, 59, tzinfo=UTC), datetime(2026, 3, 2, 6, 0, tzinfo=UTC)),
        # 20:00 in Phoenix is 03:00 UTC the next day, before that day's 06:00
        (
            datetime(2026, 3, 2, 20, 0, tzinfo=timezone(timedelta(hours=-7))),
            datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
        ),
    ],
)
def test_the_plant_day_starts_at_six_utc(now: datetime, anchor: datetime) -> None:
    assert demo_plant.plant_anchor(now) == anchor


def test_the_plant_day_needs_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        demo_plant.plant_anchor(datetime(2026, 3, 2, 12, 0))


@pytest.mark.anyio
async def test_the_stock_ledger_sums_to_each_level_on_hand(plant: db.AsyncConn) -> None:
    cur = await plant.execute(
        "select s.sku, s.facility_id, s.on_hand, coalesce(sum(m.quantity), 0) as ledger "
        "from stock_levels s left join stock_movements m using (sku, facility_id) "
        "group by s.sku, s.facility_id, s.on_hand having s.on_hand <> coalesce(sum(m.quantity), 0)"
    )

    assert await cur.fetchall() == []


@pytest.mark.anyio
async def test_a_reset_keeps_a_record_of_itself_that_later_resets_keep(
    plant: db.AsyncConn,
) -> None:
    async with plant.transaction():
        cur = await plant.execute("select count(*) as n from orders")
        orders = (await cur.fetchone() or {})["n"]
    async with plant.transaction():
        await demo_plant.reset(plant, seed=42, by="admin")
    async with plant.transaction():
        await demo_plant.reset(plant, seed=7, by="cli:root")
        found = await demo_plant.resets(plant)

    assert [(r.requested_by, r.seed) for r in found] == [("cli:root", 7), ("admin", 42)]
    assert found[1].wiped["orders"] == orders and found[1].last_event_id is not None
    assert "plant_resets" not in found[0].wiped and "users" not in found[0].wiped
