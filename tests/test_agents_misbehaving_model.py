"""The graph stays bounded and safe whatever the model does: a scripted chat model stands in for a
language model that calls tools that do not exist, passes arguments of the wrong type, repeats
a write, loops, gets a huge result, or answers nothing — the run ends, answers, and executes no
write a person has not approved."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from scripted_model import Script, ScriptedModel, call, route

from agents.models import LANGUAGE_MODEL_RESULT_CHARS
from agents.runtime import open_agents
from tools.core import db

LIMIT_S = 60


async def ask(db_url: str, script: Script, request: str = "do something") -> Any:
    model = ScriptedModel(script=script)
    with anyio.fail_after(LIMIT_S):
        async with open_agents(db_url, model=model) as agents:
            result = await agents.ask(request)
    return result, model


async def count(conn: db.AsyncConn, sql: str) -> int:
    row = await (await conn.execute(sql)).fetchone()
    assert row is not None
    return int(row["n"])


@pytest.mark.anyio
async def test_a_tool_that_does_not_exist_is_refused_as_a_result_and_the_run_answers(
    plant: db.AsyncConn, db_url: str
) -> None:
    def script(role: str, messages: Sequence[BaseMessage], n: int) -> AIMessage:
        if role == "supervisor":
            return route("maintenance")
        if role == "maintenance":
            return (
                call("launch_missiles", {"target": "all"}, n)
                if n == 0
                else AIMessage(content="Done.")
            )
        return AIMessage(content="The team could not do that.")

    result, _ = await ask(db_url, script)

    [made] = result.tool_calls
    assert made.name == "launch_missiles" and not made.ok
    assert result.answer == "The team could not do that."


@pytest.mark.anyio
async def test_arguments_of_the_wrong_type_are_refused_with_the_reason(
    plant: db.AsyncConn, db_url: str
) -> None:
    replies: list[str] = []

    def script(role: str, messages: Sequence[BaseMessage], n: int) -> AIMessage:
        if role == "supervisor":
            return route("inventory")
        if role == "inventory" and n == 0:
            return call("adjust_stock", {"sku": "SKU-BRG-6205", "facility_id": "PHX",
                                         "delta": "a lot", "reason": "x"}, n)  # fmt: skip
        if role == "inventory":
            replies.extend(str(m.content) for m in messages if isinstance(m, ToolMessage))
            return AIMessage(content="It did not go through.")
        return AIMessage(content="Nothing was changed.")

    before = await count(plant, "select count(*) as n from stock_movements")
    result, _ = await ask(db_url, script)

    assert [c.ok for c in result.tool_calls] == [False]
    assert replies and "delta" in replies[0]
    assert await count(plant, "select count(*) as n from stock_movements") == before


@pytest.mark.anyio
async def test_the_same_write_made_twice_runs_once(plant: db.AsyncConn, db_url: str) -> None:
    po = {"supplier_id": "NIPPONBEARING", "sku": "SKU-BRG-6205", "facility_id": "PHX",
          "quantity": 50, "unit_price": 18.5}  # fmt: skip

    def script(role: str, messages: Sequence[BaseMessage], n: int) -> AIMessage:
        if role == "supervisor":
            return route("inventory")
        if role == "inventory" and n < 2:
            return call("create_purchase_order", po, n)  # a new call ID each time
        return AIMessage(content="Ordered.")

    before = await count(plant, "select count(*) as n from purchase_orders")
    result, _ = await ask(db_url, script)

    assert [c.name for c in result.tool_calls] == ["create_purchase_order"] * 2
    assert await count(plant, "select count(*) as n from purchase_orders") == before + 1


@pytest.mark.anyio
async def test_a_specialist_that_never_stops_calling_is_stopped(
    plant: db.AsyncConn, db_url: str
) -> None:
    def script(role: str, messages: Sequence[BaseMessage], n: int) -> AIMessage:
        if role == "supervisor":
            return route("maintenance")
        if role == "maintenance":
            return call("machine_health", {"machine_id": "PHX-CNC-007"}, n)
        return AIMessage(content="")

    result, model = await ask(db_url, script)

    assert 0 < len(result.tool_calls) <= 8
    assert "stopped after 8 steps" in result.answer  # the composer said nothing: the report


@pytest.mark.anyio
async def test_a_huge_tool_result_reaches_the_model_cut_to_size_and_still_json(
    plant: db.AsyncConn, db_url: str
) -> None:
    def script(role: str, messages: Sequence[BaseMessage], n: int) -> AIMessage:
        if role == "supervisor":
            return route("maintenance")
        if role == "maintenance" and n == 0:
            return call("plant_health", {}, n)
        return AIMessage(content="Looked.")

    _, model = await ask(db_url, script)

    results = [m for seen in model.seen for m in seen if isinstance(m, ToolMessage)]
    assert results
    for message in results:
        text = str(message.content)
        assert len(text) <= LANGUAGE_MODEL_RESULT_CHARS + 20
        assert isinstance(json.loads(text), dict | list)


@pytest.mark.anyio
async def test_a_model_that_answers_nothing_still_gives_an_answer(
    plant: db.AsyncConn, db_url: str
) -> None:
    def script(role: str, messages: Sequence[BaseMessage], n: int) -> AIMessage:
        return AIMessage(content="")

    result, _ = await ask(db_url, script)

    assert result.answer and result.tool_calls == [] and result.approval is None


@pytest.mark.anyio
async def test_a_guarded_write_waits_for_a_person_and_a_rejection_executes_nothing(
    plant: db.AsyncConn, db_url: str
) -> None:
    def script(role: str, messages: Sequence[BaseMessage], n: int) -> AIMessage:
        if role == "supervisor":
            return route("inventory")
        if role == "inventory" and n < 2:  # asks again after the rejection
            return call("cancel_order", {"order_id": "ORD-10021", "reason": "because"}, n)
        return AIMessage(content="Stopped.")

    model = ScriptedModel(script=script)
    with anyio.fail_after(LIMIT_S):
        async with open_agents(db_url, model=model) as agents:
            first = await agents.ask("cancel everything")
            assert first.approval is not None and first.approval.action == "cancel_order"
            again = await agents.decide(first.thread_id, "reject", reason="no", user="lead")

    assert again.approval is not None  # the repeat is a new request for a person, not a cancel
    cur = await plant.execute("select status from orders where order_id = 'ORD-10021'")
    assert await cur.fetchone() == {"status": "CREATED"}
