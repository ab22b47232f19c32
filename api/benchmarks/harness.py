"""Measuring operations: throughput and latency percentiles, and a scratch database to run in.

Benchmarks never touch the plant's own database: they run in
`tools.demo.scratch.scratch_database()`, re-exported here.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from tools.demo.scratch import scratch_database

__all__ = ["Measurement", "measure", "scratch_database", "summarise"]


class Measurement(BaseModel):
    """One benchmark's figures."""

    name: str
    ops: int
    seconds: float
    ops_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    note: str = ""


def summarise(
    name: str, latencies_s: list[float], *, units_per_op: int = 1, note: str = ""
) -> Measurement:
    """Figures from per-operation latencies (ops/s counts `units_per_op` units per operation)."""
    if not latencies_s:
        raise ValueError(f"benchmark {name} measured nothing")
    total = sum(latencies_s)
    ordered = sorted(latencies_s)

    def pct(p: float) -> float:
        if len(ordered) == 1:
            return ordered[0] * 1000
        return statistics.quantiles(ordered, n=100, method="inclusive")[int(p) - 1] * 1000

    return Measurement(
        name=name,
        ops=len(latencies_s) * units_per_op,
        seconds=round(total, 4),
        ops_per_s=round(len(latencies_s) * units_per_op / total, 1),
        p50_ms=round(pct(50), 3),
        p95_ms=round(pct(95), 3),
        p99_ms=round(pct(99), 3),
        note=note,
    )


async def measure(
    name: str,
    operation: Callable[[int], Awaitable[object]],
    *,
    repeat: int,
    warmup: int = 3,
    units_per_op: int = 1,
    note: str = "",
) -> Measurement:
    """Run `operation(i)` `warmup` times unmeasured, then `repeat` times measured, one at a time."""
    for i in range(warmup):
        await operation(-1 - i)
    latencies: list[float] = []
    for i in range(repeat):
        started = time.perf_counter()
        await operation(i)
        latencies.append(time.perf_counter() - started)
    return summarise(name, latencies, units_per_op=units_per_op, note=note)
