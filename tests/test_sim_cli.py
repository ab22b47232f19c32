"""`titan sim`, run in-process as a user runs it."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator

import psycopg
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from simulation.lock import LOCK_KEY

runner = CliRunner()


def titan(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def other_engine(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Another session holding the engine lock, as a running engine does."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
        yield conn


def test_help_lists_the_sim_commands() -> None:
    code, text = titan("sim", "--help")

    assert code == 0
    for command in ("run", "scenario", "reset", "backfill", "status"):
        assert command in text


def test_reset_then_status_shows_the_seed_and_every_generator(db_url: str) -> None:
    reset = titan("sim", "reset", "--seed", "7")
    code, text = titan("sim", "status", "--json")

    assert reset[0] == 0 and "seed 7" in reset[1]
    assert code == 0, text
    status = json.loads(text)
    assert status["state"]["seed"] == 7 and status["engine_lock"] is None
    assert len(status["generators"]) == 11
    assert {g["name"]: g["rate"] for g in status["generators"]}["orders"] == 0.5


def test_a_scenario_plays_here_when_no_engine_runs(db_url: str) -> None:
    assert titan("sim", "reset")[0] == 0

    code, text = titan("sim", "scenario", "FAA Audit")

    assert code == 0, text
    assert "FAA Audit: ok" in text and "traceability records" in text


def test_run_plays_the_given_plant_minutes_and_stops(db_url: str) -> None:
    code, text = titan("sim", "run", "--minutes", "2", "--speed", "86400")

    assert code == 0, text
    assert "Simulation stopped" in text and "ticks 2" in text
    code, text = titan("sim", "status")
    assert "no engine running" in text and "readings" in text


def test_backfill_writes_history_with_a_progress_bar(db_url: str) -> None:
    assert titan("sim", "reset")[0] == 0

    code, text = titan("sim", "backfill", "--days", "0.25", "--machine", "PHX-CMM-001")

    assert code == 0, text
    assert "Backfilled 0.25 days" in text and f"{360 * 7} readings of 1 machines" in text


def test_with_an_engine_running_commands_are_queued_for_it_and_backfill_refused(
    db_url: str, other_engine: psycopg.Connection[tuple[object, ...]]
) -> None:
    scenario = titan("sim", "scenario", "supply_crisis", "--no-wait")
    reset = titan("sim", "reset", "--seed", "3", "--no-wait")
    backfill = titan("sim", "backfill", "--days", "1")

    assert scenario[0] == 0 and "queued as command" in scenario[1]
    assert reset[0] == 0 and "queued as command" in reset[1]
    assert backfill[0] == 1 and "stop it before a backfill" in backfill[1]
    queued = other_engine.execute(
        "select command, args from sim_commands where done_at is null order by command_id"
    ).fetchall()
    assert queued == [
        ("scenario", {"name": "supply-crisis"}),
        ("reset", {"seed": 3, "by": f"cli:{getpass.getuser()}"}),
    ]
