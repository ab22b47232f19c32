"""Who is calling: the API key in `Authorization: Bearer <key>`, and the role each route needs.

    operator            read the plant, chat, watch the live streams
    supervisor          plus simulation control, and deciding the approvals that name it
    production_manager  plus deciding every approval
    admin               plus API keys

A missing, malformed, unknown or revoked key is a 401 saying which; a role too low is a 403
naming the role needed and the caller's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.service import Service, service_of
from tools.accounts import accounts
from tools.accounts.accounts import Principal, Role

_bearer = HTTPBearer(auto_error=False, description="A Titan API key (titan keys create).")

READ: Role = "operator"
CONTROL: Role = "supervisor"
APPROVE: Role = "production_manager"
ADMIN: Role = "admin"


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


def role(minimum: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must hold `minimum` or a higher role (403 otherwise)."""

    async def check(request: Request, who: Annotated[Principal, Depends(principal)]) -> Principal:
        accounts.require_role(who, minimum, action=f"{request.method} {request.url.path}")
        return who

    return check


Reader = Annotated[Principal, Depends(role(READ))]
Controller = Annotated[Principal, Depends(role(CONTROL))]
Approver = Annotated[Principal, Depends(role(APPROVE))]
Admin = Annotated[Principal, Depends(role(ADMIN))]
