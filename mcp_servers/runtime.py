"""What every Titan MCP server shares: the plant database, who is calling, and error handling.

Tools are thin: they take a connection from the server's pool, call one `tools/` operation, and
return its pydantic result (FastMCP publishes the output schema). Domain errors come back to the
client as tool errors carrying the domain's message; anything unexpected is logged here and the
client gets a short message without internals.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import psycopg
from mcp.server.fastmcp import Context
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.fastmcp.tools import Tool
from mcp.types import ToolAnnotations
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import to_jsonable_python

from tools.accounts import accounts
from tools.accounts.accounts import Principal
from tools.accounts.permissions import PROPOSES, Holder, Permission, holds, refusal
from tools.approvals import policy
from tools.core import admin, db
from tools.core.errors import AuthenticationError, DatabaseError, TitanError, ValidationError
from tools.core.operations import SYSTEM, Actor, ScopedKey
from tools.core.settings import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Who calls over stdio or in memory: the person who started the process (or the agent team in
# it), trusted as a supervisor; HTTP callers are who their API key says.
LOCAL_PRINCIPAL = Principal(user_id="local", role="supervisor", key_id="local")
PRINCIPAL_SCOPE_KEY = "titan.principal"
# The `_meta` key of a tools/call request in which the in-process agent team says for whom it
# acts; honoured only from trusted local callers (stdio, in memory), never over HTTP.
CALLER_META_KEY = "titan/caller"


class Caller(BaseModel):
    """The person an agent's tool call is made for, and the conversation and approval behind it."""

    user_id: str = Field(min_length=1, max_length=128)
    thread_id: str | None = Field(default=None, max_length=128)
    # An approved request the call runs under (it runs once, as approved).
    approval_id: str | None = Field(default=None, max_length=200)
    # The ID to give the approval request the call raises, when it needs one, and the agent.
    request_id: str | None = Field(default=None, pattern=r"^APR-[A-Z0-9]{1,40}$")
    agent: str | None = Field(default=None, max_length=40)
    # The role the call is made under (the person's, or `automation` for a run nobody
    # started): a tool the role's permissions do not cover is refused, or proposed.
    role: Holder | None = None


@dataclass
class Plant:
    """The database a server works on: a pool, and where it is."""

    pool: AsyncConnectionPool[db.AsyncConn]
    location: db.DatabaseLocation


@asynccontextmanager
async def open_plant(url: str | None = None) -> AsyncIterator[Plant]:
    """The database at `url`, else the one the settings locate (starting the embedded one if
    need be): migrated, with a pool open."""
    location = (
        db.DatabaseLocation(url=url, embedded=False) if url else await asyncio.to_thread(db.locate)
    )
    async with db.connection(location.url) as conn:
        await admin.prepare(conn)
    pool = db.make_pool(location.url)
    await db.open_pool(pool)
    try:
        yield Plant(pool=pool, location=location)
    finally:
        await pool.close()


def plant_of(ctx: Context) -> Plant:  # type: ignore[type-arg]
    plant = ctx.request_context.lifespan_context
    assert isinstance(plant, Plant), "the server was built without the plant lifespan"
    return plant


# The one person a process serving stdio acts as, fixed at its start (`serve_as`): a desktop
# client's requests cannot name another in their `_meta`.
_PROCESS_PRINCIPAL: ContextVar[Principal | None] = ContextVar("titan_process", default=None)


def serve_as(principal: Principal) -> None:
    """Make every call this process serves (over stdio) come from `principal`."""
    _PROCESS_PRINCIPAL.set(principal)


async def stdio_principal(conn: db.AsyncConn, settings: Settings) -> Principal:
    """Whom a process serving stdio acts as: TITAN_MCP_API_KEY's user and role, else the
    existing user TITAN_MCP_USER under that user's role, else `local` as a supervisor."""
    if settings.mcp_api_key is not None:
        return await accounts.authenticate(conn, settings.mcp_api_key.get_secret_value())
    if settings.mcp_user:
        cur = await conn.execute(
            "select role from users where user_id = %s and active", (settings.mcp_user,)
        )
        row = await cur.fetchone()
        await conn.commit()
        if row is None:
            raise AuthenticationError(
                f"TITAN_MCP_USER {settings.mcp_user!r} is not an active user; name one that "
                "`titan keys list` shows, or set TITAN_MCP_API_KEY to a key "
                "(`titan keys create --user NAME --role ROLE`)"
            )
        return Principal(user_id=settings.mcp_user, role=row["role"], key_id="stdio")
    async with conn.transaction():
        await accounts.ensure_user(
            conn, SYSTEM, LOCAL_PRINCIPAL.user_id, role=LOCAL_PRINCIPAL.role,
            display_name="whoever runs Titan on this machine",
        )  # fmt: skip
    return Principal(user_id=LOCAL_PRINCIPAL.user_id, role=LOCAL_PRINCIPAL.role, key_id="stdio")


def principal_of(ctx: Context) -> Principal:  # type: ignore[type-arg]
    """The caller: from the HTTP request's API key, else the person the process serves as
    (stdio), else the local principal (also for a call made outside any request)."""
    fallback = _PROCESS_PRINCIPAL.get() or LOCAL_PRINCIPAL
    try:
        request = ctx.request_context.request
    except ValueError:
        return fallback
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        found = scope.get(PRINCIPAL_SCOPE_KEY)
        if isinstance(found, Principal):
            return found
    return fallback


def caller_of(ctx: Context) -> Caller | None:  # type: ignore[type-arg]
    """For whom a local agent makes this call, when its request says so (never in a process
    serving stdio: it acts for the one person it was started as)."""
    if _PROCESS_PRINCIPAL.get() is not None:
        return None
    try:
        meta = ctx.request_context.meta
    except ValueError:
        return None
    raw = (meta.model_extra or {}).get(CALLER_META_KEY) if meta is not None else None
    if raw is None:
        return None
    try:
        return Caller.model_validate(raw)
    except PydanticValidationError:
        log.warning("ignored a malformed %s in a tool call's _meta", CALLER_META_KEY)
        return None


def actor_of(ctx: Context, *, thread_id: str | None = None) -> Actor:  # type: ignore[type-arg]
    """The actor that writes made through this call are recorded under: the API key's user over
    HTTP; for the local agent team, the person it acts for, with the thread and approval."""
    who = principal_of(ctx)
    if who is not LOCAL_PRINCIPAL:
        return who.actor(thread_id=thread_id)
    caller = caller_of(ctx)
    if caller is not None:
        return Actor(
            type="agent",
            id=caller.user_id,
            thread_id=caller.thread_id or thread_id,
            approval_id=caller.approval_id,
        )
    return Actor(type="agent" if thread_id else "user", id="mcp-local", thread_id=thread_id)


def holder_of(ctx: Context) -> tuple[str, Holder]:  # type: ignore[type-arg]
    """Who the call is for and the role it is made under: the API key's over HTTP; for the
    local agent team, the person (or the automation) it acts for; else the local principal."""
    who = principal_of(ctx)
    if who is not LOCAL_PRINCIPAL:
        return who.user_id, who.role
    caller = caller_of(ctx)
    if caller is None:
        return who.user_id, who.role
    return caller.user_id, caller.role or who.role


def _told(name: str, exc: Exception) -> Exception:
    """What the client of a failed call hears of: a domain error as it is; a database that
    cannot serve the call as a DatabaseError (the cause, which may name the host, only logged);
    anything else logged with its traceback."""
    if isinstance(exc, TitanError):
        return exc
    if isinstance(exc, psycopg.DataError):  # got past the tool's schema: the caller's fault
        log.warning("tool %s: a value cannot be stored: %s", name, exc)
        return ValidationError(
            f"a value cannot be stored ({str(exc).splitlines()[0][:200]}); nothing was changed"
        )
    if isinstance(exc, (PoolTimeout, psycopg.OperationalError)):
        log.warning("tool %s: the database is unavailable: %s", name, exc)
        return DatabaseError(
            "the database is unavailable right now; nothing was changed, try again in a few seconds"
        )
    log.error("tool %s failed", name, exc_info=exc)
    return exc


def _keyed(kwargs: dict[str, Any], user: str, tool: str, approval_id: str | None) -> dict[str, Any]:
    """The call's arguments with its idempotency key scoped to the caller and the tool and tied
    to the other arguments; a call under an approval without a key of its own is keyed by the
    approval, so that run again after a crash mid-call it finds what the first run did."""
    given = kwargs.get("idempotency_key")
    if isinstance(given, str) and not isinstance(given, ScopedKey):
        rest = {
            k: v for k, v in kwargs.items() if k != "idempotency_key" and not isinstance(v, Context)
        }
        scoped = ScopedKey(given, caller=user, tool=tool, arguments=to_jsonable_python(rest))
        return {**kwargs, "idempotency_key": scoped}
    if given is None and approval_id:
        return {**kwargs, "idempotency_key": approval_id}
    return dict(kwargs)


def _find_context(args: tuple[object, ...], kwargs: dict[str, object]) -> Context | None:  # type: ignore[type-arg]
    for value in (*args, *kwargs.values()):
        if isinstance(value, Context):
            return value
    return None


@dataclass
class ToolBox:
    """The tools a registrar makes, built once through the SDK's `Tool.from_function` and
    shared by every server that serves them; and which of them write."""

    tools: list[Tool] = field(default_factory=list)
    write_tools: set[str] = field(default_factory=set)
    permissions: dict[str, Permission] = field(default_factory=dict)


def domain_tool(
    box: ToolBox,
    permission: Permission,
    *,
    title: str,
    write: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Make an async function a tool of `box` that needs `permission`, with annotations,
    permission checks, the approval gate and error mapping.

    Read tools are marked read-only and idempotent. `destructive` marks writes that remove or
    cancel something, `idempotent` writes that can be repeated without effect. A caller whose
    role does not hold `permission` is refused with what it would need, except a role that
    proposes (`automation`): its write becomes an approval request. A write the approval policy
    guards passes the gate (`mcp_servers.gate`).
    """

    def register(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        name = fn.__name__
        if "ctx" not in inspect.signature(fn).parameters:
            raise TypeError(f"tool {name} must take a `ctx: Context` parameter")
        if write and permission.endswith(".view"):
            raise TypeError(f"the write tool {name} cannot need only {permission}")

        keyed = "idempotency_key" in inspect.signature(fn).parameters

        @functools.wraps(fn)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            ctx = _find_context(args, kwargs)
            try:
                if ctx is not None:
                    user, holder = holder_of(ctx)
                    allowed = holds(holder, permission)
                    caller = caller_of(ctx)
                    approval = caller.approval_id if write and caller is not None else None
                    if not allowed and not approval and not (write and holder in PROPOSES):
                        raise refusal(user, holder, permission, action=f"the tool {name}")
                    call = _keyed(kwargs, user, name, approval) if keyed else dict(kwargs)
                    if write and (approval or not allowed or policy.guarded(name)):
                        from mcp_servers.gate import gated

                        return await gated(
                            ctx, name, permission, dict(kwargs), lambda: fn(*args, **call),
                            proposing=not allowed, replayable=keyed,
                        )  # fmt: skip
                    return await fn(*args, **call)
                return await fn(*args, **kwargs)
            except ToolError:
                raise
            except Exception as exc:  # the server's top-level handler for one call
                told = _told(name, exc)
                if isinstance(told, TitanError):
                    raise ToolError(str(told)) from told
                raise ToolError(
                    f"{name} failed inside Titan ({type(exc).__name__}); the server log has details"
                ) from exc

        annotations = ToolAnnotations(
            title=title,
            readOnlyHint=not write,
            destructiveHint=destructive if write else False,
            idempotentHint=idempotent if write else True,
            openWorldHint=False,
        )
        box.tools.append(
            Tool.from_function(guarded, name=name, annotations=annotations, structured_output=True)
        )
        box.permissions[name] = permission
        if write:
            box.write_tools.add(name)
        return guarded

    return register
