"""`titan ingest`: take a plant's machine data from MQTT or OPC UA, and show how the ingest fares.

An ingest started here follows the simulation's plant time while a simulation engine runs on
the same database (a plant simulated faster than real time publishes readings ahead of the wall
clock); otherwise it keeps real time, as a real plant does.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.table import Table

from api.cli.runner import console, err, prepared, run, settings_or_exit
from ingest.stats import IngestStats
from simulation import state
from tools.core import clock
from tools.core.db import AsyncConn
from tools.machine_data.dead_letters import StoredDeadLetter, dead_letter_counts, list_dead_letters
from tools.machine_data.ingest_status import IngestStatus, ingest_statuses

ingest_app = typer.Typer(
    help="Machine data in: MQTT and OPC UA ingest, and how it fares.", no_args_is_help=True
)
out = console()

Topics = Annotated[
    list[str] | None,
    typer.Option("--topic", help="Topic filter to subscribe to (repeatable; default: every "
                 "machine topic under TITAN_INGEST_TOPIC_PREFIX)."),
]  # fmt: skip
Seconds = Annotated[
    float | None, typer.Option(help="Stop after this many seconds (default: at Ctrl-C).")
]


async def _follow_plant_time(conn: AsyncConn) -> str:
    """Set the process clock to the running simulation's plant time, if one runs; which."""
    saved = await state.load_state(conn)
    await conn.commit()
    if saved is None or not saved.running or saved.plant_time is None:
        return "real time"
    clock.set_clock(clock.SimulatedClock(saved.plant_time, saved.speed))
    return f"the simulation's plant time ({saved.speed:g}x)"


async def _until(seconds: float | None) -> None:
    """Wait until Ctrl-C cancels the job, or `seconds` are up."""
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await asyncio.Event().wait()


def _summary(stats: IngestStats) -> str:
    dead = sum(stats.dead_letters.values())
    return (
        f"Ingest stopped: {stats.received} messages, {stats.stored} stored "
        f"({stats.readings} new readings, {stats.duplicates} repeated), {dead} dead letters, "
        f"{stats.reconnects} reconnects."
    )


@ingest_app.command("mqtt")
def ingest_mqtt(
    url: Annotated[
        str | None,
        typer.Option(help="Broker, mqtt://[user:password@]host:1883 (default: "
                     "TITAN_INGEST_MQTT_URL)."),
    ] = None,
    topic: Topics = None,
    seconds: Seconds = None,
) -> None:  # fmt: skip
    """Subscribe to the machines' MQTT topics (QoS 1) and store what they publish."""
    from ingest.runner import mqtt_ingest

    settings = settings_or_exit()
    chosen = url or settings.ingest_mqtt_url
    if chosen is None:
        err.print("[bold red]error:[/] give --url mqtt://host:1883 or set TITAN_INGEST_MQTT_URL")
        raise typer.Exit(code=2)

    _run_ingest(
        lambda db_url: mqtt_ingest(db_url, settings, mqtt_url=chosen, topics=topic),
        f"MQTT ingest from {chosen}",
        seconds,
    )


@ingest_app.command("opcua")
def ingest_opcua(
    mapping: Annotated[
        Path | None,
        typer.Option(help="TOML mapping of node IDs to machine and sensor (default: "
                     "TITAN_INGEST_OPCUA_MAPPING)."),
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Server, opc.tcp://host:4840 (default: the mapping's).")
    ] = None,
    seconds: Seconds = None,
) -> None:  # fmt: skip
    """Subscribe to the mapped OPC UA nodes and store their data changes as readings."""
    from ingest.runner import opcua_ingest

    settings = settings_or_exit()
    path = mapping or settings.ingest_opcua_mapping
    if path is None:
        err.print("[bold red]error:[/] give --mapping FILE or set TITAN_INGEST_OPCUA_MAPPING")
        raise typer.Exit(code=2)

    _run_ingest(
        lambda db_url: opcua_ingest(db_url, settings, mapping_path=path, url=url),
        f"OPC UA ingest of {path}",
        seconds,
    )


def _run_ingest(
    open_ingest: Callable[[str], AbstractAsyncContextManager[IngestStats]],
    what: str,
    seconds: float | None,
) -> None:
    """Run one ingest on the plant's database until Ctrl-C (or `seconds`), then sum it up; a
    configuration it refuses (ValueError) is a usage error."""

    async def job() -> IngestStats:
        async with prepared() as (location, conn):
            follows = await _follow_plant_time(conn)
            try:
                async with open_ingest(location.url) as stats:
                    out.print(f"{what} on {follows}; Ctrl-C stops it.")
                    await _until(seconds)
            except ValueError as exc:
                err.print(f"[bold red]error:[/] {exc}")
                raise typer.Exit(code=2) from exc
        return stats

    try:
        stats = run(job)
    except KeyboardInterrupt:
        out.print("Ingest stopped.")
        return
    out.print(_summary(stats))


class IngestReport(BaseModel):
    """What `titan ingest status` shows."""

    ingests: list[IngestStatus]
    dead_letters: dict[str, int]
    recent_dead_letters: list[StoredDeadLetter]


@ingest_app.command("status")
def ingest_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    dead_letters: Annotated[
        int, typer.Option(min=0, max=1000, help="Show this many of the newest dead letters.")
    ] = 5,
) -> None:
    """Each ingest's connection, messages/s, lag and counts, and the dead letters by kind."""

    async def job() -> IngestReport:
        async with prepared() as (_, conn):
            return IngestReport(
                ingests=await ingest_statuses(conn),
                dead_letters=await dead_letter_counts(conn),
                recent_dead_letters=await list_dead_letters(conn, limit=dead_letters),
            )

    report = run(job)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        return
    if not report.ingests:
        out.print("No ingest has run on this database (titan ingest mqtt --url …).")
    table = Table(title="Ingests", show_edge=False)
    for column in ("source", "connection", "msg/s", "lag s", "queued", "messages", "stored",
                   "readings", "dead letters", "reconnects", "updated"):  # fmt: skip
        table.add_column(column)
    for s in report.ingests:
        table.add_row(
            s.source, s.connection, f"{s.messages_per_s:g}", f"{s.lag_s:g}", str(s.queue_depth),
            str(s.messages), str(s.stored), str(s.readings), str(s.dead_letters),
            str(s.reconnects), f"{s.updated_at:%Y-%m-%d %H:%M:%S}",
        )  # fmt: skip
    if report.ingests:
        out.print(table)
    kinds = ", ".join(f"{k} {n}" for k, n in report.dead_letters.items()) or "none"
    out.print(f"[bold]Dead letters[/] {kinds}")
    for d in report.recent_dead_letters:
        out.print(f"  {d.received_at:%H:%M:%S} {d.kind} {d.topic}: {d.reason}")
