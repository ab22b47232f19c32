"""History backfill: weeks of plausible plant history written in bulk, before the present.

`backfill(url, days)` writes, for the span of `days` ending at the earliest reading already
stored (or now), every machine's sensor readings at one a minute from the same physics as the
live engine (`simulation.world.signals`), its machines working their shifts (each shift busy with
probability 0.8, idle in breaks), one motor burnout and one drifting sensor on given days (with
their ground truth, and a completed repair for the burnout), the shift counters, and completed
customer orders with their delivered shipments (`simulation.history`).

History is not a stream of domain changes: readings go in with one binary COPY per machine
(`tools.history`), over `workers` connections at once, and the whole
backfill leaves one `simulation.backfilled` event.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel, JsonValue, computed_field

from simulation.context import rows, stable_code
from simulation.history import busy, write_business_history
from simulation.world.faults import GroundTruth, epoch_minutes, start_fault
from simulation.world.machines import MachineRow, machines, profiles
from simulation.world.shifts import ShiftSpan, shift_spans
from simulation.world.signals import Fault, Profile, draw_job, signals, swing, temperature_target
from tools.core import clock, events
from tools.core.db import AsyncConn, connection
from tools.core.errors import ValidationError
from tools.history.readings import micros_since_pg_epoch, write_readings
from tools.machine_data.sensors import SENSORS


class BackfillProgress(BaseModel):
    done: int
    total: int
    what: str


class BackfillReport(BaseModel):
    start: datetime
    end: datetime
    days: float
    machines: int
    readings: int
    counters: int
    orders: int
    shipments: int
    faults: list[GroundTruth]
    seconds: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def plant_days_per_s(self) -> float:
        return self.days / self.seconds if self.seconds > 0 else math.inf


@dataclass(frozen=True)
class _Plan:
    seed: int
    start: datetime
    end: datetime
    every_s: float
    spans: dict[str, list[ShiftSpan]]


async def backfill(
    url: str,
    days: float,
    *,
    seed: int = 42,
    machine_ids: Sequence[str] | None = None,
    motor_failure: tuple[str, float] | None = ("MUC-CNC-002", 0.6),
    sensor_drift: tuple[str, float] | None = ("PHX-CNC-012", 0.3),
    orders_per_day: float = 12.0,
    workers: int = 2,
    progress: Callable[[BackfillProgress], None] | None = None,
) -> BackfillReport:
    """Write `days` of history before the earliest stored reading (or now). `motor_failure` and
    `sensor_drift` name a machine and when its fault struck, as a fraction of the span back from
    its end (0.6: 60 % of the way back); None leaves it out."""
    if not 0 < days <= 366:
        raise ValidationError(f"backfill 1 minute to 366 days of history, got {days} days")
    began = time.perf_counter()
    async with connection(url) as conn:
        found = await machines(conn, list(machine_ids) if machine_ids else None)
        if machine_ids and len(found) != len(set(machine_ids)):
            missing = set(machine_ids) - {m.machine_id for m in found}
            raise ValidationError(f"no machines {', '.join(sorted(missing))}; list machines")
        end = await _history_end(conn, found)
        start = end - timedelta(days=days)
        plan = _Plan(seed, start, end, 60.0, await shift_spans(conn, start, end))
        made = await profiles(conn, found, end)
        truths = await _faults(conn, plan, found, motor_failure, sensor_drift)
    total = len(found) + 1
    done = 0

    def tell(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(BackfillProgress(done=done, total=total, what=what))

    queue = list(found)
    written = 0

    async def worker() -> None:
        nonlocal written
        async with connection(url) as wconn:
            while queue:
                m = queue.pop(0)
                faults = [t.fault() for t in truths if t.machine_id == m.machine_id]
                count = await _write_readings(wconn, plan, m, made[m.machine_id], faults)
                written += count
                tell(m.machine_id)

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(found))))))
    async with connection(url) as conn, conn.transaction():
        business = await write_business_history(
            conn,
            seed=seed,
            start=start,
            end=end,
            machines=found,
            spans=plan.spans,
            orders_per_day=orders_per_day,
        )
        tell("orders, shipments and shift counters")
        report = BackfillReport(
            start=start,
            end=end,
            days=days,
            machines=len(found),
            readings=written,
            counters=business.counters,
            orders=business.orders,
            shipments=business.shipments,
            faults=truths,
            seconds=time.perf_counter() - began,
        )
        summary: dict[str, JsonValue] = report.model_dump(mode="json", exclude={"faults"})
        summary["faults"] = [f"{t.pattern} on {t.machine_id}" for t in truths]
        await events.emit(
            conn,
            "simulation.backfilled",
            source="simulator",
            entity_type="simulation",
            entity_id="backfill",
            payload=summary,
            occurred_at=clock.now(),
        )
    return report


async def _history_end(conn: AsyncConn, found: list[MachineRow]) -> datetime:
    """The minute before the earliest reading of these machines, or the current minute."""
    end = clock.now().replace(second=0, microsecond=0)
    for m in found:
        first = await rows(
            conn,
            "select ts from sensor_readings where machine_id = %(m)s and sensor = 'vibration' "
            "order by ts limit 1",
            {"m": m.machine_id},
        )
        if first:
            end = min(end, first[0]["ts"].replace(second=0, microsecond=0) - timedelta(minutes=1))
    return end


async def _faults(
    conn: AsyncConn,
    plan: _Plan,
    found: list[MachineRow],
    motor: tuple[str, float] | None,
    drift: tuple[str, float] | None,
) -> list[GroundTruth]:
    ids = [m.machine_id for m in found]
    span = plan.end - plan.start
    rng = random.Random(f"{plan.seed}:backfill:faults")
    made = []
    for chosen, pattern, lead_h, repair_h in (
        (motor, "MOTOR_BURNOUT", (36, 60), (4, 8)),
        (drift, "SENSOR_DRIFT", (72, 120), (24, 48)),
    ):
        if chosen is None or chosen[0] not in ids:
            continue
        machine_id, back = chosen
        failure = (plan.end - span * back).replace(second=0, microsecond=0)
        started = max(plan.start, failure - timedelta(hours=rng.uniform(*lead_h)))
        truth = await start_fault(
            conn,
            machine_id=machine_id,
            pattern=pattern,
            failure_at=failure,
            started_at=started,
            source="backfill",
        )
        ended = failure + timedelta(hours=rng.uniform(*repair_h))
        async with conn.transaction():
            await conn.execute(
                "update sim_ground_truth set ended_at = %s where fault_id = %s",
                (ended, truth.fault_id),
            )
        made.append(truth.model_copy(update={"ended_at": ended}))
    return made


def operating(
    plan: _Plan, machine: MachineRow, profile: Profile, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether the machine runs at each time (busy shifts, not in breaks), and its jobs' speed
    and swinging load."""
    running = np.zeros(t.shape, dtype=bool)
    for span in plan.spans.get(_calendar(machine), []):
        if not busy(plan.seed, machine.machine_id, span):
            continue
        a, b = np.searchsorted(t, [epoch_minutes(span.starts_at), epoch_minutes(span.ends_at)])
        running[a:b] = True
        for s, e in span.breaks:
            c, d = np.searchsorted(t, [epoch_minutes(s), epoch_minutes(e)])
            running[c:d] = False
    rng = random.Random(f"{plan.seed}:backfill:jobs:{machine.machine_id}")
    speed, load, period, phase = (np.empty(t.shape) for _ in range(4))
    i = 0
    while i < t.shape[0]:
        job = draw_job(rng, profile)
        j = min(t.shape[0], i + max(1, round(job.minutes * 60 / plan.every_s)))
        speed[i:j], load[i:j], period[i:j], phase[i:j] = job.speed, job.load, job.period, job.phase
        i = j
    return running, speed, swing(load, t, period, phase)


def _calendar(machine: MachineRow) -> str:
    return f"{machine.facility_id}-STD"


async def _write_readings(
    conn: AsyncConn,
    plan: _Plan,
    machine: MachineRow,
    profile: Profile,
    faults: list[Fault],
    *,
    always_running: bool = False,
) -> int:
    step = plan.every_s / 60
    count = round((plan.end - plan.start).total_seconds() / plan.every_s)
    t = (epoch_minutes(plan.start) + step * np.arange(1, count + 1)).astype(np.float64)
    running, speed, load = operating(plan, machine, profile, t)
    if always_running:
        running[:] = True
    rng = np.random.default_rng([plan.seed % 2**32, 7, stable_code(machine.machine_id)])
    steady = temperature_target(profile, t[:1], running[:1])
    out = signals(
        profile,
        t,
        running,
        speed,
        load,
        faults,
        temperature=float(steady[0]),
        previous_t=float(t[0]) - plan.every_s / 60,
        rng=rng,
    )
    keep = ~out.silent
    micros = micros_since_pg_epoch(t[keep] * 60)
    values = {sensor: out.values[sensor][keep] for sensor in SENSORS}
    return await write_readings(conn, machine.machine_id, micros, values)


async def recent_history(
    conn: AsyncConn,
    machine_id: str,
    *,
    since: datetime,
    until: datetime,
    faults: list[Fault],
    seed: int,
) -> int:
    """Readings of one machine running through (since, until] under `faults`, as the history
    leading up to a staged fault; nothing when it has readings in that span already."""
    found = await machines(conn, [machine_id])
    seen = await rows(
        conn,
        "select 1 from sensor_readings where machine_id = %(m)s and ts > %(since)s "
        "and ts <= %(until)s limit 1",
        {"m": machine_id, "since": since, "until": until},
    )
    if not found or seen:
        return 0
    made = await profiles(conn, found, until)
    plan = _Plan(seed, since, until, 60.0, {})
    return await _write_readings(
        conn, plan, found[0], made[machine_id], faults, always_running=True
    )
