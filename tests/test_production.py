"""Production counters per machine and shift, and OEE per machine, work center and facility."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tools.core import db, events
from tools.core.clock import FixedClock
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.machine_data.production import oee, production_counters, record_production, shift_at

MES = Actor(type="ingest", id="mes")
MONDAY = date(2026, 3, 2)  # the fixed clock's day: 07:00 in Munich, early shift


async def counter(conn: db.AsyncConn, machine_id: str, day: date, shift: str) -> dict[str, Any]:
    cur = await conn.execute(
        "select parts_produced, parts_defective, runtime_minutes, planned_minutes, "
        "ideal_cycle_minutes::float as cycle from production_counters "
        "where machine_id = %s and shift_date = %s and shift_name = %s",
        (machine_id, day, shift),
    )
    row = await cur.fetchone()
    assert row is not None
    return row


@pytest.mark.anyio
async def test_parts_and_defects_add_up_in_the_counter_of_the_current_shift(
    plant: db.AsyncConn,
) -> None:
    after = (await events.since(plant, 0))[-1].event_id

    await record_production(plant, MES, machine_id="MUC-CNC-001", parts_produced=10,
                            parts_defective=1, runtime_minutes=30)  # fmt: skip
    now = await record_production(plant, MES, machine_id="MUC-CNC-001", parts_produced=5,
                                  runtime_minutes=20)  # fmt: skip

    assert (now.shift_date, now.shift_name) == (MONDAY, "EARLY")
    assert (now.parts_produced, now.parts_defective, now.runtime_minutes) == (15, 1, 50)
    assert now.planned_minutes == 480 - 30  # the shift less its break
    assert now.ideal_cycle_minutes == 14.0  # carried over from the machine's last shift
    logged = await events.since(plant, after)
    assert [(e.type, e.entity_id) for e in logged] == [
        ("production.recorded", "MUC-CNC-001/2026-03-02/EARLY")
    ] * 2
    cur = await plant.execute("select before, after from audit_log order by audit_id desc limit 1")
    assert await cur.fetchone() == {
        "before": {"parts_produced": 10, "parts_defective": 1, "runtime_minutes": 30},
        "after": {"parts_produced": 15, "parts_defective": 1, "runtime_minutes": 50},
    }


@pytest.mark.anyio
async def test_the_counter_starts_again_from_zero_at_the_shift_change(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await record_production(plant, MES, machine_id="MUC-CNC-001", parts_produced=10)
    fixed_clock.set(datetime(2026, 3, 2, 13, 5, tzinfo=UTC))  # 14:05 in Munich

    late = await record_production(plant, MES, machine_id="MUC-CNC-001", parts_produced=3)

    assert (late.shift_name, late.parts_produced) == ("LATE", 3)
    assert (await counter(plant, "MUC-CNC-001", MONDAY, "EARLY"))["parts_produced"] == 10


@pytest.mark.anyio
async def test_concurrent_counts_for_one_shift_are_all_kept(
    plant: db.AsyncConn, db_url: str
) -> None:
    await plant.commit()

    async def count_parts(_: int) -> None:
        async with db.connection(db_url) as conn:
            await record_production(conn, MES, machine_id="MUC-CNC-002", parts_produced=3,
                                    parts_defective=1, runtime_minutes=5)  # fmt: skip

    await asyncio.gather(*(count_parts(i) for i in range(8)))

    row = await counter(plant, "MUC-CNC-002", MONDAY, "EARLY")
    assert (row["parts_produced"], row["parts_defective"], row["runtime_minutes"]) == (24, 8, 40)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ({"parts_produced": -1}, ValidationError, "parts produced must be a whole number of at "
         "least 0, got -1"),
        ({"parts_defective": 2, "parts_produced": 1}, ValidationError,
         "2 defective parts would exceed the 1 produced"),
        ({}, ValidationError, "record at least one part"),
        ({"runtime_minutes": 451}, ValidationError, "451 minutes of runtime would exceed the 450"),
        ({"parts_produced": 1, "ideal_cycle_minutes": 0}, ValidationError,
         "ideal cycle time must be above 0"),
        ({"parts_produced": 1, "at": datetime(2026, 3, 2, 7, tzinfo=UTC)}, ValidationError,
         "cannot be recorded ahead of time"),
        ({"parts_produced": 1, "machine_id": "MUC-CNC-404"}, NotFoundError,
         "machine 'MUC-CNC-404' does not exist"),
        ({"parts_produced": 1, "machine_id": "PHX-CNC-005"}, ValidationError,
         r"PHX-CNC-005 has no shift at .* \(Sunday 23:00 local time\)"),
    ],
)  # fmt: skip
async def test_a_bad_count_is_refused_and_changes_nothing(
    plant: db.AsyncConn, args: dict[str, Any], error: type[Exception], message: str
) -> None:
    args = {"machine_id": "MUC-CNC-001"} | args

    with pytest.raises(error, match=message):
        await record_production(plant, MES, **args)

    assert await production_counters(plant, start=MONDAY) == []


@pytest.mark.anyio
async def test_the_shift_comes_from_the_machines_calendar_with_its_exceptions(
    plant: db.AsyncConn,
) -> None:
    night = await shift_at(plant, "PHX-CNC-005", at=datetime(2026, 3, 3, 10, tzinfo=UTC))
    overtime = await shift_at(plant, "PHX-CNC-005", at=datetime(2026, 3, 7, 15, tzinfo=UTC))

    assert (night.shift_date, night.shift_name, night.planned_minutes) == (MONDAY, "NIGHT", 450)
    assert night.starts_at == datetime(2026, 3, 3, 5, tzinfo=UTC)  # 22:00 in Phoenix
    assert (overtime.shift_date, overtime.shift_name, overtime.planned_minutes) == (
        date(2026, 3, 7), "OVERTIME", 480
    )  # fmt: skip
    with pytest.raises(ValidationError, match="no shift at .*: holiday \\(Plant holiday"):
        await shift_at(plant, "MUC-CNC-001", at=datetime(2026, 3, 12, 9, tzinfo=UTC))


# ───────────────────────── OEE ─────────────────────────


@pytest.mark.anyio
async def test_oee_is_availability_times_performance_times_quality_per_machine_and_site(
    plant: db.AsyncConn,
) -> None:
    await record_production(plant, MES, machine_id="MUC-CNC-001", parts_produced=20,
                            parts_defective=1, runtime_minutes=360)  # fmt: skip
    await record_production(plant, MES, machine_id="MUC-CNC-002", parts_produced=30,
                            parts_defective=3, runtime_minutes=400,
                            ideal_cycle_minutes=12)  # fmt: skip

    report = await oee(plant, start=MONDAY, end=MONDAY, facility_id="MUC")

    one = report.machines["MUC-CNC-001"]
    assert (one.availability, one.performance, one.quality) == (
        round(360 / 450, 4), round(14 * 20 / 360, 4), 0.95
    )  # fmt: skip
    assert one.oee == round(360 / 450 * 14 * 20 / 360 * 0.95, 4)
    total = report.total
    assert (total.planned_minutes, total.runtime_minutes, total.parts_produced) == (900, 760, 50)
    assert total.availability == round(760 / 900, 4)
    assert total.performance == round((14 * 20 + 12 * 30) / 760, 4)
    assert total.quality == round(46 / 50, 4)
    assert total.oee == round(760 / 900 * (14 * 20 + 12 * 30) / 760 * 46 / 50, 4)
    assert report.work_centers == {"MUC-MILL": total}
    assert (report.scope, report.scope_id) == ("facility", "MUC")


@pytest.mark.anyio
async def test_oee_over_the_seeded_shifts_covers_every_running_machine(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    plant_wide = await oee(plant, start=MONDAY - timedelta(days=7), end=MONDAY)
    cell = await oee(plant, start=MONDAY - timedelta(days=7), end=MONDAY, machine_id="PHX-CNC-007")

    assert len(plant_wide.machines) == 18
    assert plant_wide.total.oee is not None and 0 < plant_wide.total.oee < 1
    assert cell.total == plant_wide.machines["PHX-CNC-007"]
    assert set(cell.machines) == {"PHX-CNC-007"}


@pytest.mark.anyio
async def test_an_empty_period_has_unknown_factors_and_bad_scopes_are_refused(
    plant: db.AsyncConn,
) -> None:
    empty = await oee(plant, start=date(2025, 1, 1), end=date(2025, 1, 31), work_center_id="PHX-QC")

    assert (empty.total.availability, empty.total.oee, empty.machines) == (None, None, {})
    with pytest.raises(ValidationError, match="name one of"):
        await oee(plant, start=MONDAY, end=MONDAY, facility_id="PHX", machine_id="PHX-CNC-007")
    with pytest.raises(ValidationError, match="must end on or after its start"):
        await oee(plant, start=MONDAY, end=MONDAY - timedelta(days=1))
    with pytest.raises(NotFoundError, match="work center 'PHX-NOPE' does not exist"):
        await oee(plant, start=MONDAY, end=MONDAY, work_center_id="PHX-NOPE")


@pytest.mark.anyio
async def test_performance_is_capped_at_one_when_the_ideal_cycle_is_out_of_date(
    plant: db.AsyncConn,
) -> None:
    await record_production(plant, MES, machine_id="MUC-CNC-001", parts_produced=100,
                            runtime_minutes=60)  # fmt: skip

    report = await oee(plant, start=MONDAY, end=MONDAY, machine_id="MUC-CNC-001")

    assert report.total.performance == 1.0
    assert report.total.ideal_minutes == 1400.0
