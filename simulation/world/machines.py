"""The machines as the simulation sees them: their status now and their physical profile."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from simulation.context import rows
from simulation.world.signals import Profile, make_profile
from tools.core.db import AsyncConn
from tools.machine_data.thresholds import effective_thresholds

# Machines that report readings; the others are switched off, broken or being worked on.
REPORTING = ("RUNNING", "IDLE")


class MachineRow(BaseModel):
    machine_id: str
    facility_id: str
    work_center_id: str
    wc_type: str
    model: str
    status: str
    efficiency: float
    status_changed_at: datetime
    last_heartbeat_at: datetime | None
    last_maintenance_at: datetime | None
    rated_power_kw: float
    max_spindle_rpm: int | None
    timezone: str


_MACHINES = """
select e.machine_id, e.facility_id, e.work_center_id, w.wc_type, e.model, e.status,
    e.efficiency, e.status_changed_at, e.last_heartbeat_at, e.last_maintenance_at,
    m.rated_power_kw, m.max_spindle_rpm, f.timezone
from equipment e
join work_centers w on w.work_center_id = e.work_center_id
join machine_models m on m.model = e.model
join facilities f on f.facility_id = e.facility_id
where %(ids)s::text[] is null or e.machine_id = any(%(ids)s)
order by e.machine_id
"""


async def machines(conn: AsyncConn, ids: list[str] | None = None) -> list[MachineRow]:
    """Every machine (or those named), by ID."""
    return [MachineRow.model_validate(r) for r in await rows(conn, _MACHINES, {"ids": ids})]


async def profiles(conn: AsyncConn, found: list[MachineRow], at: datetime) -> dict[str, Profile]:
    """The physical profile of each machine, with the thresholds in force for it."""
    async with conn.transaction():
        limits = await effective_thresholds(conn, [m.machine_id for m in found])
    made: dict[str, Profile] = {}
    for m in found:
        offset = ZoneInfo(m.timezone).utcoffset(at.replace(tzinfo=None))
        hours = offset.total_seconds() / 3600 if offset is not None else 0.0
        made[m.machine_id] = make_profile(
            m.machine_id,
            m.wc_type,
            m.rated_power_kw,
            m.max_spindle_rpm,
            utc_offset_h=hours,
            limits={s: (t.warning, t.critical) for s, t in limits.get(m.machine_id, {}).items()},
        )
    return made
