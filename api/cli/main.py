"""The `titan` command line."""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table

from api.cli.approvals import approvals_app
from api.cli.bench import bench_app
from api.cli.chat import chat
from api.cli.eval import eval_app
from api.cli.ingest import ingest_app
from api.cli.keys import keys_app
from api.cli.mcp import mcp
from api.cli.model import model_app
from api.cli.runner import console, prepared, run, settings_or_exit
from api.cli.schedule import schedule_app
from api.cli.serve import serve
from api.cli.sim import sim_app
from tools.core import admin, db
from tools.demo import plant as demo_plant

app = typer.Typer(
    name="titan",
    help="Titan: an operations assistant for manufacturing plants.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(
    help="The plant database: where it is, its schema, the demo plant.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(schedule_app, name="schedule")
app.add_typer(keys_app, name="keys")
app.add_typer(approvals_app, name="approvals")
app.add_typer(bench_app, name="bench")
app.add_typer(model_app, name="model")
app.add_typer(sim_app, name="sim")
app.add_typer(eval_app, name="eval")
app.add_typer(ingest_app, name="ingest")
app.command("mcp")(mcp)
app.command("chat")(chat)
app.command("serve")(serve)

out = console()


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply any pending schema migrations (every command also does this at start)."""

    async def job() -> int:
        location = await asyncio.to_thread(db.locate)
        async with db.connection(location.url) as conn:
            return await admin.prepare(conn)

    applied = run(job)
    out.print(f"{applied} migration(s) applied; the schema is current.")


@db_app.command("reset")
def db_reset(
    seed: Annotated[
        int | None, typer.Option(help="Seed of the demo plant (default: TITAN_SIM_SEED).")
    ] = None,
) -> None:
    """Wipe the plant's data and load the deterministic demo plant (accounts are kept)."""
    chosen = settings_or_exit().sim_seed if seed is None else seed

    async def job() -> demo_plant.PlantSummary:
        async with prepared() as (_, conn), conn.transaction():
            return await demo_plant.reset(conn, seed=chosen, by=f"cli:{getpass.getuser()}")

    summary = run(job)
    total = sum(summary.counts.values())
    out.print(
        f"Demo plant loaded with seed {summary.seed}: {total} rows, "
        f"plant day {summary.anchor:%Y-%m-%d %H:%M} UTC."
    )


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Where the database is, its version, migration level and row counts."""

    async def job() -> admin.DatabaseStatus:
        async with prepared() as (location, conn):
            return await admin.status(conn, location)

    status = run(job)
    if as_json:
        sys.stdout.write(status.model_dump_json(indent=2) + "\n")
        return
    out.print(f"[bold]Database[/]   {status.location}")
    out.print(f"[bold]Name[/]       {status.database}")
    out.print(f"[bold]Server[/]     PostgreSQL {status.server_version}")
    level = (
        f"{status.migration_version:04d}_{status.migration_name}"
        if status.migration_version is not None
        else "none"
    )
    out.print(f"[bold]Migration[/]  {level} ({status.migrations_pending} pending)")
    table = Table(title="Rows per table", show_edge=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for count in status.tables:
        table.add_row(count.table, str(count.rows))
    out.print(table)


def _every_command(group: typer.Typer, prefix: str = "titan") -> list[str]:
    names = [f"{prefix} {c.name}" for c in group.registered_commands if c.name]
    for sub in group.registered_groups:
        if sub.typer_instance is not None and sub.name:
            names += _every_command(sub.typer_instance, f"{prefix} {sub.name}")
    return names


app.info.epilog = "Every command: " + ", ".join(sorted(_every_command(app))) + "."


if __name__ == "__main__":  # pragma: no cover
    app()
