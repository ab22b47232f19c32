"""Failover, with no simulation: a machine with queued work that falls silent goes DOWN and the
plant rules propose moving its work elsewhere (one proposal, however often the event is seen);
once it is back and has beaten steadily, moving the work back is proposed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import committed_rows as _rows

from tools.core import db
from tools.core.clock import FixedClock
from tools.core.operations import Actor
from tools.core.settings import get_settings
from tools.machine_data.sensors import move_heartbeats
from tools.machine_data.status import set_machine_status
from tools.reactors import rules as reactors
from tools.reactors import timed
from tools.scheduling.schedules import ScheduleRequest, apply_schedule, propose_schedule

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
PLANNER = Actor(type="user", id="planner")


async def test_a_machine_down_fails_over_and_its_work_moves_back_once_it_is_steady(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    settings = get_settings()
    request = ScheduleRequest(facility_id="DET", deterministic_limit=5, workers=1, seed=0,
                              time_limit_s=120)  # fmt: skip
    made = await propose_schedule(plant, PLANNER, request=request)
    assert made.schedule is not None
    base = await apply_schedule(plant, PLANNER, schedule_id=made.schedule.schedule_id)
    now = fixed_clock.now()
    queued: dict[str, int] = {}
    for slot in base.slots:
        if slot.ends_at > now:
            queued[slot.machine_id] = queued.get(slot.machine_id, 0) + 1
    # a milling machine: two others in its work center can take its work
    mills = ("DET-CNC-001", "DET-CNC-002", "DET-CNC-003")
    machine = max(sorted(m for m in queued if m in mills), key=queued.__getitem__)
    await plant.execute("update equipment set status = 'RUNNING', last_heartbeat_at = %s, "
                        "status_changed_at = %s", (now, now))  # fmt: skip
    await plant.commit()
    listed = await _rows(plant, "select machine_id from equipment")
    everyone = [str(r["machine_id"]) for r in listed]

    async def minute(silent: set[str]) -> dict[str, int]:
        fixed_clock.advance(timedelta(minutes=1))
        await move_heartbeats(plant, {m: fixed_clock.now() for m in everyone if m not in silent})
        await plant.commit()
        return await timed.run_round(plant, settings)

    # The machine falls silent: DOWN once the silence limit passes, and the rules propose.
    rounds = [await minute({machine}) for _ in range(7)]
    await reactors.process_pending(plant)
    await reactors.process_pending(plant)

    assert [r["machines_down"] for r in rounds] == [0, 0, 0, 0, 0, 1, 0]  # silent past 5 min
    downs = await _rows(plant, "select event_id from event_log where type = 'machine.down'")
    assert len(downs) == 1
    [failover] = await _rows(plant, "select * from failovers")
    assert failover["machine_id"] == machine and failover["down_event_id"] == downs[0]["event_id"]
    [proposal] = await _rows(
        plant, "select status, kind, based_on from schedules where schedule_id = %s",
        failover["reschedule_id"],
    )  # fmt: skip
    assert proposal == {"status": "PROPOSED", "kind": "RESCHEDULE", "based_on": base.schedule_id}
    left_on_it = await _rows(
        plant,
        "select count(*) as n from schedule_slots where schedule_id = %s and machine_id = %s "
        "and starts_at > %s",
        failover["reschedule_id"], machine, fixed_clock.now(),
    )  # fmt: skip
    assert left_on_it == [{"n": 0}]
    assert f"{queued[machine]} were queued on it" in str(failover["detail"])

    # The planner applies it; the machine is repaired and beats again.
    await apply_schedule(plant, PLANNER, schedule_id=int(str(failover["reschedule_id"])))
    await set_machine_status(plant, PLANNER, machine_id=machine, status="IDLE",
                             reason="drive replaced")  # fmt: skip
    await plant.commit()
    steady = [await minute(set()) for _ in range(settings.recovery_beats + 1)]

    # closed at the round that saw the last of the steady beats asked for, and only then
    assert [r["failovers_closed"] for r in steady] == [0] * (settings.recovery_beats - 1) + [1, 0]
    [closed] = await _rows(plant, "select * from failovers")
    assert closed["recovered_at"] is not None and closed["rebalance_id"] is not None
    [rebalance] = await _rows(
        plant, "select status, kind from schedules where schedule_id = %s", closed["rebalance_id"]
    )
    assert rebalance == {"status": "PROPOSED", "kind": "RESCHEDULE"}
    assert "rebalance" in str(closed["detail"])
