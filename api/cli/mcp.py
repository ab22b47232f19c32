"""`titan mcp`: run one of Titan's MCP servers for a desktop AI client."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.runner import prepared, run, settings_or_exit
from tools.accounts.accounts import Principal
from tools.core.settings import configure_logging


def mcp(
    domain: Annotated[
        str | None,
        typer.Argument(
            help="The server: orders, inventory, logistics, maintenance, scheduling, "
            "communications, governance or all.",
            show_default=False,
        ),
    ] = None,
    list_servers: Annotated[
        bool, typer.Option("--list", help="List the servers and their tools instead.")
    ] = False,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP at /mcp/DOMAIN instead of stdio.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on with --http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on with --http.")] = 8765,
) -> None:
    """Serve a domain's MCP tools over stdio, as a desktop AI client's config starts it.

    The server finds the same database as the rest of Titan: DATABASE_URL, or the embedded
    server under TITAN_DATA_DIR. Logs go to standard error; standard output carries the protocol.
    Over stdio it acts as one person: TITAN_MCP_API_KEY's user, else the user TITAN_MCP_USER,
    else `local` (a supervisor). With --http it serves streamable HTTP instead; callers send an
    API key (titan keys create).
    """
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    from mcp_servers.servers import DOMAINS, build_server  # loads every domain: only when used

    if list_servers:
        for name in DOMAINS:
            server = build_server(name)
            tools = sorted(t.name for t in server.tools)
            marked = [f"{t}*" if t in server.write_tools else t for t in tools]
            typer.echo(f"{name}: {', '.join(marked)}")
        typer.echo("(* writes: each needs its permission, see `titan keys permissions`)")
        return
    if domain not in DOMAINS:
        typer.echo(
            f"error: name an MCP server: one of {', '.join(DOMAINS)} (got {domain!r})", err=True
        )
        raise typer.Exit(code=2)
    if http:
        import uvicorn

        from mcp_servers.http import standalone_app

        typer.echo(f"MCP server {domain} at http://{host}:{port}/mcp/{domain}", err=True)
        uvicorn.run(standalone_app([domain]), host=host, port=port, log_level="warning")
        return
    from mcp_servers.runtime import serve_as, stdio_principal

    async def who() -> Principal:
        async with prepared() as (_, conn):
            return await stdio_principal(conn, settings)

    principal = run(who)
    serve_as(principal)  # every call acts as this person, whatever a request's `_meta` says
    typer.echo(f"MCP server {domain} on stdio, acting as {principal.user_id} "
               f"({principal.role})", err=True)  # fmt: skip
    build_server(domain).mcp.run("stdio")
