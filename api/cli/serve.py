"""`titan serve`: the HTTP API, the MCP endpoints, the reactors and the simulation, until SIGINT
or SIGTERM (in-flight requests finish, the engine stops cleanly).

With `--workers N` it runs N service processes on one port. This process prepares the database
once (migrations, the demo plant, the first admin key) and hands the port to the workers; of
them, one runs the simulation engine and one leads (the MQTT ingest, the count of events), and
the others stand by for both. Their /metrics figures are added up through files in a directory
of this process's own.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Annotated

import typer

from api.cli.runner import console, run, settings_or_exit
from tools.accounts.accounts import IssuedKey
from tools.core.settings import Settings, configure_logging

out = console()
GRACE_S = 10  # how long in-flight requests (and open streams) get at shutdown
MAX_WORKERS = 64


def show_first_key(issued: IssuedKey) -> None:
    """Print the admin key made at first start, once, with how to make more."""
    out.print(
        f"First start: made the admin API key {issued.key.key_id} (user {issued.key.user_id}). "
        "It is shown only now; keep it. Send it as 'Authorization: Bearer <key>'. Make more "
        "with `titan keys create --role supervisor` (operator, supervisor, "
        "production_manager, admin)."
    )
    sys.stdout.flush()
    sys.stdout.write(issued.token + "\n")
    sys.stdout.flush()


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_sim: Annotated[
        bool, typer.Option("--no-sim", help="Do not run the simulation engine.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_WORKERS,
            help="Service processes sharing the port (about one per CPU core serves the most "
            "chat requests).",
        ),
    ] = 1,
) -> None:
    """Run Titan: the HTTP API (/docs), MCP at /mcp/DOMAIN, reactors and the simulation."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    import uvicorn

    out.print(f"Titan at http://{host}:{port} (API docs at /docs); Ctrl-C stops it.")
    if workers > 1:
        _serve_workers(settings, host=host, port=port, simulate=not no_sim, workers=workers)
        return
    from api.http.app import create_app  # the service stack loads only for this command

    app = create_app(
        simulate=not no_sim, on_admin_key=show_first_key, event_runs=True, freeze_after_start=True
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACE_S,
        lifespan="on",
    )


def _serve_workers(
    settings: Settings, *, host: str, port: int, simulate: bool, workers: int
) -> None:
    import uvicorn

    from api.http.app import WORKER_ENV, prepare
    from api.http.metrics import MULTIPROC_ENV
    from tools.core import db

    # This process holds the embedded server (when it is the one in use) until the workers end.
    location = db.locate(settings)
    run(lambda: prepare(location.url, seed=settings.sim_seed, on_admin_key=show_first_key))
    with tempfile.TemporaryDirectory(prefix="titan-metrics-") as shared:
        os.environ[MULTIPROC_ENV] = shared
        os.environ[WORKER_ENV] = json.dumps({"simulate": simulate})
        uvicorn.run(
            "api.http.app:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=GRACE_S,
            lifespan="on",
        )
