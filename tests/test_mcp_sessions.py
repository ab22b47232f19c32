"""Titan's MCP servers send results as built and its clients check them with validators compiled
once; both lean on the SDK's behaviour, which these tests pin (they fail when an SDK upgrade
moves it, rather than validating twice or not at all)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import jsonschema
import pytest
from mcp.server.fastmcp import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from mcp_servers.runtime import ToolBox, domain_tool
from mcp_servers.sessions import TitanMCP, connect, validate_result
from tools.accounts.permissions import Permission

SCHEMA = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "on_hand": {"type": "integer", "minimum": 0}},
    "required": ["sku", "on_hand"],
}


class Level(BaseModel):
    sku: str
    on_hand: int = Field(ge=0)


def test_the_sdk_is_one_these_sessions_were_checked_against() -> None:
    major, minor = (int(x) for x in version("mcp").split(".")[:2])
    assert (major, minor) >= (1, 30), "mcp_servers/sessions.py was written against mcp 1.30"


def test_a_result_that_breaks_its_schema_is_refused_every_time() -> None:
    validate_result(SCHEMA, {"sku": "SKU-X", "on_hand": 3})
    for _ in range(2):  # the second time from the compiled validator
        with pytest.raises(jsonschema.ValidationError, match="-1 is less than the minimum"):
            validate_result(SCHEMA, {"sku": "SKU-X", "on_hand": -1})
    with pytest.raises(jsonschema.ValidationError, match="'sku' is a required property"):
        validate_result(SCHEMA, {"on_hand": 1})
    with pytest.raises(jsonschema.SchemaError):
        validate_result({"type": "no-such-type"}, {})


def _server(result: dict[str, Any]) -> TitanMCP:
    box = ToolBox()

    @domain_tool(box, Permission.MATERIAL_VIEW, title="A level")
    async def level(ctx: Context) -> Level:  # type: ignore[type-arg]
        """One stock level."""
        return (
            Level.model_validate(result)
            if result["on_hand"] >= 0
            else Level.model_construct(**result)
        )

    return TitanMCP(name="probe", tools=box.tools)


@pytest.mark.anyio
async def test_a_titan_server_answers_with_the_finished_result_and_its_structured_content() -> None:
    server = _server({"sku": "SKU-X", "on_hand": 3})

    direct = await server.call_tool("level", {})
    async with connect(server) as client:
        result = await client.call_tool("level", {})

    assert isinstance(direct, CallToolResult)  # what the low-level server sends unchanged
    assert not result.isError and result.structuredContent == {"sku": "SKU-X", "on_hand": 3}


@pytest.mark.anyio
async def test_the_client_still_refuses_a_result_that_breaks_the_tools_output_schema() -> None:
    # A result the server did not build from its type (`model_construct` skips validation).
    server = _server({"sku": "SKU-X", "on_hand": -1})
    async with connect(server, trust_results=False) as client:
        for _ in range(2):  # the second time from the validator compiled for the tool
            with pytest.raises(RuntimeError, match="-1 is less than the minimum of 0"):
                await client.call_tool("level", {})

        # The SDK still hands results to `_validate_tool_result`, where the check lives.
        assert set(client._validators) == {"level"}


@pytest.mark.anyio
async def test_an_in_memory_session_to_a_titan_server_trusts_what_that_server_built() -> None:
    server = _server({"sku": "SKU-X", "on_hand": 3})
    async with connect(server) as client:
        result = await client.call_tool("level", {})

    assert client.trust_results and not client._validators
    assert result.structuredContent == {"sku": "SKU-X", "on_hand": 3}
