"""Rescheduling around a machine that is down: work moves, the rest stays, the impact is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.errors import InvalidTransitionError, NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.scheduling.records import Schedule, Slot
from tools.scheduling.reschedule import RescheduleRequest, reschedule_machine
from tools.scheduling.schedules import ScheduleRequest, apply_schedule, propose_schedule

PLANNER = Actor(type="user", id="planner")
FAST: dict[str, Any] = {"time_limit_s": 5.0, "workers": 2, "seed": 0}
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


async def applied_plan(conn: db.AsyncConn, **request: Any) -> Schedule:
    result = await propose_schedule(conn, PLANNER, request=ScheduleRequest(**(FAST | request)))
    assert result.schedule is not None, result.reason
    return await apply_schedule(conn, PLANNER, schedule_id=result.schedule.schedule_id)


async def reschedule(conn: db.AsyncConn, machine_id: str, **request: Any) -> Schedule:
    result = await reschedule_machine(
        conn,
        PLANNER,
        request=RescheduleRequest(machine_id=machine_id, **(FAST | request)),
    )
    assert result.schedule is not None, result.reason
    return result.schedule


def keyed(slots: list[Slot]) -> dict[tuple[str, int, int], Slot]:
    return {(s.order_id, s.line_no, s.op_seq): s for s in slots}


def assert_consistent(schedule: Schedule) -> None:
    by_machine: dict[str, list[Slot]] = {}
    for s in schedule.slots:
        by_machine.setdefault(s.machine_id, []).append(s)
    for runs in by_machine.values():
        runs.sort(key=lambda s: s.starts_at)
        for before, after in zip(runs, runs[1:], strict=False):
            assert after.starts_at >= before.ends_at
    lines = keyed(schedule.slots)
    for (order, line, seq), slot in lines.items():
        if (order, line, seq - 1) in lines:
            assert slot.starts_at >= lines[order, line, seq - 1].ends_at


@pytest.mark.anyio
async def test_a_machine_that_goes_down_loses_its_work_to_the_others_and_the_rest_stays(
    plant: db.AsyncConn,
) -> None:
    base = await applied_plan(plant, facility_id="DET")
    on_it = [s for s in base.slots if s.machine_id == "DET-CNC-001"]
    assert on_it, "the baseline uses the machine"
    await plant.execute("update equipment set status = 'DOWN' where machine_id = 'DET-CNC-001'")

    revised = await reschedule(plant, "DET-CNC-001")

    assert revised.kind == "RESCHEDULE" and revised.based_on == base.schedule_id
    assert "DET-CNC-001" not in {s.machine_id for s in revised.slots}
    new = keyed(revised.slots)
    for s in on_it:
        assert new[s.order_id, s.line_no, s.op_seq].machine_id in ("DET-CNC-002", "DET-CNC-003")
    impact = revised.impact
    assert impact is not None and impact.machine_id == "DET-CNC-001"
    assert impact.operations_affected == len(on_it)
    assert impact.operations_moved >= len(on_it) and impact.jobs_moved >= 1
    assert impact.operations_moved < len(base.slots)
    assert_consistent(revised)


@pytest.mark.anyio
async def test_finished_work_and_work_running_elsewhere_stay_as_they_were(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    base = await applied_plan(plant, facility_id="DET")
    fixed_clock.advance(timedelta(days=3, hours=5))
    now = fixed_clock.now()
    await plant.execute("update equipment set status = 'IDLE' where machine_id = 'DET-CNC-003'")
    await plant.execute("update equipment set status = 'DOWN' where machine_id = 'DET-CNC-001'")

    revised = await reschedule(plant, "DET-CNC-001")

    new = keyed(revised.slots)
    finished = [s for s in base.slots if s.ends_at <= now]
    running = [
        s for s in base.slots if s.starts_at < now < s.ends_at and s.machine_id != "DET-CNC-001"
    ]
    assert finished and running
    for s in finished + running:
        assert new[s.order_id, s.line_no, s.op_seq] == s
    assert all(s.starts_at >= now for s in revised.slots if s not in finished + running)
    assert_consistent(revised)


@pytest.mark.anyio
async def test_an_outage_window_on_a_running_machine_is_kept_free(plant: db.AsyncConn) -> None:
    await applied_plan(plant, facility_id="DET")
    starts, until = START + timedelta(hours=2), START + timedelta(days=2)

    revised = await reschedule(
        plant, "DET-CNC-002", unavailable_from=starts, unavailable_until=until
    )

    for s in (s for s in revised.slots if s.machine_id == "DET-CNC-002"):
        assert s.ends_at <= starts or s.starts_at >= until
    assert revised.impact is not None and revised.impact.unavailable_until == until


async def two_mill_plant(conn: db.AsyncConn) -> None:
    """Two mills round the clock and two orders of ten hours' milling, each due in 11 hours."""
    statements = [
        "insert into facilities values ('TST', 'Test works', 'Testville', 'US', 'NA-WEST', 'UTC')",
        "insert into shift_calendars values ('TST-24', 'TST', 'round the clock')",
        "insert into shifts (calendar_id, name, day_of_week, start_time, duration_minutes) "
        "select 'TST-24', n, d, t::time, 720 from generate_series(1, 7) d, "
        "(values ('DAY', '00:00'), ('NIGHT', '12:00')) s(n, t)",
        "insert into work_centers values ('TST-MILL', 'TST', 'Mill', 'CNC_MILL', 'TST-24')",
        "insert into machine_models values ('Mill', 'Acme', 'CNC_MILL', 10, null)",
        "insert into equipment (machine_id, facility_id, work_center_id, model, name, status, "
        "installed_on) select 'TST-CNC-00' || n, 'TST', 'TST-MILL', 'Mill', 'mill', 'IDLE', "
        "'2020-01-01' from generate_series(1, 2) n",
        "insert into divisions values ('GEN', 'General')",
        "insert into products (sku, name, division_id, category, unit_price, unit_weight_kg, "
        "is_manufactured) values ('SKU-X', 'x', 'GEN', 'SPARE_PART', 1, 1, true)",
        "insert into routings values ('SKU-X', 1, 'mill', 'CNC_MILL', 0, 10, false)",
        "insert into customers (customer_id, name, region, priority, rush_allowed, "
        "contract_valid_until, contact_email) values ('ACME', 'Acme', 'NA-WEST', 3, false, "
        "'2030-01-01', 'a@b.c')",
        "insert into orders (order_id, customer_id, status, facility_id, ship_to_region, due_at, "
        "created_at, updated_at) select 'ORD-' || n, 'ACME', 'VALIDATED', 'TST', 'NA-WEST', "
        "'2026-03-02 17:00+00', '2026-03-01', '2026-03-01' from generate_series(1, 2) n",
        "insert into order_lines select 'ORD-' || n, 1, 'SKU-X', 60, 1, 0 "
        "from generate_series(1, 2) n",
    ]
    for statement in statements:
        await conn.execute(statement)


@pytest.mark.anyio
async def test_the_impact_names_the_order_made_late_by_how_much_and_the_overtime_needed(
    conn: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    await two_mill_plant(conn)
    base = await applied_plan(conn)
    assert base.late_orders == []
    await conn.execute("update equipment set status = 'DOWN' where machine_id = 'TST-CNC-002'")

    revised = await reschedule(conn, "TST-CNC-002")

    impact = revised.impact
    assert impact is not None
    (late,) = impact.orders_late
    assert late.finishes_at == START + timedelta(minutes=1200)
    assert (late.minutes_late, late.minutes_later, late.overtime_minutes) == (540, 540, 540)
    assert impact.overtime_minutes == 540
    applied = await apply_schedule(conn, PLANNER, schedule_id=revised.schedule_id)
    assert applied.status == "APPLIED"


@pytest.mark.anyio
async def test_a_reschedule_of_a_schedule_no_longer_applied_cannot_be_applied(
    plant: db.AsyncConn,
) -> None:
    await applied_plan(plant, facility_id="DET", order_ids=["ORD-10011"])
    revised = await reschedule(plant, "DET-CNC-001")
    await applied_plan(plant, facility_id="DET", order_ids=["ORD-10011"])

    with pytest.raises(InvalidTransitionError, match="no longer the applied one"):
        await apply_schedule(plant, PLANNER, schedule_id=revised.schedule_id)


@pytest.mark.anyio
async def test_rescheduling_needs_a_known_machine_an_applied_schedule_and_a_sane_window(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(NotFoundError, match="machine DET-CNC-999 does not exist"):
        await reschedule(plant, "DET-CNC-999")
    with pytest.raises(NotFoundError, match="no applied schedule covers DET"):
        await reschedule(plant, "DET-CNC-001")
    await applied_plan(plant, facility_id="DET", order_ids=["ORD-10011"])
    with pytest.raises(ValidationError, match="must end after it starts"):
        await reschedule(plant, "DET-CNC-001", unavailable_until=START - timedelta(hours=1))
