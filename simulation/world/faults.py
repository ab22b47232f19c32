"""Faults the simulation plays on machines, and their ground truth.

Each fault is a `sim_ground_truth` row: its pattern, onset and true failure time (what a failure
prediction is scored against later), and when it ended. A fault ends when the machine is
repaired: maintenance completed on it after the onset, or, once it has failed, the machine
brought back into service after it went down. The ground truth is the simulation's own record:
it leaves no event, so that nothing in Titan learns the answer from it. The `faults` generator
starts degradations at random.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from psycopg.types.json import Jsonb
from pydantic import BaseModel, JsonValue

from simulation.context import Context, hazard, rows
from simulation.world.machines import REPORTING, MachineRow, machines
from simulation.world.signals import PATTERNS, Fault
from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ConflictError, NotFoundError, ValidationError

log = logging.getLogger(__name__)

Source = Literal["engine", "scenario", "backfill"]
# How often each pattern starts at random: sensors drift less often than parts wear.
_WEIGHTS = {
    "BEARING_DEGRADATION": 3,
    "MOTOR_BURNOUT": 2,
    "SPINDLE_WEAR": 2,
    "COOLANT_FAILURE": 2,
    "ELECTRICAL_FAULT": 1,
    "SENSOR_DRIFT": 1,
}


class GroundTruth(BaseModel):
    fault_id: int
    machine_id: str
    pattern: str
    started_at: datetime
    failure_at: datetime
    ended_at: datetime | None
    source: Source
    params: dict[str, JsonValue]

    @property
    def fails(self) -> bool:
        """Whether the machine itself fails (every pattern but a drifting sensor)."""
        return self.pattern != "SENSOR_DRIFT"

    def fault(self) -> Fault:
        return Fault(
            self.pattern,
            epoch_minutes(self.started_at),
            epoch_minutes(self.failure_at),
            epoch_minutes(self.ended_at) if self.ended_at else None,
        )


def epoch_minutes(at: datetime) -> float:
    """Minutes since the epoch, the time axis of `simulation.world.signals`."""
    return at.timestamp() / 60.0


_COLUMNS = "fault_id, machine_id, pattern, started_at, failure_at, ended_at, source, params"


async def start_fault(
    conn: AsyncConn,
    *,
    machine_id: str,
    pattern: str,
    failure_at: datetime,
    started_at: datetime | None = None,
    source: Source = "engine",
    replace: bool = False,
    params: dict[str, JsonValue] | None = None,
) -> GroundTruth:
    """Start a fault on a machine, failing at `failure_at`; with `replace` any fault in play on
    it ends now, otherwise one in play is a ConflictError."""
    if pattern not in PATTERNS:
        raise ValidationError(f"fault pattern {pattern!r} is unknown; use one of {PATTERNS}")
    start = started_at or clock.now()
    if failure_at <= start:
        raise ValidationError(
            f"a fault must fail after it starts ({start.isoformat()}), got {failure_at}"
        )
    async with conn.transaction():
        cur = await conn.execute("select 1 from equipment where machine_id = %s", (machine_id,))
        if await cur.fetchone() is None:
            raise NotFoundError(f"machine {machine_id!r} does not exist; list machines")
        if replace:
            await end_faults(conn, machine_id, at=max(start, clock.now()))
        cur = await conn.execute(
            "select pattern from sim_ground_truth where machine_id = %s and ended_at is null",
            (machine_id,),
        )
        playing = await cur.fetchone()
        if playing is not None:
            raise ConflictError(
                f"{machine_id} already has a {playing['pattern']} fault in play; end it first"
            )
        cur = await conn.execute(
            "insert into sim_ground_truth (machine_id, pattern, started_at, failure_at, source, "
            "params, created_at) values (%(m)s, %(p)s, %(s)s, %(f)s, %(src)s, %(params)s, %(now)s) "
            f"returning {_COLUMNS}",
            {
                "m": machine_id,
                "p": pattern,
                "s": start,
                "f": failure_at,
                "src": source,
                "params": Jsonb(params or {}),
                "now": clock.now(),
            },
        )
        row = await cur.fetchone()
    assert row is not None
    log.info("fault %s on %s, failing at %s", pattern, machine_id, failure_at.isoformat())
    return GroundTruth.model_validate(row)


async def end_faults(conn: AsyncConn, machine_id: str, *, at: datetime) -> int:
    """End the faults in play on a machine at `at`; how many ended (NotFoundError for a
    machine that does not exist)."""
    async with conn.transaction():
        cur = await conn.execute("select 1 from equipment where machine_id = %s", (machine_id,))
        if await cur.fetchone() is None:
            raise NotFoundError(
                f"machine {machine_id} does not exist", entity="machine", id=machine_id
            )
        cur = await conn.execute(
            "update sim_ground_truth set ended_at = greatest(%(at)s, started_at) "
            "where machine_id = %(m)s and ended_at is null",
            {"at": at, "m": machine_id},
        )
    return cur.rowcount


async def ground_truth(
    conn: AsyncConn, machine_id: str | None = None, *, active: bool = False
) -> list[GroundTruth]:
    """Faults played (of one machine, or only those in play), oldest first."""
    found = await rows(
        conn,
        f"select {_COLUMNS} from sim_ground_truth "
        "where (%(m)s::text is null or machine_id = %(m)s) "
        "and (not %(active)s or ended_at is null) order by started_at, fault_id",
        {"m": machine_id, "active": active},
    )
    return [GroundTruth.model_validate(r) for r in found]


def repaired(truth: GroundTruth, machine: MachineRow, at: datetime) -> bool:
    """Whether the machine was repaired since the fault began."""
    if machine.last_maintenance_at is not None and machine.last_maintenance_at > truth.started_at:
        return True
    return (
        truth.fails
        and at >= truth.failure_at
        and machine.status in REPORTING
        and machine.status_changed_at > truth.failure_at
    )


async def faults_in_play(
    conn: AsyncConn, found: Sequence[MachineRow], at: datetime
) -> dict[str, GroundTruth]:
    """Machine → its fault in play, ending those whose machine was repaired."""
    by_id = {m.machine_id: m for m in found}
    playing: dict[str, GroundTruth] = {}
    for truth in await ground_truth(conn, active=True):
        machine = by_id.get(truth.machine_id)
        if machine is not None and repaired(truth, machine, at):
            await end_faults(conn, truth.machine_id, at=at)
            log.info("%s repaired: its %s fault ends", truth.machine_id, truth.pattern)
            continue
        playing[truth.machine_id] = truth
    return playing


class FaultsGenerator:
    """Degradations starting at random on machines that run, failing 12 to 96 hours later."""

    name: Literal["faults"] = "faults"

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        rate = ctx.config.rate(self.name) / 24.0  # per machine per hour
        rng = ctx.rng(self.name)
        found = await machines(ctx.conn)
        playing = {t.machine_id for t in await ground_truth(ctx.conn, active=True)}
        started = 0
        for m in found:
            if m.status != "RUNNING" or m.machine_id in playing:
                continue
            if rng.random() >= hazard(rate, minutes):
                continue
            pattern = rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()))[0]
            failure = at + timedelta(hours=rng.uniform(12, 96))
            await start_fault(
                ctx.conn,
                machine_id=m.machine_id,
                pattern=pattern,
                failure_at=failure,
                started_at=at,
                source="engine",
            )
            started += 1
        ctx.count("faults_started", started)
        return started
