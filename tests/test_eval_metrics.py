"""The eval suite's figures: τ-bench pass^k beside pass@k, route accuracy and its confusion
matrix, tool-call precision and recall with reads and writes apart, latency percentiles."""

from __future__ import annotations

from typing import Any

import pytest

from evals.graders import grade
from evals.metrics import metrics, pass_at_k, pass_hat_k, percentile
from evals.runner import Outcome
from evals.taskfile import Task
from evals.transcript import Call, Transcript, Turn

WRITES = {"create_purchase_order", "cancel_order"}


def test_pass_hat_k_is_the_mean_over_tasks_of_c_choose_k_over_n_choose_k() -> None:
    # 4 runs each: one task always passes, one passes 2 of 4, one never.
    trials = [(4, 4), (4, 2), (4, 0)]

    assert pass_hat_k(trials, 1) == pytest.approx((1 + 0.5 + 0) / 3)
    assert pass_hat_k(trials, 2) == pytest.approx((1 + 1 / 6 + 0) / 3)  # C(2,2)/C(4,2)
    assert pass_hat_k(trials, 4) == pytest.approx(1 / 3)
    assert pass_at_k(trials, 2) == pytest.approx((1 + (1 - 1 / 6) + 0) / 3)  # 1 - C(2,2)/C(4,2)
    assert pass_at_k(trials, 4) == pytest.approx(2 / 3)


def test_pass_hat_k_needs_k_runs_of_every_task() -> None:
    assert pass_hat_k([(2, 2), (1, 1)], 2) is None
    assert pass_at_k([], 1) is None


def test_percentiles_interpolate_between_runs() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([], 50) is None


def make_task(task_id: str, tags: list[str], **expect: Any) -> Task:
    return Task.model_validate({"id": task_id, "request": "r", "expect": expect, "tags": tags})


def outcome(
    task: Task,
    trial: int,
    route: list[str],
    calls: list[tuple[str, dict[str, Any]]],
    latency: float,
) -> Outcome:
    made = [Call(agent="a", name=n, args=a, write=n in WRITES) for n, a in calls]
    t = Transcript(
        task_id=task.id,
        trial=trial,
        turns=[Turn(request="r", route=route, calls=made)],
        latency_s=latency,
    )
    grades = grade(task, t)
    return Outcome(
        task_id=task.id,
        trial=trial,
        passed=all(g.passed for g in grades),
        grades=grades,
        transcript=t,
    )


def test_route_and_tool_figures_over_runs_with_reads_and_writes_apart() -> None:
    stock = make_task(
        "inv", ["inventory"], route=["inventory"],
        tools=[{"name": "stock_levels", "args": {"sku": "SKU-BRG-7014"}},
               {"name": "create_purchase_order", "args": {"sku": "SKU-BRG-7014"}}],
    )  # fmt: skip
    diag = make_task("mnt", ["maintenance"], route=["maintenance", "inventory"], tools=[])
    runs = [
        # right route, both calls: 2 hits of 2 made
        outcome(stock, 0, ["inventory"], [("stock_levels", {"sku": "SKU-BRG-7014"}),
                ("create_purchase_order", {"sku": "SKU-BRG-7014", "quantity": 50})], 1.0),
        # wrong first agent, one read right, one write wrong (a spurious write)
        outcome(stock, 1, ["maintenance", "inventory"], [("stock_levels", {"sku": "SKU-BRG-7014"}),
                ("cancel_order", {"order_id": "ORD-1"})], 3.0),
        # route set right but order wrong; a read that was not asked for
        outcome(diag, 0, ["inventory", "maintenance"], [("list_machines", {})], 2.0),
    ]  # fmt: skip

    m = metrics([stock, diag], runs, repeat=2, writes=WRITES)

    assert m.runs == 3 and m.success == pytest.approx(1 / 3)
    assert m.pass_hat_k[1] == pytest.approx((1 / 2 + 0) / 2)  # per task, then the mean
    assert m.pass_hat_k[2] is None  # the second task ran once
    assert m.route.first_hop == pytest.approx(1 / 3)
    assert m.route.exact == pytest.approx(1 / 3)
    assert m.route.set_f1 == pytest.approx((1 + 2 * 0.5 * 1 / 1.5 + 1) / 3)
    assert m.route.confusion == {
        "inventory": {"inventory": 1, "maintenance": 1},
        "maintenance": {"inventory": 1},
    }
    assert m.tools.precision == pytest.approx(3 / 5) and m.tools.recall == pytest.approx(3 / 4)
    assert m.tools.read_precision == pytest.approx(2 / 3) and m.tools.read_recall == 1.0
    assert m.tools.write_precision == pytest.approx(1 / 2)
    assert m.tools.write_recall == pytest.approx(1 / 2)
    assert m.tools.spurious_writes == 1
    assert m.latency_p50_s == pytest.approx(2.0)
    assert m.tokens_total is None
