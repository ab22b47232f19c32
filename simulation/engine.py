"""The simulation engine: an asyncio loop on the simulated clock that plays the outside world.

Each *tick* covers `tick_s` of plant time: the engine carries out queued commands and due
scenario steps, runs every switched-on generator in order (`simulation.world.generators`), the
reactors last, and saves its state. `run()` ticks in step with the clock (a `SimulatedClock`
at `speed`; a real second is a plant minute at 60), pausable; `step(minutes)` advances the
clock by hand and ticks as fast as it can, which is how tests and fast-forwarded scenarios
drive it. The same seed on the same plant replays the same events.

Only the engine holding the advisory lock (`simulation.lock`) mutates the database: `acquire()`
waits for it, saying so, and every tick checks that it holds it.

In a service (one process, one clock, the engine on a connection of its own)::

    start = await state.resume_time(conn, wall=SystemClock().now())
    plant = SimulatedClock(start, settings.sim_speed)
    set_clock(plant)
    engine = Engine(conn, plant, state.config_from(await state.load_state(conn), SimConfig()))
    await engine.acquire()
    await engine.run(stop=stopping)  # a scenario: await engine.start_scenario("phoenix-incident")
    await engine.release()
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import psycopg
from pydantic import JsonValue

from simulation import lock, state
from simulation.config import SimConfig, generator_name
from simulation.context import Context, Generator, World
from simulation.world.generators import make_generators
from simulation.world.sensors import SensorGenerator
from tools.core import clock as clocks
from tools.core.db import AsyncConn
from tools.core.errors import ConflictError, TitanError, ValidationError
from tools.demo import plant as demo_plant

if TYPE_CHECKING:
    from simulation.publish import MqttPublisher
    from simulation.scenarios.run import ScenarioRun

log = logging.getLogger(__name__)

MAX_LAG_TICKS = 10  # further behind the clock than this, the engine skips ahead


class DrivenClock(Protocol):
    """A clock the engine can move: `SimulatedClock` or `FixedClock`."""

    def now(self) -> datetime: ...

    def advance(self, delta: timedelta) -> datetime: ...


Action = Callable[[], Awaitable[None]]


@dataclass(order=True)
class _Due:
    at: datetime
    seq: int
    label: str = field(compare=False)
    action: Action = field(compare=False)


class Engine:
    """One simulation engine on one connection (which holds the lock while it runs)."""

    def __init__(
        self,
        conn: AsyncConn,
        clock: DrivenClock,
        config: SimConfig | None = None,
        *,
        publisher: MqttPublisher | None = None,
    ) -> None:
        self.conn = conn
        self.clock = clock
        self.config = config or SimConfig()
        self.world = World(seed=self.config.seed)
        self.publisher = publisher  # set: sensor readings go over MQTT, not to the database
        self.generators: list[Generator] = self._generators()
        self.waiting = asyncio.Event()  # set while acquire() waits for another engine
        self.started_at: datetime | None = None
        self._holding = False
        self._paused = False
        self._agenda: list[_Due] = []
        self._seq = 0

    def _generators(self) -> list[Generator]:
        made = make_generators()
        for gen in made:
            if isinstance(gen, SensorGenerator):
                gen.publisher = self.publisher
        return made

    # ───────────────────────── the lock ─────────────────────────

    @property
    def holding(self) -> bool:
        return self._holding

    async def try_acquire(self) -> bool:
        """Take the engine lock if no other engine holds it; whether this engine holds it."""
        if not self._holding:
            self._holding = await lock.try_lock(self.conn)
        return self._holding

    async def acquire(self, *, poll_s: float = 2.0) -> None:
        """Wait until this engine holds the lock, logging once that it waits for another."""
        while not await self.try_acquire():
            if not self.waiting.is_set():
                other = await lock.holder(self.conn)
                log.warning(
                    "another simulation engine (%s) is running on this database; waiting for it "
                    "to stop",
                    other.describe() if other else "unknown",
                )
                self.waiting.set()
            await asyncio.sleep(poll_s)
        self.waiting.clear()

    async def release(self) -> None:
        if self._holding:
            await self._save(running=False)
            await lock.unlock(self.conn)
            self._holding = False

    def _require_lock(self) -> None:
        if not self._holding:
            raise ConflictError(
                "this simulation engine does not hold the engine lock; acquire it first (another "
                "engine may be running on this database)"
            )
        if clocks.get_clock() is not self.clock:
            raise ValidationError("the engine's clock must be the process clock (set_clock)")

    # ───────────────────────── controls ─────────────────────────

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True
        if isinstance(self.clock, clocks.SimulatedClock):
            self.clock.pause()

    def resume(self) -> None:
        self._paused = False
        if isinstance(self.clock, clocks.SimulatedClock):
            self.clock.resume()

    def set_speed(self, speed: float) -> None:
        if not 0 < speed <= 86_400:
            raise ValidationError(f"speed must be above 0 and at most 86400, got {speed}")
        self.config = self.config.model_copy(update={"speed": speed})
        if isinstance(self.clock, clocks.SimulatedClock):
            self.clock.set_speed(speed)

    def enable(self, name: str, on: bool = True) -> None:
        gen = generator_name(name)
        settings = self.config.generators[gen].model_copy(update={"enabled": on})
        self.config = self.config.model_copy(
            update={"generators": self.config.generators | {gen: settings}}
        )

    def set_rate(self, name: str, rate: float) -> None:
        gen = generator_name(name)
        if not rate >= 0:
            raise ValidationError(f"a rate is 0 or more, got {rate} for {name}")
        settings = self.config.generators[gen].model_copy(update={"rate": rate})
        self.config = self.config.model_copy(
            update={"generators": self.config.generators | {gen: settings}}
        )

    def delay_supplier(self, supplier_id: str, delayed: bool = True) -> None:
        """Make a supplier's deliveries late (or on time again)."""
        now = set(self.config.delayed_suppliers) - {supplier_id}
        if delayed:
            now.add(supplier_id)
        self.config = self.config.model_copy(update={"delayed_suppliers": sorted(now)})

    def schedule(self, at: datetime, label: str, action: Action) -> None:
        """Run `action` at the first tick at or after plant time `at`."""
        self._seq += 1
        self._agenda.append(_Due(at, self._seq, label, action))
        self._agenda.sort()

    @property
    def agenda(self) -> list[tuple[datetime, str]]:
        return [(d.at, d.label) for d in self._agenda]

    async def start_scenario(self, name: str) -> ScenarioRun:
        """Stage a scenario from now on; its steps run as plant time reaches them."""
        from simulation.scenarios.staging import stage

        return await stage(self, name)

    # ───────────────────────── running ─────────────────────────

    def context(self) -> Context:
        return Context(conn=self.conn, config=self.config, world=self.world)

    async def step(self, minutes: float) -> int:
        """Advance the clock by `minutes` of plant time, tick by tick; how many ticks ran."""
        self._require_lock()
        tick = timedelta(seconds=self.config.tick_s)
        ticks = max(1, round(minutes * 60 / self.config.tick_s))
        for _ in range(ticks):
            self.clock.advance(tick)
            await self.tick(self.clock.now(), strict=True)
        return ticks

    async def advance(self, delta: timedelta) -> int:
        """`step()` by a plant-time span."""
        return await self.step(delta.total_seconds() / 60)

    async def status(self) -> state.SimStatus:
        """The engine's saved state, who holds the lock, generators, faults in play."""
        return await state.status(self.conn)

    async def run(self, *, minutes: float | None = None, stop: asyncio.Event | None = None) -> None:
        """Tick in step with the clock until `minutes` of plant time passed or `stop` is set."""
        self._require_lock()
        tick = timedelta(seconds=self.config.tick_s)
        start = self.clock.now()
        self.started_at = start
        end = start + timedelta(minutes=minutes) if minutes is not None else None
        due = start + tick
        await self._save(running=True)
        while not (stop is not None and stop.is_set()):
            if end is not None and due > end:
                break
            if self._paused:
                await self._commands()
                await asyncio.sleep(0.5)
                due = self.clock.now() + tick
                continue
            now = self.clock.now()
            if due > now:
                await asyncio.sleep(min((due - now).total_seconds() / self.config.speed, 1.0))
                continue
            if now - due > tick * MAX_LAG_TICKS:
                log.warning("the engine fell %s behind plant time; skipping ahead", now - due)
                due = now
            await self.tick(due, strict=False)
            due += tick
        await self._save(running=False)

    async def tick(self, at: datetime, *, strict: bool) -> None:
        """One tick ending at plant time `at`. With `strict` a failure propagates; otherwise it
        is logged and the other generators still run."""
        self._require_lock()
        await self._commands()
        while self._agenda and self._agenda[0].at <= at:
            due = self._agenda.pop(0)
            log.info("scenario step: %s", due.label)
            await due.action()
        minutes = self.config.tick_s / 60.0
        for gen in self.generators:
            if not self.config.on(gen.name):
                continue
            try:
                await gen.tick(self.context(), at, minutes)
            except (TitanError, psycopg.Error) as exc:
                if strict:
                    raise
                log.warning("generator %s failed at %s: %s", gen.name, at.isoformat(), exc)
        self.world.counts["ticks"] += 1
        await self._save(running=True)
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            # a read outside a transaction of its own left one open: end it, so that what the
            # tick wrote is seen by everyone else
            log.debug("committing a transaction left open during the tick at %s", at)
            await self.conn.commit()

    async def reset(
        self, seed: int | None = None, *, by: str = "titan-sim"
    ) -> demo_plant.PlantSummary:
        """Return the plant to its baseline (the demo plant of `seed`); the engine starts over.
        `by`: who asked (kept in the record of resets)."""
        self._require_lock()
        chosen = self.config.seed if seed is None else seed
        async with self.conn.transaction():
            summary = await demo_plant.reset(self.conn, seed=chosen, by=by)
        self.config = self.config.model_copy(update={"seed": chosen, "delayed_suppliers": []})
        self.world = World(seed=chosen)
        self.generators = self._generators()
        self._agenda.clear()
        await self._save(running=self.started_at is not None)
        return summary

    async def _save(self, *, running: bool) -> None:
        await state.save_state(
            self.conn,
            self.config,
            running=running,
            paused=self._paused,
            plant_time=self.clock.now(),
            started_at=self.started_at,
            counts=self.world.counts,
            holder_name=f"{socket.gethostname()}:{os.getpid()}",
        )

    async def _commands(self) -> None:
        for queued in await state.pending_commands(self.conn):
            try:
                result = await self.carry_out(queued.command, queued.args)
            except (TitanError, psycopg.Error) as exc:
                result = {"ok": False, "error": str(exc)}
            # Saved before the answer: whoever sent it then reads a status that shows it, also
            # while the engine is paused and runs no tick.
            await self._save(running=self.started_at is not None)
            await state.finish_command(self.conn, queued.command_id, result)

    async def carry_out(
        self, command: state.Command, args: dict[str, JsonValue]
    ) -> dict[str, JsonValue]:
        """Carry out one command (as queued by another process); its result."""
        if command == "scenario":
            run = await self.start_scenario(str(args.get("name", "")))
            return {"ok": True, "scenario": run.name, "steps": len(run.steps)}
        if command == "reset":
            seed = args.get("seed")
            by = args.get("by")
            summary = await self.reset(
                seed if isinstance(seed, int) else None,
                by=by if isinstance(by, str) else "titan-sim",
            )
            return {"ok": True, "seed": summary.seed}
        if command == "pause":
            self.pause()
            return {"ok": True}
        if command == "resume":
            self.resume()
            return {"ok": True}
        value = args.get("value")
        if command == "speed" and isinstance(value, int | float):
            self.set_speed(float(value))
        elif command in ("enable", "disable"):
            self.enable(str(args.get("generator")), command == "enable")
        elif command == "rate" and isinstance(value, int | float):
            self.set_rate(str(args.get("generator")), float(value))
        else:
            raise ValidationError(f"command {command} needs a numeric value, got {value!r}")
        return {"ok": True}
