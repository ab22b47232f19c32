"""The data catalog: Titan's own tables described, counted, linked and checked."""

from __future__ import annotations

import pytest

from tools.core import db
from tools.core.errors import NotFoundError, ValidationError
from tools.governance import catalog

# The tables of the plant model, the operations frame and governance: each must say what it holds.
FOUNDATION_TABLES = """
facilities shift_calendars shifts shift_breaks calendar_exceptions work_centers machine_models
equipment divisions products routings customers customer_divisions customer_compliance suppliers
supplier_items orders order_lines order_events stock_levels material_batches batch_certificates
stock_movements stock_reservations batch_usage purchase_orders carriers shipping_rates shipments
shipment_lines shipment_events sensor_thresholds sensor_readings anomalies failure_predictions
work_orders spare_part_compatibility production_counters schedules schedule_slots notifications
customer_inquiries event_log users api_keys approvals audit_log idempotency_keys schema_migrations
notification_roles
""".split()


async def count(conn: db.AsyncConn, query: str) -> int:
    cur = await conn.execute(query)  # type: ignore[arg-type]
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


@pytest.mark.anyio
async def test_every_table_of_the_plant_model_has_a_description(plant: db.AsyncConn) -> None:
    tables = {t.table: t for t in await catalog.list_tables(plant)}

    assert set(FOUNDATION_TABLES) <= set(tables)
    undescribed = [t for t in FOUNDATION_TABLES if not tables[t].description]
    assert undescribed == []


@pytest.mark.anyio
async def test_row_counts_are_the_tables_own(plant: db.AsyncConn) -> None:
    tables = {t.table: t for t in await catalog.list_tables(plant)}

    assert tables["orders"].rows == await count(plant, "select count(*) as n from orders")
    assert tables["shipping_rates"].rows == await count(
        plant, "select count(*) as n from shipping_rates"
    )
    assert not tables["orders"].rows_estimated
    assert tables["orders"].columns == len((await catalog.describe_table(plant, "orders")).columns)


@pytest.mark.anyio
async def test_a_table_is_described_with_columns_keys_constraints_and_neighbours(
    plant: db.AsyncConn,
) -> None:
    info = await catalog.describe_table(plant, "batch_usage")

    assert info.description and "material batches" in info.description
    columns = {c.name: c for c in info.columns}
    assert (columns["machine_id"].type, columns["machine_id"].nullable) == ("text", True)
    assert (columns["used_at"].type, columns["used_at"].nullable) == (
        "timestamp with time zone",
        False,
    )
    assert info.primary_key == ["batch_id", "order_id", "line_no"]
    kinds = {c.name: c.kind for c in info.constraints}
    assert kinds["batch_usage_quantity_positive"] == "CHECK"
    assert kinds["batch_usage_pkey"] == "PRIMARY KEY"
    assert sorted(e.to_table for e in info.upstream) == [
        "equipment",
        "material_batches",
        "order_lines",
    ]
    [line] = [e for e in info.upstream if e.to_table == "order_lines"]
    assert (line.from_columns, line.to_columns) == (
        ["order_id", "line_no"],
        ["order_id", "line_no"],
    )
    assert info.downstream == []
    assert info.rows == await count(plant, "select count(*) as n from batch_usage")


@pytest.mark.anyio
async def test_lineage_follows_foreign_keys_upstream_and_downstream_to_a_depth(
    plant: db.AsyncConn,
) -> None:
    near = await catalog.lineage(plant, "orders", depth=1)
    assert {e.to_table for e in near.upstream} == {"customers", "facilities"}
    assert {"order_lines", "shipments", "order_events"} <= {e.from_table for e in near.downstream}
    assert {e.depth for e in near.downstream} == {1}

    far = await catalog.lineage(plant, "orders", depth=2)
    second = {e.from_table for e in far.downstream if e.depth == 2}
    assert {"batch_usage", "shipment_lines", "stock_reservations", "schedule_slots"} <= second
    assert "regions" not in {e.to_table for e in far.upstream}

    with pytest.raises(ValidationError, match="depth must be 1 to 6"):
        await catalog.lineage(plant, "orders", depth=0)


@pytest.mark.anyio
async def test_data_quality_gives_null_rates_orphan_checks_and_constraints(
    plant: db.AsyncConn,
) -> None:
    report = await catalog.data_quality(plant, "orders")

    rates = {n.column: n for n in report.null_rates}
    held = await count(plant, "select count(*) as n from orders where hold_reason is not null")
    assert rates["hold_reason"].nulls == report.rows - held
    assert rates["order_id"].rate == 0 and not rates["order_id"].nullable
    assert {c.name: c.orphans for c in report.orphan_checks} == {
        "orders_customer_id_fkey": 0,
        "orders_facility_id_fkey": 0,
    }
    described = {c.name: c.description for c in report.constraints}
    assert described["order_hold_has_reason"] == "an order on hold needs a hold reason"
    assert f"column cancel_reason is empty in all {report.rows} rows" in report.issues


@pytest.mark.anyio
async def test_orphans_along_foreign_keys_and_logical_references_are_counted(
    plant: db.AsyncConn,
) -> None:
    async with plant.transaction():
        # a row that slipped past its foreign key (as a restore without constraints would leave)
        await plant.execute("set local session_replication_role = replica")
        await plant.execute(
            "insert into order_events (order_id, to_status, at, actor) "
            "values ('ORD-404', 'CREATED', now(), 'ingest')"
        )
    await plant.execute(
        "insert into audit_log (actor_type, actor_id, action, entity_type, entity_id, at) "
        "values ('ingest', 'legacy', 'import', 'order', 'ORD-405', now())"
    )
    await plant.commit()

    events = await catalog.data_quality(plant, "order_events")
    audit = await catalog.data_quality(plant, "audit_log")

    assert [(c.kind, c.orphans) for c in events.orphan_checks] == [("foreign_key", 1)]
    assert (
        "order_events_order_id_fkey: 1 row(s) name a missing orders (order_id) row" in events.issues
    )
    logical = {c.name: c.orphans for c in audit.orphan_checks if c.kind == "logical"}
    assert logical["audit_log.entity_id where entity_type = 'order'"] == 1
    assert logical["audit_log.entity_id where entity_type = 'shipment'"] == 0


@pytest.mark.anyio
async def test_an_unknown_table_is_not_found_with_the_names_it_resembles(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(NotFoundError, match="no table 'order'.*did you mean orders"):
        await catalog.describe_table(plant, "order")
    with pytest.raises(NotFoundError, match="no table 'x; drop table orders'"):
        await catalog.data_quality(plant, "x; drop table orders")
