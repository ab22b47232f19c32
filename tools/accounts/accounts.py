"""People and API keys: who may call Titan, and with which role.

Roles rise in rank: operator (read and chat) < supervisor (plus writes and simulation control)
< production_manager (plus approvals) < admin (plus keys). A key is shown once, when made, as
`titan_<key id>_<secret>`; only its SHA-256 digest is stored (the secret is 256 random bits, so
a fast digest is safe to store — there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from tools.core.operations import Actor, atomic, record

Role = Literal["operator", "supervisor", "production_manager", "admin"]
ROLES: tuple[Role, ...] = ("operator", "supervisor", "production_manager", "admin")

USER_ID_PATTERN = r"^[a-z][a-z0-9_.-]{1,63}$"
_USER_ID = re.compile(USER_ID_PATTERN)
_TOKEN = re.compile(r"^titan_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


class User(BaseModel):
    user_id: str
    display_name: str
    email: str | None
    role: Role
    active: bool


class ApiKey(BaseModel):
    """A key as listed: never its secret."""

    key_id: str
    user_id: str
    role: Role
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedKey(BaseModel):
    """A key just made: `token` is shown this once and never stored."""

    key: ApiKey
    token: str


class Principal(BaseModel):
    """Who a request comes from, once its key is checked."""

    user_id: str
    role: Role
    key_id: str

    def actor(self, *, thread_id: str | None = None) -> Actor:
        return Actor(type="user", id=self.user_id, thread_id=thread_id)


def rank(role: Role) -> int:
    return ROLES.index(role)


def require_role(principal: Principal, minimum: Role, *, action: str) -> None:
    """Raise PermissionDeniedError unless `principal` holds `minimum` or a higher role."""
    if rank(principal.role) < rank(minimum):
        raise PermissionDeniedError(
            f"{action} needs the role {minimum} or higher; {principal.user_id} is {principal.role}",
            action=action,
            role=principal.role,
            required=minimum,
        )


def parse_role(role: str) -> Role:
    """`role` as a Role, or ValidationError naming the valid ones."""
    if role not in ROLES:
        raise ValidationError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def ensure_user(
    conn: AsyncConn,
    actor: Actor,
    user_id: str,
    *,
    role: Role,
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    """The user `user_id`, created with `role` if missing."""
    if not _USER_ID.match(user_id):
        raise ValidationError(
            f"user ID {user_id!r} must be 2-64 characters: lower-case letters, digits, '_', '.' "
            "or '-', starting with a letter"
        )
    parse_role(role)
    async with atomic(conn):
        cur = await conn.execute(
            "select user_id, display_name, email, role, active from users where user_id = %s",
            (user_id,),
        )
        row = await cur.fetchone()
        if row is not None:
            return User.model_validate(row)
        cur = await conn.execute(
            "insert into users (user_id, display_name, email, role, created_at) "
            "values (%s, %s, %s, %s, %s) "
            "returning user_id, display_name, email, role, active",
            (user_id, display_name or user_id, email, role, clock.now()),
        )
        created = await cur.fetchone()
        assert created is not None
        await record(
            conn,
            actor,
            event_type="user.created",
            entity_type="user",
            entity_id=user_id,
            action="create_user",
            after={"role": role},
        )
        return User.model_validate(created)


async def create_key(
    conn: AsyncConn, actor: Actor, *, role: Role, user_id: str | None = None, label: str = ""
) -> IssuedKey:
    """A new API key for `user_id` (made if missing; default: a user named after the role)."""
    parse_role(role)
    if len(label) > 200:
        raise ValidationError(f"a key label is at most 200 characters, got {len(label)}")
    owner = role.replace("_", "-") if user_id is None else user_id
    async with atomic(conn):
        user = await ensure_user(conn, actor, owner, role=role)
        if rank(role) > rank(user.role):
            raise PermissionDeniedError(
                f"user {owner} is {user.role}; a key cannot carry the higher role {role}",
                user=owner,
                role=user.role,
                required=role,
            )
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        cur = await conn.execute(
            "insert into api_keys (key_id, user_id, key_hash, role, label, created_at) "
            "values (%s, %s, %s, %s, %s, %s) returning key_id, user_id, role, label, "
            "created_at, last_used_at, revoked_at",
            (key_id, owner, _digest(secret), role, label, clock.now()),
        )
        row = await cur.fetchone()
        assert row is not None
        await record(
            conn,
            actor,
            event_type="api_key.created",
            entity_type="api_key",
            entity_id=key_id,
            action="create_key",
            after={"user_id": owner, "role": role, "label": label},
        )
    return IssuedKey(key=ApiKey.model_validate(row), token=f"titan_{key_id}_{secret}")


async def authenticate(conn: AsyncConn, token: str | None) -> Principal:
    """The principal a bearer token stands for; AuthenticationError says what is wrong."""
    if not token:
        raise AuthenticationError("an API key is required: send 'Authorization: Bearer <key>'")
    match = _TOKEN.match(token.strip())
    if match is None:
        raise AuthenticationError(
            "that is not a Titan API key (they look like titan_<id>_<secret>)"
        )
    key_id, secret = match[1], match[2]
    async with atomic(conn):
        cur = await conn.execute(
            "update api_keys k set last_used_at = %s from users u "
            "where k.key_id = %s and k.key_hash = %s and k.revoked_at is null "
            "and u.user_id = k.user_id and u.active "
            "returning k.key_id, k.user_id, k.role",
            (clock.now(), key_id, _digest(secret)),
        )
        row = await cur.fetchone()
    if row is None:
        raise AuthenticationError("the API key is unknown or revoked")
    return Principal(user_id=row["user_id"], role=row["role"], key_id=row["key_id"])


async def list_keys(conn: AsyncConn, *, include_revoked: bool = False) -> list[ApiKey]:
    """Every key, newest first (never their secrets)."""
    cur = await conn.execute(
        "select key_id, user_id, role, label, created_at, last_used_at, revoked_at "
        "from api_keys where %(all)s or revoked_at is null order by created_at desc, key_id",
        {"all": include_revoked},
    )
    return [ApiKey.model_validate(r) for r in await cur.fetchall()]


async def revoke_key(conn: AsyncConn, actor: Actor, key_id: str) -> ApiKey:
    """Revoke `key_id`; a revoked key is refused from then on. The last active admin key is
    kept (nobody could manage keys any more): make another admin key first."""
    async with atomic(conn):
        # The active admin keys are locked first, so two admins revoking each other's keys at
        # once cannot leave none.
        cur = await conn.execute(
            "select key_id from api_keys where role = 'admin' and revoked_at is null "
            "order by key_id for update"
        )
        admins = [r["key_id"] for r in await cur.fetchall()]
        cur = await conn.execute(
            "select revoked_at from api_keys where key_id = %s for update", (key_id,)
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFoundError(
                f"API key {key_id!r} does not exist; `titan keys list` shows them",
                entity="api_key",
                id=str(key_id),
            )
        if row["revoked_at"] is not None:
            raise ConflictError(f"API key {key_id} is already revoked")
        if admins == [key_id]:
            raise ConflictError(
                f"API key {key_id} is the last active admin key; without it nobody can manage "
                "keys. Create another admin key first (`titan keys create --role admin`)",
                entity="api_key", id=key_id,
            )  # fmt: skip
        cur = await conn.execute(
            "update api_keys set revoked_at = %s where key_id = %s returning key_id, user_id, "
            "role, label, created_at, last_used_at, revoked_at",
            (clock.now(), key_id),
        )
        revoked = await cur.fetchone()
        assert revoked is not None
        await record(
            conn,
            actor,
            event_type="api_key.revoked",
            entity_type="api_key",
            entity_id=key_id,
            action="revoke_key",
        )
        return ApiKey.model_validate(revoked)


async def has_admin_key(conn: AsyncConn) -> bool:
    """Whether any active admin key exists (the service makes one at first start if not)."""
    cur = await conn.execute(
        "select exists (select 1 from api_keys where role = 'admin' and revoked_at is null) as any"
    )
    row = await cur.fetchone()
    return bool(row and row["any"])
