"""Titan's MCP servers and in-memory client sessions, with result validation made fast where it
is safe: on Titan's own servers and clients only, nothing patched process-wide.

The SDK validates every structured tool result twice with `jsonschema.validate`, on the server
and on the client, each time checking the schema against its meta-schema and building a new
validator: about 12 ms a call for Titan's result schemas, far more than the tools' own work.

- `TitanMCP` is FastMCP for Titan's tools. A result is built by pydantic from the very type its
  output schema was generated from, so it conforms by construction: the server answers with the
  finished `CallToolResult`, which the low-level server sends as it is. Arguments are validated
  as before (by pydantic, FastMCP's own way).
- `TitanClientSession` validates every result against the tool's output schema with one
  validator compiled per tool instead of one per call (about 1 ms for a list of machines), or,
  on an in-memory session to a `TitanMCP` of the same process (`connect`), trusts the results
  that server built.
- `connect(server)` is an in-memory session of the real protocol between the two.

These lean on two places of the SDK (the low-level server sends a `CallToolResult` unchanged;
the client checks results in `_validate_tool_result`); `tests/test_mcp_sessions.py` pins both,
so an SDK that moves them fails there rather than silently validating twice or not at all.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from mcp import ClientSession
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.shared.memory import create_client_server_memory_streams
from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import ValidationError as PydanticValidationError
from referencing import Registry

from tools.core.errors import TitanError, error_body


class TitanMCP(FastMCP):
    """FastMCP whose tool results go out as built, without a second schema check, and whose
    tool errors carry the service's error body as structured content (`{"error": {"code",
    "message", "details"}}`, as the REST API answers), so a client can branch on the code."""

    async def call_tool(  # type: ignore[override]
        self, name: str, arguments: dict[str, Any]
    ) -> Sequence[ContentBlock] | dict[str, Any] | CallToolResult:
        try:
            result = await super().call_tool(name, arguments)
        except ToolError as exc:
            body = _error_body_of(exc)
            if body is None:
                raise
            text = TextContent(type="text", text=str(exc))
            return CallToolResult(content=[text], structuredContent=body, isError=True)
        if isinstance(result, tuple):  # (content, structured): a tool with an output schema
            content, structured = result
            return CallToolResult(content=list(content), structuredContent=structured)
        return result


def _error_body_of(exc: BaseException) -> dict[str, Any] | None:
    """The error body for a tool error caused by a domain error or by arguments that do not
    fit the tool (per field, as the REST API words them); None for anything else."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TitanError):
            return error_body(seen.code, seen.message, seen.details)
        if isinstance(seen, PydanticValidationError):
            details: list[dict[str, Any]] = [
                {
                    "field": ".".join(str(part) for part in problem["loc"]),
                    "reason": problem["msg"],
                    "type": problem["type"],
                }
                for problem in seen.errors()
            ]
            fields = ", ".join(d["field"] for d in details)
            return error_body("validation_error", f"the arguments are invalid: {fields}", details)
        seen = seen.__cause__
    return None


@functools.lru_cache(maxsize=512)
def _validator(schema_text: str) -> Validator:
    schema = json.loads(schema_text)
    cls = validator_for(schema)
    cls.check_schema(schema)
    # An empty registry, as the SDK passes: `$ref`s resolve within the schema itself.
    return cls(schema, registry=Registry())


def validate_result(schema: dict[str, Any], instance: object) -> None:
    """Raise the best-matching `jsonschema.ValidationError` when `instance` breaks `schema`."""
    error = best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(instance))
    if error is not None:
        raise error


class TitanClientSession(ClientSession):
    """A client session that checks each tool result with a validator compiled once per tool."""

    def __init__(self, *args: Any, trust_results: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trust_results = trust_results
        self._validators: dict[str, tuple[dict[str, Any], Validator]] = {}

    async def _validate_tool_result(self, name: str, result: CallToolResult) -> None:
        if self.trust_results:
            return
        if name not in self._tool_output_schemas:
            await self.list_tools()
        schema = self._tool_output_schemas.get(name)
        if schema is None:
            return
        if result.structuredContent is None:
            raise RuntimeError(f"Tool {name} has an output schema but returned no content for it")
        known = self._validators.get(name)
        if known is None or known[0] is not schema:  # listed again: a new schema object
            known = (schema, _validator(json.dumps(schema, sort_keys=True)))
            self._validators[name] = known
        error = best_match(known[1].iter_errors(result.structuredContent))
        if error is not None:
            raise RuntimeError(f"Invalid structured content returned by tool {name}: {error}")


@asynccontextmanager
async def connect(
    server: FastMCP, *, trust_results: bool | None = None
) -> AsyncIterator[TitanClientSession]:
    """An initialised client session to `server` over in-memory streams (the real protocol).
    The results of a `TitanMCP` are trusted unless `trust_results` is False."""
    trust = isinstance(server, TitanMCP) if trust_results is None else trust_results
    low = server._mcp_server  # the SDK's in-memory transport itself reaches it so
    async with create_client_server_memory_streams() as (client_streams, server_streams):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: low.run(*server_streams, low.create_initialization_options()))
            try:
                async with TitanClientSession(*client_streams, trust_results=trust) as session:
                    await session.initialize()
                    yield session
            finally:
                tg.cancel_scope.cancel()
