"""`titan keys`: API keys for the service and the MCP HTTP endpoints."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from api.cli.runner import console, prepared, run
from tools.accounts import accounts, permissions
from tools.core.operations import Actor

keys_app = typer.Typer(help="API keys: make, list and revoke them.", no_args_is_help=True)

out = console()
CLI_ACTOR = Actor(type="user", id="cli")


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str, typer.Option(help="operator, supervisor, production_manager or admin.")
    ] = "operator",
    user: Annotated[
        str | None, typer.Option(help="User the key belongs to (made if missing).")
    ] = None,
    label: Annotated[str, typer.Option(help="A note saying what the key is for.")] = "",
) -> None:
    """Make an API key; the key is printed once, alone on the last line."""

    async def job() -> accounts.IssuedKey:
        async with prepared() as (_, conn):
            return await accounts.create_key(
                conn,
                CLI_ACTOR,
                role=accounts.parse_role(role),
                user_id=user,
                label=label,
            )

    issued = run(job)
    out.print(
        f"API key {issued.key.key_id} for {issued.key.user_id} ({issued.key.role}). "
        "It is shown only now; send it as 'Authorization: Bearer <key>'."
    )
    sys.stdout.flush()
    sys.stdout.write(issued.token + "\n")


@keys_app.command("list")
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
) -> None:
    """List API keys (never their secrets)."""

    async def job() -> list[accounts.ApiKey]:
        async with prepared() as (_, conn):
            return await accounts.list_keys(conn, include_revoked=all_keys)

    keys = run(job)
    table = Table(show_edge=False)
    for column in ("key", "user", "role", "label", "created", "last used", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.key_id,
            k.user_id,
            k.role,
            k.label,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's ID (from keys list).")],
) -> None:
    """Revoke an API key; it is refused from then on."""

    async def job() -> accounts.ApiKey:
        async with prepared() as (_, conn):
            return await accounts.revoke_key(conn, CLI_ACTOR, key_id)

    revoked = run(job)
    out.print(f"API key {revoked.key_id} of {revoked.user_id} is revoked.")


def permissions_markdown() -> str:
    """The permission matrix, with what each API route and MCP tool needs (docs/permissions.md)."""
    from api.http.app import create_app
    from api.http.auth import route_permissions
    from mcp_servers.servers import tool_permissions

    routes = [
        (method, path, str(needed) if needed else "any valid key")
        for method, path, needed in route_permissions(create_app())
    ]
    tools = sorted((name, str(p)) for name, p in tool_permissions().items())
    return permissions.render_markdown(routes, tools)


@keys_app.command("permissions")
def keys_permissions() -> None:
    """Print the permission matrix: what each role holds, and what each route and tool needs
    (as docs/permissions.md has it)."""
    sys.stdout.write(permissions_markdown())
