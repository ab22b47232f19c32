"""`titan serve`: the HTTP API, the MCP endpoints, the reactors and the simulation, in one
process, until SIGINT or SIGTERM (in-flight requests finish, the engine stops cleanly)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.runner import console, settings_or_exit
from tools.accounts import IssuedKey
from tools.settings import configure_logging

out = console()
GRACE_S = 10  # how long in-flight requests (and open streams) get at shutdown


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
) -> None:
    """Run Titan: the HTTP API (/docs), MCP at /mcp/DOMAIN, reactors and the simulation."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    import uvicorn

    from api.app import create_app  # the service stack loads only for this command

    app = create_app(simulate=not no_sim, on_admin_key=show_first_key, event_runs=True)
    out.print(f"Titan at http://{host}:{port} (API docs at /docs); Ctrl-C stops it.")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACE_S,
        lifespan="on",
    )
