"""Titan's MCP servers over streamable HTTP, behind API-key authentication.

Every request needs `Authorization: Bearer <API key>` (401 otherwise, saying what is missing).
Calling a write tool needs the supervisor role or higher: below it, the tool answers with the
refusal (code `forbidden`, the tool and the roles), and the client's session goes on. The
service mounts these routes under `/mcp/<domain>`; `titan mcp DOMAIN --http` serves them alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from mcp.server.fastmcp.server import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_servers.runtime import PRINCIPAL_SCOPE_KEY, Plant
from mcp_servers.servers import TitanServer, build_server
from tools.accounts import accounts
from tools.core.errors import (
    AuthenticationError,
    TitanError,
    ValidationError,
)

MAX_BODY_BYTES = 1_048_576


class PlantRef:
    """The plant an app's lifespan opens, for routes built before it is open."""

    def __init__(self, plant: Plant | None = None) -> None:
        self._plant = plant

    def set(self, plant: Plant) -> None:
        self._plant = plant

    @property
    def plant(self) -> Plant:
        if self._plant is None:
            raise RuntimeError("the plant database is not open yet")
        return self._plant


class TooLargeError(ValidationError):
    """A request body over the limit."""

    code = "too_large"


def _error(status: int, exc: TitanError) -> JSONResponse:
    """The service's one error body (`tools.core.errors.error_body`), as the REST API answers."""
    headers = {"WWW-Authenticate": 'Bearer realm="titan"'} if status == 401 else None
    return JSONResponse({"error": exc.error_body()}, status_code=status, headers=headers)


class ApiKeyGate:
    """ASGI middleware: authenticate the bearer key and hand the caller to the tools, which
    check the role each needs (so a refusal is the tool's result, not an HTTP error)."""

    def __init__(self, app: ASGIApp, *, plant: PlantRef) -> None:
        self.app = app
        self.plant = plant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        try:
            async with self.plant.plant.pool.connection() as conn:
                principal = await accounts.authenticate(conn, token)
        except AuthenticationError as exc:
            await _error(401, exc)(scope, receive, send)
            return
        body = b""
        if scope["method"] == "POST":
            chunks: list[bytes] = []
            size, more = 0, True
            while more:
                message = await receive()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    too_large = TooLargeError(
                        f"requests are at most {MAX_BODY_BYTES} bytes", limit=MAX_BODY_BYTES
                    )
                    await _error(413, too_large)(scope, receive, send)
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
        scope[PRINCIPAL_SCOPE_KEY] = principal
        await self.app(
            scope, _replay(body, receive) if scope["method"] == "POST" else receive, send
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def mcp_routes(servers: Sequence[TitanServer], plant: PlantRef) -> list[Route]:
    """Routes `/mcp/<domain>` for each server, behind the API-key gate."""
    routes: list[Route] = []
    for server in servers:
        server.mcp.streamable_http_app()  # creates the server's session manager
        handler = ApiKeyGate(
            StreamableHTTPASGIApp(server.mcp.session_manager),
            plant=plant,
        )
        for path in (f"/mcp/{server.domain}", f"/mcp/{server.domain}/"):
            routes.append(Route(path, endpoint=handler, methods=["GET", "POST", "DELETE"]))
    return routes


def build_http_servers(domains: Sequence[str], plant: PlantRef) -> list[TitanServer]:
    """Servers for HTTP: they share the app's plant, and API keys stand in for host checks."""
    servers = []
    for domain in domains:
        server = build_server(domain, plant_ref=plant)
        # Bearer keys guard these endpoints; a fixed host allow-list would break deployments.
        server.mcp.settings.transport_security = TransportSecuritySettings(
            enable_dns_rebinding_protection=False
        )
        servers.append(server)
    return servers


@asynccontextmanager
async def running(servers: Sequence[TitanServer]) -> AsyncIterator[None]:
    """Run the servers' HTTP session managers (enter in the app's lifespan)."""
    async with AsyncExitStack() as stack:
        for server in servers:
            await stack.enter_async_context(server.mcp.session_manager.run())
        yield


def standalone_app(domains: Sequence[str], *, url: str | None = None) -> Starlette:
    """An app serving only MCP for `domains` (what `titan mcp DOMAIN --http` runs), on the
    database at `url` or, without one, the database the settings locate."""
    from mcp_servers.runtime import open_plant

    ref = PlantRef()
    servers = build_http_servers(domains, ref)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with open_plant(url) as plant:
            ref.set(plant)
            async with running(servers):
                yield

    return Starlette(routes=mcp_routes(servers, ref), lifespan=lifespan)
