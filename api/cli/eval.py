"""`titan eval`: run the eval suite on the offline model or a real one, compare two reports."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.runner import console, err, run, settings_or_exit
from evals.taskfile import DEFAULT_TIMEOUT_S, load_tasks
from tools.core import db
from tools.core.errors import TitanError

if TYPE_CHECKING:
    from evals.report import Comparison, Report
    from evals.runner import Outcome

# The agents and the suite's machinery load only when a command runs: `titan --help` and every
# other command start without them.

eval_app = typer.Typer(
    help="The eval suite: how well the agents do their job, on the offline model or a real one.",
    no_args_is_help=True,
)

out = console()


def _model_label(model: str | None) -> str:
    from agents.models import describe_model
    from evals.conversation import eval_model

    return describe_model(eval_model(model))


@eval_app.command("run")
def eval_run(
    files: Annotated[
        list[Path], typer.Argument(help="Task files (JSON Lines), e.g. evals/tasks/dev.jsonl.")
    ],
    model: Annotated[
        str | None,
        typer.Option(
            help="offline, or a model name at the configured OpenAI-compatible endpoint "
            "(OPENAI_BASE_URL / OPENAI_API_KEY). Default: the configured model."
        ),
    ] = None,
    repeat: Annotated[
        int, typer.Option(min=1, max=50, help="Runs of each task (for pass^k and pass@k).")
    ] = 1,
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="Tasks run at once, each in a process of its own.")
    ] = 1,
    report_path: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON report to this file.")
    ] = None,
    summary_path: Annotated[
        Path | None, typer.Option("--summary", help="Write a Markdown summary to this file.")
    ] = None,
    timeout_s: Annotated[
        float,
        typer.Option("--timeout", min=1, help="Seconds a run's conversation may take."),
    ] = DEFAULT_TIMEOUT_S,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON report instead of tables.")
    ] = False,
) -> None:
    """Run tasks, each on a fresh copy of the demo plant, grade them and print the figures.

    Model errors and timeouts fail the task they happen in; the run goes on.
    """
    from evals.render import render
    from evals.report import build_report
    from evals.runner import run_suite
    from evals.summary import markdown
    from evals.tooling import tool_kinds

    settings_or_exit()
    try:
        tasks = load_tasks(*files)
        label = _model_label(model)
    except TitanError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from exc
    command = " ".join(
        ["titan eval run", *map(str, files), f"--model {model or 'configured'}"]
        + ([f"--repeat {repeat}"] if repeat > 1 else [])
        + ([f"--workers {workers}"] if workers > 1 else [])
    )

    async def job() -> Report:
        location = await asyncio.to_thread(db.locate)
        started, clock_start = datetime.now(UTC), time.perf_counter()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[passed]} passed"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            bar = progress.add_task("preparing plants", total=len(tasks) * repeat, passed=0)
            passed = 0

            def staged(what: str) -> None:
                progress.update(bar, description=f"preparing {what}")

            def done(outcome: Outcome) -> None:
                nonlocal passed
                passed += outcome.passed
                progress.update(bar, advance=1, passed=passed, description=outcome.task_id)

            outcomes = await run_suite(
                tasks,
                server_url=location.url,
                model=model,
                repeat=repeat,
                workers=workers,
                timeout_s=timeout_s,
                on_stage=staged,
                on_done=done,
            )
        kinds = await tool_kinds()
        return build_report(
            tasks,
            outcomes,
            command=command,
            model=label,
            files=[str(f) for f in files],
            repeat=repeat,
            workers=workers,
            started_at=started,
            wall_s=time.perf_counter() - clock_start,
            writes={name for name, write in kinds.writes.items() if write},
        )

    report = run(job)
    if report_path is not None:
        report_path.write_text(report.model_dump_json(indent=1))
    if summary_path is not None:
        summary_path.write_text(markdown(report))
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=1) + "\n")
        return
    for shown in render(report):
        out.print(shown)
    if report_path is not None:
        out.print(f"Report written to {report_path}.")


@eval_app.command("compare")
def eval_compare(
    before: Annotated[Path, typer.Argument(help="The earlier report (JSON).")],
    after: Annotated[Path, typer.Argument(help="The later report (JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """What got better and worse from one report to another, task by task."""
    from evals.render import render_comparison
    from evals.report import compare, load_report

    async def job() -> Comparison:
        return compare(load_report(before), load_report(after), names=(before.name, after.name))

    comparison = run(job)
    if as_json:
        sys.stdout.write(comparison.model_dump_json(indent=1) + "\n")
        return
    for shown in render_comparison(comparison):
        out.print(shown)


@eval_app.command("report")
def eval_report(
    report_path: Annotated[
        Path, typer.Argument(help="A report written by `titan eval run --out`.")
    ],
    summary_path: Annotated[
        Path | None, typer.Option("--summary", help="Write a Markdown summary to this file.")
    ] = None,
) -> None:
    """Print a saved report's tables again, or write its Markdown summary."""
    from evals.render import render
    from evals.report import load_report
    from evals.summary import markdown

    async def job() -> Report:
        return load_report(report_path)

    report = run(job)
    if summary_path is not None:
        summary_path.write_text(markdown(report))
        out.print(f"Summary written to {summary_path}.")
        return
    for shown in render(report):
        out.print(shown)
