"""The plant's condition monitoring, run by the engine: heartbeats every tick, anomaly detection
at a set rate.

The plant's timed rules run every tick (`tools.reactors.timed`): machines whose heartbeat is older
than the timeout go DOWN, intermittent ones DEGRADED, a recovered machine's work moves back. Anomaly
detection (`tools.maintenance.anomalies`) looks at the last hour of each machine that reports and
has run steadily: in the same state (running or idle) for at least an hour and four thermal time
constants, as vibration is judged at a steady operating state (ISO 10816) — a machine warming up
after a start is not a trend toward failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from simulation.context import Context
from simulation.world.machines import REPORTING, machines
from simulation.world.signals import KINDS
from tools.core.settings import get_settings
from tools.maintenance.anomalies import detect_anomalies
from tools.reactors.timed import run_round

WINDOW_MINUTES = 60.0


class MonitorGenerator:
    name: Literal["monitor"] = "monitor"

    def __init__(self) -> None:
        self._next: datetime | None = None

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        # Judged at the tick's time, up to which the sensors have just reported: a tick that
        # ran long (a scenario's schedule solve) is the engine's pause, not the machines'.
        # The plant's timed rules are the service's own (`tools.reactors.timed`); the engine
        # runs them at its tick, as the service does on real time without it.
        done = await run_round(
            ctx.conn, get_settings(), now=at, silence_s=ctx.config.heartbeat_timeout_s
        )
        down = done["machines_down"]
        ctx.count("machines_down", down)
        rate = ctx.config.rate(self.name)
        if rate <= 0 or (self._next is not None and at < self._next):
            return down
        self._next = at + timedelta(minutes=60.0 / rate)
        found = await detect(ctx, at)
        return down + found


async def detect(ctx: Context, at: datetime, machine_ids: list[str] | None = None) -> int:
    """Run detection on the steady machines (or on `machine_ids`, steady or not); how many
    anomalies were new."""
    if machine_ids is None:
        machine_ids = [
            m.machine_id
            for m in await machines(ctx.conn)
            if m.status in REPORTING
            and m.machine_id not in ctx.world.failed
            and m.status_changed_at <= at - timedelta(minutes=settle_minutes(m.wc_type))
        ]
    if not machine_ids:
        return 0
    report = await detect_anomalies(
        ctx.conn, ctx.actor, machine_ids=machine_ids, window_minutes=WINDOW_MINUTES
    )
    ctx.count("anomalies", len(report.written))
    return len(report.written)


def settle_minutes(wc_type: str) -> float:
    return max(WINDOW_MINUTES, 4 * KINDS[wc_type].thermal_tau)
