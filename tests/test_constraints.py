"""The schema refuses bad rows, and says why in words a user understands."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from tools.core import db
from tools.core.errors import (
    ConflictError,
    NotFoundError,
    TitanError,
    ValidationError,
    explain_integrity_error,
)

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

MINIMAL_PLANT = [
    "insert into facilities values "
    "('PHX', 'Phoenix', 'Phoenix', 'US', 'NA-WEST', 'America/Phoenix')",
    "insert into shift_calendars values ('PHX-STD', 'PHX', 'Phoenix standard')",
    "insert into work_centers values ('PHX-MILL', 'PHX', 'Milling', 'CNC_MILL', 'PHX-STD')",
    "insert into machine_models values ('Haas VF-2', 'Haas', 'CNC_MILL', 22.4, 8100)",
    "insert into divisions values ('SPARES', 'Maintenance spares')",
    "insert into products (sku, name, division_id, category, unit_price, unit_weight_kg, "
    "is_manufactured) values ('SKU-BRG-6205', 'Bearing 6205', 'SPARES', 'BEARING', 12.5, 0.13, "
    "false)",
    "insert into stock_levels values ('SKU-BRG-6205', 'PHX', 40, 0, 10, 50, now())",
]


@pytest.fixture
async def plant(conn: db.AsyncConn) -> db.AsyncConn:
    async with conn.transaction():
        for statement in MINIMAL_PLANT:
            await conn.execute(statement)  # type: ignore[arg-type]
    return conn


async def refusal(conn: db.AsyncConn, statement: str) -> TitanError:
    """Run `statement`, expect the database to refuse it, and explain the refusal."""
    with pytest.raises(psycopg.errors.IntegrityError) as caught:
        async with conn.transaction():
            await conn.execute(statement)  # type: ignore[arg-type]
    return await explain_integrity_error(conn, caught.value)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_stock_on_hand_cannot_go_negative(plant: db.AsyncConn) -> None:
    error = await refusal(plant, "update stock_levels set on_hand = -5 where sku = 'SKU-BRG-6205'")

    assert isinstance(error, ValidationError)
    assert "stock on hand may not go below zero" in str(error)
    cur = await plant.execute("select on_hand from stock_levels")
    assert await cur.fetchone() == {"on_hand": 40}


@pytest.mark.anyio
async def test_reserving_more_than_on_hand_is_refused(plant: db.AsyncConn) -> None:
    error = await refusal(plant, "update stock_levels set reserved = 41")

    assert "reserved stock may not exceed stock on hand" in str(error)


@pytest.mark.anyio
async def test_an_unknown_machine_status_names_the_valid_ones(plant: db.AsyncConn) -> None:
    error = await refusal(
        plant,
        "insert into equipment (machine_id, facility_id, work_center_id, model, name, status, "
        "installed_on) values ('PHX-CNC-007', 'PHX', 'PHX-MILL', 'Haas VF-2', 'Mill 7', "
        "'BROKEN', '2020-01-01')",
    )

    assert "status is one of RUNNING, IDLE, DOWN, MAINTENANCE, OFFLINE" in str(error)


@pytest.mark.anyio
async def test_a_malformed_machine_id_is_refused_with_an_example(plant: db.AsyncConn) -> None:
    error = await refusal(
        plant,
        "insert into equipment (machine_id, facility_id, work_center_id, model, name, "
        "installed_on) values ('cnc7', 'PHX', 'PHX-MILL', 'Haas VF-2', 'Mill 7', '2020-01-01')",
    )

    assert "looks like PHX-CNC-007" in str(error)


@pytest.mark.anyio
async def test_a_machine_cannot_sit_in_another_facilitys_work_center(
    plant: db.AsyncConn,
) -> None:
    await plant.execute(
        "insert into facilities values ('MUC', 'Munich', 'Munich', 'DE', 'EU-CENTRAL', "
        "'Europe/Berlin')"
    )
    await plant.commit()

    error = await refusal(
        plant,
        "insert into equipment (machine_id, facility_id, work_center_id, model, name, "
        "installed_on) values ('MUC-CNC-001', 'MUC', 'PHX-MILL', 'Haas VF-2', 'Mill 1', "
        "'2020-01-01')",
    )

    assert isinstance(error, NotFoundError)
    assert "a machine belongs to a work center of its own facility" in str(error)


@pytest.mark.anyio
async def test_a_purchase_order_must_name_an_item_the_supplier_sells(plant: db.AsyncConn) -> None:
    await plant.execute(
        "insert into suppliers values ('NIPPONBEARING', 'NipponBearing', 'JP', 'APAC', 0.93, "
        "'ACTIVE', 'sales@nipponbearing.example')"
    )
    await plant.commit()

    error = await refusal(
        plant,
        "insert into purchase_orders (supplier_id, sku, facility_id, quantity, unit_price, "
        "ordered_at, expected_at) values ('NIPPONBEARING', 'SKU-BRG-6205', 'PHX', 100, 11.0, "
        "now(), now())",
    )

    assert "the supplier must list the SKU among its items" in str(error)


@pytest.mark.anyio
async def test_a_held_order_needs_a_reason(plant: db.AsyncConn) -> None:
    await plant.execute(
        "insert into customers values ('BOEING', 'Boeing', 'NA-WEST', 1, true, 45, "
        "'2030-12-31', 'buyer@boeing.example')"
    )
    await plant.commit()

    error = await refusal(
        plant,
        "insert into orders (customer_id, status, ship_to_region, due_at, created_at, "
        "updated_at) values ('BOEING', 'ON_HOLD', 'NA-WEST', now(), now(), now())",
    )

    assert "an order on hold needs a hold reason" in str(error)


@pytest.mark.anyio
async def test_a_second_stock_row_for_the_same_sku_and_facility_is_a_conflict(
    plant: db.AsyncConn,
) -> None:
    error = await refusal(
        plant, "insert into stock_levels values ('SKU-BRG-6205', 'PHX', 1, 0, 0, 1, now())"
    )

    assert isinstance(error, ConflictError)
    assert "SKU-BRG-6205" in str(error)


@pytest.mark.anyio
async def test_a_decided_approval_must_record_when(plant: db.AsyncConn) -> None:
    error = await refusal(
        plant,
        "insert into approvals (approval_id, thread_id, status, agent, action, arguments, "
        "reason, permission, requested_at) values ('apr-1', 't-1', 'APPROVED', 'scheduler', "
        "'apply_schedule', '{}', 'touches 5 jobs', 'schedule.approve', now())",
    )

    assert "a decided one has one" in str(error)


@pytest.mark.anyio
async def test_only_one_approval_can_be_pending_per_thread(plant: db.AsyncConn) -> None:
    insert = (
        "insert into approvals (approval_id, thread_id, agent, action, arguments, reason, "
        "requested_at) values ('{id}', 't-1', 'scheduler', 'apply_schedule', '{{}}', 'x', now())"
    )
    await plant.execute(insert.format(id="apr-1"))  # type: ignore[arg-type]
    await plant.commit()

    error = await refusal(plant, insert.format(id="apr-2"))

    assert isinstance(error, ConflictError)
