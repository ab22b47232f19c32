"""`titan sim`: run the simulation engine, stage scenarios, reset the plant, backfill history.

Commands that change the plant take the engine lock. When another engine holds it (the service,
or a `titan sim run` elsewhere), `scenario` and `reset` are queued for that engine instead, and
`backfill` is refused until it stops.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import JsonValue
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.runner import console, err, prepared, run, settings_or_exit
from simulation import state
from simulation.config import SimConfig
from simulation.context import rows
from simulation.lock import holder
from simulation.scenarios.run import SCENARIOS, ScenarioReport, scenario_name
from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ConflictError

if TYPE_CHECKING:
    from simulation.backfill import BackfillProgress, BackfillReport
    from simulation.engine import Engine
    from simulation.publish import MqttPublisher

# The engine, the MQTT publisher and the backfill load only when a command runs.

sim_app = typer.Typer(
    help="The simulation: run it, stage scenarios, reset the plant, backfill history.",
    no_args_is_help=True,
)

out = console()
WAIT_FOR_ENGINE_S = 10.0


@asynccontextmanager
async def _engine(
    conn: AsyncConn,
    *,
    seed: int | None = None,
    speed: float | None = None,
    paused: bool = False,
    publisher: MqttPublisher | None = None,
) -> AsyncIterator[tuple[Engine, bool]]:
    """An engine on a simulated clock that picks up the plant's time, and whether it holds the
    lock (it does not while another engine runs). The process clock is restored afterwards."""
    from simulation.engine import Engine

    settings = settings_or_exit()
    saved = await state.load_state(conn)
    chosen = seed if seed is not None else saved.seed if saved else settings.sim_seed
    base = SimConfig(
        seed=chosen,
        speed=settings.sim_speed if speed is None else speed,
    )
    start = await state.resume_time(conn, wall=clock.SystemClock().now())
    plant = clock.SimulatedClock(start, base.speed)
    if paused:
        plant.pause()
    with clock.using(plant):
        engine = Engine(conn, plant, state.config_from(saved, base), publisher=publisher)
        try:
            yield engine, await engine.try_acquire()
        finally:
            with suppress(asyncio.CancelledError):
                await engine.release()


async def _queue(
    conn: AsyncConn, command: state.Command, args: dict[str, JsonValue], wait: bool
) -> str:
    other = await holder(conn)
    queued = await state.enqueue(conn, command, args)
    who = other.describe() if other else "another engine"
    if not wait:
        return f"queued as command {queued} for the running engine ({who})"
    for _ in range(int(WAIT_FOR_ENGINE_S / 0.5)):
        result = await state.command_result(conn, queued)
        if result is not None:
            return f"done by the running engine ({who}): {json.dumps(result)}"
        await asyncio.sleep(0.5)
    return f"queued as command {queued}; the running engine ({who}) has not taken it up yet"


@sim_app.command("run")
def sim_run(
    seed: Annotated[int | None, typer.Option(help="Seed (default: TITAN_SIM_SEED).")] = None,
    speed: Annotated[
        float | None, typer.Option(help="Plant seconds per real second (default: TITAN_SIM_SPEED).")
    ] = None,
    minutes: Annotated[
        float | None, typer.Option(help="Stop after this many plant minutes (default: never).")
    ] = None,
    via: Annotated[
        str | None,
        typer.Option(help="Publish the sensor readings to this MQTT broker (mqtt://host:1883) "
                     "instead of writing them; an ingest stores them."),
    ] = None,
) -> None:  # fmt: skip
    """Run the engine in plant time until Ctrl-C (or --minutes); waits while another runs."""
    from simulation.publish import MqttPublisher
    from tools.machine_data.contract import contract_from

    settings = settings_or_exit()
    try:
        publisher = MqttPublisher(via, contract_from(settings)) if via else None
    except ValueError as exc:
        err.print(f"[bold red]error:[/] --via: {exc}")
        raise typer.Exit(code=2) from exc

    async def job() -> dict[str, int]:
        async with (
            prepared() as (_, conn),
            AsyncExitStack() as stack,
            _engine(conn, seed=seed, speed=speed, publisher=publisher) as (engine, ok),
        ):
            if publisher is not None:
                await stack.enter_async_context(publisher)
                out.print(
                    f"Sensor readings go to {publisher.broker.label} (MQTT), not the database."
                )
            if not ok:
                other = await holder(conn)
                err.print(f"Waiting: another engine ({other.describe() if other else '?'}) runs.")
                await engine.acquire()
            found = await rows(conn, "select exists (select 1 from facilities) as loaded")
            if not found[0]["loaded"]:
                await engine.reset()
            out.print(
                f"Simulation running from {engine.clock.now():%Y-%m-%d %H:%M} plant time at "
                f"{engine.config.speed:g}x; Ctrl-C stops it."
            )
            try:
                await engine.run(minutes=minutes)
            finally:
                await engine.release()
            return dict(engine.world.counts)

    try:
        counts = run(job)
    except KeyboardInterrupt:
        out.print("Simulation stopped.")
        return
    out.print("Simulation stopped: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def _print_report(report: ScenarioReport) -> None:
    table = Table(
        show_edge=False, title=f"{report.title}: {'ok' if report.ok else 'with failures'}"
    )
    for column in ("plant time", "step", "ok", "what happened"):
        table.add_column(column)
    for s in report.steps:
        table.add_row(f"{s.at:%H:%M}", s.step, "yes" if s.ok else "NO", s.detail)
    out.print(table)


@sim_app.command("scenario")
def sim_scenario(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(SCENARIOS)}.")],
    wait: Annotated[
        bool, typer.Option(help="When queued for a running engine, wait for it to take it up.")
    ] = True,
    solve_seconds: Annotated[
        float, typer.Option(help="Time limit of each scheduling solve in the scenario.")
    ] = 5.0,
) -> None:
    """Stage a scenario: played here over an hour of plant time, or queued for a running engine."""
    key = scenario_name(name)

    async def job() -> ScenarioReport | str:
        async with prepared() as (_, conn), _engine(conn, paused=True) as (engine, ok):
            if not ok:
                return await _queue(conn, "scenario", {"name": key}, wait)
            from simulation.scenarios.staging import play

            return await play(engine, key, solve_seconds=solve_seconds)

    result = run(job)
    if isinstance(result, str):
        out.print(f"Scenario {key} {result}.")
        return
    _print_report(result)
    if not result.ok:
        raise typer.Exit(code=1)


@sim_app.command("reset")
def sim_reset(
    seed: Annotated[int | None, typer.Option(help="Seed (default: TITAN_SIM_SEED).")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for a running engine to do it.")] = True,
) -> None:
    """Return the plant to its baseline: the demo plant of the seed, no faults in play."""

    async def job() -> str:
        async with prepared() as (_, conn), _engine(conn, seed=seed, paused=True) as (engine, ok):
            if not ok:
                args: dict[str, JsonValue] = {"by": f"cli:{getpass.getuser()}"}
                if seed is not None:
                    args["seed"] = seed
                return "Reset " + await _queue(conn, "reset", args, wait) + "."
            summary = await engine.reset(seed, by=f"cli:{getpass.getuser()}")
            return (
                f"Plant reset to the demo plant of seed {summary.seed}: "
                f"{sum(summary.counts.values())} rows, plant day {summary.anchor:%Y-%m-%d}."
            )

    out.print(run(job))


@sim_app.command("backfill")
def sim_backfill(
    days: Annotated[float, typer.Option(help="Days of history to write.")] = 30,
    seed: Annotated[int | None, typer.Option(help="Seed (default: TITAN_SIM_SEED).")] = None,
    machine: Annotated[
        list[str] | None, typer.Option(help="Only this machine (repeatable; default: all).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Connections writing at once.")] = 2,
) -> None:
    """Write DAYS of history before the earliest reading: readings, counters, orders, faults."""
    from simulation.backfill import backfill

    async def job() -> BackfillReport:
        async with (
            prepared() as (location, conn),
            _engine(conn, seed=seed, paused=True) as (engine, ok),
        ):
            if not ok:
                raise ConflictError(
                    "a simulation engine is running on this database; stop it before a backfill"
                )
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=out,
            ) as bar:
                task = bar.add_task("backfill", total=None)

                def tell(p: BackfillProgress) -> None:
                    bar.update(task, completed=p.done, total=p.total, description=p.what)

                return await backfill(
                    location.url, days, seed=engine.config.seed, machine_ids=machine,
                    workers=workers, progress=tell,
                )  # fmt: skip

    report = run(job)
    out.print(
        f"Backfilled {report.days:g} days ({report.start:%Y-%m-%d %H:%M} to "
        f"{report.end:%Y-%m-%d %H:%M}): {report.readings} readings of {report.machines} "
        f"machines, {report.counters} shift counters, {report.orders} orders, "
        f"{report.shipments} shipments, in {report.seconds:.1f} s "
        f"({report.plant_days_per_s:.2f} plant days per second)."
    )
    for fault in report.faults:
        out.print(
            f"  {fault.pattern} on {fault.machine_id}: failed {fault.failure_at:%Y-%m-%d %H:%M}"
        )


@sim_app.command("status")
def sim_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """The engine: running or not, speed, plant time, generators and rates, counts, faults."""

    async def job() -> state.SimStatus:
        async with prepared() as (_, conn):
            return await state.status(conn)

    status = run(job)
    if as_json:
        out.print_json(status.model_dump_json())
        return
    s = status.state
    who = status.engine_lock.describe() if status.engine_lock else "no engine running"
    if s is None:
        out.print(f"The simulation has not run on this database ({who}).")
    else:
        plant = f"{s.plant_time:%Y-%m-%d %H:%M}" if s.plant_time else "—"
        out.print(
            f"Engine: {who}; seed {s.seed}, speed {s.speed:g}x, "
            f"{'paused' if s.paused else 'not paused'}, plant time {plant}."
        )
        if s.counts:
            out.print("Generated: " + ", ".join(f"{k} {v}" for k, v in sorted(s.counts.items())))
    table = Table(show_edge=False)
    for column in ("generator", "on", "rate", "rate means"):
        table.add_column(column)
    for g in status.generators:
        table.add_row(g.name, "yes" if g.enabled else "no", f"{g.rate:g}", g.rate_means)
    out.print(table)
    for f in status.faults_in_play:
        out.print(
            f"Fault in play: {f.pattern} on {f.machine_id}, fails {f.failure_at:%Y-%m-%d %H:%M}"
        )
    if status.pending_commands:
        out.print(f"{status.pending_commands} command(s) wait for the engine.")
