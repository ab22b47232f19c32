"""`titan chat`, run as a user runs it: one request as JSON, and a decision on its thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tools.core import db

TITAN = [sys.executable, "-m", "api.cli.main", "chat"]


def chat(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "OPENAI_"))}
    env["DATABASE_URL"] = url
    return subprocess.run(
        [*TITAN, *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )


@pytest.mark.slow
@pytest.mark.anyio
async def test_chat_json_answers_then_a_rejection_resumes_the_thread(
    plant: db.AsyncConn, db_url: str
) -> None:
    asked = chat("--json", "Put ORD-10017 on hold, the customer asked us to wait", url=db_url)
    assert asked.returncode == 0, asked.stderr
    first = json.loads(asked.stdout)
    assert set(first) == {"thread_id", "answer", "route", "tool_calls", "approval"}
    assert first["route"] == ["inventory"]
    assert first["tool_calls"][0] == {"agent": "inventory", "name": "get_order",
                                      "args": {"order_id": "ORD-10017"}, "ok": True}  # fmt: skip
    assert first["approval"]["action"] == "hold_order"

    decided = chat(
        "--json", "--thread", first["thread_id"], "--reject", "not this week", url=db_url
    )

    assert decided.returncode == 0, decided.stderr
    done = json.loads(decided.stdout)
    assert done["approval"] is None
    assert "not this week" in done["answer"]
