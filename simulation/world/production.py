"""Production on the machines: parts and defects per shift, and machines starting and stopping
with their shifts.

A running machine in a shift makes parts at its ideal cycle time divided by its efficiency and a
performance of 92 % (80 % while a fault is in play), as a Poisson count; each part is defective
with probability 1.2 % (8 % more with a fault in play). Runtime, parts and defects go into the
shift's counter (`tools.machine_data.production.record_production`) `rate` times an hour and at the
shift's end; the next shift starts a fresh counter, the reset at shift change. When a shift ends a
running machine goes IDLE; when one starts an idle machine starts RUNNING with probability 0.8
(it has work). Furnaces run their cycles around the clock and are left as they are. The state
a machine is found in when the engine starts is taken as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from simulation.context import Context, poisson
from simulation.world.machines import REPORTING, MachineRow, machines
from tools.core.errors import InvalidTransitionError, ValidationError
from tools.machine_data.production import Shift, record_production, shift_at
from tools.machine_data.status import set_machine_status

# Ideal minutes per part by work-center type.
CYCLE_MINUTES = {
    "CNC_MILL": 14.0,
    "CNC_LATHE": 9.0,
    "GRINDING": 12.0,
    "HEAT_TREAT": 6.0,
    "INSPECTION": 8.0,
    "ASSEMBLY": 22.0,
}
UTILISATION = 0.8
NO_SHIFT_RECHECK = timedelta(minutes=30)
ShiftKey = tuple[date, str]


@dataclass
class _Tally:
    key: ShiftKey
    at: datetime  # the last time counted, inside the shift
    runtime: float = 0.0
    parts: int = 0
    defects: int = 0


@dataclass
class _Seen:
    shift: Shift | None
    until: datetime  # when to look again
    changed: bool  # the shift changed at this lookup (not at the first)

    @property
    def key(self) -> ShiftKey | None:
        return (self.shift.shift_date, self.shift.shift_name) if self.shift else None


class ProductionGenerator:
    name: Literal["production"] = "production"

    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}
        self._tally: dict[str, _Tally] = {}
        self._flushed: dict[str, datetime] = {}

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        written = 0
        for m in await machines(ctx.conn):
            if m.machine_id in ctx.world.failed or m.status not in REPORTING:
                continue
            shift = await self._shift(ctx, m, at)
            status = await self._start_or_stop(ctx, m, shift, at)
            tally = self._tally.get(m.machine_id)
            key = (shift.shift_date, shift.shift_name) if shift else None
            if tally is not None and tally.key != key:
                written += await self._flush(ctx, m, tally)
                tally = None
            if shift is None or key is None or status != "RUNNING":
                continue
            if tally is None:
                tally = self._tally[m.machine_id] = _Tally(key=key, at=at)
            self._make(ctx, m, tally, at, minutes)
            every = timedelta(minutes=60.0 / max(ctx.config.rate(self.name), 1e-6))
            if at - self._flushed.get(m.machine_id, at - every) >= every:
                written += await self._flush(ctx, m, tally)
        return written

    async def _shift(self, ctx: Context, m: MachineRow, at: datetime) -> Shift | None:
        seen = self._seen.get(m.machine_id)
        if seen is not None and at < seen.until:
            return seen.shift
        try:
            async with ctx.conn.transaction():
                shift: Shift | None = await shift_at(ctx.conn, m.machine_id, at=at)
        except ValidationError:
            shift = None
        until = shift.ends_at if shift else at + NO_SHIFT_RECHECK
        now = _Seen(shift, until, changed=False)
        now.changed = seen is not None and seen.key != now.key
        self._seen[m.machine_id] = now
        return shift

    async def _start_or_stop(
        self, ctx: Context, m: MachineRow, shift: Shift | None, at: datetime
    ) -> str:
        seen = self._seen[m.machine_id]
        if not seen.changed or m.wc_type == "HEAT_TREAT" or m.machine_id in ctx.world.reserved:
            return m.status
        seen.changed = False
        if shift is None and m.status == "RUNNING":
            target, reason = "IDLE", "shift ended"
        elif shift is not None and m.status == "IDLE":
            key = f"{shift.shift_date}:{shift.shift_name}"
            if ctx.decide("busy", m.machine_id, key).random() >= UTILISATION:
                return m.status
            target, reason = "RUNNING", f"{shift.shift_name} shift started"
        else:
            return m.status
        try:
            await set_machine_status(
                ctx.conn, ctx.actor, machine_id=m.machine_id, status=target, reason=reason
            )
        except InvalidTransitionError:
            return m.status
        ctx.count("status_changes")
        return target

    def _make(
        self, ctx: Context, m: MachineRow, tally: _Tally, at: datetime, minutes: float
    ) -> None:
        rng = ctx.rng(self.name)
        faulty = m.machine_id in ctx.world.faulty
        performance = 0.8 if faulty else 0.92
        expected = minutes * m.efficiency * performance / CYCLE_MINUTES[m.wc_type]
        parts = poisson(rng, expected)
        bad = 0.012 + (0.08 if faulty else 0.0)
        tally.parts += parts
        tally.defects += sum(1 for _ in range(parts) if rng.random() < bad)
        tally.runtime += minutes
        tally.at = at

    async def _flush(self, ctx: Context, m: MachineRow, tally: _Tally) -> int:
        whole = int(tally.runtime)
        self._flushed[m.machine_id] = tally.at
        if not (whole or tally.parts):
            return 0
        try:
            await record_production(
                ctx.conn,
                ctx.actor,
                machine_id=m.machine_id,
                parts_produced=tally.parts,
                parts_defective=tally.defects,
                runtime_minutes=whole,
                ideal_cycle_minutes=CYCLE_MINUTES[m.wc_type],
                at=tally.at,
            )
        except ValidationError:  # the shift was taken away (a holiday added meanwhile)
            return 0
        ctx.count("parts", tally.parts)
        tally.runtime -= whole
        tally.parts = tally.defects = 0
        return 1
