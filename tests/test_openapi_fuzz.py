"""The OpenAPI document is the service's contract: schemathesis sends every route generated
requests — valid ones, and ones that break the schema on purpose — against a real server, and
finds no server error, no status or content type the document does not list, no response that
breaks its schema, no invalid request accepted and no valid one refused. (The few routes that
refuse a combination of valid parameters no schema can state across parameters, such as a time
range that ends before it starts, are named in openapi_fuzz.toml.) The budget of examples is
fixed, so the run takes the same work on any machine."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import anyio
import pytest
from api_helpers import key, served

from tools.core import db

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
CONFIG = Path(__file__).with_name("openapi_fuzz.toml")
LEFT_OUT = r"^/(sim/reset|events/stream|sensors/stream)$"  # endless streams; a reset wipes it all


async def test_every_route_keeps_to_its_openapi_schema(
    plant: db.AsyncConn, db_url: str, tmp_path: Path
) -> None:
    admin = await key(plant, "admin")
    with anyio.fail_after(600):
        async with served(db_url) as base:
            run = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
                "run", f"{base}/openapi.json", "--header", f"Authorization: Bearer {admin}",
                "--checks", "all",
                "--max-examples", "10", "--phases", "examples,coverage,fuzzing",
                "--exclude-path-regex", LEFT_OUT, "--request-timeout", "60",
                "--seed", "1", "--no-color", "--report-dir", str(tmp_path),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await run.communicate()

    text = out.decode(errors="replace")
    assert run.returncode == 0, text[-6000:]
    assert "passed" in text
