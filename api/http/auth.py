"""Who is calling: the API key in `Authorization: Bearer <key>`, and the permission each route
needs (`tools.accounts.permissions` holds the matrix of roles and permissions).

Every route names its permission: `who: Annotated[Principal, needs(P.JOB_VIEW)]`; the few that
need none (the console's page, `/health`, `/ready`) are listed in `PUBLIC`, `/me` only a valid
key, and `/metrics` report.view unless `TITAN_METRICS_PUBLIC` opens it to scrapers. A missing,
malformed, unknown or revoked key is a 401 saying which; a role without the permission is a
403 naming the permission, the caller's role and the roles that hold it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from api.http.service import Service, service_of
from tools.accounts import accounts, permissions
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission

_bearer = HTTPBearer(auto_error=False, description="A Titan API key (titan keys create).")

# Routes that need no key: the console's page and files (they ask for a key before showing
# anything), and the probes a load balancer calls.
PUBLIC = ("/", "/console/{path:path}", "/health", "/ready")


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller behind the request's API key (401 when there is none or it is not valid)."""
    service: Service = service_of(request)
    token = credentials.credentials if credentials is not None else None
    if token is None and request.headers.get("authorization"):
        token = "?"  # a header that is not `Bearer <key>`: let authenticate() say what is wrong
    async with service.pool.connection() as conn:
        return await accounts.authenticate(conn, token)


class Needs:
    """A dependency: the caller, whose role must hold `permission` (403 otherwise)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self, request: Request, who: Annotated[Principal, Depends(principal)]
    ) -> Principal:
        permissions.require(
            who.user_id, who.role, self.permission, action=f"{request.method} {request.url.path}"
        )
        return who


class NeedsUnlessOpen(Needs):
    """`Needs(permission)`, unless the setting `open_when` says the route is open to all (then
    the caller is None)."""

    def __init__(self, permission: Permission, open_when: Callable[[], bool]) -> None:
        super().__init__(permission)
        self.open_when = open_when

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal | None:
        if self.open_when():
            return None
        return await super().__call__(request, await principal(request, credentials))


def needs(permission: Permission) -> Any:
    """`Depends` on `Needs(permission)`, for `Annotated[Principal, needs(...)]`."""
    return Depends(Needs(permission))


# Any valid key, whatever its role (`/me`, and the MCP endpoint whose tools check their own).
Authenticated = Annotated[Principal, Depends(principal)]


def route_permissions(app: FastAPI) -> list[tuple[str, str, Permission | None]]:
    """Each API route (method, path) and the permission it needs (None: any valid key), in
    path order; the public routes are left out."""
    found: list[tuple[str, str, Permission | None]] = []
    for path, route in _api_routes(app.routes, ""):
        if path in PUBLIC:
            continue
        needed = [
            d.call.permission for d in _dependencies(route.dependant) if isinstance(d.call, Needs)
        ]
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, path, needed[0] if needed else None))
    return sorted(found, key=lambda r: (r[1], r[0]))


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Each API route of `app` with its whole path (included routers' prefixes put in)."""
    return _api_routes(app.routes, "")


def _api_routes(routes: Sequence[BaseRoute], prefix: str) -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
            continue
        included = getattr(route, "original_router", None)  # an included router, kept apart
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(included.routes, prefix + getattr(context, "prefix", ""))


def _dependencies(dependant: Dependant) -> list[Dependant]:
    out = []
    for sub in dependant.dependencies:
        out.append(sub)
        out.extend(_dependencies(sub))
    return out
