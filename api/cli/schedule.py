"""`titan schedule`: production scheduling from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli.runner import console, err
from tools.core.errors import TitanError

if TYPE_CHECKING:
    from api.benchmarks.scheduling import BenchRow

# OR-Tools loads only when a command runs.

schedule_app = typer.Typer(
    help="Production scheduling: benchmarks of the model.", no_args_is_help=True
)

out = console()


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _number(value: float | int | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def _table(rows: list[BenchRow], plain: bool) -> Table:
    from tools.scheduling.dispatch import RULES

    table = Table(show_edge=False)
    for column in (
        "instance",
        "size",
        "optimum",
        "makespan",
        "gap %",
        "status",
        "s",
        "first s",
        "best s",
    ):
        table.add_column(column, justify="left" if column in ("instance", "status") else "right")
    for rule in RULES:
        table.add_column(rule, justify="right")
    if plain:
        for column in ("plain", "plain s", "plain best s"):
            table.add_column(column, justify="right")
    for r in rows:
        known = (
            "?"
            if r.optimum is None and r.upper_bound is None
            else (str(r.optimum) if r.optimum is not None else f"{r.lower_bound}–{r.upper_bound}")
        )
        cells = [
            r.instance, r.size, known, _number(r.makespan), _number(r.gap_pct), r.status,
            _seconds(r.seconds), _seconds(r.first_solution_s), _seconds(r.best_solution_s),
        ]  # fmt: skip
        cells += [_number(r.dispatch.get(rule)) for rule in RULES]
        if plain and r.plain is not None:
            cells += [
                _number(r.plain.makespan),
                _seconds(r.plain.seconds),
                _seconds(r.plain.best_solution_s),
            ]
        table.add_row(*cells)
    return table


@schedule_app.command("bench")
def bench(
    paths: Annotated[list[Path], typer.Argument(help="Instance files, or folders of them.")],
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.01, help="Seconds per instance.")
    ] = 10.0,
    workers: Annotated[int, typer.Option(min=1, help="CP-SAT worker threads.")] = 2,
    seed: Annotated[int, typer.Option(min=0, help="CP-SAT random seed.")] = 0,
    plain: Annotated[bool, typer.Option("--plain", help="Also run the textbook model.")] = False,
    optima: Annotated[
        Path | None, typer.Option(help="A JSON catalogue of known optima and bounds.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per instance.")] = False,
) -> None:
    """Solve job-shop (JSPLIB, Taillard) and flexible job-shop (.fjs) files with Titan's model."""
    from api.benchmarks.scheduling import instance_paths, mean_gap, run_instance
    from tools.scheduling.problem import SolveSettings

    settings = SolveSettings(
        objective="makespan", time_limit_s=time_limit, workers=workers, seed=seed
    )
    rows: list[BenchRow] = []
    try:
        for path in instance_paths(paths):
            row = run_instance(path, settings=settings, plain=plain, catalogue=optima)
            rows.append(row)
            if as_json:
                sys.stdout.write(row.model_dump_json() + "\n")
                sys.stdout.flush()
    except TitanError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from exc
    if as_json:
        return
    out.print(_table(rows, plain))
    gap = mean_gap(rows)
    out.print(
        f"{len(rows)} instance(s), {time_limit:g} s each, {workers} worker(s), seed {seed}; "
        f"mean gap {'—' if gap is None else f'{gap:.2f} %'}."
    )
