"""The offline model routes requests to the specialists they need, in the order they need them."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agents.offline import OfflineChatModel
from agents.offline.routing import route
from agents.supervisor import Route

ROUTES: list[tuple[str, list[str]]] = [
    # maintenance
    ("Why is PHX-CNC-007 vibrating?", ["maintenance"]),
    ("What is the health of MUC-CNC-001?", ["maintenance"]),
    ("Predict when PHX-CNC-012 will fail", ["maintenance"]),
    ("Show the open work orders in Phoenix", ["maintenance"]),
    ("What was the OEE in Munich last week?", ["maintenance"]),
    ("List the anomalies recorded today", ["maintenance"]),
    ("Which machines are in Detroit?", ["maintenance"]),
    ("Start work order WO-3001", ["maintenance"]),
    # inventory and orders
    ("How much SKU-TB-1001 do we have in stock?", ["inventory"]),
    ("Where else can we get SKU-BRG-7014 if Phoenix is short?", ["inventory"]),
    ("Show the reorder plan for SKU-BRG-6205 at PHX", ["inventory"]),
    ("Which purchase orders does NipponBearing have open?", ["inventory"]),
    ("Validate order ORD-10002", ["inventory"]),
    ("Put ORD-10004 on hold, the customer asked us to wait", ["inventory"]),
    ("Cancel order ORD-10005", ["inventory"]),
    ("Reserve stock for ORD-10006", ["inventory"]),
    ("Create a rush order for Boeing: 20 units SKU-TB-1001 due 2026-04-01", ["inventory"]),
    ("Show purchase order PO-5001", ["inventory"]),
    # logistics
    ("Track 894086151462", ["logistics"]),
    ("What is the status of shipment SHP-7003?", ["logistics"]),
    ("Which carriers do we ship with?", ["logistics"]),
    ("Which shipments are delayed?", ["logistics"]),
    ("Where is Tesla's order?", ["logistics"]),
    ("Get me a shipping estimate from PHX for 40 kg", ["logistics"]),
    # scheduler
    ("Can we make the due date for ORD-10003?", ["scheduler"]),
    ("Where is the bottleneck in Munich this week?", ["scheduler"]),
    ("Reschedule the Munich line without MUC-CNC-001", ["maintenance", "scheduler"]),
    ("Do we need overtime to finish the aero orders?", ["scheduler"]),
    # governance
    ("Produce the FAA audit report for last month", ["governance"]),
    ("Trace order ORD-10001 for the auditor", ["governance"]),
    ("Is order ORD-10003 compliant with Boeing's contract terms?", ["governance"]),
    ("Who changed PO-5002 and when? Show the audit trail", ["inventory", "governance"]),
    ("List the tables in Titan's data catalog", ["governance"]),
    # communications
    ("Show the open customer inquiries", ["communications"]),
    ("Answer inquiry INQ-9001 with the new ETA", ["communications"]),
    ("Send Boeing an email apologising for the delay", ["communications"]),
    ("Notify the plant manager that the night shift starts late", ["scheduler", "communications"]),
    # several specialists
    (
        "Phoenix incident on PHX-CNC-007: what is wrong, any bearings, tell the plant manager",
        ["maintenance", "inventory", "communications"],
    ),
    ("Where is Boeing's order and can we still make the date?", ["logistics", "scheduler"]),
    (
        "PHX-CNC-007 bearing is failing: do we have spare bearings in stock?",
        ["maintenance", "inventory"],
    ),
    (
        "NipponBearing is delayed: which purchase orders are affected, re-plan, notify customers",
        ["inventory", "scheduler", "communications"],
    ),
    ("Reserve stock for ORD-10006 and create its shipment", ["inventory", "logistics"]),
    (
        "Trace ORD-10001 and tell Boeing the traceability record is ready",
        ["governance", "communications"],
    ),
]

OUT_OF_SCOPE = [
    "What's the weather in Paris tomorrow?",
    "Write me a poem about cats",
    "Who won the football match yesterday?",
]


def test_the_routing_table_covers_every_specialist_and_forty_requests() -> None:
    assert len(ROUTES) >= 40
    covered = {agent for _, agents in ROUTES for agent in agents}
    assert covered == {
        "maintenance",
        "inventory",
        "logistics",
        "scheduler",
        "governance",
        "communications",
    }


@pytest.mark.parametrize(("request_text", "expected"), ROUTES)
def test_a_request_is_routed_to_the_specialists_it_needs_in_order(
    request_text: str, expected: list[str]
) -> None:
    assert route(request_text) == expected


@pytest.mark.parametrize("request_text", OUT_OF_SCOPE)
def test_a_request_outside_plant_operations_is_routed_nowhere(request_text: str) -> None:
    assert route(request_text) == []


def test_the_supervisor_gets_its_route_as_a_tool_call() -> None:
    router = OfflineChatModel().bind_tools([Route])
    reply = router.invoke(
        [
            SystemMessage(content="route"),
            HumanMessage(content="Where is Boeing's order and can we still make the date?"),
        ]
    )

    assert isinstance(reply, AIMessage)
    assert reply.tool_calls[0]["name"] == "Route"
    assert reply.tool_calls[0]["args"]["agents"] == ["logistics", "scheduler"]


def test_an_out_of_scope_request_gets_a_polite_refusal_listing_what_titan_does() -> None:
    router = OfflineChatModel().bind_tools([Route])
    reply = router.invoke([HumanMessage(content="Write me a poem about cats")])

    assert isinstance(reply, AIMessage)
    assert reply.tool_calls == []
    assert "did not understand" in reply.text
    assert "maintenance" in reply.text and "logistics" in reply.text
