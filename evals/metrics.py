"""The suite's figures from graded runs: success, pass^k and pass@k, route accuracy with a
confusion matrix, tool-call precision and recall (reads and writes apart), approvals, forbidden
calls, latency and tokens.

pass^k is τ-bench's: over tasks, the mean of C(c, k) / C(n, k), the chance that k runs drawn
from a task's n all pass (c of them passed). pass@k is the chance that at least one does:
1 - C(n - c, k) / C(n, k).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from math import comb

from pydantic import BaseModel, Field

from evals.graders import pairing
from evals.runner import Outcome
from evals.taskfile import Task

NO_AGENT = "(none)"


def pass_hat_k(trials: Sequence[tuple[int, int]], k: int) -> float | None:
    """τ-bench pass^k over tasks given as (n runs, c passed); None when some task has < k runs."""
    if not trials or any(n < k for n, _ in trials):
        return None
    return sum(comb(c, k) / comb(n, k) for n, c in trials) / len(trials)


def pass_at_k(trials: Sequence[tuple[int, int]], k: int) -> float | None:
    """pass@k over tasks given as (n runs, c passed); None when some task has < k runs."""
    if not trials or any(n < k for n, _ in trials):
        return None
    return sum(1 - comb(n - c, k) / comb(n, k) for n, c in trials) / len(trials)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


class RouteMetrics(BaseModel):
    runs: int = 0
    first_hop: float | None = None
    exact: float | None = None
    set_f1: float | None = None
    confusion: dict[str, dict[str, int]] = Field(default_factory=dict)


class ToolMetrics(BaseModel):
    runs: int = 0
    precision: float | None = None
    recall: float | None = None
    read_precision: float | None = None
    read_recall: float | None = None
    write_precision: float | None = None
    write_recall: float | None = None
    spurious_writes: int = 0


class Metrics(BaseModel):
    """The figures for a set of tasks (the whole suite, or one tag)."""

    tasks: int
    runs: int
    success: float | None
    pass_hat_k: dict[int, float | None]
    pass_at_k: dict[int, float | None]
    route: RouteMetrics
    tools: ToolMetrics
    approval_runs: int
    approval_correct: float | None
    forbidden_violations: int
    latency_p50_s: float | None
    latency_p95_s: float | None
    errors: int
    tokens_total: int | None
    tokens_per_run: float | None


def _f1(want: set[str], got: set[str]) -> float:
    if not want and not got:
        return 1.0
    hit = len(want & got)
    if not hit:
        return 0.0
    precision, recall = hit / len(got), hit / len(want)
    return 2 * precision * recall / (precision + recall)


def route_metrics(tasks: dict[str, Task], outcomes: Sequence[Outcome]) -> RouteMetrics:
    first = exact = f1 = 0.0
    runs = 0
    confusion: dict[str, Counter[str]] = {}
    for o in outcomes:
        want = tasks[o.task_id].expect.route
        if want is None:
            continue
        got = o.transcript.route
        runs += 1
        first += want[:1] == got[:1]
        exact += want == got
        f1 += _f1(set(want), set(got))
        row = confusion.setdefault(want[0] if want else NO_AGENT, Counter())
        row[got[0] if got else NO_AGENT] += 1
    return RouteMetrics(
        runs=runs,
        first_hop=_ratio(first, runs),
        exact=_ratio(exact, runs),
        set_f1=_ratio(f1, runs),
        confusion={k: dict(v) for k, v in sorted(confusion.items())},
    )


def tool_metrics(
    tasks: dict[str, Task], outcomes: Sequence[Outcome], writes: set[str]
) -> ToolMetrics:
    """Micro-averaged over the runs of tasks that expect tools: a call is right when it is
    paired with an expected call (name and argument subset), each expected call once."""
    counts: Counter[str] = Counter()
    runs = spurious = 0
    for o in outcomes:
        want = tasks[o.task_id].expect.tools
        if want is None:
            continue
        runs += 1
        calls = o.transcript.calls
        paired = pairing(want, calls)
        matched_calls = set(paired.values())
        for kind, is_write in (("read", False), ("write", True)):
            counts[f"{kind}_expected"] += sum(1 for w in want if (w.name in writes) == is_write)
            counts[f"{kind}_made"] += sum(1 for c in calls if c.write == is_write)
            counts[f"{kind}_hit"] += sum(1 for i in paired if (want[i].name in writes) == is_write)
        spurious += sum(1 for i, c in enumerate(calls) if c.write and i not in matched_calls)
    hit = counts["read_hit"] + counts["write_hit"]
    return ToolMetrics(
        runs=runs,
        precision=_ratio(hit, counts["read_made"] + counts["write_made"]),
        recall=_ratio(hit, counts["read_expected"] + counts["write_expected"]),
        read_precision=_ratio(counts["read_hit"], counts["read_made"]),
        read_recall=_ratio(counts["read_hit"], counts["read_expected"]),
        write_precision=_ratio(counts["write_hit"], counts["write_made"]),
        write_recall=_ratio(counts["write_hit"], counts["write_expected"]),
        spurious_writes=spurious,
    )


def metrics(
    tasks: Sequence[Task], outcomes: Sequence[Outcome], *, repeat: int, writes: set[str]
) -> Metrics:
    """The figures for `tasks` from their runs among `outcomes`."""
    by_id = {t.id: t for t in tasks}
    mine = [o for o in outcomes if o.task_id in by_id]
    per_task = [
        (
            sum(1 for o in mine if o.task_id == t.id),
            sum(1 for o in mine if o.task_id == t.id and o.passed),
        )
        for t in tasks
    ]
    approvals = [g.passed for o in mine for g in o.grades if g.key == "approval"]
    forbidden = sum(
        1 for o in mine for g in o.grades if g.key == "forbidden_tools" and not g.passed
    )
    latencies = [o.transcript.latency_s for o in mine]
    reported = [o.transcript.tokens for o in mine if o.transcript.tokens is not None]
    tokens = sum(t.total for t in reported) if reported else None
    ks = range(1, repeat + 1)
    return Metrics(
        tasks=len(tasks),
        runs=len(mine),
        success=_ratio(sum(o.passed for o in mine), len(mine)),
        pass_hat_k={k: pass_hat_k(per_task, k) for k in ks},
        pass_at_k={k: pass_at_k(per_task, k) for k in ks},
        route=route_metrics(by_id, mine),
        tools=tool_metrics(by_id, mine, writes),
        approval_runs=len(approvals),
        approval_correct=_ratio(sum(approvals), len(approvals)),
        forbidden_violations=forbidden,
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        errors=sum(1 for o in mine if o.transcript.error is not None),
        tokens_total=tokens,
        tokens_per_run=_ratio(tokens, len(reported)) if tokens is not None else None,
    )


def by_tag(
    tasks: Sequence[Task], outcomes: Sequence[Outcome], *, repeat: int, writes: set[str]
) -> dict[str, Metrics]:
    """`metrics` for the tasks of each tag, tags in alphabetical order."""
    tags = sorted({tag for t in tasks for tag in t.tags})
    return {
        tag: metrics([t for t in tasks if tag in t.tags], outcomes, repeat=repeat, writes=writes)
        for tag in tags
    }
