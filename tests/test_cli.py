"""The `titan` command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TITAN = [sys.executable, "-m", "api.cli.main"]


def titan(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TITAN, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def test_help_lists_every_command() -> None:
    top = titan("--help", env=base_env())
    db = titan("db", "--help", env=base_env())

    assert top.returncode == 0 and db.returncode == 0
    for command in ("migrate", "reset", "status"):
        assert f"titan db {command}" in " ".join(top.stdout.split())
        assert command in db.stdout


def test_reset_then_status_shows_the_demo_plant(db_url: str) -> None:
    env = base_env(DATABASE_URL=db_url)

    reset = titan("db", "reset", "--seed", "42", env=env)
    status = titan("db", "status", "--json", env=env)

    assert reset.returncode == 0, reset.stderr
    assert "seed 42" in reset.stdout
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    rows = {t["table"]: t["rows"] for t in report["tables"]}
    assert rows["equipment"] == 24
    assert rows["customers"] == 6
    assert rows["orders"] > 0
    assert report["migrations_pending"] == 0
    assert report["location"].startswith("PostgreSQL at ")


@pytest.mark.slow
@pytest.mark.embedded
def test_the_readme_main_job_runs_on_the_embedded_server_with_nothing_configured(
    tmp_path: Path,
) -> None:
    env = base_env(TITAN_DATA_DIR=str(tmp_path / "titan"))

    reset = titan("db", "reset", "--seed", "42", env=env)
    status = titan("db", "status", env=env)

    assert reset.returncode == 0, reset.stderr
    assert status.returncode == 0, status.stderr
    assert f"embedded PostgreSQL, data in {tmp_path / 'titan' / 'pgdata'}" in status.stdout
    assert "equipment" in status.stdout
    # Nothing from the embedded server or the libraries reaches the user's terminal.
    assert reset.stderr == "" and status.stderr == ""


def test_an_unreachable_database_gives_a_clear_error() -> None:
    env = base_env(
        DATABASE_URL="postgresql://postgres:secret@127.0.0.1:1/titan",
        TITAN_DB_CONNECT_TIMEOUT_S="1",
    )

    result = titan("db", "status", env=env)

    assert result.returncode == 1
    assert "cannot connect to postgresql://postgres:***@127.0.0.1:1/titan" in result.stderr
    assert "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_setting_names_the_variable_and_the_rule() -> None:
    result = titan("db", "status", env=base_env(TITAN_SIM_SPEED="0"))

    assert result.returncode == 2
    assert "TITAN_SIM_SPEED" in result.stderr
    assert "greater than 0" in result.stderr


def test_keys_create_prints_the_key_alone_on_the_last_line_and_it_authenticates(
    db_url: str,
) -> None:
    env = base_env(DATABASE_URL=db_url)

    created = titan("keys", "create", "--role", "supervisor", "--label", "line 3 tablet", env=env)
    listed = titan("keys", "list", env=env)
    bad = titan("keys", "create", "--role", "root", env=env)

    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("titan_")
    key_id = token.split("_")[1]
    assert key_id in listed.stdout and "line 3 tablet" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout
    assert bad.returncode == 1
    assert "not one of operator, supervisor, production_manager, admin" in bad.stderr

    revoked = titan("keys", "revoke", key_id, env=env)
    again = titan("keys", "revoke", key_id, env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert again.returncode == 1 and "already revoked" in again.stderr


def test_the_command_line_loads_the_agents_and_solver_only_for_commands_that_use_them() -> None:
    """Every `titan` command starts in about half a second: loading the agents, OR-Tools, the
    engine and the machine-data clients up front took three."""
    probe = (
        "import sys, api.cli.main; "
        "print(sorted(m for m in ('langgraph', 'langchain_openai', 'ortools', 'asyncua', "
        "'aiomqtt', 'simulation.engine', 'evals.runner') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=base_env(),
        timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
