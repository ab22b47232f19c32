"""Conflicts in a schedule and bottlenecks in the plant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tools.core import db
from tools.core.errors import NotFoundError
from tools.core.operations import Actor
from tools.scheduling.analysis import bottlenecks, schedule_conflicts
from tools.scheduling.schedules import ScheduleRequest, apply_schedule, propose_schedule

PLANNER = Actor(type="user", id="planner")
MONDAY = datetime(
    2026, 3, 2, tzinfo=UTC
)  # Detroit works 11:00-03:00 UTC, breaks at 15:00 and 23:00


def at(day: int, hour: float) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour)


async def hand_made_schedule(
    conn: db.AsyncConn, slots: list[tuple[str, int, int, str, datetime, datetime]]
) -> int:
    cur = await conn.execute(
        "insert into schedules (facility_id, objective, solver_status, horizon_start, "
        "horizon_end, created_at, created_by) values ('DET', 'makespan', 'FEASIBLE', %s, %s, %s, "
        "'user:planner') returning schedule_id",
        (at(0, 6), at(42, 6), at(0, 6)),
    )
    row = await cur.fetchone()
    assert row is not None
    for order_id, line_no, op_seq, machine, starts, ends in slots:
        await conn.execute(
            "insert into schedule_slots (schedule_id, order_id, line_no, op_seq, machine_id, "
            "starts_at, ends_at, segments) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (row["schedule_id"], order_id, line_no, op_seq, machine, starts, ends,
             json.dumps([[starts.isoformat(), ends.isoformat()]])),
        )  # fmt: skip
    return int(row["schedule_id"])


@pytest.mark.anyio
async def test_a_fresh_proposal_has_no_conflict_but_its_late_orders(plant: db.AsyncConn) -> None:
    result = await propose_schedule(
        plant, PLANNER, request=ScheduleRequest(facility_id="MUC", time_limit_s=5)
    )
    assert result.schedule is not None

    report = await schedule_conflicts(plant, result.schedule.schedule_id)

    assert report.slots == len(result.schedule.slots)
    assert {c.kind for c in report.conflicts} <= {"LATE"}
    assert [c.order_id for c in report.conflicts] == [
        o.order_id for o in result.schedule.late_orders
    ]


@pytest.mark.anyio
async def test_a_hand_made_schedule_shows_every_kind_of_conflict(plant: db.AsyncConn) -> None:
    schedule_id = await hand_made_schedule(
        plant,
        [
            ("ORD-10011", 1, 1, "DET-CNC-002", at(0, 11), at(0, 14)),
            ("ORD-10011", 1, 2, "DET-ASM-001", at(0, 13), at(0, 14.5)),  # before step 1 ends
            ("ORD-10015", 1, 2, "DET-CNC-002", at(0, 13.5), at(0, 14.5)),  # on top of step 1
            ("ORD-10016", 1, 2, "DET-CNC-002", at(5, 12), at(5, 13)),  # a Saturday
            ("ORD-10016", 2, 2, "DET-CNC-001", at(0, 14.75), at(0, 15.75)),  # through a break
            ("ORD-10021", 1, 3, "DET-CMM-001", at(0, 11), at(1, 11)),  # more than a day's work
            ("ORD-10019", 1, 3, "DET-CMM-001", at(31, 11), at(31, 12)),  # after its due date
        ],
    )
    await plant.execute("update equipment set status = 'DOWN' where machine_id = 'DET-CNC-001'")

    report = await schedule_conflicts(plant, schedule_id)

    found = {(c.kind, c.order_id, c.minutes) for c in report.conflicts if c.kind != "OVERLOAD"}
    assert ("PRECEDENCE", "ORD-10011", 60) in found
    assert ("OVERLAP", "ORD-10015", 30) in found
    assert ("OUTSIDE_SHIFT", "ORD-10016", 60) in found
    assert ("IN_BREAK", "ORD-10016", 30) in found
    assert ("MACHINE_UNAVAILABLE", "ORD-10016", 60) in found
    assert ("LATE", "ORD-10019", 2 * 1440 + 19 * 60) in found
    overloads = [c for c in report.conflicts if c.kind == "OVERLOAD"]
    assert sorted((c.machine_id, c.minutes) for c in overloads) == [
        ("DET-CMM-001", 1140 - 960),  # booked 19 h of a day with 16 h of shifts
        ("DET-CNC-001", 60),  # a machine down has no time at all
        ("DET-CNC-002", 60),  # nor has a Saturday
    ]
    assert report.counts["OUTSIDE_SHIFT"] == 2  # the Saturday, and the night of the long slot
    with pytest.raises(NotFoundError, match="schedule 999 does not exist"):
        await schedule_conflicts(plant, 999)


@pytest.mark.anyio
async def test_without_a_schedule_the_bottleneck_is_the_work_center_with_most_demand(
    plant: db.AsyncConn,
) -> None:
    report = await bottlenecks(plant, facility_id="DET", days=14)

    assert report.schedule_id is None
    ratios = [w.load_ratio or 0.0 for w in report.work_centers]
    assert ratios == sorted(ratios, reverse=True)
    assert report.bottleneck == "DET-TURN" and ratios[0] > 1.0
    turn = report.work_centers[0]
    assert turn.available_minutes == 10 * 900  # ten weekdays of two shifts less their breaks
    maintenance = next(
        m for w in report.work_centers for m in w.machines if m.machine_id == "DET-CNC-003"
    )
    assert maintenance.available_minutes == 10 * 900


@pytest.mark.anyio
async def test_with_the_applied_schedule_utilisation_is_booked_over_available_time(
    plant: db.AsyncConn,
) -> None:
    result = await propose_schedule(
        plant, PLANNER, request=ScheduleRequest(facility_id="DET", time_limit_s=5)
    )
    assert result.schedule is not None
    await apply_schedule(plant, PLANNER, schedule_id=result.schedule.schedule_id)

    report = await bottlenecks(plant, facility_id="DET", days=14)

    assert report.schedule_id == result.schedule.schedule_id
    for center in report.work_centers:
        for m in center.machines:
            assert 0 <= m.booked_minutes <= m.available_minutes
    assert report.bottleneck == report.work_centers[0].work_center_id == "DET-TURN"
    assert (report.work_centers[0].utilisation or 0) > 0.9  # more turning than hours
