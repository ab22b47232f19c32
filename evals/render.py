"""Reports for people: rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from evals.metrics import Metrics
from evals.report import Comparison, Report, TaskReport


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _k(values: dict[int, float | None]) -> str:
    return " ".join(f"k={k}:{pct(v)}" for k, v in sorted(values.items()))


def headline(m: Metrics) -> list[tuple[str, str]]:
    """The overall figures as (name, value) rows."""
    tokens = (
        "not reported by the model"
        if m.tokens_total is None
        else f"{m.tokens_total} ({m.tokens_per_run:.0f} a run)"
    )
    return [
        ("tasks / runs", f"{m.tasks} / {m.runs}"),
        ("task success (pass^1)", pct(m.success)),
        ("pass^k", _k(m.pass_hat_k)),
        ("pass@k", _k(m.pass_at_k)),
        (
            "route (first hop / exact / set F1)",
            f"{pct(m.route.first_hop)} / {pct(m.route.exact)} / {pct(m.route.set_f1)}"
            f" over {m.route.runs} runs",
        ),
        (
            "tool calls (precision / recall)",
            f"all {pct(m.tools.precision)} / {pct(m.tools.recall)}; reads "
            f"{pct(m.tools.read_precision)} / {pct(m.tools.read_recall)}; writes "
            f"{pct(m.tools.write_precision)} / {pct(m.tools.write_recall)}",
        ),
        ("spurious writes", str(m.tools.spurious_writes)),
        ("approval correctness", f"{pct(m.approval_correct)} over {m.approval_runs} runs"),
        ("forbidden-tool violations", str(m.forbidden_violations)),
        ("latency p50 / p95", f"{secs(m.latency_p50_s)} / {secs(m.latency_p95_s)}"),
        ("runs ended by an error", str(m.errors)),
        ("tokens", tokens),
    ]


def summary_table(report: Report) -> Table:
    table = Table(title=f"Eval: {report.model}", show_header=False, show_edge=False)
    table.add_column("figure", style="bold")
    table.add_column("value")
    for name, value in headline(report.overall):
        table.add_row(name, value)
    table.add_row("wall time", f"{report.wall_s:.1f} s ({report.workers} worker(s))")
    return table


def tag_table(report: Report) -> Table:
    k = report.repeat
    table = Table(title="By tag", show_edge=False)
    for column in ("tag", "tasks", "success", f"pass^{k}", "route 1st", "tool P/R", "approvals"):
        table.add_column(column, justify="left" if column == "tag" else "right")
    for tag, m in report.by_tag.items():
        table.add_row(
            tag,
            str(m.tasks),
            pct(m.success),
            pct(m.pass_hat_k.get(k)),
            pct(m.route.first_hop),
            f"{pct(m.tools.precision)}/{pct(m.tools.recall)}",
            pct(m.approval_correct),
        )
    return table


def confusion_table(report: Report) -> Table:
    confusion = report.overall.route.confusion
    got = sorted({agent for row in confusion.values() for agent in row})
    table = Table(title="First agent: expected (rows) × routed to (columns)", show_edge=False)
    table.add_column("expected")
    for agent in got:
        table.add_column(agent, justify="right")
    for want, row in confusion.items():
        cells = [Text(str(row.get(a, "")), style="green" if a == want else "red") for a in got]
        table.add_row(want, *cells)
    return table


def _failures(tasks: list[TaskReport]) -> Iterator[tuple[str, str, str, str]]:
    for task in tasks:
        failed = next((o for o in task.outcomes if not o.passed), None)
        if failed is None:
            continue
        for g in failed.grades:
            if not g.passed:
                yield f"{task.id} ({task.passed}/{task.runs})", g.key, g.expected, g.got


def failures_table(report: Report) -> Table:
    table = Table(title="Failed tasks (first failing run)", show_edge=False)
    for column in ("task", "check", "expected", "got"):
        table.add_column(column, overflow="fold")
    for row in _failures(report.tasks):
        table.add_row(*row)
    return table


def render(report: Report, *, failures: bool = True) -> list[RenderableType]:
    """The report for the terminal: figures, per tag, route confusion, the failures."""
    shown: list[RenderableType] = [summary_table(report), tag_table(report)]
    if report.overall.route.confusion:
        shown.append(confusion_table(report))
    if failures and any(t.passed < t.runs for t in report.tasks):
        shown.append(failures_table(report))
    return shown


def render_comparison(c: Comparison) -> list[RenderableType]:
    """What got better and worse, task by task, and the figures side by side."""
    shown: list[RenderableType] = []
    figures = Table(title=f"{c.before} → {c.after}", show_edge=False)
    for column in ("figure", c.before, c.after, "change"):
        figures.add_column(column, justify="left" if column == "figure" else "right")
    for name, (a, b) in c.figures.items():
        is_ratio = not name.startswith(("latency", "forbidden", "spurious"))
        show = pct if is_ratio else (secs if name.startswith("latency") else _count)
        delta = "" if a is None or b is None else _delta(b - a, ratio=is_ratio)
        figures.add_row(name, show(a), show(b), delta)
    shown.append(figures)
    for title, changes, style in (("Better", c.better, "green"), ("Worse", c.worse, "red")):
        if not changes:
            shown.append(Text(f"{title}: no task"))
            continue
        table = Table(title=f"{title}: {len(changes)} task(s)", show_edge=False)
        for column in ("task", c.before, c.after, f"still failing in {c.after}"):
            table.add_column(column)
        for change in changes:
            table.add_row(
                Text(change.id, style=style),
                pct(change.before),
                pct(change.after),
                ", ".join(change.failing_after) or "-",
            )
        shown.append(table)
    extra = f"{c.same} task(s) unchanged"
    if c.only_before:
        extra += f"; only in {c.before}: {', '.join(c.only_before)}"
    if c.only_after:
        extra += f"; only in {c.after}: {', '.join(c.only_after)}"
    shown.append(Text(extra))
    return shown


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _delta(change: float, *, ratio: bool) -> str:
    if ratio:
        return f"{change * 100:+.0f} pts"
    return f"{change:+.2f}"
