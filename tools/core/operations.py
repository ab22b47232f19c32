"""What every domain write shares: who acts, one transaction, an event and an audit row, and
idempotency keys.

A domain operation looks like this::

    async def hold_order(conn, actor, order_id, reason, *, idempotency_key=None) -> Order:
        async with atomic(conn):
            return await idempotent(conn, idempotency_key, "orders.hold", Order, lambda: _hold(...))

and inside `_hold` it changes rows and calls `record()` once, which writes the event and the
audit row in the same transaction. `atomic()` makes the operation all-or-nothing whether or not
the caller already opened a transaction, and turns constraint violations into domain errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Literal, TypeVar

import psycopg
from pydantic import BaseModel, JsonValue

from tools.core import clock, events
from tools.core.db import AsyncConn
from tools.core.errors import ConflictError, ValidationError, explain_integrity_error

ActorType = Literal["user", "agent", "simulator", "reactor", "ingest", "system"]

M = TypeVar("M", bound=BaseModel)


class Actor(BaseModel):
    """Who performs an operation, and the conversation or approval it came from."""

    type: ActorType
    id: str
    thread_id: str | None = None
    approval_id: str | None = None

    def label(self) -> str:
        return f"{self.type}:{self.id}"


SYSTEM = Actor(type="system", id="titan")


@asynccontextmanager
async def atomic(conn: AsyncConn) -> AsyncIterator[None]:
    """One all-or-nothing unit (a transaction, or a savepoint inside the caller's).

    Constraint violations leave it as domain errors worded for the user.
    """
    try:
        async with conn.transaction():
            yield
    except psycopg.errors.IntegrityError as exc:
        raise await explain_integrity_error(conn, exc) from exc


async def record(
    conn: AsyncConn,
    actor: Actor,
    *,
    event_type: str,
    entity_type: str,
    entity_id: str,
    action: str,
    before: Mapping[str, JsonValue] | None = None,
    after: Mapping[str, JsonValue] | None = None,
    payload: Mapping[str, JsonValue] | None = None,
) -> events.Event:
    """Write the event and the audit row of one mutation, in the caller's transaction."""
    at = clock.now()
    event = await events.emit(
        conn,
        event_type,
        source=actor.type,
        entity_type=entity_type,
        entity_id=entity_id,
        payload={
            **(payload or {}),
            "actor": actor.label(),
            **({"thread_id": actor.thread_id} if actor.thread_id else {}),
            **({"approval_id": actor.approval_id} if actor.approval_id else {}),
        },
        occurred_at=at,
    )
    await conn.execute(
        "insert into audit_log (actor_type, actor_id, action, entity_type, entity_id, before, "
        "after, thread_id, approval_id, at) values (%(actor_type)s, %(actor_id)s, %(action)s, "
        "%(entity_type)s, %(entity_id)s, %(before)s, %(after)s, %(thread_id)s, %(approval_id)s, "
        "%(at)s)",
        {
            "actor_type": actor.type,
            "actor_id": actor.id,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "before": _json(before),
            "after": _json(after),
            "thread_id": actor.thread_id,
            "approval_id": actor.approval_id,
            "at": at,
        },
    )
    return event


def _json(value: Mapping[str, JsonValue] | None) -> str | None:
    return None if value is None else json.dumps(dict(value), default=str)


class ScopedKey(str):
    """An idempotency key as a client gave it, scoped to that client and tool and tied to the
    call's arguments (the MCP servers make them): another caller's same key is another key, and
    the same key with other arguments is refused rather than answered with the first result."""

    scope: str
    fingerprint: str

    def __new__(cls, key: str, *, caller: str, tool: str, arguments: Mapping[str, object]):  # type: ignore[no-untyped-def]
        scoped = super().__new__(cls, key)
        scoped.scope = f"{caller}/{tool}"
        canonical = json.dumps(arguments, sort_keys=True, default=str, separators=(",", ":"))
        scoped.fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
        return scoped


async def idempotent(
    conn: AsyncConn,
    key: str | None,
    operation: str,
    result_type: type[M],
    run: Callable[[], Awaitable[M]],
) -> M:
    """`run()`'s result; with a key seen before, the first result and nothing written.

    Call inside the operation's transaction: the key is stored with the changes it guards, and
    two callers racing with one key are serialised on it. A `ScopedKey` is stored under its
    caller and tool with a digest of its arguments; reused with other arguments it is a
    ConflictError.
    """
    if key is None:
        return await run()
    if not 1 <= len(key) <= 200:
        raise ValidationError(f"idempotency key must be 1 to 200 characters, got {len(key)}")
    stored, fingerprint = (
        (f"{key.scope}/{key}", key.fingerprint) if isinstance(key, ScopedKey) else (key, None)
    )
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 7171))", (stored,))
    cur = await conn.execute(
        "select operation, result, fingerprint from idempotency_keys where key = %s", (stored,)
    )
    seen = await cur.fetchone()
    if seen is not None:
        if seen["operation"] != operation:
            raise ConflictError(
                f"idempotency key {str(key)!r} was already used for {seen['operation']}; "
                f"use a new key for {operation}"
            )
        if fingerprint is not None and seen["fingerprint"] != fingerprint:
            raise ConflictError(
                f"idempotency key {str(key)!r} was already used for {operation} with other "
                "arguments; repeat the first call exactly, or use a new key for a new request",
                idempotency_key=str(key),
            )
        return result_type.model_validate(seen["result"])
    result = await run()
    await conn.execute(
        "insert into idempotency_keys (key, operation, result, fingerprint, created_at) "
        "values (%s, %s, %s, %s, %s)",
        (stored, operation, result.model_dump_json(), fingerprint, clock.now()),
    )
    return result
