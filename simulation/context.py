"""What a generator works with on a tick: the connection, the engine's settings, the world it
shares with the other generators, and reproducible randomness.

Randomness comes in two kinds, both derived from the engine's seed so that a seed replays the
same plant: a generator's *stream* (`Context.rng(name)`, one `random.Random` per generator, drawn
from tick after tick) and a *decision* about one entity (`decide(seed, ...)`, a fresh
`random.Random` seeded by the entity and its state), which does not depend on how many ticks
came before — a shipment is delayed or not whatever the tick length.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from simulation.config import GeneratorName, SimConfig
from tools.core.db import AsyncConn
from tools.core.operations import Actor

SIM = Actor(type="simulator", id="sim")


@dataclass
class World:
    """What the generators share across ticks, held by the engine."""

    seed: int
    # Orders and shipments a scenario drives itself: the generators leave them alone.
    reserved: set[str] = field(default_factory=set)
    # Machines whose fault has made them fail: silent, and left alone by production.
    failed: set[str] = field(default_factory=set)
    # Machines with a fault in play (failed or not): they make more scrap.
    faulty: set[str] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    streams: dict[str, random.Random] = field(default_factory=dict)

    def rng(self, name: str) -> random.Random:
        """The generator's own stream, seeded from the engine's seed."""
        if name not in self.streams:
            self.streams[name] = random.Random(f"{self.seed}:{name}")
        return self.streams[name]


@dataclass
class Context:
    conn: AsyncConn
    config: SimConfig
    world: World
    actor: Actor = field(default_factory=lambda: SIM)

    def rng(self, name: str) -> random.Random:
        return self.world.rng(name)

    def decide(self, *parts: object) -> random.Random:
        return decide(self.world.seed, *parts)

    def count(self, what: str, n: int = 1) -> None:
        self.world.counts[what] += n


class Generator(Protocol):
    """One part of the outside world; `tick` plays `minutes` of plant time ending at `at` and
    returns how many things it generated."""

    @property
    def name(self) -> GeneratorName: ...

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int: ...


def decide(seed: int, *parts: object) -> random.Random:
    """A random source for one decision about one entity, the same for the same seed and parts."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def stable_code(text: str) -> int:
    """A number for `text` that is the same in every process (hash() is salted per process)."""
    return int.from_bytes(text.encode(), "big") % (2**63)


def hazard(rate_per_hour: float, minutes: float) -> float:
    """The probability that an event of `rate_per_hour` happens within `minutes`."""
    return 1.0 - math.exp(-max(rate_per_hour, 0.0) * minutes / 60.0)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count with `mean` (Knuth's product of uniforms, in chunks of 30 so
    that large means do not underflow)."""
    if mean <= 0:
        return 0
    total = 0
    while mean > 0:
        part = min(mean, 30.0)
        mean -= part
        limit, k, product = math.exp(-part), 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        total += k
    return total


async def rows(
    conn: AsyncConn, query: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The rows of a read, in a transaction of its own so that no transaction is left open."""
    async with conn.transaction():
        cur = await conn.execute(query, params)
        return await cur.fetchall()
