"""Schedules of the plant: proposals from its tables, shifts kept, applying and rejecting."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tools.core import db, events
from tools.core.errors import InvalidTransitionError, NotFoundError, ValidationError
from tools.core.operations import Actor
from tools.scheduling.records import Schedule
from tools.scheduling.schedules import (
    ScheduleRequest,
    apply_schedule,
    get_schedule,
    propose_schedule,
    reject_schedule,
)

PLANNER = Actor(type="user", id="planner")
FAST: dict[str, Any] = {"time_limit_s": 5.0, "workers": 2, "seed": 0}


async def propose(conn: db.AsyncConn, **request: Any) -> Schedule:
    result = await propose_schedule(conn, PLANNER, request=ScheduleRequest(**(FAST | request)))
    assert result.schedule is not None, result.reason
    return result.schedule


async def rows(conn: db.AsyncConn, query: str, *args: object) -> list[dict[str, Any]]:
    cur = await conn.execute(query, args)
    return await cur.fetchall()


async def working_minutes(
    conn: db.AsyncConn, machine_id: str, start: datetime, days: int
) -> tuple[set[int], set[int]]:
    """The machine's shift minutes and break minutes (minutes since the epoch), from raw rows."""
    shifts = await rows(
        conn,
        "select s.shift_id, s.day_of_week, s.start_time, s.duration_minutes, f.timezone "
        "from equipment e join work_centers w using (work_center_id) "
        "join shifts s on s.calendar_id = w.calendar_id "
        "join facilities f on f.facility_id = e.facility_id where e.machine_id = %s",
        machine_id,
    )
    breaks = await rows(conn, "select shift_id, offset_minutes, duration_minutes from shift_breaks")
    zone = ZoneInfo(str(shifts[0]["timezone"]))
    work: set[int] = set()
    pause: set[int] = set()
    for n in range(-1, days + 1):
        day = (start + timedelta(days=n)).astimezone(zone).date()
        for s in (s for s in shifts if s["day_of_week"] == day.isoweekday()):
            begin = int(datetime.combine(day, s["start_time"], tzinfo=zone).timestamp() // 60)
            work |= set(range(begin, begin + int(s["duration_minutes"])))
            for b in (b for b in breaks if b["shift_id"] == s["shift_id"]):
                first = begin + int(b["offset_minutes"])
                pause |= set(range(first, first + int(b["duration_minutes"])))
    exceptions = await rows(
        conn,
        "select kind, starts_at, ends_at from calendar_exceptions x join work_centers w "
        "on w.calendar_id = x.calendar_id join equipment e using (work_center_id) "
        "where e.machine_id = %s",
        machine_id,
    )
    for x in exceptions:
        span = set(range(_minute(x["starts_at"]), _minute(x["ends_at"])))
        work = work | span if x["kind"] == "OVERTIME" else work - span
    return work, pause


def _minute(at: datetime) -> int:
    return int(at.timestamp() // 60)


async def check_plant_schedule(conn: db.AsyncConn, schedule: Schedule) -> None:
    """Slots inside shifts (breaks only where allowed), no double booking, routing order kept."""
    spans = {
        (r["sku"], r["seq"]): r
        for r in await rows(
            conn,
            "select sku, seq, may_span_break, setup_minutes, run_minutes_per_unit from routings",
        )
    }
    lines = {
        (r["order_id"], r["line_no"]): r for r in await rows(conn, "select * from order_lines")
    }
    machines = {
        r["machine_id"]: r for r in await rows(conn, "select machine_id, efficiency from equipment")
    }
    calendars: dict[str, tuple[set[int], set[int]]] = {}
    for slot in schedule.slots:
        if slot.machine_id not in calendars:
            calendars[slot.machine_id] = await working_minutes(
                conn, slot.machine_id, schedule.horizon_start, 50
            )
        work, pause = calendars[slot.machine_id]
        line = lines[slot.order_id, slot.line_no]
        step = spans[line["sku"], slot.op_seq]
        minutes = [m for a, b in slot.segments for m in range(_minute(a), _minute(b))]
        assert set(minutes) <= work, f"{slot} outside its shifts"
        if not step["may_span_break"]:
            assert not set(minutes) & pause, f"{slot} in a break"
        else:
            assert len(slot.segments) == 1
        run = (
            Decimal(step["run_minutes_per_unit"])
            * int(line["quantity"])
            / machines[slot.machine_id]["efficiency"]
        )
        assert len(minutes) == int(step["setup_minutes"]) + math.ceil(run)
        assert slot.segments[0][0] == slot.starts_at and slot.segments[-1][1] == slot.ends_at
    by_machine: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_line: dict[tuple[str, int], list[tuple[int, datetime, datetime]]] = defaultdict(list)
    for slot in schedule.slots:
        by_machine[slot.machine_id].append((slot.starts_at, slot.ends_at))
        by_line[slot.order_id, slot.line_no].append((slot.op_seq, slot.starts_at, slot.ends_at))
    for runs in by_machine.values():
        runs.sort()
        for (_, end), (start, _) in zip(runs, runs[1:], strict=False):
            assert start >= end
    for steps in by_line.values():
        steps.sort()
        for (_, _, end), (_, start, _) in zip(steps, steps[1:], strict=False):
            assert start >= end


# ───────────── proposals on the demo plant ─────────────


@pytest.mark.anyio
@pytest.mark.parametrize("facility", ["DET", "MUC"])
async def test_every_slot_lies_inside_a_shift_and_no_machine_is_double_booked(
    plant: db.AsyncConn, facility: str
) -> None:
    schedule = await propose(plant, facility_id=facility)

    assert schedule.status == "PROPOSED" and schedule.solver_status in ("OPTIMAL", "FEASIBLE")
    assert schedule.slots and all(s.machine_id.startswith(facility) for s in schedule.slots)
    await check_plant_schedule(plant, schedule)


@pytest.mark.anyio
async def test_a_proposal_records_one_event_and_audit_row_and_what_the_solve_did(
    plant: db.AsyncConn,
) -> None:
    schedule = await propose(plant, facility_id="DET", objective="makespan")

    logged = [e for e in await events.since(plant, 0) if e.type.startswith("schedule.")]
    audit = await rows(
        plant, "select action, entity_id from audit_log where entity_type = 'schedule'"
    )
    assert [(e.type, e.entity_id) for e in logged] == [
        ("schedule.proposed", str(schedule.schedule_id))
    ]
    assert audit == [{"action": "propose", "entity_id": str(schedule.schedule_id)}]
    assert schedule.objective == "makespan" and schedule.objective_value is not None
    assert schedule.best_bound is not None and schedule.gap is not None
    assert schedule.solve_seconds is not None and schedule.first_solution_seconds is not None
    assert schedule.settings["time_limit_s"] == 5.0


@pytest.mark.anyio
async def test_a_machine_that_is_down_gets_no_work(plant: db.AsyncConn) -> None:
    await plant.execute("update equipment set status = 'DOWN' where machine_id = 'DET-CNC-001'")

    schedule = await propose(plant, facility_id="DET")

    assert "DET-CNC-001" not in {s.machine_id for s in schedule.slots}
    assert {"DET-CNC-002", "DET-CNC-003"} & {s.machine_id for s in schedule.slots}


@pytest.mark.anyio
async def test_maintenance_windows_and_a_machine_still_in_maintenance_are_left_free(
    plant: db.AsyncConn,
) -> None:
    windows = await rows(
        plant, "select machine_id, scheduled_start, scheduled_end from work_orders "
        "where scheduled_start is not null"
    )  # fmt: skip

    for facility in ("PHX", "DET"):
        schedule = await propose(plant, facility_id=facility)
        for w in windows:
            for s in (s for s in schedule.slots if s.machine_id == w["machine_id"]):
                assert s.ends_at <= w["scheduled_start"] or s.starts_at >= w["scheduled_end"]


@pytest.mark.anyio
async def test_an_order_can_be_scheduled_alone(plant: db.AsyncConn) -> None:
    schedule = await propose(plant, facility_id="PHX", order_ids=["ORD-10013"])

    assert {s.order_id for s in schedule.slots} == {"ORD-10013"}
    assert [s.op_seq for s in sorted(schedule.slots, key=lambda s: s.starts_at)] == [1, 2, 3, 4]


@pytest.mark.anyio
async def test_the_same_idempotency_key_proposes_once(plant: db.AsyncConn) -> None:
    request = ScheduleRequest(facility_id="DET", order_ids=["ORD-10011"], time_limit_s=2)
    first = await propose_schedule(plant, PLANNER, request=request, idempotency_key="plan-1")
    again = await propose_schedule(plant, PLANNER, request=request, idempotency_key="plan-1")

    assert again == first
    assert len(await rows(plant, "select schedule_id from schedules")) == 1


# ───────────── a small plant where the objective decides ─────────────


async def small_plant(conn: db.AsyncConn) -> None:
    """One mill and one grinder working round the clock; a normal and a rush order."""
    statements = [
        "insert into facilities values ('TST', 'Test works', 'Testville', 'US', 'NA-WEST', 'UTC')",
        "insert into shift_calendars values ('TST-24', 'TST', 'round the clock')",
        "insert into shifts (calendar_id, name, day_of_week, start_time, duration_minutes) "
        "select 'TST-24', n, d, t::time, 720 from generate_series(1, 7) d, "
        "(values ('DAY', '00:00'), ('NIGHT', '12:00')) s(n, t)",
        "insert into work_centers values ('TST-MILL', 'TST', 'Mill', 'CNC_MILL', 'TST-24'), "
        "('TST-GRIND', 'TST', 'Grind', 'GRINDING', 'TST-24')",
        "insert into machine_models values ('Mill', 'Acme', 'CNC_MILL', 10, null), "
        "('Grinder', 'Acme', 'GRINDING', 10, null)",
        "insert into equipment (machine_id, facility_id, work_center_id, model, name, status, "
        "installed_on) values ('TST-CNC-001', 'TST', 'TST-MILL', 'Mill', 'mill', 'IDLE', "
        "'2020-01-01'), ('TST-GRD-001', 'TST', 'TST-GRIND', 'Grinder', 'grinder', 'IDLE', "
        "'2020-01-01')",
        "insert into divisions values ('GEN', 'General')",
        "insert into products (sku, name, division_id, category, unit_price, unit_weight_kg, "
        "is_manufactured) values ('SKU-X', 'x', 'GEN', 'SPARE_PART', 1, 1, true), "
        "('SKU-Y', 'y', 'GEN', 'SPARE_PART', 1, 1, true)",
        "insert into routings values ('SKU-X', 1, 'mill', 'CNC_MILL', 0, 1, false), "
        "('SKU-X', 2, 'grind', 'GRINDING', 0, 10, false), "
        "('SKU-Y', 1, 'mill', 'CNC_MILL', 0, 10, false), "
        "('SKU-Y', 2, 'grind', 'GRINDING', 0, 1, false)",
        "insert into customers (customer_id, name, region, priority, rush_allowed, "
        "contract_valid_until, contact_email) values ('SLOW', 'Slow', 'NA-WEST', 5, false, "
        "'2030-01-01', 'a@b.c'), ('FAST', 'Fast', 'NA-WEST', 1, true, '2030-01-01', 'a@b.c')",
        "insert into orders (order_id, customer_id, status, priority, is_rush, facility_id, "
        "ship_to_region, due_at, created_at, updated_at) values "
        "('ORD-1', 'SLOW', 'VALIDATED', 5, false, 'TST', 'NA-WEST', '2026-04-01', "
        "'2026-03-01', '2026-03-01'), "
        "('ORD-2', 'FAST', 'VALIDATED', 1, true, 'TST', 'NA-WEST', '2026-03-02 17:00+00', "
        "'2026-03-01', '2026-03-01')",
        "insert into order_lines values ('ORD-1', 1, 'SKU-X', 60, 1, 0), "
        "('ORD-2', 1, 'SKU-Y', 60, 1, 0)",
    ]
    for statement in statements:
        await conn.execute(statement)


@pytest.mark.anyio
async def test_the_rush_order_finishes_earlier_under_weighted_tardiness_than_under_makespan(
    conn: db.AsyncConn, fixed_clock: object
) -> None:
    await small_plant(conn)

    by_makespan = await propose(conn, objective="makespan")
    by_tardiness = await propose(conn, objective="weighted_tardiness")

    def rush_done(s: Schedule) -> datetime:
        return max(slot.ends_at for slot in s.slots if slot.order_id == "ORD-2")

    start = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert rush_done(by_makespan) == start + timedelta(minutes=720)
    assert rush_done(by_tardiness) == start + timedelta(minutes=660)
    assert [o.order_id for o in by_makespan.late_orders] == ["ORD-2"]
    assert by_tardiness.late_orders == []


# ───────────── bad input and infeasible requests ─────────────


@pytest.mark.anyio
async def test_a_made_product_without_a_routing_is_refused_naming_it(
    conn: db.AsyncConn, fixed_clock: object
) -> None:
    await small_plant(conn)
    await conn.execute("delete from routings where sku = 'SKU-Y'")

    with pytest.raises(ValidationError, match="SKU-Y .*empty routing"):
        await propose(conn)


@pytest.mark.anyio
async def test_a_step_for_a_work_center_the_site_lacks_is_refused_naming_it(
    conn: db.AsyncConn, fixed_clock: object
) -> None:
    await small_plant(conn)
    await conn.execute("update routings set wc_type = 'ASSEMBLY' where sku = 'SKU-Y' and seq = 2")

    with pytest.raises(ValidationError, match="needs a ASSEMBLY work center and TST has none"):
        await propose(conn)


@pytest.mark.anyio
async def test_a_calendar_without_working_time_is_refused_naming_it(
    conn: db.AsyncConn, fixed_clock: object
) -> None:
    await small_plant(conn)
    await conn.execute("delete from shifts where calendar_id = 'TST-24'")

    with pytest.raises(ValidationError, match="calendar TST-24 has a zero capacity"):
        await propose(conn)


@pytest.mark.anyio
async def test_unknown_facilities_and_orders_and_held_orders_are_refused(
    plant: db.AsyncConn,
) -> None:
    with pytest.raises(NotFoundError, match="facility XYZ does not exist"):
        await propose(plant, facility_id="XYZ")
    with pytest.raises(NotFoundError, match="no order ORD-99999"):
        await propose(plant, order_ids=["ORD-99999"])
    with pytest.raises(ValidationError, match="ORD-10023 cannot be scheduled in its status"):
        await propose(plant, order_ids=["ORD-10023"])


@pytest.mark.anyio
async def test_an_infeasible_request_says_why_and_writes_nothing(plant: db.AsyncConn) -> None:
    await plant.execute("update equipment set status = 'DOWN' where machine_id = 'PHX-GRD-001'")

    request = ScheduleRequest(facility_id="PHX", **FAST)
    result = await propose_schedule(plant, PLANNER, request=request)

    assert result.solver_status == "INFEASIBLE" and result.schedule is None
    assert result.reason is not None
    assert (
        "needs a GRINDING machine at PHX" in result.reason
        and "PHX-GRD-001 is DOWN" in result.reason
    )
    assert await rows(plant, "select schedule_id from schedules") == []


def test_the_documented_proposal_settings_are_the_request_settings_and_defaults() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "scheduling.md").read_text(encoding="utf-8")
    section = doc.split("### Proposal settings", 1)[1].split("###", 1)[0]
    cells = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    documented = {name.strip(" `"): default.strip(" `") for name, default in cells}

    fields = ScheduleRequest.model_fields
    assert documented == {name: str(field.default) for name, field in fields.items()}


# ───────────── applying and rejecting ─────────────


@pytest.mark.anyio
async def test_applying_a_proposal_supersedes_the_schedule_applied_before(
    plant: db.AsyncConn,
) -> None:
    first = await propose(plant, facility_id="DET", order_ids=["ORD-10011"])
    second = await propose(plant, facility_id="DET", order_ids=["ORD-10011"])

    await apply_schedule(plant, PLANNER, schedule_id=first.schedule_id)
    applied = await apply_schedule(plant, PLANNER, schedule_id=second.schedule_id)

    assert applied.status == "APPLIED" and applied.applied_at is not None
    assert (await get_schedule(plant, first.schedule_id)).status == "SUPERSEDED"
    logged = [
        (e.type, e.entity_id) for e in await events.since(plant, 0) if e.type != "plant.seeded"
    ]
    assert logged[-3:] == [
        ("schedule.applied", str(first.schedule_id)),
        ("schedule.superseded", str(first.schedule_id)),
        ("schedule.applied", str(second.schedule_id)),
    ]
    with pytest.raises(
        InvalidTransitionError, match="is APPLIED and cannot be applied; only a PROPOSED schedule"
    ):
        await apply_schedule(plant, PLANNER, schedule_id=second.schedule_id)


@pytest.mark.anyio
async def test_a_rejected_proposal_keeps_its_reason_and_cannot_be_applied(
    plant: db.AsyncConn,
) -> None:
    proposal = await propose(plant, facility_id="DET", order_ids=["ORD-10011"])

    with pytest.raises(ValidationError, match="needs a reason"):
        await reject_schedule(plant, PLANNER, schedule_id=proposal.schedule_id, reason=" ")
    rejected = await reject_schedule(
        plant, PLANNER, schedule_id=proposal.schedule_id, reason="customer moved the due date"
    )

    assert (rejected.status, rejected.decision_reason) == (
        "REJECTED",
        "customer moved the due date",
    )
    with pytest.raises(InvalidTransitionError, match="is REJECTED"):
        await apply_schedule(plant, PLANNER, schedule_id=proposal.schedule_id)
    with pytest.raises(NotFoundError, match="schedule 999 does not exist"):
        await apply_schedule(plant, PLANNER, schedule_id=999)
