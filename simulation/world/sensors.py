"""The live sensor generator: every reporting machine's seven sensors at a set interval, written
as one batch per tick through `tools.machine_data.sensors.record_readings` (which moves the
heartbeats).

The physics is `simulation.world.signals`. Each machine keeps its state between ticks: the job it is
on, its true temperature, and its own noise stream (seeded from the engine's seed and the
machine). A machine reports while RUNNING or IDLE and not failed; one that stops reporting
loses its heartbeat, and the monitor marks it DOWN. Readings fall on multiples of the interval,
so the same seed gives the same readings whatever the tick length.

With a publisher (`titan sim run --via mqtt://…`) the readings go to an MQTT broker instead, as
a real plant's would, and an ingest stores them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np

from simulation.context import Context, stable_code
from simulation.world.faults import GroundTruth, epoch_minutes, faults_in_play
from simulation.world.machines import REPORTING, MachineRow, machines, profiles
from simulation.world.signals import Job, Profile, draw_job, signals, swing, temperature_target
from tools.machine_data.sensors import SENSORS, Reading, record_readings

if TYPE_CHECKING:
    from simulation.publish import MqttPublisher


@dataclass
class _Machine:
    profile: Profile
    job: Job
    job_ends: float  # epoch minutes
    temperature: float
    last_t: float
    noise: np.random.Generator


class SensorGenerator:
    """Readings of every reporting machine, `rate` per sensor per plant minute."""

    name: Literal["sensors"] = "sensors"

    def __init__(self, publisher: MqttPublisher | None = None) -> None:
        self._machines: dict[str, _Machine] = {}
        self._last: datetime | None = None
        self.publisher = publisher

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        rate = ctx.config.rate(self.name)
        found = await machines(ctx.conn)
        playing = await faults_in_play(ctx.conn, found, at)
        ctx.world.faulty = set(playing)
        ctx.world.failed = {mid for mid, t in playing.items() if t.fails and at >= t.failure_at}
        if rate <= 0:
            return 0
        stamps = self._stamps(at, minutes, 60.0 / rate)
        if not stamps:
            return 0
        await self._know(ctx, found, at)
        batch: list[Reading] = []
        for m in found:
            if m.status in REPORTING:
                batch += self._readings(ctx, m, stamps, playing.get(m.machine_id))
        if batch and self.publisher is not None:
            where = {m.machine_id: m.facility_id for m in found}
            sent = await self.publisher.send(batch, where)
            ctx.count("readings_published", sent)
            ctx.count("readings_unsent", len(batch) - sent)
            return sent
        if batch:
            await record_readings(ctx.conn, ctx.actor, readings=batch)
        ctx.count("readings", len(batch))
        return len(batch)

    def _stamps(self, at: datetime, minutes: float, every_s: float) -> list[datetime]:
        """The reading times in (last, at]: multiples of the interval since the epoch."""
        since = self._last or at - timedelta(minutes=minutes)
        self._last = at
        first = math.floor(since.timestamp() / every_s) + 1
        last = math.floor(at.timestamp() / every_s)
        return [datetime.fromtimestamp(k * every_s, UTC) for k in range(first, last + 1)]

    async def _know(self, ctx: Context, found: list[MachineRow], at: datetime) -> None:
        new = [m for m in found if m.machine_id not in self._machines]
        if not new:
            return
        made = await profiles(ctx.conn, new, at)
        now = epoch_minutes(at)
        for m in new:
            profile = made[m.machine_id]
            rng = ctx.rng(f"sensors:{m.machine_id}")
            running = np.array([m.status == "RUNNING"])
            steady = temperature_target(profile, np.array([now]), running)
            self._machines[m.machine_id] = _Machine(
                profile=profile,
                job=draw_job(rng, profile),
                job_ends=now + rng.uniform(0, 60),
                temperature=float(steady[0]),
                last_t=now,
                noise=np.random.default_rng([ctx.world.seed % 2**32, stable_code(m.machine_id)]),
            )

    def _readings(
        self, ctx: Context, m: MachineRow, stamps: list[datetime], truth: GroundTruth | None
    ) -> list[Reading]:
        state = self._machines[m.machine_id]
        rng = ctx.rng(f"sensors:{m.machine_id}")
        if m.last_heartbeat_at is not None:  # never write over readings already stored
            stamps = [s for s in stamps if s > m.last_heartbeat_at]
            if not stamps:
                return []
        t = np.array([epoch_minutes(s) for s in stamps])
        jobs: list[Job] = []
        for now in t.tolist():
            while now >= state.job_ends:
                state.job = draw_job(rng, state.profile)
                state.job_ends += state.job.minutes
            jobs.append(state.job)
        running = np.full(t.shape, m.status == "RUNNING")
        load = swing(
            np.array([j.load for j in jobs]),
            t,
            np.array([j.period for j in jobs]),
            np.array([j.phase for j in jobs]),
        )
        out = signals(
            state.profile,
            t,
            running,
            np.array([j.speed for j in jobs]),
            load,
            [truth.fault()] if truth else [],
            temperature=state.temperature,
            previous_t=state.last_t,
            rng=state.noise,
        )
        state.temperature, state.last_t = out.temperature, float(t[-1])
        keep = [i for i in range(len(stamps)) if not out.silent[i]]
        values = {s: out.values[s].tolist() for s in SENSORS}
        return [
            Reading(machine_id=m.machine_id, sensor=s, ts=stamps[i], value=values[s][i])
            for i in keep
            for s in SENSORS
        ]
