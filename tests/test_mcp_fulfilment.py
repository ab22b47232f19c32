"""The orders, inventory and logistics MCP servers, and the resources and prompts every server
offers, as a client sees them over the real protocol (in memory)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from mcp.shared.exceptions import McpError
from mcp.types import CallToolResult, TextContent, TextResourceContents
from mcp_helpers import approved, session_for
from pydantic import AnyUrl

from mcp_servers.runtime import CALLER_META_KEY, Plant
from tools.approvals.requests import decide_approval
from tools.core import db
from tools.core.operations import Actor

# Every server also serves get_approval, to follow a write held for a person.
ORDER_READS = {"get_order", "list_orders", "review_order", "get_approval"}


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def data(result: CallToolResult) -> Any:
    assert not result.isError, text(result)
    assert result.structuredContent is not None
    content = result.structuredContent
    return content["result"] if set(content) == {"result"} else content


async def fetch(conn: db.AsyncConn, sql: str, *args: object) -> list[dict[str, Any]]:
    cur = await conn.execute(sql, args)  # type: ignore[arg-type]
    return await cur.fetchall()


# ───────────────────────── listing ─────────────────────────


@pytest.mark.anyio
async def test_the_fulfilment_servers_list_their_tools_with_schemas_and_honest_annotations(
    mcp_plant: Plant,
) -> None:
    listed = {}
    for domain in ("orders", "inventory", "logistics"):
        async with session_for(domain, mcp_plant) as client:
            listed[domain] = {t.name: t for t in (await client.list_tools()).tools}

    orders, inventory, logistics = listed["orders"], listed["inventory"], listed["logistics"]
    assert set(orders) == ORDER_READS
    assert ORDER_READS <= set(inventory) and ORDER_READS <= set(logistics)
    assert {"create_order", "validate_order", "hold_order", "release_order", "cancel_order",
            "start_order_production", "mark_order_ready", "complete_order", "reserve_stock",
            "release_stock", "adjust_stock", "check_reorder", "search_products",
            "find_alternatives", "reorder_plan", "spare_parts_for_fault",
            "create_purchase_order", "receive_purchase_order"} <= set(inventory)  # fmt: skip
    assert {"list_carriers", "shipping_estimates", "create_shipments", "print_label",
            "pick_up_shipment", "delay_shipment", "deliver_shipment", "cancel_shipment",
            "track_shipment", "advance_shipment"} <= set(logistics)  # fmt: skip
    assert not {"create_order", "create_shipments"} & set(orders)

    get_order = orders["get_order"]
    assert get_order.inputSchema["properties"]["order_id"]["pattern"] == r"^ORD-\d+$"
    assert "ORD-10001" in get_order.inputSchema["properties"]["order_id"]["description"]
    assert all(t.annotations and t.annotations.readOnlyHint for t in orders.values())
    status = orders["list_orders"].inputSchema["properties"]["status"]
    assert "ON_HOLD" in json.dumps(status) and "COMPLETED" in json.dumps(status)

    cancel = inventory["cancel_order"].annotations
    create = inventory["create_order"].annotations
    assert cancel and cancel.readOnlyHint is False and cancel.destructiveHint is True
    assert cancel.idempotentHint is True
    assert create and create.destructiveHint is False and create.idempotentHint is False
    delta = inventory["adjust_stock"].inputSchema["properties"]["delta"]
    assert (delta["minimum"], delta["maximum"]) == (-1_000_000, 1_000_000)
    weight = logistics["shipping_estimates"].inputSchema["properties"]["weight_kg"]
    assert "kg" in weight["description"]
    assert logistics["cancel_shipment"].annotations.destructiveHint is True  # type: ignore[union-attr]
    for tools in listed.values():
        for tool in tools.values():
            assert tool.outputSchema is not None, tool.name
            assert tool.description and len(tool.description) > 40, tool.name


@pytest.mark.anyio
async def test_the_all_server_serves_the_order_reads_once(mcp_plant: Plant) -> None:
    async with session_for("all", mcp_plant) as client:
        names = [t.name for t in (await client.list_tools()).tools]

    assert len(names) == len(set(names))
    assert ORDER_READS <= set(names)


# ───────────────────────── orders ─────────────────────────


@pytest.mark.anyio
async def test_the_orders_server_reads_and_searches_orders(mcp_plant: Plant) -> None:
    async with session_for("orders", mcp_plant) as client:
        order = data(await client.call_tool("get_order", {"order_id": "ORD-10013"}))
        found = data(
            await client.call_tool("list_orders", {"customer_id": "BOEING", "sku": "SKU-TB-1001"})
        )
        review = data(await client.call_tool("review_order", {"order_id": "ORD-10013"}))

    assert order["customer_id"] == "BOEING" and order["is_rush"] is True
    assert order["lines"][0]["sku"] == "SKU-TB-1001" and order["events"]
    assert "ORD-10013" in {o["order_id"] for o in found}
    assert all(o["customer_id"] == "BOEING" for o in found)
    assert review["ok"] is True and "material_cert" in review["checked"]


@pytest.mark.anyio
async def test_the_orders_server_refuses_writes_and_bad_ids_with_the_reason(
    mcp_plant: Plant,
) -> None:
    async with session_for("orders", mcp_plant) as client:
        unknown = await client.call_tool("get_order", {"order_id": "ORD-99999"})
        malformed = await client.call_tool("get_order", {"order_id": "10013"})
        wrong_status = await client.call_tool("list_orders", {"status": "SHIPPING"})
        write = await client.call_tool("hold_order", {"order_id": "ORD-10020", "reason": "x"})

    assert unknown.isError and "ORD-99999" in text(unknown)
    assert malformed.isError and "ORD-" in text(malformed)
    assert wrong_status.isError and "ON_HOLD" in text(wrong_status)
    assert write.isError and "hold_order" in text(write)
    for result in (unknown, malformed, wrong_status, write):
        assert "Traceback" not in text(result)


# ───────────────────────── inventory ─────────────────────────


@pytest.mark.anyio
async def test_the_inventory_server_answers_stock_and_spare_part_questions(
    mcp_plant: Plant,
) -> None:
    async with session_for("inventory", mcp_plant) as client:
        levels = data(await client.call_tool("stock_levels", {"sku": "SKU-BRG-7014"}))
        spares = data(
            await client.call_tool(
                "spare_parts_for_fault",
                {"machine_id": "PHX-CNC-007", "fault_type": "BEARING_DEGRADATION"},
            )
        )
        options = data(
            await client.call_tool("find_alternatives", {"sku": "SKU-BRG-7014", "quantity": 2})
        )

    assert {lv["sku"] for lv in levels} == {"SKU-BRG-7014"}
    assert all(lv["available"] == lv["on_hand"] - lv["reserved"] for lv in levels)
    assert spares["facility_id"] == "PHX" and spares["parts"]
    assert {"NIPPONBEARING", "RHEINTECH"} <= {s["supplier_id"] for s in options["suppliers"]}


@pytest.mark.anyio
async def test_an_order_created_validated_and_reserved_over_mcp_is_in_postgres(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    async with session_for("inventory", mcp_plant) as client:
        created = data(
            await client.call_tool(
                "create_order",
                {"customer_id": "TESLA", "due_at": "2026-04-15T17:00:00Z",
                 "lines": [{"sku": "SKU-MH-4001", "quantity": 2}]},
            )
        )  # fmt: skip
        order_id = created["order_id"]
        validated = data(await client.call_tool("validate_order", {"order_id": order_id}))
        reserved = data(await client.call_tool("reserve_stock", {"order_id": order_id}))
        # Holding an order waits for a person: approved, the service runs it.
        asked = await client.call_tool(
            "hold_order", {"order_id": order_id, "reason": "customer revising drawing"}
        )
        held = await approved(mcp_plant, asked)

    assert created["status"] == "CREATED" and validated["status"] == "VALIDATED"
    assert reserved["fully_reserved"] and reserved["order_status"] == "RESERVED"
    assert held["status"] == "ON_HOLD"
    rows = await fetch(
        plant, "select status, hold_reason from orders where order_id = %s", order_id
    )
    assert rows == [{"status": "ON_HOLD", "hold_reason": "customer revising drawing"}]
    rows = await fetch(
        plant,
        "select sum(quantity)::int as n from stock_reservations "
        "where order_id = %s and status = 'RESERVED'",
        order_id,
    )
    assert rows == [{"n": 2}]
    rows = await fetch(
        plant,
        "select action, actor_id from audit_log where entity_type = 'order' and entity_id = %s "
        "order by audit_id",
        order_id,
    )
    assert [r["action"] for r in rows][0] == "order.create"
    assert {r["actor_id"] for r in rows} == {"mcp-local"}


@pytest.mark.anyio
async def test_a_purchase_order_raised_and_received_over_mcp_books_stock(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    (before,) = await fetch(
        plant,
        "select on_hand from stock_levels where sku = 'SKU-BRG-7014' and facility_id = 'PHX'",
    )
    async with session_for("inventory", mcp_plant) as client:
        po = data(
            await client.call_tool(
                "create_purchase_order",
                {"supplier_id": "RHEINTECH", "sku": "SKU-BRG-7014", "facility_id": "PHX",
                 "quantity": 4},
            )
        )  # fmt: skip
        received = data(await client.call_tool("receive_purchase_order", {"po_id": po["po_id"]}))

    assert po["status"] == "PENDING" and received["status"] == "RECEIVED"
    (after,) = await fetch(
        plant,
        "select on_hand from stock_levels where sku = 'SKU-BRG-7014' and facility_id = 'PHX'",
    )
    assert after["on_hand"] == before["on_hand"] + 4
    rows = await fetch(
        plant,
        "select kind, quantity from stock_movements where reference_id = %s",
        po["po_id"],
    )
    assert rows == [{"kind": "RECEIPT", "quantity": 4}]


@pytest.mark.anyio
async def test_the_inventory_server_explains_what_it_refuses(mcp_plant: Plant) -> None:
    async with session_for("inventory", mcp_plant) as client:
        unvalidated = await client.call_tool("reserve_stock", {"order_id": "ORD-10020"})
        no_change = await client.call_tool(
            "adjust_stock",
            {"sku": "SKU-BRG-7014", "facility_id": "PHX", "delta": 0, "reason": "count"},
        )
        too_few = await client.call_tool(
            "create_purchase_order",
            {"supplier_id": "RHEINTECH", "sku": "SKU-BRG-7014", "facility_id": "PHX",
             "quantity": 0},
        )  # fmt: skip
        off_contract = await client.call_tool(
            "create_order",
            {"customer_id": "BOEING", "due_at": "2026-04-15T17:00:00Z",
             "lines": [{"sku": "SKU-MH-4001", "quantity": 10}]},
        )  # fmt: skip

    assert unvalidated.isError and "validate it first" in text(unvalidated)
    assert no_change.isError and "delta may not be 0" in text(no_change)
    assert too_few.isError and "quantity" in text(too_few)
    assert off_contract.isError and "SKU-MH-4001" in text(off_contract)
    assert "BOEING" in text(off_contract)


# ───────────────────────── logistics ─────────────────────────


@pytest.mark.anyio
async def test_the_logistics_server_quotes_carriers(mcp_plant: Plant) -> None:
    async with session_for("logistics", mcp_plant) as client:
        carriers = data(await client.call_tool("list_carriers", {}))
        quotes = data(
            await client.call_tool(
                "shipping_estimates",
                {"origin_facility_id": "PHX", "destination_region": "NA-EAST", "weight_kg": 12.5},
            )
        )
        order = data(await client.call_tool("get_order", {"order_id": "ORD-10007"}))

    assert {c["carrier_id"] for c in carriers} == {"DHL", "FEDEX", "UPS"}
    costs = [float(q["cost"]) for q in quotes]
    assert costs == sorted(costs) and {q["destination_region"] for q in quotes} == {"NA-EAST"}
    assert order["status"] == "READY"


@pytest.mark.anyio
async def test_shipments_created_and_picked_up_over_mcp_are_in_postgres(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    async with session_for("logistics", mcp_plant) as client:
        shipments = data(await client.call_tool("create_shipments", {"order_id": "ORD-10007"}))
        first = shipments[0]["shipment_id"]
        labelled = data(await client.call_tool("print_label", {"shipment_id": first}))
        picked = data(await client.call_tool("pick_up_shipment", {"shipment_id": first}))
        tracked = data(
            await client.call_tool(
                "track_shipment", {"tracking_number": shipments[0]["tracking_number"]}
            )
        )

    assert labelled["status"] == "LABEL_PRINTED" and picked["status"] == "PICKED_UP"
    assert tracked["shipment_id"] == first
    assert [e["status"] for e in tracked["events"]] == ["CREATED", "LABEL_PRINTED", "PICKED_UP"]
    rows = await fetch(
        plant, "select status, order_id from shipments where shipment_id = %s", first
    )
    assert rows == [{"status": "PICKED_UP", "order_id": "ORD-10007"}]
    rows = await fetch(
        plant,
        "select count(*)::int as n from stock_movements where kind = 'SHIPMENT' "
        "and reference_id = %s",
        first,
    )
    assert rows[0]["n"] >= 1


@pytest.mark.anyio
async def test_the_logistics_server_explains_what_it_refuses(mcp_plant: Plant) -> None:
    async with session_for("logistics", mcp_plant) as client:
        not_ready = await client.call_tool("create_shipments", {"order_id": "ORD-10020"})
        past_eta = await client.call_tool(
            "delay_shipment",
            {"shipment_id": "SHP-7001", "reason": "weather", "new_eta": "2020-01-01T00:00:00Z"},
        )
        unknown = await client.call_tool("get_shipment", {"shipment_id": "SHP-1"})
        bad_scan = await client.call_tool(
            "advance_shipment", {"shipment_id": "SHP-7001", "status": "DELIVERED"}
        )

    assert not_ready.isError and "READY" in text(not_ready)
    assert past_eta.isError and "future" in text(past_eta)
    assert unknown.isError and "SHP-1" in text(unknown)
    assert bad_scan.isError and "OUT_FOR_DELIVERY" in text(bad_scan)


# ───────────────────────── resources ─────────────────────────


def _resource_text(contents: list[Any]) -> Any:
    (content,) = contents
    assert isinstance(content, TextResourceContents)
    assert content.mimeType == "application/json"
    return json.loads(content.text)


@pytest.mark.anyio
async def test_every_server_lists_and_reads_the_plant_resources(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    async with plant.transaction():
        await plant.execute(
            "insert into approvals (approval_id, thread_id, agent, action, arguments, reason, "
            "requested_at) values ('APR-1', 'thread-1', 'inventory', 'create_purchase_order', "
            """'{"sku": "SKU-BRG-7014", "quantity": 40}', 'PO above 20000 USD', """
            "'2026-03-02T05:30:00Z')"
        )
    async with session_for("logistics", mcp_plant) as client:
        static = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {
            t.uriTemplate for t in (await client.list_resource_templates()).resourceTemplates
        }
        machines = _resource_text((await client.read_resource(AnyUrl("titan://machines"))).contents)
        health = _resource_text(
            (await client.read_resource(AnyUrl("titan://machines/PHX-CNC-007/health"))).contents
        )
        stock = _resource_text(
            (await client.read_resource(AnyUrl("titan://stock/SKU-BRG-7014"))).contents
        )
        approvals = _resource_text(
            (await client.read_resource(AnyUrl("titan://approvals/open"))).contents
        )

    assert static == {"titan://directory", "titan://machines", "titan://approvals/open"}
    assert templates == {"titan://machines/{machine_id}/health", "titan://stock/{sku}"}
    assert "PHX-CNC-007" in {m["machine_id"] for m in machines}
    assert health["machine_id"] == "PHX-CNC-007" and health["facility_id"] == "PHX"
    assert health["window_end"].startswith("2026-03-02T06:00")
    assert {lv["sku"] for lv in stock} == {"SKU-BRG-7014"} and len(stock) >= 2
    # The same Approval the REST API answers with, still undecided.
    assert approvals == [
        {"approval_id": "APR-1", "thread_id": "thread-1", "status": "PENDING",
         "agent": "inventory", "action": "create_purchase_order",
         "arguments": {"sku": "SKU-BRG-7014", "quantity": 40}, "impact": {},
         "reason": "PO above 20000 USD", "permission": "ai.approve",
         "required_role": "supervisor",
         "requested_at": "2026-03-02T05:30:00Z", "decided_by": None, "decided_at": None,
         "decision_reason": None, "edited_arguments": None, "requested_by": None,
         "executed_at": None, "outcome": None},
    ]  # fmt: skip


@pytest.mark.anyio
async def test_reading_an_unknown_machine_or_sku_says_what_is_wrong(mcp_plant: Plant) -> None:
    async with session_for("maintenance", mcp_plant) as client:
        with pytest.raises(McpError, match="PHX-CNC-999"):
            await client.read_resource(AnyUrl("titan://machines/PHX-CNC-999/health"))
        with pytest.raises(McpError, match="SKU-NOPE-1 is not stocked anywhere"):
            await client.read_resource(AnyUrl("titan://stock/SKU-NOPE-1"))


# ───────────────────────── prompts ─────────────────────────


@pytest.mark.anyio
async def test_the_prompts_render_instructions_naming_tools_that_exist(mcp_plant: Plant) -> None:
    async with session_for("all", mcp_plant) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        briefing = await client.get_prompt("daily_plant_briefing", {"facility_id": "PHX"})
        plant_wide = await client.get_prompt("daily_plant_briefing", {})
        review = await client.get_prompt("incident_review", {"machine_id": "PHX-CNC-007"})

    assert set(prompts) == {"daily_plant_briefing", "incident_review"}
    (machine_arg,) = prompts["incident_review"].arguments or []
    assert machine_arg.name == "machine_id" and machine_arg.required
    (facility_arg,) = prompts["daily_plant_briefing"].arguments or []
    assert facility_arg.name == "facility_id" and not facility_arg.required
    rendered = {}
    for name, result in (("briefing", briefing), ("plant", plant_wide), ("review", review)):
        (message,) = result.messages
        assert isinstance(message.content, TextContent)
        rendered[name] = message.content.text
    assert (
        'facility_id="PHX"' in rendered["briefing"] and "2026-03-02 06:00" in rendered["briefing"]
    )
    assert "the whole plant" in rendered["plant"]
    assert 'machine_health(machine_id="PHX-CNC-007"' in rendered["review"]
    for body in rendered.values():
        named = set(re.findall(r"\b([a-z]+(?:_[a-z]+)+)(?:\(| \[)", body))
        assert named and named <= tools, named - tools


@pytest.mark.anyio
async def test_a_prompt_for_a_malformed_machine_id_is_refused(mcp_plant: Plant) -> None:
    async with session_for("maintenance", mcp_plant) as client:
        with pytest.raises(McpError, match="machine_id"):
            await client.get_prompt("incident_review", {"machine_id": "cnc 7"})


@pytest.mark.anyio
async def test_a_local_call_made_for_a_person_is_audited_as_the_agent_acting_for_them(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    (order,) = await fetch(
        plant, "select order_id from orders where status = 'CREATED' order by order_id limit 1"
    )
    await plant.commit()
    caller = {"user_id": "maria", "thread_id": "chat-1"}
    hold = {"order_id": order["order_id"], "reason": "customer revising drawing"}
    async with session_for("inventory", mcp_plant) as client:
        asked = await client.call_tool("hold_order", hold, meta={CALLER_META_KEY: caller})
        assert asked.structuredContent is not None
        approval_id = asked.structuredContent["error"]["details"][0]["approval_id"]
        async with mcp_plant.pool.connection() as conn:
            await decide_approval(
                conn, Actor(type="user", id="lead"), approval_id, status="APPROVED",
                decided_by=None,
            )  # fmt: skip
        # The agent runs the approved call itself, under the request, for maria.
        held = await client.call_tool(
            "hold_order", hold, meta={CALLER_META_KEY: {**caller, "approval_id": approval_id}}
        )
        malformed = await client.call_tool(
            "release_order", {"order_id": order["order_id"]}, meta={CALLER_META_KEY: {"user": 1}}
        )

    assert not held.isError and not malformed.isError
    rows = await fetch(
        plant,
        "select action, actor_type, actor_id, thread_id from audit_log "
        "where entity_id = %s order by audit_id",
        order["order_id"],
    )
    assert [(r["actor_type"], r["actor_id"], r["thread_id"]) for r in rows] == [
        ("agent", "maria", "chat-1"),
        ("user", "mcp-local", None),
    ]


@pytest.mark.anyio
async def test_an_idempotency_key_is_the_callers_own_and_tied_to_its_arguments(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    lines = [{"sku": "SKU-MH-4001", "quantity": 2}]
    order = {"customer_id": "TESLA", "due_at": "2026-04-15T17:00:00Z", "lines": lines,
             "idempotency_key": "po-77"}  # fmt: skip
    other = {**order, "lines": [{"sku": "SKU-MH-4001", "quantity": 3}]}

    def as_user(user: str) -> dict[str, Any]:
        return {CALLER_META_KEY: {"user_id": user}}

    before = await order_count(plant)
    async with session_for("inventory", mcp_plant) as client:
        first = await client.call_tool("create_order", order, meta=as_user("ana"))
        again = await client.call_tool("create_order", order, meta=as_user("ana"))
        changed = await client.call_tool("create_order", other, meta=as_user("ana"))
        theirs = await client.call_tool("create_order", order, meta=as_user("ben"))

    assert not first.isError and first.structuredContent is not None
    assert again.structuredContent == first.structuredContent  # a retry: the first order
    assert changed.isError and changed.structuredContent is not None
    error = changed.structuredContent["error"]
    assert (
        error["code"] == "conflict"
        and "already used for orders.create with other" in (error["message"])
    )
    assert not theirs.isError and theirs.structuredContent is not None
    assert theirs.structuredContent["lines"][0]["quantity"] == 2
    assert theirs.structuredContent["order_id"] != first.structuredContent["order_id"]
    assert await order_count(plant) == before + 2  # the retry and the refused call wrote nothing


async def order_count(conn: db.AsyncConn) -> int:
    cur = await conn.execute("select count(*) as n from orders")
    row = await cur.fetchone()
    await conn.commit()
    assert row is not None
    return int(row["n"])
