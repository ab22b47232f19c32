"""The JSON report of a run, and comparing two reports task by task."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from agents.state import AGENTS
from evals.metrics import Metrics, by_tag, metrics
from evals.runner import Outcome
from evals.taskfile import Task
from tools.core.errors import ValidationError

REPORT_VERSION = 1
DOMAINS: tuple[str, ...] = AGENTS


class TaskReport(BaseModel):
    id: str
    tags: list[str]
    request: list[str]
    runs: int
    passed: int
    outcomes: list[Outcome]

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


class Report(BaseModel):
    """Everything a run found: settings, figures overall and per tag, every graded run."""

    version: int = REPORT_VERSION
    command: str
    model: str
    files: list[str]
    repeat: int
    workers: int
    started_at: datetime
    wall_s: float
    machine: str
    overall: Metrics
    by_tag: dict[str, Metrics]
    tasks: list[TaskReport] = Field(default_factory=list)


def machine() -> str:
    """The machine in a line: the CPU, its cores, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def build_report(
    tasks: list[Task],
    outcomes: list[Outcome],
    *,
    command: str,
    model: str,
    files: list[str],
    repeat: int,
    workers: int,
    started_at: datetime,
    wall_s: float,
    writes: set[str],
) -> Report:
    """The report of a finished run."""
    return Report(
        command=command,
        model=model,
        files=files,
        repeat=repeat,
        workers=workers,
        started_at=started_at,
        wall_s=round(wall_s, 2),
        machine=machine(),
        overall=metrics(tasks, outcomes, repeat=repeat, writes=writes),
        by_tag=by_tag(tasks, outcomes, repeat=repeat, writes=writes),
        tasks=[
            TaskReport(
                id=t.id,
                tags=t.tags,
                request=t.turns,
                runs=sum(1 for o in outcomes if o.task_id == t.id),
                passed=sum(1 for o in outcomes if o.task_id == t.id and o.passed),
                outcomes=[o for o in outcomes if o.task_id == t.id],
            )
            for t in tasks
        ],
    )


def load_report(path: Path) -> Report:
    """A report written by `titan eval run --out`; a ValidationError saying what is wrong."""
    if not path.is_file():
        raise ValidationError(f"no report {path}")
    try:
        return Report.model_validate_json(path.read_text())
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(
            f"{path} is not an eval report ({where}: {first['msg']}); write one with "
            "`titan eval run ... --out FILE`"
        ) from exc


class TaskChange(BaseModel):
    id: str
    before: float | None
    after: float | None
    failing_after: list[str] = Field(default_factory=list)


class Comparison(BaseModel):
    """What got better and worse from report A to report B."""

    before: str
    after: str
    better: list[TaskChange]
    worse: list[TaskChange]
    same: int
    only_before: list[str]
    only_after: list[str]
    figures: dict[str, tuple[float | None, float | None]]


def _failing(task: TaskReport) -> list[str]:
    keys: list[str] = []
    for outcome in task.outcomes:
        keys += [g.key for g in outcome.grades if not g.passed and g.key not in keys]
    return keys


def figures(report: Report) -> dict[str, float | None]:
    """The headline figures of a report, by name."""
    m = report.overall
    return {
        "success": m.success,
        "route first hop": m.route.first_hop,
        "route exact": m.route.exact,
        "route set F1": m.route.set_f1,
        "tool precision": m.tools.precision,
        "tool recall": m.tools.recall,
        "write precision": m.tools.write_precision,
        "write recall": m.tools.write_recall,
        "approval correct": m.approval_correct,
        "forbidden violations": float(m.forbidden_violations),
        "spurious writes": float(m.tools.spurious_writes),
        "latency p50 s": m.latency_p50_s,
        "latency p95 s": m.latency_p95_s,
    }


def compare(before: Report, after: Report, *, names: tuple[str, str] = ("A", "B")) -> Comparison:
    """Task by task: which pass more often in `after` than in `before`, and which less."""
    old = {t.id: t for t in before.tasks}
    new = {t.id: t for t in after.tasks}
    better: list[TaskChange] = []
    worse: list[TaskChange] = []
    same = 0
    for task_id, task in new.items():
        if task_id not in old:
            continue
        change = TaskChange(
            id=task_id, before=old[task_id].rate, after=task.rate, failing_after=_failing(task)
        )
        if task.rate > old[task_id].rate:
            better.append(change)
        elif task.rate < old[task_id].rate:
            worse.append(change)
        else:
            same += 1
    a, b = figures(before), figures(after)
    return Comparison(
        before=names[0],
        after=names[1],
        better=better,
        worse=worse,
        same=same,
        only_before=[i for i in old if i not in new],
        only_after=[i for i in new if i not in old],
        figures={name: (a[name], b[name]) for name in a},
    )
