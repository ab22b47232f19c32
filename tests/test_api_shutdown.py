"""`titan serve` stops cleanly on SIGTERM and SIGINT: the engine stops, its lock is released."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import anyio
import httpx
import pytest

from tools.core import db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_the_service_stops_cleanly_and_leaves_the_engine_stopped(
    plant: db.AsyncConn, db_url: str, stop: signal.Signals
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = db_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            with anyio.fail_after(90):
                while True:  # bounded by fail_after: the service is starting
                    try:
                        if (await http.get("/ready")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.1)
                while True:  # the engine has taken its first step
                    cur = await plant.execute("select running from sim_state")
                    row = await cur.fetchone()
                    await plant.commit()
                    if row is not None and row["running"]:
                        break
                    await anyio.sleep(0.1)
        proc.send_signal(stop)
        code = await anyio.to_thread.run_sync(lambda: proc.wait(timeout=60))
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = proc.communicate()

    # uvicorn shuts down gracefully, then ends with the signal's own status, as daemons do.
    assert code in (0, -stop), err
    assert "Traceback" not in err
    cur = await plant.execute("select running from sim_state")
    assert await cur.fetchone() == {"running": False}
    cur = await plant.execute(
        "select count(*) as n from pg_locks l join pg_stat_activity a using (pid) "
        "where l.locktype = 'advisory' and a.datname = current_database()"
    )
    assert await cur.fetchone() == {"n": 0}
