"""The embedded PostgreSQL: starts from nothing, and is shared by Titan processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tools.core import embedded

pytestmark = pytest.mark.embedded

SECOND_PROCESS = """
import json, sys
from pathlib import Path
import psycopg
from tools.core import embedded
server = embedded.start(Path(sys.argv[1]))
with psycopg.connect(server.url) as conn:
    pid = conn.execute("select pg_postmaster_start_time()::text").fetchone()[0]
print(json.dumps({"pid": server.pid, "url": server.url, "started": pid}))
"""


def test_the_embedded_server_starts_from_an_empty_directory_and_a_second_process_reuses_it(
    tmp_path: Path,
) -> None:
    pgdata = tmp_path / "titan" / "pgdata"
    assert not pgdata.exists()

    server = embedded.start(pgdata)
    try:
        assert (pgdata / "PG_VERSION").exists()
        with psycopg.connect(server.url) as conn:
            row = conn.execute("select current_database(), pg_postmaster_start_time()::text")
            database, started = row.fetchone()  # type: ignore[misc]
        assert database == embedded.DATABASE_NAME

        other = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, str(pgdata)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        seen = json.loads(other.stdout.strip().splitlines()[-1])

        assert seen["pid"] == server.pid
        assert seen["started"] == started
        # The second process has exited; the server the first one holds is still up.
        with psycopg.connect(server.url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        embedded.stop(pgdata)

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url, connect_timeout=2)
