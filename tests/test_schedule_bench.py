"""The benchmark: known values, Titan's model against them, and `titan schedule bench`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.benchmarks.scheduling import (
    Known,
    gap_pct,
    instance_paths,
    known_values,
    mean_gap,
    run_instance,
)
from tools.core.errors import ValidationError
from tools.scheduling.dispatch import RULES
from tools.scheduling.formats import read_instance
from tools.scheduling.plain import plain_model
from tools.scheduling.problem import SolveSettings
from tools.scheduling.solver import makespan_model

DATA = Path(__file__).parent / "data" / "scheduling"
QUICK = SolveSettings(time_limit_s=10, workers=2, seed=0)


def titan(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", "schedule", "bench", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_ft06_reaches_its_optimum_and_beats_every_dispatch_rule() -> None:
    row = run_instance(DATA / "ft06", settings=QUICK, plain=True)

    assert (row.instance, row.kind, row.size) == ("ft06", "job shop", "6 x 6")
    assert (row.optimum, row.makespan, row.gap_pct, row.status) == (55, 55, 0.0, "OPTIMAL")
    assert row.first_solution_s is not None and row.best_solution_s is not None
    assert set(row.dispatch) == set(RULES)
    assert all(m is not None and m >= 55 for m in row.dispatch.values())
    assert row.plain is not None and (row.plain.makespan, row.plain.status) == (55, "OPTIMAL")


def test_a_pure_job_shop_builds_exactly_the_textbook_model() -> None:
    instance = read_instance(DATA / "la01")

    titan, textbook = makespan_model(instance.problem()).proto, plain_model(instance).proto

    assert str(titan) == str(textbook)


def test_known_values_are_read_in_both_catalogue_styles(tmp_path: Path) -> None:
    (tmp_path / "instances").mkdir()
    (tmp_path / "instances" / "open1").write_text("1 1\n0 5\n")
    (tmp_path / "instances.json").write_text(
        json.dumps([{"name": "open1", "optimum": None, "bounds": {"upper": 7, "lower": 5}}])
    )

    assert known_values(DATA / "mk01.fjs") == Known(optimum=40, lower_bound=40, upper_bound=40)
    assert known_values(tmp_path / "instances" / "open1") == Known(lower_bound=5, upper_bound=7)
    assert known_values(tmp_path / "instances" / "open1", DATA / "instances.json") is None


def test_a_gap_is_measured_against_the_optimum_or_else_the_best_known_solution() -> None:
    assert gap_pct(60, Known(optimum=50)) == 20.0
    assert gap_pct(200, Known(lower_bound=189, upper_bound=193)) == 3.63
    assert gap_pct(200, None) is None and gap_pct(None, Known(optimum=5)) is None


def test_folders_expand_to_their_instance_files_and_missing_paths_are_refused() -> None:
    assert [p.name for p in instance_paths([DATA])] == ["ft06", "la01", "mk01.fjs"]
    with pytest.raises(ValidationError, match="no instance file or folder at"):
        instance_paths([DATA / "nope"])


def test_the_mean_gap_leaves_out_instances_without_a_known_value() -> None:
    rows = [run_instance(DATA / "ft06", settings=QUICK)]
    assert mean_gap(rows) == 0.0
    assert mean_gap([]) is None


def test_the_command_prints_one_json_object_per_instance() -> None:
    done = titan(str(DATA), "--time-limit", "5", "--workers", "2", "--json")

    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["instance"] for r in rows] == ["ft06", "la01", "mk01"]
    for r in rows:
        assert {"instance", "optimum", "makespan", "gap_pct", "status", "seconds"} <= set(r)
        assert r["makespan"] == r["optimum"] and r["status"] == "OPTIMAL"


def test_the_command_prints_a_table_with_the_plain_model_beside_titans() -> None:
    done = titan(str(DATA / "ft06"), str(DATA / "mk01.fjs"), "--time-limit", "5", "--plain")

    assert done.returncode == 0, done.stderr
    assert "ft06" in done.stdout and "mk01" in done.stdout and "plain" in done.stdout
    assert "2 instance(s), 5 s each, 2 worker(s), seed 0; mean gap 0.00 %." in done.stdout


def test_the_command_names_a_bad_path_and_fails() -> None:
    done = titan(str(DATA / "missing"))

    assert done.returncode == 1
    assert "no instance file or folder at" in done.stderr
