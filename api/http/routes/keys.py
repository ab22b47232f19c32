"""API keys over HTTP (admin only): make, list and revoke them. A new key's secret is in the
response once and never again; only its digest is stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import Field

from api.http.auth import needs
from api.http.body import Body
from api.http.service import service_of
from tools.accounts import accounts
from tools.accounts.accounts import USER_ID_PATTERN, ApiKey, IssuedKey, Principal, Role
from tools.accounts.permissions import Permission as P

router = APIRouter(tags=["keys"])


class NewKey(Body):
    role: Role = "operator"
    user_id: str | None = Field(
        default=None,
        max_length=64,
        description="Made if missing.",
        # In the schema; the account rules check it and say what a user ID may hold.
        json_schema_extra={"pattern": USER_ID_PATTERN},
    )
    label: str = Field(default="", max_length=200)


@router.get("/keys", response_model=list[ApiKey], summary="List API keys")
async def list_keys(
    request: Request, _: Annotated[Principal, needs(P.KEYS_MANAGE)], include_revoked: bool = False
) -> list[ApiKey]:
    async with service_of(request).pool.connection() as conn:
        return await accounts.list_keys(conn, include_revoked=include_revoked)


@router.post("/keys", response_model=IssuedKey, status_code=201, summary="Make an API key")
async def create_key(
    request: Request, body: NewKey, who: Annotated[Principal, needs(P.KEYS_MANAGE)]
) -> IssuedKey:
    async with service_of(request).pool.connection() as conn:
        return await accounts.create_key(
            conn, who.actor(), role=body.role, user_id=body.user_id, label=body.label
        )


@router.delete("/keys/{key_id}", response_model=ApiKey, summary="Revoke an API key")
async def revoke_key(
    request: Request,
    key_id: Annotated[str, Path(pattern=r"^[a-z0-9]{12}$")],
    who: Annotated[Principal, needs(P.KEYS_MANAGE)],
) -> ApiKey:
    async with service_of(request).pool.connection() as conn:
        return await accounts.revoke_key(conn, who.actor(), key_id)
