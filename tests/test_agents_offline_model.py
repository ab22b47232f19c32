"""The offline model: entities, tool calls filled from the request and earlier results, answers."""

from __future__ import annotations

import json
from datetime import date

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agents.offline import OfflineChatModel
from agents.offline.entities import extract
from agents.prompts import PROMPT_NAMES, load_prompt


def spec(name: str, *params: str) -> dict[str, object]:
    return {
        "name": name,
        "description": name,
        "parameters": {"type": "object", "properties": {p: {"type": "string"} for p in params}},
    }


MAINTENANCE = [
    spec("detect_anomalies", "machine_ids"),
    spec("classify_fault", "machine_id"),
    spec("predict_failure", "machine_id", "failure_mode"),
    spec("create_work_order", "machine_id", "kind", "priority", "description", "fault_type"),
]
INVENTORY = [
    spec("stock_levels", "sku", "facility_id"),
    spec("get_order", "order_id"),
    spec("hold_order", "order_id", "reason"),
    spec("review_order", "order_id"),
]


def test_entities_of_every_kind_are_recognised() -> None:
    found = extract(
        "Boeing wants 40 units of sku-tb-1001 from Phoenix by 2026-04-01: see "
        "ORD-10003, PHX-CNC-007, WO-3001, SHP-7003, PO-5001 and NipponBearing's delay"
    )

    assert found.customers == ["BOEING"] and found.suppliers == ["NIPPONBEARING"]
    assert found.skus == ["SKU-TB-1001"] and found.orders == ["ORD-10003"]
    assert found.machines == ["PHX-CNC-007"] and found.facilities == ["PHX"]
    assert found.work_orders == ["WO-3001"] and found.shipments == ["SHP-7003"]
    assert found.purchase_orders == ["PO-5001"]
    assert found.dates == [date(2026, 4, 1)] and found.quantities == [40]


def test_a_specialist_call_takes_its_arguments_from_the_request() -> None:
    model = OfflineChatModel().bind_tools(INVENTORY)
    reply = model.invoke(
        [
            SystemMessage(content="inventory"),
            HumanMessage(content="How much SKU-BRG-7014 is in stock in Munich?"),
        ]
    )

    assert isinstance(reply, AIMessage)
    assert reply.tool_calls[0]["name"] == "stock_levels"
    assert reply.tool_calls[0]["args"] == {"sku": "SKU-BRG-7014", "facility_id": "MUC"}


def test_later_calls_take_their_arguments_from_earlier_results() -> None:
    model = OfflineChatModel().bind_tools(MAINTENANCE)
    history = [HumanMessage(content="Handle the incident on PHX-CNC-007")]
    diagnosis = {
        "machine_id": "PHX-CNC-007",
        "fault_type": "BEARING_DEGRADATION",
        "confidence": 0.9,
        "candidates": [],
    }
    for name, result in (("detect_anomalies", {"findings": []}), ("classify_fault", diagnosis)):
        call = model.invoke(history)
        assert isinstance(call, AIMessage) and call.tool_calls[0]["name"] == name
        history += [
            call,
            ToolMessage(content=json.dumps(result), tool_call_id=call.tool_calls[0]["id"]),
        ]

    predict = model.invoke(history)

    assert isinstance(predict, AIMessage)
    assert predict.tool_calls[0]["name"] == "predict_failure"
    assert predict.tool_calls[0]["args"] == {
        "machine_id": "PHX-CNC-007",
        "failure_mode": "BEARING_DEGRADATION",
    }


def test_the_answer_restates_the_results_with_their_numbers_and_ids() -> None:
    model = OfflineChatModel().bind_tools(INVENTORY)
    ask = [HumanMessage(content="Stock of SKU-BRG-7014 at PHX?")]
    call = model.invoke(ask)
    assert isinstance(call, AIMessage)
    rows = {
        "result": [
            {
                "sku": "SKU-BRG-7014",
                "facility_id": "PHX",
                "on_hand": 2,
                "reserved": 0,
                "available": 2,
                "reorder_point": 4,
            }
        ]
    }
    answer = model.invoke(
        [*ask, call, ToolMessage(content=json.dumps(rows), tool_call_id=call.tool_calls[0]["id"])]
    )

    assert isinstance(answer, AIMessage) and answer.tool_calls == []
    assert "SKU-BRG-7014 at PHX: 2 on hand" in answer.text and "reorder point 4" in answer.text


def test_a_failed_call_is_reported_as_a_sentence_and_nothing_more_is_called() -> None:
    model = OfflineChatModel().bind_tools(INVENTORY)
    ask = [HumanMessage(content="Put ORD-99999 on hold")]
    call = model.invoke(ask)
    assert isinstance(call, AIMessage) and call.tool_calls[0]["name"] == "get_order"
    failed = ToolMessage(
        content="order ORD-99999 not found", status="error", tool_call_id=call.tool_calls[0]["id"]
    )

    answer = model.invoke([*ask, call, failed])

    assert isinstance(answer, AIMessage) and answer.tool_calls == []
    assert answer.text == "get_order did not go through: order ORD-99999 not found"


def test_the_same_conversation_gets_the_same_reply() -> None:
    model = OfflineChatModel().bind_tools(MAINTENANCE)
    ask = [HumanMessage(content="Why is PHX-CNC-007 vibrating?")]

    first, second = model.invoke(ask), model.invoke(ask)

    assert isinstance(first, AIMessage) and isinstance(second, AIMessage)
    assert first.tool_calls == second.tool_calls and first.text == second.text


def test_without_tools_the_model_returns_the_report_it_is_given() -> None:
    reply = OfflineChatModel().invoke(
        [
            SystemMessage(content="compose"),
            HumanMessage(content="request"),
            HumanMessage(content="Found:\n- x"),
        ]
    )

    assert reply.text == "Found:\n- x"


def test_every_agent_has_its_prompt_file() -> None:
    for name in PROMPT_NAMES:
        assert len(load_prompt(name)) > 200, name
