"""`titan bench`: benchmarks that print their figures (never the plant's own database)."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from typing import Annotated

import typer
from rich.table import Table

from api.benchmarks.harness import Measurement, scratch_database
from api.cli.runner import console, err, run
from tools.core import db

bench_app = typer.Typer(
    help="Benchmarks: they print ops/s and latency percentiles.", no_args_is_help=True
)

out = console()


def machine_description() -> str:
    """The machine the figures come from, for the docs."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def report(title: str, results: list[Measurement], *, as_json: bool) -> None:
    if as_json:
        for m in results:
            sys.stdout.write(m.model_dump_json() + "\n")
        return
    table = Table(title=f"{title} — {machine_description()}", show_edge=False)
    for column in ("benchmark", "ops", "ops/s", "p50 ms", "p95 ms", "p99 ms", "note"):
        table.add_column(column, justify="left" if column in ("benchmark", "note") else "right")
    for m in results:
        table.add_row(
            m.name, str(m.ops), f"{m.ops_per_s:,.0f}", f"{m.p50_ms:.2f}", f"{m.p95_ms:.2f}",
            f"{m.p99_ms:.2f}", m.note,
        )  # fmt: skip
    out.print(table)


@bench_app.command("domain")
def bench_domain(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    quick: Annotated[
        bool, typer.Option(help="Fewer repetitions and no week of readings (a smoke run).")
    ] = False,
) -> None:
    """Reserve stock, record 10,000 readings, health of 24 machines over a week of data, audit
    trail of an order — in a scratch database on Titan's PostgreSQL server."""
    from api.benchmarks.domain import run_domain_bench

    async def job() -> list[Measurement]:
        location = await asyncio.to_thread(db.locate)
        async with scratch_database(location.url) as url:
            return await run_domain_bench(
                url, quick=quick, progress=lambda m: err.print(f"[dim]… {m}[/]", end="\r")
            )

    results = run(job)
    err.print(" " * 60, end="\r")
    report("Titan domain benchmark", results, as_json=as_json)


@bench_app.command("mcp")
def bench_mcp(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    quick: Annotated[bool, typer.Option(help="Fewer repetitions (a smoke run).")] = False,
) -> None:
    """Latency of one read tool called directly, and over MCP in memory, stdio and streamable
    HTTP — in a scratch database on Titan's PostgreSQL server."""
    from api.benchmarks.mcp import run_mcp_bench

    async def job() -> list[Measurement]:
        location = await asyncio.to_thread(db.locate)
        async with scratch_database(location.url) as url:
            return await run_mcp_bench(
                url, quick=quick, progress=lambda m: err.print(f"[dim]… {m}[/]", end="\r")
            )

    results = run(job)
    err.print(" " * 60, end="\r")
    report("Titan MCP benchmark", results, as_json=as_json)


@bench_app.command("sim")
def bench_sim(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    quick: Annotated[
        bool, typer.Option(help="Two seconds of load and one day of backfill (a smoke run).")
    ] = False,
) -> None:
    """Sustained sensor readings/s with every generator on and health queries answering, and
    backfill speed in plant days per second — in scratch databases on Titan's server."""
    from api.benchmarks.simulation import SimMeasurement
    from api.benchmarks.simulation import bench_sim as measure_sim

    async def job() -> list[SimMeasurement]:
        location = await asyncio.to_thread(db.locate)
        if quick:
            return await measure_sim(location.url, seconds=2.0, backfill_days=1.0)
        return await measure_sim(location.url)

    results = run(job)
    if as_json:
        for m in results:
            sys.stdout.write(m.model_dump_json() + "\n")
        return
    table = Table(title=f"Titan simulation benchmark — {machine_description()}", show_edge=False)
    for column in ("benchmark", "figure", "count", "seconds", "note"):
        table.add_column(column, justify="left" if column in ("benchmark", "note") else "right")
    for m in results:
        table.add_row(
            m.name, f"{m.value:,.1f} {m.unit}", f"{m.count:,}", f"{m.seconds:.1f}", m.note
        )
    out.print(table)


@bench_app.command("chat")
def bench_chat(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    repeat: Annotated[int, typer.Option(min=1, max=100, help="Rounds of the requests.")] = 5,
) -> None:
    """Offline chat latency for requests one specialist answers, over the real graph and MCP
    tools (model start excluded), and the understanding alone — in a scratch database."""
    from api.benchmarks.chat import run_chat_bench

    async def job() -> list[Measurement]:
        location = await asyncio.to_thread(db.locate)
        async with scratch_database(location.url) as url:
            return await run_chat_bench(url, repeat=repeat)

    report("Titan offline chat benchmark", run(job), as_json=as_json)


@bench_app.command("api")
def bench_api(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    clients: Annotated[int, typer.Option(min=1, max=256, help="Concurrent clients.")] = 16,
    requests: Annotated[int, typer.Option(min=1, help="Most requests in all.")] = 800,
    seconds: Annotated[float, typer.Option(min=1, help="Most seconds of load.")] = 60.0,
    sim: Annotated[bool, typer.Option(help="Run the simulation in the service meanwhile.")] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Service processes (`titan serve --workers`).")
    ] = 1,
) -> None:
    """Chat load on `titan serve` over loopback with the offline model: requests/s and latency
    percentiles — in a scratch database on Titan's PostgreSQL server."""
    from api.benchmarks.api import run_api_bench

    async def job() -> list[Measurement]:
        location = await asyncio.to_thread(db.locate)
        async with scratch_database(location.url) as url:
            return await run_api_bench(
                url, clients=clients, requests=requests, seconds=seconds, simulate=sim,
                workers=workers, progress=lambda m: err.print(f"[dim]… {m}[/]", end="\r"),
            )  # fmt: skip

    results = run(job)
    err.print(" " * 60, end="\r")
    report("Titan API benchmark", results, as_json=as_json)


@bench_app.command("ingest")
def bench_ingest(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    url: Annotated[
        str, typer.Option(help="The MQTT broker to publish through.")
    ] = "mqtt://127.0.0.1:1883",
    quick: Annotated[bool, typer.Option(help="Fewer messages (a smoke run).")] = False,
) -> None:
    """Sustained MQTT readings/s into PostgreSQL, end to end, with 1 and with 50 readings per
    message — published by a process of its own, stored in a scratch database."""
    from api.benchmarks.ingest import run_ingest_bench

    async def job() -> list[Measurement]:
        location = await asyncio.to_thread(db.locate)
        async with scratch_database(location.url) as scratch:
            return await run_ingest_bench(
                scratch, url, quick=quick,
                progress=lambda m: err.print(f"[dim]… {m}[/]", end="\r"),
            )  # fmt: skip

    results = run(job)
    err.print(" " * 60, end="\r")
    report("Titan ingest benchmark", results, as_json=as_json)
