"""API keys and roles: shown once, stored hashed, checked on every call."""

from __future__ import annotations

import pytest

from tools.accounts import accounts
from tools.core import db
from tools.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from tools.core.operations import SYSTEM


@pytest.mark.anyio
async def test_a_new_key_authenticates_as_its_user_and_role(conn: db.AsyncConn) -> None:
    issued = await accounts.create_key(conn, SYSTEM, role="supervisor", user_id="maria")

    principal = await accounts.authenticate(conn, issued.token)

    assert principal == accounts.Principal(
        user_id="maria", role="supervisor", key_id=issued.key.key_id
    )
    (listed,) = await accounts.list_keys(conn)
    assert listed.last_used_at is not None


@pytest.mark.anyio
async def test_only_a_digest_of_the_key_is_stored(conn: db.AsyncConn) -> None:
    issued = await accounts.create_key(conn, SYSTEM, role="operator")
    secret = issued.token.split("_", 2)[2]  # titan_<key id>_<secret>; the secret may hold "_"

    cur = await conn.execute("select key_hash from api_keys")
    (row,) = await cur.fetchall()

    assert secret not in row["key_hash"]
    assert len(row["key_hash"]) == 64


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "an API key is required"),
        ("", "an API key is required"),
        ("hunter2", "not a Titan API key"),
        ("titan_000000000000_" + "a" * 43, "unknown or revoked"),
    ],
)
async def test_a_missing_malformed_or_unknown_key_is_refused(
    conn: db.AsyncConn, token: str | None, message: str
) -> None:
    with pytest.raises(AuthenticationError, match=message):
        await accounts.authenticate(conn, token)


@pytest.mark.anyio
async def test_a_revoked_key_is_refused_and_cannot_be_revoked_twice(conn: db.AsyncConn) -> None:
    issued = await accounts.create_key(conn, SYSTEM, role="supervisor")
    await accounts.revoke_key(conn, SYSTEM, issued.key.key_id)

    with pytest.raises(AuthenticationError, match="revoked"):
        await accounts.authenticate(conn, issued.token)
    with pytest.raises(ConflictError, match="already revoked"):
        await accounts.revoke_key(conn, SYSTEM, issued.key.key_id)
    with pytest.raises(NotFoundError, match="titan keys list"):
        await accounts.revoke_key(conn, SYSTEM, "nosuchkey")


@pytest.mark.anyio
async def test_the_last_active_admin_key_cannot_be_revoked(conn: db.AsyncConn) -> None:
    first = await accounts.create_key(conn, SYSTEM, role="admin")
    second = await accounts.create_key(conn, SYSTEM, role="admin")
    await accounts.revoke_key(conn, SYSTEM, first.key.key_id)

    with pytest.raises(ConflictError, match="last active admin key; without it nobody can"):
        await accounts.revoke_key(conn, SYSTEM, second.key.key_id)
    assert await accounts.authenticate(conn, second.token)
    assert await accounts.has_admin_key(conn)


@pytest.mark.anyio
async def test_a_key_cannot_carry_a_role_above_its_users(conn: db.AsyncConn) -> None:
    await accounts.ensure_user(conn, SYSTEM, "olga", role="operator")

    with pytest.raises(PermissionDeniedError, match="olga is operator"):
        await accounts.create_key(conn, SYSTEM, role="admin", user_id="olga")
    assert await accounts.list_keys(conn) == []


@pytest.mark.anyio
async def test_an_unknown_role_or_bad_user_id_names_what_is_valid(conn: db.AsyncConn) -> None:
    with pytest.raises(ValidationError, match="operator, supervisor, production_manager, admin"):
        await accounts.create_key(conn, SYSTEM, role="root")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="lower-case letters"):
        await accounts.ensure_user(conn, SYSTEM, "Robert'); drop table users;--", role="operator")


def test_roles_rank_operator_below_supervisor_below_manager_below_admin() -> None:
    supervisor = accounts.Principal(user_id="s", role="supervisor", key_id="k")

    accounts.require_role(supervisor, "operator", action="reading stock")
    accounts.require_role(supervisor, "supervisor", action="holding an order")
    with pytest.raises(PermissionDeniedError, match="deciding an approval needs the role"):
        accounts.require_role(supervisor, "production_manager", action="deciding an approval")
