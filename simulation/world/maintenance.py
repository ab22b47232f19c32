"""Maintenance technicians working through work orders (`tools.maintenance.work_orders`).

A machine DOWN with no open work order gets a corrective one 20-60 minutes after it stopped,
for the fault the technicians find on it (the fault in play, when there is one). A scheduled
work order starts when its window opens; an open one with probability 1 - e^(-rate x Δt), four
times as fast when its machine is down. Starting needs its spare parts; without them it waits.
A work order in progress is completed when its window closes, or 2-6 hours after it started;
completing it returns the machine to service, and the fault it had ends with it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from simulation.context import Context, hazard, rows
from simulation.world.faults import ground_truth
from tools.core.errors import TitanError
from tools.maintenance.lifecycle import complete_work_order, start_work_order
from tools.maintenance.work_orders import create_work_order

log = logging.getLogger(__name__)

_WORK = """
select w.work_order_id, w.machine_id, w.status, w.scheduled_start, w.scheduled_end,
    w.started_at, e.status as machine_status
from work_orders w join equipment e on e.machine_id = w.machine_id
where w.status in ('OPEN', 'SCHEDULED', 'IN_PROGRESS')
order by w.work_order_id
"""
_STOPPED = """
select e.machine_id, e.status_changed_at from equipment e
where e.status = 'DOWN' and not exists (
    select 1 from work_orders w where w.machine_id = e.machine_id
    and w.status in ('OPEN', 'SCHEDULED', 'IN_PROGRESS'))
order by e.machine_id
"""


class MaintenanceGenerator:
    name: Literal["maintenance"] = "maintenance"

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        done = 0
        for m in await rows(ctx.conn, _STOPPED):
            if m["machine_id"] in ctx.world.reserved:
                continue
            rng = ctx.decide("call-out", m["machine_id"], m["status_changed_at"].isoformat())
            if at >= m["status_changed_at"] + timedelta(minutes=rng.uniform(20, 60)):
                done += await self._call_out(ctx, m["machine_id"])
        for w in await rows(ctx.conn, _WORK):
            if w["machine_id"] in ctx.world.reserved or w["work_order_id"] in ctx.world.reserved:
                continue
            try:
                done += await self._work(ctx, w, at, minutes)
            except TitanError as exc:
                log.debug("work order %s waits: %s", w["work_order_id"], exc)
        ctx.count("maintenance_steps", done)
        return done

    async def _call_out(self, ctx: Context, machine_id: str) -> int:
        found = await ground_truth(ctx.conn, machine_id, active=True)
        fault = found[0].pattern if found else None
        what = fault.lower().replace("_", " ") if fault else "cause to be found"
        try:
            await create_work_order(
                ctx.conn,
                ctx.actor,
                machine_id=machine_id,
                kind="CORRECTIVE",
                priority="HIGH",
                description=f"Machine stopped: {what}; technician called out",
                fault_type=fault,
            )
        except TitanError as exc:
            log.debug("no work order for %s: %s", machine_id, exc)
            return 0
        return 1

    async def _work(self, ctx: Context, w: dict[str, Any], at: datetime, minutes: float) -> int:
        wid = w["work_order_id"]
        if w["status"] == "IN_PROGRESS":
            rng = ctx.decide("repair", wid)
            planned = (
                w["scheduled_end"] - w["scheduled_start"]
                if w["scheduled_start"] and w["scheduled_end"]
                else timedelta(hours=rng.uniform(2, 6))
            )
            if at < w["started_at"] + planned:
                return 0
            await complete_work_order(
                ctx.conn, ctx.actor, work_order_id=wid, resolution="work done, machine tested"
            )
            ctx.count("repairs")
            return 1
        if w["status"] == "SCHEDULED":
            if w["scheduled_start"] is None or at < w["scheduled_start"]:
                return 0
        else:
            urgency = 4.0 if w["machine_status"] == "DOWN" else 1.0
            rate = ctx.config.rate(self.name) * urgency
            if ctx.rng(self.name).random() >= hazard(rate, minutes):
                return 0
        await start_work_order(ctx.conn, ctx.actor, work_order_id=wid)
        return 1
