"""`titan eval`, run as a user runs it: three tasks end to end on the offline model, each on a
database of its own; the JSON report, the Markdown summary, and comparing two reports."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from evals.runner import run_suite
from evals.taskfile import Task
from tools.core.settings import get_settings

runner = CliRunner()

CANCELLED = "select status from orders where order_id = 'ORD-10020'"
TASKS = [
    {
        "id": "stock-phx",
        "request": "How many SKU-BRG-7014 spindle bearings are on hand in Phoenix?",
        "setup": {"seed": 42, "scenario": None, "advance_minutes": 10, "sql": []},
        "expect": {
            "route": ["inventory"],
            "tools": [{"name": "stock_levels", "args": {"sku": "SKU-BRG-7014"}}],
            "approval": "none",
            "answer_contains": ["SKU-BRG-7014"],
        },
        "tags": ["inventory"],
    },
    {
        "id": "cancel-rejected",
        "request": "Cancel order ORD-10020, the customer withdrew it",
        "decisions": ["reject"],
        "expect": {
            "approval": "required",
            "state": [{"sql": CANCELLED, "equals": "CREATED"}],
        },
        "tags": ["inventory", "approval"],
    },
    {
        "id": "cancel-wrongly-expected",
        "request": "Please cancel ORD-10020",
        "decisions": ["reject"],
        "expect": {"state": [{"sql": CANCELLED, "equals": "CANCELLED"}]},
        "tags": ["inventory"],
    },
]


def write_tasks(path: Path, tasks: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(t) for t in tasks) + "\n")
    return path


def eval_databases(db_url: str) -> set[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("select datname from pg_database where datname like 'titan_eval%'")
        return {r[0] for r in rows}


@pytest.mark.slow
def test_three_tasks_run_end_to_end_and_a_failed_state_check_shows_its_sql_result(
    db_url: str, tmp_path: Path
) -> None:
    before = eval_databases(db_url)
    tasks = write_tasks(tmp_path / "three.jsonl", TASKS)
    report_path, summary = tmp_path / "report.json", tmp_path / "summary.md"

    result = runner.invoke(
        app,
        ["eval", "run", str(tasks), "--model", "offline", "--out", str(report_path),
         "--summary", str(summary)],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    outcome = {t["id"]: t["outcomes"][0] for t in report["tasks"]}
    assert outcome["stock-phx"]["passed"], outcome["stock-phx"]["grades"]
    assert outcome["cancel-rejected"]["passed"], outcome["cancel-rejected"]["grades"]
    failed = outcome["cancel-wrongly-expected"]
    assert not failed["passed"]
    state = next(g for g in failed["grades"] if g["key"] == "state")
    assert state["got"] == f'FAILED: {CANCELLED} → "CREATED" (rows [{{"status": "CREATED"}}])'
    approval = outcome["cancel-rejected"]["transcript"]["turns"][0]["approvals"][0]
    assert approval["action"] == "cancel_order" and approval["decision"] == "reject"
    assert report["overall"]["success"] == pytest.approx(2 / 3)
    assert report["by_tag"]["approval"]["approval_correct"] == 1.0
    assert "task success (pass^1)" in result.output and "cancel-wrongly-expected" in result.output
    assert "xychart-beta" in summary.read_text() and "inventory" in summary.read_text()
    assert eval_databases(db_url) == before  # every clone and template dropped


@pytest.mark.slow
def test_repeated_runs_in_worker_processes_give_pass_hat_k_and_compare_shows_changes(
    db_url: str, tmp_path: Path
) -> None:
    tasks = write_tasks(tmp_path / "one.jsonl", TASKS[:1])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    ran = runner.invoke(
        app,
        ["eval", "run", str(tasks), "--model", "offline", "--repeat", "2", "--workers", "2",
         "--out", str(a)],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    report = json.loads(a.read_text())
    assert [o["trial"] for o in report["tasks"][0]["outcomes"]] == [0, 1]
    assert report["overall"]["pass_hat_k"] == {"1": 1.0, "2": 1.0}
    worse = json.loads(a.read_text())
    worse["tasks"][0]["passed"] = 0
    b.write_text(json.dumps(worse))

    shown = runner.invoke(app, ["eval", "compare", str(a), str(b)])
    as_json = runner.invoke(app, ["eval", "compare", str(b), str(a), "--json"])

    assert shown.exit_code == 0, shown.output
    assert "Worse: 1 task(s)" in shown.output and "stock-phx" in shown.output
    better = json.loads(as_json.stdout)
    assert [c["id"] for c in better["better"]] == ["stock-phx"] and better["worse"] == []


def test_a_model_that_cannot_be_reached_fails_its_tasks_without_ending_the_run(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TITAN_MODEL_MAX_RETRIES", "0")
    monkeypatch.setenv("TITAN_MODEL_TIMEOUT_S", "2")
    get_settings.cache_clear()
    tasks = write_tasks(tmp_path / "one.jsonl", TASKS[:1])

    result = runner.invoke(app, ["eval", "run", str(tasks), "--model", "some-model", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    run = report["tasks"][0]["outcomes"][0]
    assert not run["passed"]
    assert "ConnectionError: Connection error" in run["transcript"]["error"]
    assert report["model"] == "some-model at http://127.0.0.1:9/v1"


def test_a_bad_task_file_is_refused_naming_its_line(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "request": "hi"}\n{"id": "x", "request": "again"}\n')

    result = runner.invoke(app, ["eval", "run", str(bad), "--model", "offline"])

    assert result.exit_code == 2
    assert f"{bad}:2: task id 'x' is used at {bad}:1" in result.output


@pytest.mark.anyio
async def test_a_run_past_its_timeout_fails_with_the_reason_and_leaves_no_database(
    db_url: str,
) -> None:
    before = eval_databases(db_url)
    task = Task.model_validate({**TASKS[1], "id": "too-slow"})

    outcomes = await run_suite([task], server_url=db_url, model="offline", timeout_s=0.01)

    run = outcomes[0]
    assert not run.passed
    assert run.transcript.error == "timed out after 0.01 s"
    grades = {g.key: g.passed for g in run.grades}
    assert grades["run"] is False and grades["state"] is True  # cut short before any change
    assert eval_databases(db_url) == before
