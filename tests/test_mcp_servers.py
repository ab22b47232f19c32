"""Titan's MCP servers, as a client sees them over the real protocol (in memory and stdio)."""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_helpers import approved, session_for

from mcp_servers.runtime import CALLER_META_KEY, Plant
from mcp_servers.servers import DOMAINS, build_server
from tools.accounts import accounts
from tools.core import db
from tools.core.operations import SYSTEM


@pytest.mark.anyio
async def test_every_server_lists_its_tools_with_read_and_write_annotations(
    mcp_plant: Plant,
) -> None:
    for domain in DOMAINS:
        built = build_server(domain, plant=mcp_plant)
        async with session_for(domain, mcp_plant) as client:
            listed = (await client.list_tools()).tools

        assert listed, f"{domain} serves no tools"
        for tool in listed:
            assert tool.description and len(tool.description) > 30, tool.name
            assert tool.annotations is not None
            assert tool.annotations.readOnlyHint is (tool.name not in built.write_tools)
            assert tool.outputSchema is not None, tool.name


@pytest.mark.anyio
async def test_a_read_tool_answers_with_structured_content(mcp_plant: Plant) -> None:
    async with session_for("governance", mcp_plant) as client:
        result = await client.call_tool("order_traceability", {"order_id": "ORD-10001"})

    assert not result.isError, result.content
    assert result.structuredContent is not None
    assert result.structuredContent["order"]["order_id"] == "ORD-10001"
    assert result.structuredContent["lines"]


@pytest.mark.anyio
async def test_a_write_tool_changes_the_database_and_is_audited(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    async with session_for("communications", mcp_plant) as client:
        result = await client.call_tool(
            "create_inquiry",
            {"customer_id": "BOEING", "subject": "Blade lot certs", "kind": "QUALITY",
             "body": "Please send the mill certificates for our last blade delivery."},
        )  # fmt: skip

    assert not result.isError, result.content
    assert result.structuredContent is not None
    inquiry_id = result.structuredContent["inquiry_id"]
    cur = await plant.execute(
        "select kind, status from customer_inquiries where inquiry_id = %s", (inquiry_id,)
    )
    assert await cur.fetchone() == {"kind": "QUALITY", "status": "OPEN"}
    cur = await plant.execute(
        "select actor_id from audit_log where entity_type = 'inquiry' and entity_id = %s",
        (inquiry_id,),
    )
    assert await cur.fetchall() == [{"actor_id": "mcp-local"}]


@pytest.mark.anyio
async def test_domain_errors_and_bad_arguments_come_back_as_tool_errors_with_the_reason(
    mcp_plant: Plant,
) -> None:
    async with session_for("all", mcp_plant) as client:
        unknown = await client.call_tool("order_traceability", {"order_id": "ORD-99999"})
        malformed = await client.call_tool("order_traceability", {"order_id": "boeing's"})
        invalid = await client.call_tool(
            "answer_inquiry", {"inquiry_id": "INQ-9003", "response": "x"}
        )

    assert unknown.isError and "ORD-99999" in unknown.content[0].text  # type: ignore[union-attr]
    assert malformed.isError and "ORD-" in malformed.content[0].text  # type: ignore[union-attr]
    assert invalid.isError  # INQ-9003 is already answered in the demo plant
    assert "ANSWERED" in invalid.content[0].text  # type: ignore[union-attr]
    for result in (unknown, malformed, invalid):
        assert "Traceback" not in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_desktop_client_runs_a_server_over_stdio(plant: db.AsyncConn, db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = db_url
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "api.cli.main", "mcp", "communications"], env=env
    )
    with anyio.fail_after(60):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            init = await client.initialize()
            names = {t.name for t in (await client.list_tools()).tools}
            listed = await client.call_tool("list_inquiries", {"customer_id": "BOEING"})
            created = await client.call_tool(
                "create_inquiry",
                {"customer_id": "TESLA", "subject": "ETA", "body": "When do the housings ship?"},
            )
            refused = await client.call_tool(
                "create_inquiry", {"customer_id": "NOBODY", "subject": "x", "body": "y"}
            )
            # A message to a customer waits for a person, over stdio as over HTTP.
            held = await client.call_tool(
                "send_message",
                {"recipient": "buyer@boeing.example", "channel": "EMAIL", "subject": "Price",
                 "body": "We can do 10% off."},
            )  # fmt: skip

    assert init.serverInfo.name == "titan-communications"
    assert {"list_inquiries", "create_inquiry", "notify_about"} <= names
    assert not listed.isError and listed.structuredContent is not None
    assert not created.isError
    assert refused.isError and "NOBODY" in refused.content[0].text  # type: ignore[union-attr]
    assert held.isError and held.structuredContent is not None
    assert held.structuredContent["error"]["code"] == "approval_required"
    cur = await plant.execute(
        "select (select count(*) from notifications where subject = 'Price') as sent, "
        "(select count(*) from approvals where action = 'send_message' and status = 'PENDING') "
        "as pending"
    )
    assert await cur.fetchone() == {"sent": 0, "pending": 1}
    cur = await plant.execute(
        "select count(*) as n from customer_inquiries where customer_id = 'TESLA'"
    )
    row = await cur.fetchone()
    assert row is not None and row["n"] >= 2


def stdio_params(db_url: str, domain: str, **settings: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env |= {"DATABASE_URL": db_url, **settings}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "api.cli.main", "mcp", domain], env=env
    )


@pytest.mark.anyio
async def test_over_stdio_the_server_acts_as_the_person_it_was_started_as_not_as_meta_says(
    plant: db.AsyncConn, db_url: str
) -> None:
    inquiry = {"customer_id": "TESLA", "subject": "ETA", "body": "When do the housings ship?"}
    impostor = {CALLER_META_KEY: {"user_id": "ceo", "role": "admin"}}
    operator = (await accounts.create_key(plant, SYSTEM, role="operator", user_id="olga")).token
    with anyio.fail_after(90):
        async with (
            stdio_client(stdio_params(db_url, "communications")) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            created = await client.call_tool("create_inquiry", inquiry, meta=impostor)
        async with (
            stdio_client(stdio_params(db_url, "communications", TITAN_MCP_API_KEY=operator)) as (
                read,
                write,
            ),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            refused = await client.call_tool("create_inquiry", inquiry, meta=impostor)

    assert not created.isError and created.structuredContent is not None
    cur = await plant.execute(
        "select actor_type, actor_id from audit_log where entity_type = 'inquiry' "
        "and entity_id = %s",
        (created.structuredContent["inquiry_id"],),
    )
    assert await cur.fetchall() == [{"actor_type": "user", "actor_id": "local"}]
    cur = await plant.execute("select role from users where user_id = 'local'")
    assert await cur.fetchone() == {"role": "supervisor"}
    assert refused.isError and refused.structuredContent is not None
    error = refused.structuredContent["error"]
    assert error["code"] == "forbidden" and "olga is operator" in error["message"]


# One read call per server, with what its answer must contain.
READ_CALLS: dict[str, tuple[str, dict[str, object], str]] = {
    "communications": ("list_inquiries", {"customer_id": "BOEING"}, "BOEING"),
    "governance": ("list_tables", {}, "stock_levels"),
    "maintenance": ("list_machines", {"facility_id": "PHX"}, "PHX-CNC-007"),
    "orders": ("list_orders", {"customer_id": "BOEING"}, "ORD-10013"),
    "inventory": ("stock_levels", {"sku": "SKU-BRG-7014"}, "SKU-BRG-7014"),
    "logistics": ("list_shipments", {"status": "DELAYED"}, "DELAYED"),
    "scheduling": ("bottlenecks", {"facility_id": "PHX", "days": 7}, "PHX"),
}


@pytest.mark.anyio
async def test_every_server_answers_a_read_call(mcp_plant: Plant) -> None:
    from mcp_servers.servers import DOMAIN_REGISTRARS

    assert set(READ_CALLS) == set(DOMAIN_REGISTRARS)
    for domain, (tool, arguments, expected) in READ_CALLS.items():
        async with session_for(domain, mcp_plant) as client:
            result = await client.call_tool(tool, arguments)
        assert not result.isError, (domain, result.content)
        assert expected in json.dumps(result.structuredContent), domain


@pytest.mark.anyio
async def test_a_work_order_opened_over_mcp_reserves_its_parts(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    async with session_for("maintenance", mcp_plant) as client:
        opened = await client.call_tool(
            "create_work_order",
            {"machine_id": "PHX-CNC-007", "kind": "CORRECTIVE", "priority": "HIGH",
             "description": "Spindle bearing vibration rising",
             "fault_type": "BEARING_DEGRADATION"},
        )  # fmt: skip
        bad = await client.call_tool(
            "create_work_order",
            {"machine_id": "PHX-CNC-999", "kind": "CORRECTIVE", "priority": "HIGH",
             "description": "x"},
        )  # fmt: skip

    assert not opened.isError, opened.content
    assert opened.structuredContent is not None
    work_order_id = opened.structuredContent["work_order_id"]
    cur = await plant.execute(
        "select status, machine_id from work_orders where work_order_id = %s", (work_order_id,)
    )
    assert await cur.fetchone() == {"status": "OPEN", "machine_id": "PHX-CNC-007"}
    assert bad.isError and "PHX-CNC-999" in bad.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_schedule_proposed_over_mcp_is_stored_and_can_be_applied(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    async with session_for("scheduling", mcp_plant) as client:
        proposed = await client.call_tool(
            "propose_schedule", {"facility_id": "MUC", "time_limit_s": 5}
        )
        assert not proposed.isError, proposed.content
        assert proposed.structuredContent is not None
        schedule_id = proposed.structuredContent["schedule"]["schedule_id"]
        # A whole facility's plan moves more than 3 jobs: it waits for a person.
        asked = await client.call_tool("apply_schedule", {"schedule_id": schedule_id})
        applied = await approved(mcp_plant, asked)
        again = await client.call_tool("apply_schedule", {"schedule_id": schedule_id})

    assert applied["status"] == "APPLIED"
    cur = await plant.execute("select status from schedules where schedule_id = %s", (schedule_id,))
    assert await cur.fetchone() == {"status": "APPLIED"}
    assert again.isError and "APPLIED" in again.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_the_inventory_server_over_stdio_reads_writes_and_refuses_bad_arguments(
    plant: db.AsyncConn, db_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env["DATABASE_URL"] = db_url
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "api.cli.main", "mcp", "inventory"], env=env
    )
    with anyio.fail_after(60):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            tools = {t.name: t for t in (await client.list_tools()).tools}
            stock = await client.call_tool("stock_levels", {"sku": "SKU-BRG-6205"})
            adjusted = await client.call_tool(
                "adjust_stock",
                {"sku": "SKU-BRG-6205", "facility_id": "MUC", "delta": 5,
                 "reason": "cycle count found five more"},
            )  # fmt: skip
            negative = await client.call_tool(
                "adjust_stock",
                {"sku": "SKU-BRG-6205", "facility_id": "MUC", "delta": -100000,
                 "reason": "typo"},
            )  # fmt: skip

    assert tools["stock_levels"].annotations is not None
    assert tools["stock_levels"].annotations.readOnlyHint is True
    assert tools["adjust_stock"].annotations is not None
    assert tools["adjust_stock"].annotations.readOnlyHint is False
    assert not stock.isError and "MUC" in json.dumps(stock.structuredContent)
    assert not adjusted.isError, adjusted.content
    cur = await plant.execute(
        "select on_hand from stock_levels where sku = 'SKU-BRG-6205' and facility_id = 'MUC'"
    )
    row = await cur.fetchone()
    assert row is not None and row["on_hand"] == 222  # 217 in the demo plant, plus 5
    assert negative.isError
    assert "SKU-BRG-6205" in negative.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_server_built_again_reuses_its_tools_schemas_and_still_answers(
    mcp_plant: Plant,
) -> None:
    first = build_server("inventory", plant=mcp_plant)
    again = build_server("inventory", plant=mcp_plant)

    # nothing derived anew for the second build: the very same tools
    assert [id(t) for t in again.tools] == [id(t) for t in first.tools]
    schemas = [
        {t.name: t.inputSchema for t in await server.mcp.list_tools()} for server in (first, again)
    ]
    assert schemas[0] == schemas[1]
    async with session_for("inventory", mcp_plant) as client:
        levels = await client.call_tool("stock_levels", {"sku": "SKU-TB-1001"})
        refused = await client.call_tool("stock_levels", {"sku": "TB-1001"})
    assert not levels.isError and levels.structuredContent is not None
    assert refused.isError
