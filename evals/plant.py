"""Each task's plant: a database cloned from a prepared template, dropped after the task.

A run prepares one *baseline* per seed (migrated, the demo plant of that seed laid at the
anchor time, the checkpointer's tables) and, for each distinct (seed, scenario, minutes) the
tasks name, a *stage* cloned from it with the scenario played and the plant time advanced on a
driven clock. Tasks then clone their stage with `CREATE DATABASE ... TEMPLATE`, which copies
files rather than re-seeding. Every template is prepared once per run, in the parent process,
with no connection left open on it (PostgreSQL refuses to copy a database in use), and is
dropped at the end of the run.

Each stage remembers the plant time it ended at; a task runs with a fixed clock standing there.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from agents.checkpoints import prepare_checkpointer
from evals.taskfile import Setup
from simulation.config import GeneratorName, SimConfig
from simulation.engine import Engine
from simulation.scenarios.staging import play
from tools.core import admin, clock, db
from tools.demo import plant as demo_plant

log = logging.getLogger(__name__)

# The plant day every task starts on: a Monday, at the start of the early shift.
ANCHOR = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
# The world a stage plays: what the scenarios need, without random orders, faults or customers
# that would make a task's end state depend on luck.
WORLD: tuple[GeneratorName, ...] = (
    "sensors", "monitor", "production", "carriers", "suppliers", "maintenance", "reactors",
)  # fmt: skip
SOLVE_SECONDS = 5.0
PREFIX = "titan_eval"

StageKey = tuple[int, str | None, int]


@dataclass(frozen=True)
class Stage:
    """A prepared template database and the plant time it stands at."""

    name: str
    now: datetime


def admin_url(server_url: str) -> str:
    """A URL of the same server's `postgres` database, for creating and dropping databases."""
    if conninfo_to_dict(server_url).get("dbname"):
        return make_conninfo(server_url, dbname="postgres")
    return server_url


def database_url(server_url: str, name: str) -> str:
    return make_conninfo(server_url, dbname=name)


async def _admin(server_url: str, statement: sql.Composed) -> None:
    async with await psycopg.AsyncConnection.connect(
        admin_url(server_url), autocommit=True
    ) as conn:
        await conn.execute(statement)


async def create_database(server_url: str, name: str, *, template: str | None = None) -> None:
    query: sql.Composed
    if template is None:
        query = sql.SQL("create database {}").format(sql.Identifier(name))
    else:
        query = sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    await _admin(server_url, query)


async def drop_database(server_url: str, name: str) -> None:
    await _admin(
        server_url, sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
    )


def stage_key(setup: Setup) -> StageKey:
    return (setup.seed, setup.scenario, setup.advance_minutes)


@dataclass
class Plants:
    """The run's templates on one server: baselines per seed, stages per (seed, scenario,
    minutes). Use as an async context manager: every template is dropped at the end."""

    server_url: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    stages: dict[StageKey, Stage] = field(default_factory=dict)
    _made: list[str] = field(default_factory=list)

    async def __aenter__(self) -> Plants:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for name in reversed(self._made):
            await drop_database(self.server_url, name)
        self._made.clear()

    def _name(self, *parts: object) -> str:
        tail = "_".join(str(p).replace("-", "_") for p in parts if p is not None)
        return f"{PREFIX}_{self.run_id}_{tail}"[:63]

    async def stage(self, setup: Setup) -> Stage:
        """The template for a task's setup, prepared on first use."""
        key = stage_key(setup)
        if key in self.stages:
            return self.stages[key]
        base = await self._baseline(setup.seed)
        if setup.scenario is None and setup.advance_minutes == 0:
            self.stages[key] = base
            return base
        name = self._name("s", setup.seed, setup.scenario, setup.advance_minutes)
        self._made.append(name)  # before it exists: a run cut short mid-create still drops it
        await create_database(self.server_url, name, template=base.name)
        now = await _play(
            database_url(self.server_url, name),
            seed=setup.seed,
            scenario=setup.scenario,
            minutes=setup.advance_minutes,
            start=base.now,
        )
        self.stages[key] = Stage(name=name, now=now)
        return self.stages[key]

    async def _baseline(self, seed: int) -> Stage:
        key: StageKey = (seed, None, 0)
        if key in self.stages:
            return self.stages[key]
        name = self._name("base", seed)
        self._made.append(name)
        await create_database(self.server_url, name)
        url = database_url(self.server_url, name)
        with clock.using(clock.FixedClock(ANCHOR)):
            async with db.connection(url) as conn:
                await admin.prepare(conn)
                async with conn.transaction():
                    await demo_plant.seed(conn, seed=seed)
        await prepare_checkpointer(url)
        self.stages[key] = Stage(name=name, now=ANCHOR)
        return self.stages[key]


@asynccontextmanager
async def clone(server_url: str, template: str, label: str) -> AsyncIterator[str]:
    """The URL of a fresh copy of the database `template`, dropped when the block ends."""
    name = f"{PREFIX}_t_{uuid.uuid4().hex[:10]}_{label}"[:63]
    await create_database(server_url, name, template=template)
    try:
        yield database_url(server_url, name)
    finally:
        await drop_database(server_url, name)


async def _play(
    url: str, *, seed: int, scenario: str | None, minutes: int, start: datetime
) -> datetime:
    """Play `scenario` (if any) and `minutes` more of plant time on the database at `url`, on a
    driven clock from `start`; the plant time it ends at."""
    driven = clock.FixedClock(start)
    with clock.using(driven):
        async with db.connection(url) as conn:
            engine = Engine(conn, driven, SimConfig(seed=seed).only(*WORLD))
            if not await engine.try_acquire():
                raise RuntimeError(f"the simulation lock of {url} is taken")
            try:
                if scenario is not None:
                    report = await play(engine, scenario, solve_seconds=SOLVE_SECONDS)
                    for step in report.steps:
                        if not step.ok:
                            log.warning("scenario %s: %s: %s", scenario, step.step, step.detail)
                if minutes:
                    await engine.advance(timedelta(minutes=minutes))
            finally:
                await engine.release()
        return driven.now()
