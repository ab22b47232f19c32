"""Failover: a machine that goes down has its queued work moved elsewhere, and moved back once it
is healthy again — each as a proposal a person applies (applying follows the approval policy,
`tools.approvals.policy`: a change that moves more than a few jobs, makes an order late or needs
overtime waits for schedule.approve).

- On `machine.down` (a reactor): when the schedule in force has operations on the machine that
  are not finished, the rescheduler (`tools.scheduling.reschedule`) re-plans them onto the
  machines that can take them; the proposal and its impact are recorded in `failovers`.
- On the plant clock (a timed rule): once the machine is running or idle again and has sent
  `TITAN_RECOVERY_BEATS` heartbeats in a row with none missed, a rebalance is proposed — work
  moves back where that pays — if the failover's reschedule was applied; if it was not, it is
  rejected as moot.

The solves use a fixed amount of CP-SAT work on one worker, so they plan the same on any
machine, however loaded.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel

from tools.core import clock, events
from tools.core.db import AsyncConn
from tools.core.errors import TitanError
from tools.core.operations import Actor
from tools.core.settings import Settings
from tools.machine_data.heartbeats import heartbeat_records, queued_operations
from tools.scheduling.reschedule import RescheduleRequest, rebalance_machine, reschedule_machine
from tools.scheduling.schedules import reject_schedule

log = logging.getLogger(__name__)

FAILOVER = Actor(type="reactor", id="titan-failover")
SOLVE_WORK = 10.0  # CP-SAT deterministic time
SAFETY_S = 120.0  # the wall-clock limit, never reached in practice
DETAIL_CHARS = 400


class Failover(BaseModel):
    failover_id: int
    machine_id: str
    down_event_id: int
    down_at: datetime
    reschedule_id: int | None
    recovered_at: datetime | None
    rebalance_id: int | None
    detail: str


def _solving(machine_id: str) -> RescheduleRequest:
    return RescheduleRequest(
        machine_id=machine_id, deterministic_limit=SOLVE_WORK, workers=1, seed=0,
        time_limit_s=SAFETY_S,
    )  # fmt: skip


async def propose_failover(conn: AsyncConn, event: events.Event) -> str | None:
    """Answer a `machine.down`: the reschedule proposed, or None when no work waits on it."""
    machine_id = event.entity_id
    if machine_id is None:
        return None
    now = clock.now()
    queued = await queued_operations(conn, machine_id, now)
    if queued == 0:
        return None
    try:
        result = await reschedule_machine(conn, FAILOVER, request=_solving(machine_id))
    except TitanError as exc:
        detail = f"no reschedule: {exc}"
        schedule_id = None
    else:
        if result.schedule is None:
            detail, schedule_id = f"no reschedule: {result.reason}", None
        else:
            schedule_id = result.schedule.schedule_id
            moved = result.schedule.impact.operations_moved if result.schedule.impact else 0
            detail = (
                f"schedule {schedule_id} proposed: {moved} operations moved off {machine_id} "
                f"({queued} were queued on it); apply it to put it in force"
            )
    if len(detail) > DETAIL_CHARS:
        detail = detail[: DETAIL_CHARS - 1] + "…"
    await conn.execute(
        "insert into failovers (machine_id, down_event_id, down_at, reschedule_id, detail) "
        "values (%s, %s, %s, %s, %s) on conflict (down_event_id) do nothing",
        (machine_id, event.event_id, event.occurred_at, schedule_id, detail),
    )
    return detail


async def open_failovers(conn: AsyncConn) -> list[Failover]:
    cur = await conn.execute(
        "select * from failovers where recovered_at is null order by failover_id"
    )
    return [Failover.model_validate(r) for r in await cur.fetchall()]


async def rebalance_recovered(
    conn: AsyncConn, settings: Settings, *, now: datetime | None = None
) -> list[str]:
    """Close the failovers whose machine is back and healthy: propose the rebalance (or reject
    a reschedule never applied); what was done, one line each."""
    at = now or clock.now()
    done: list[str] = []
    for failover in await open_failovers(conn):
        [record] = await heartbeat_records(conn, settings, machine_ids=[failover.machine_id],
                                           now=at)  # fmt: skip
        if record.machine_status not in ("RUNNING", "IDLE"):
            continue
        if record.beats < settings.recovery_beats or record.missed > 0:
            continue
        done.append(await _close(conn, failover, at))
    return done


async def _close(conn: AsyncConn, failover: Failover, at: datetime) -> str:
    m = failover.machine_id
    status = None
    if failover.reschedule_id is not None:
        cur = await conn.execute(
            "select status from schedules where schedule_id = %s", (failover.reschedule_id,)
        )
        row = await cur.fetchone()
        status = row["status"] if row else None
    rebalance_id = None
    if status == "PROPOSED":
        await reject_schedule(
            conn, FAILOVER, schedule_id=failover.reschedule_id or 0,
            reason=f"{m} is back in service before the reschedule was applied",
        )  # fmt: skip
        detail = f"{m} back; reschedule {failover.reschedule_id} rejected, nothing to move back"
    elif status in ("APPLIED", "SUPERSEDED"):
        try:
            result = await rebalance_machine(conn, FAILOVER, request=_solving(m))
        except TitanError as exc:
            detail = f"{m} back; no rebalance: {exc}"
        else:
            if result.schedule is None:
                detail = f"{m} back; no rebalance: {result.reason}"
            else:
                rebalance_id = result.schedule.schedule_id
                moved = result.schedule.impact.operations_moved if result.schedule.impact else 0
                detail = (
                    f"{m} back; rebalance {rebalance_id} proposed: {moved} operations moved; "
                    "apply it to put it in force"
                )
    else:
        detail = f"{m} back; nothing to move back"
    await conn.execute(
        "update failovers set recovered_at = %s, rebalance_id = %s, "
        "detail = detail || '; ' || %s where failover_id = %s",
        (at, rebalance_id, detail, failover.failover_id),
    )
    log.info("failover of %s closed: %s", m, detail)
    return detail
