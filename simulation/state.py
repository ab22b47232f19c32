"""The engine's persisted state and command queue, so that the service and the CLI can read its
status and steer an engine running in another process.

`sim_state` holds one row: seed, speed, paused, plant time, generators with their rates,
delayed suppliers and counts; the running engine writes it every tick. `sim_commands` is a
queue: another process adds a command (a scenario, a reset, pause, speed, a generator switch or
rate) and the engine carries it out at its next tick and marks it done with its result.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from psycopg.types.json import Jsonb
from pydantic import BaseModel, JsonValue

from simulation.config import RATE_MEANINGS, GeneratorSettings, SimConfig
from simulation.context import rows
from simulation.lock import HELD_WHERE, LOCK_KEY, LockHolder, holder
from simulation.world.faults import GroundTruth, ground_truth
from tools.core import clock
from tools.core.db import AsyncConn

Command = Literal["scenario", "reset", "pause", "resume", "speed", "enable", "disable", "rate"]


class SimState(BaseModel):
    seed: int
    speed: float
    paused: bool
    running: bool
    holder: str | None
    plant_time: datetime | None
    started_at: datetime | None
    updated_at: datetime
    generators: dict[str, GeneratorSettings]
    delayed_suppliers: list[str]
    counts: dict[str, int]


class GeneratorStatus(GeneratorSettings):
    name: str
    rate_means: str


class SimStatus(BaseModel):
    """What `titan sim status` shows."""

    state: SimState | None
    engine_lock: LockHolder | None
    generators: list[GeneratorStatus]
    faults_in_play: list[GroundTruth]
    pending_commands: int


class QueuedCommand(BaseModel):
    command_id: int
    command: Command
    args: dict[str, JsonValue]
    requested_at: datetime


_COLUMNS = """seed, speed, paused, running, holder, plant_time, started_at, updated_at,
    generators, delayed_suppliers, counts"""


async def save_state(
    conn: AsyncConn,
    config: SimConfig,
    *,
    running: bool,
    paused: bool,
    plant_time: datetime,
    started_at: datetime | None,
    counts: Mapping[str, int],
    holder_name: str | None,
) -> None:
    """Write the engine's state (one row, replaced)."""
    gens = {n: g.model_dump() for n, g in config.generators.items()}
    async with conn.transaction():
        await conn.execute(
            "insert into sim_state (engine, seed, speed, paused, running, holder, plant_time, "
            "started_at, updated_at, generators, delayed_suppliers, counts, saved_wall) values "
            "('main', %(seed)s, %(speed)s, %(paused)s, %(running)s, %(holder)s, %(plant)s, "
            "%(started)s, %(now)s, %(gens)s, %(delayed)s, %(counts)s, clock_timestamp()) "
            "on conflict (engine) do update set "
            "seed = excluded.seed, speed = excluded.speed, paused = excluded.paused, "
            "running = excluded.running, holder = excluded.holder, "
            "plant_time = excluded.plant_time, started_at = excluded.started_at, "
            "updated_at = excluded.updated_at, generators = excluded.generators, "
            "delayed_suppliers = excluded.delayed_suppliers, counts = excluded.counts, "
            "saved_wall = excluded.saved_wall",
            {
                "seed": config.seed,
                "speed": config.speed,
                "paused": paused,
                "running": running,
                "holder": holder_name,
                "plant": plant_time,
                "started": started_at,
                "now": clock.now(),
                "gens": Jsonb(gens),
                "delayed": sorted(config.delayed_suppliers),
                "counts": Jsonb(dict(counts)),
            },
        )


async def load_state(conn: AsyncConn) -> SimState | None:
    """The engine's last saved state, if it ever ran on this database."""
    found = await rows(conn, f"select {_COLUMNS} from sim_state where engine = 'main'")
    return SimState.model_validate(found[0]) if found else None


class EngineTime(BaseModel):
    """Plant time as the engine last saved it, how many real seconds ago that was, and whether
    an engine runs now (it saved `running` and still holds the engine lock)."""

    plant_time: datetime
    speed: float
    paused: bool
    running: bool
    age_s: float


async def engine_time(conn: AsyncConn) -> EngineTime | None:
    """Where the engine's plant time stood when it last saved, or None if it never saved it."""
    found = await rows(
        conn,
        "select plant_time, speed, paused, "
        f"running and exists (select 1 from pg_locks where {HELD_WHERE}) as running, "
        "greatest(extract(epoch from clock_timestamp() - saved_wall), 0)::float8 as age_s "
        "from sim_state where engine = 'main' and plant_time is not null "
        "and saved_wall is not null",
        {"key": LOCK_KEY},
    )
    return EngineTime.model_validate(found[0]) if found else None


def config_from(state: SimState | None, base: SimConfig) -> SimConfig:
    """`base` with the generator switches, rates and delayed suppliers saved in `state`."""
    if state is None:
        return base
    gens = {n: state.generators.get(n, g) for n, g in base.generators.items()}
    return base.model_copy(
        update={"generators": gens, "delayed_suppliers": list(state.delayed_suppliers)}
    )


async def status(conn: AsyncConn) -> SimStatus:
    state = await load_state(conn)
    config = config_from(state, SimConfig())
    pending = await rows(conn, "select count(*) as n from sim_commands where done_at is null")
    return SimStatus(
        state=state,
        engine_lock=await holder(conn),
        generators=[
            GeneratorStatus(name=n, rate_means=RATE_MEANINGS[n], **g.model_dump())
            for n, g in config.generators.items()
        ],
        faults_in_play=await ground_truth(conn, active=True),
        pending_commands=pending[0]["n"],
    )


async def enqueue(conn: AsyncConn, command: Command, args: Mapping[str, JsonValue]) -> int:
    """Queue a command for the running engine; its ID."""
    async with conn.transaction():
        cur = await conn.execute(
            "insert into sim_commands (command, args, requested_at) values (%s, %s, %s) "
            "returning command_id",
            (command, Jsonb(dict(args)), clock.now()),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["command_id"])


async def pending_commands(conn: AsyncConn) -> list[QueuedCommand]:
    found = await rows(
        conn,
        "select command_id, command, args, requested_at from sim_commands "
        "where done_at is null order by command_id",
    )
    return [QueuedCommand.model_validate(r) for r in found]


async def finish_command(conn: AsyncConn, command_id: int, result: Mapping[str, JsonValue]) -> None:
    async with conn.transaction():
        await conn.execute(
            "update sim_commands set done_at = %s, result = %s where command_id = %s",
            (clock.now(), Jsonb(dict(result)), command_id),
        )


async def command_result(conn: AsyncConn, command_id: int) -> dict[str, JsonValue] | None:
    """A queued command's result once the engine has carried it out, else None."""
    found = await rows(
        conn,
        "select result from sim_commands where command_id = %(id)s and done_at is not null",
        {"id": command_id},
    )
    return found[0]["result"] if found else None


async def resume_time(conn: AsyncConn, *, wall: datetime) -> datetime:
    """Where plant time picks up: where the engine left it, or the wall clock if that is later."""
    saved = await load_state(conn)
    if saved is None or saved.plant_time is None:
        return wall
    return max(saved.plant_time, wall)
