"""The offline model plays each part of the graph by what it is bound to: the supervisor routes
with a task per intent, a specialist (told its role) carries out its tasks' plans one call at a
time from the results so far, the composer joins the answers, and `decide` reads yes or no."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agents.decisions import Decide
from agents.offline import OfflineChatModel
from agents.offline.understanding import example_names
from agents.report import report
from agents.supervisor import Route
from agents.tasks import read_tasks, render_tasks


def spec(name: str, *params: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "name": name,
        "description": name,
        "parameters": {
            "type": "object",
            "properties": {p: {"type": "string"} for p in params},
            "required": list(required),
        },
    }


MAINTENANCE = [
    spec("machine_health", "machine_id", required=("machine_id",)),
    spec("scan_anomalies", "machine_ids"),
    spec("classify_fault", "machine_id", required=("machine_id",)),
    spec("estimate_failure", "machine_id", "failure_mode", required=("machine_id",)),
]


def model() -> OfflineChatModel:
    class Names:
        async def names(self):  # type: ignore[no-untyped-def]
            return example_names()

        def cached(self):  # type: ignore[no-untyped-def]
            return example_names()

    return OfflineChatModel().with_directory(Names())


def routed(text: str) -> dict[str, Any]:
    reply = (
        model()
        .bind_tools([Route])
        .invoke([SystemMessage(content="route"), HumanMessage(content=text)])
    )
    assert isinstance(reply, AIMessage)
    [call] = reply.tool_calls
    return call["args"]


def test_the_supervisor_routes_with_one_task_per_part_of_the_request() -> None:
    args = routed("Where is Boeing's order ORD-10003 and can we still make the date?")

    assert args["agents"] == ["logistics", "scheduler"]
    tasks = {t["agent"]: read_tasks(render_tasks([t["instruction"]]))[0] for t in args["tasks"]}
    assert tasks["logistics"].intent == "logistics.where_is_order"
    assert tasks["logistics"].slots == {"order": "ORD-10003", "customer": "BOEING"}
    assert tasks["scheduler"].intent == "scheduling.due_date"
    assert "ORD-10003" in tasks["scheduler"].instruction


def test_the_supervisor_answers_itself_when_there_is_nothing_to_route() -> None:
    reply = model().bind_tools([Route]).invoke([HumanMessage(content="Write me a poem about cats")])

    assert isinstance(reply, AIMessage) and not reply.tool_calls
    assert "isn't something I can help with" in reply.text


def specialist_turn(*results: tuple[str, dict[str, Any], Any], fail: bool = False) -> AIMessage:
    task = render_tasks(['diagnose ⟦maintenance.diagnose {"machine": "PHX-CNC-007"}⟧'])
    messages: list[Any] = [
        SystemMessage(content="Role: maintenance\n\nYou are Titan's maintenance specialist."),
        HumanMessage(content="Why is PHX-CNC-007 vibrating?"),
        HumanMessage(content=task),
    ]
    for i, (name, args, data) in enumerate(results):
        messages.append(
            AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"c{i}"}])
        )
        last = i == len(results) - 1
        messages.append(
            ToolMessage(
                content=json.dumps(data) if not (fail and last) else "machine is offline",
                tool_call_id=f"c{i}",
                name=name,
                status="error" if fail and last else "success",
            )
        )
    reply = model().bind_tools(MAINTENANCE).invoke(messages)
    assert isinstance(reply, AIMessage)
    return reply


def test_a_specialist_makes_its_plans_calls_in_order_filling_them_from_earlier_results() -> None:
    first = specialist_turn()
    later = specialist_turn(
        ("machine_health", {"machine_id": "PHX-CNC-007"}, {"machine_id": "PHX-CNC-007"}),
        ("scan_anomalies", {"machine_ids": ["PHX-CNC-007"]}, {"findings": []}),
        ("classify_fault", {"machine_id": "PHX-CNC-007"},
         {"machine_id": "PHX-CNC-007", "fault_type": "BEARING_DEGRADATION", "confidence": 0.9,
          "candidates": [{"fault_type": "BEARING_DEGRADATION", "evidence": ["vibration rising"]}]}),
    )  # fmt: skip

    assert [(c["name"], c["args"]) for c in first.tool_calls] == [
        ("machine_health", {"machine_id": "PHX-CNC-007"})
    ]
    assert [(c["name"], c["args"]) for c in later.tool_calls] == [
        ("estimate_failure", {"machine_id": "PHX-CNC-007", "failure_mode": "BEARING_DEGRADATION"})
    ]


def test_a_specialist_answers_in_words_once_its_plan_is_done() -> None:
    done = specialist_turn(
        ("machine_health", {"machine_id": "PHX-CNC-007"}, {"machine_id": "PHX-CNC-007"}),
        ("scan_anomalies", {"machine_ids": ["PHX-CNC-007"]}, {"findings": []}),
        (
            "classify_fault",
            {"machine_id": "PHX-CNC-007"},
            {"machine_id": "PHX-CNC-007", "fault_type": None},
        ),
    )

    assert done.tool_calls == []
    assert done.text.startswith("The readings of PHX-CNC-007 point to no particular fault.")
    assert "{" not in done.text and "machine_id" not in done.text  # words, not a dump


def test_a_failed_call_is_said_in_a_sentence_and_nothing_more_is_called() -> None:
    done = specialist_turn(("machine_health", {"machine_id": "PHX-CNC-007"}, {}), fail=True)

    assert done.tool_calls == []
    assert done.text == "I could not look that up: machine is offline."


def test_the_composer_joins_the_specialists_answers_without_the_reports_headings() -> None:
    state: Any = {
        "findings": [
            {"agent": "logistics", "summary": "Order ORD-10003 is shipped."},
            {"agent": "scheduler", "summary": "ORD-10003 (due Thu 5 Mar 2026): SHIPPED."},
        ],
        "actions": [],
    }
    reply = model().invoke(
        [
            SystemMessage(content="compose"),
            HumanMessage(content="q"),
            HumanMessage(content=report(state)),
        ]
    )

    assert reply.text == "Order ORD-10003 is shipped.\n\nORD-10003 (due Thu 5 Mar 2026): SHIPPED."


def test_decide_reads_yes_and_no_with_the_reason() -> None:
    bound = model().bind_tools([Decide])
    yes = bound.invoke([SystemMessage(content="decide"), HumanMessage(content="yes, go ahead")])
    no = bound.invoke(
        [
            SystemMessage(content="decide"),
            HumanMessage(content="no, the customer changed their mind"),
        ]
    )
    other = bound.invoke(
        [SystemMessage(content="decide"), HumanMessage(content="where is ORD-10003?")]
    )

    assert isinstance(yes, AIMessage) and yes.tool_calls[0]["args"] == {"decision": "approve"}
    assert isinstance(no, AIMessage)
    assert no.tool_calls[0]["args"] == {
        "decision": "reject",
        "reason": "the customer changed their mind",
    }
    assert isinstance(other, AIMessage) and other.tool_calls == []


def test_the_same_conversation_gets_the_same_reply() -> None:
    assert routed("Cancel ORD-10021, Rivian withdrew it") == routed(
        "Cancel ORD-10021, Rivian withdrew it"
    )


def test_a_decision_that_leads_a_longer_answer_is_read_with_its_reason() -> None:
    bound = model().bind_tools([Decide])
    reply = bound.invoke(
        [
            SystemMessage(content="decide"),
            HumanMessage(content="no, leave it - we'll borrow one from Munich"),
        ]
    )

    assert isinstance(reply, AIMessage)
    assert reply.tool_calls[0]["args"] == {
        "decision": "reject",
        "reason": "leave it - we'll borrow one from Munich",
    }


INVENTORY = [
    spec("stock_levels", "sku", "facility_id"),
    spec("adjust_stock", "sku", "facility_id", "delta", "kind", "reason",
         required=("sku", "facility_id", "delta")),
]  # fmt: skip


def inventory_turn(request: str, *results: tuple[str, dict[str, Any], Any]) -> AIMessage:
    messages: list[Any] = [
        SystemMessage(content="Role: inventory\n\nYou are Titan's inventory specialist."),
        HumanMessage(content=request),
    ]
    for i, (name, args, data) in enumerate(results):
        messages.append(
            AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"c{i}"}])
        )
        messages.append(ToolMessage(content=json.dumps(data), tool_call_id=f"c{i}", name=name))
    reply = model().bind_tools(INVENTORY).invoke(messages)
    assert isinstance(reply, AIMessage)
    return reply


def test_stock_is_read_before_it_is_booked_out_and_more_than_is_free_is_not_tried() -> None:
    request = "scrap 900 of SKU-BRG-6205 at Munich, water got into the store"
    level = {
        "sku": "SKU-BRG-6205",
        "facility_id": "MUC",
        "on_hand": 217,
        "reserved": 0,
        "available": 217,
    }

    first = inventory_turn(request)
    done = inventory_turn(
        request, ("stock_levels", {"sku": "SKU-BRG-6205", "facility_id": "MUC"}, [level])
    )

    assert [c["name"] for c in first.tool_calls] == ["stock_levels"]
    assert done.tool_calls == []
    assert done.text.startswith("Nothing was booked: SKU-BRG-6205 at")
    assert "217 free" in done.text and "900 cannot be taken out" in done.text


def test_stock_that_is_there_is_booked_out() -> None:
    request = "scrap 20 of SKU-BRG-6205 at Munich, water got into the store"
    level = {
        "sku": "SKU-BRG-6205",
        "facility_id": "MUC",
        "on_hand": 217,
        "reserved": 0,
        "available": 217,
    }

    reply = inventory_turn(
        request, ("stock_levels", {"sku": "SKU-BRG-6205", "facility_id": "MUC"}, [level])
    )

    [call] = reply.tool_calls
    assert call["name"] == "adjust_stock"
    assert call["args"]["delta"] == -20 and call["args"]["kind"] == "SCRAP"


def test_a_change_the_lifecycle_forbids_is_explained_not_attempted() -> None:
    tools = [
        spec("get_work_order", "work_order_id", required=("work_order_id",)),
        spec("cancel_work_order", "work_order_id", "reason", required=("work_order_id",)),
    ]
    request = "cancel WO-3001, the fitter says it is not needed"
    looked = {"work_order_id": "WO-3001", "status": "IN_PROGRESS", "machine_id": "DET-CNC-003"}
    messages: list[Any] = [
        SystemMessage(content="Role: maintenance\n\nYou are Titan's maintenance specialist."),
        HumanMessage(content=request),
    ]
    first = model().bind_tools(tools).invoke(messages)
    assert isinstance(first, AIMessage)
    call = {"name": "get_work_order", "args": {"work_order_id": "WO-3001"}, "id": "c0"}
    messages += [
        AIMessage(content="", tool_calls=[call]),
        ToolMessage(content=json.dumps(looked), tool_call_id="c0", name="get_work_order"),
    ]
    done = model().bind_tools(tools).invoke(messages)

    assert [c["name"] for c in first.tool_calls] == ["get_work_order"]
    assert isinstance(done, AIMessage) and done.tool_calls == []
    assert done.text == (
        "Nothing was changed: work order WO-3001 is in progress, so it cannot be cancelled "
        "(from in progress it can only become completed)."
    )
