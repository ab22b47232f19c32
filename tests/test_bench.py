"""Benchmarks report honest figures and never touch the plant's own database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from api.benchmarks.harness import summarise


def test_figures_are_computed_from_the_latencies() -> None:
    m = summarise("op", [0.001] * 90 + [0.010] * 10, units_per_op=2)

    assert m.ops == 200
    assert m.p50_ms == pytest.approx(1.0)
    assert m.p95_ms == pytest.approx(10.0)
    assert m.ops_per_s == pytest.approx(200 / (0.09 + 0.1), rel=1e-3)


def test_an_empty_benchmark_is_an_error() -> None:
    with pytest.raises(ValueError, match="measured nothing"):
        summarise("op", [])


@pytest.mark.slow
def test_the_quick_domain_benchmark_prints_one_json_object_per_measurement(db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = db_url
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "bench", "domain", "--quick", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [m["name"] for m in lines] == [
        "reserve stock for an order",
        "record 10,000 sensor readings in one batch",
        "health of all 24 machines over the last hour",
        "audit trail for one order",
    ]
    for m in lines:
        assert m["ops_per_s"] > 0 and 0 < m["p50_ms"] <= m["p95_ms"]


@pytest.mark.slow
def test_the_quick_mcp_benchmark_measures_every_transport(db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = db_url
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "bench", "mcp", "--quick", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [m["name"] for m in lines] == [
        "direct function call",
        "MCP in memory",
        "MCP over stdio",
        "MCP over streamable HTTP",
    ]
    assert all(m["p50_ms"] > 0 for m in lines)


@pytest.mark.slow
def test_the_api_benchmark_loads_the_service_from_a_process_of_its_own(db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = db_url
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "bench", "api", "--clients", "2", "--requests", "6",
         "--no-sim", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    (measured,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert measured["name"] == "chat: single-agent read (POST /chat)"
    assert measured["ops"] == 6 and "failed" not in measured["note"]
    assert 0 < measured["p50_ms"] <= measured["p95_ms"]


@pytest.mark.slow
def test_the_chat_benchmark_times_requests_one_specialist_answers(db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = db_url
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "bench", "chat", "--repeat", "1", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    names = [m["name"] for m in lines]
    assert names[0] == "chat, one specialist" and names[-1] == "understanding a request"
    assert any(n.startswith("what-if:") for n in names)
    assert lines[0]["ops"] == len([n for n in names if n.startswith("  ")])
    assert all(m["p50_ms"] > 0 for m in lines)
