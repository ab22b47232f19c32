"""The scheduler specialist works through the scheduling MCP server."""

from __future__ import annotations

import anyio
import pytest

from agents.runtime import open_agents
from tools.core import db
from tools.core.clock import FixedClock


@pytest.mark.anyio
async def test_asking_whether_an_order_makes_its_date_answers_with_its_plan_and_writes_nothing(
    plant: db.AsyncConn, db_url: str, fixed_clock: FixedClock
) -> None:
    with anyio.fail_after(60):
        async with open_agents(db_url) as agents:
            result = await agents.ask("Can we still make the date on ORD-10013?")

    assert result.route == ["scheduler"]
    calls = [(c.name, c.args) for c in result.tool_calls]
    assert calls == [("check_due_dates", {"order_ids": ["ORD-10013"]})]
    assert "ORD-10013" in result.answer
    assert "makes its date" in result.answer or "late" in result.answer
    # A question is answered from a what-if: no proposal is left behind.
    cur = await plant.execute("select count(*) as n from schedules")
    assert await cur.fetchone() == {"n": 0}


@pytest.mark.anyio
async def test_a_shipped_order_is_not_planned_again(plant: db.AsyncConn, db_url: str) -> None:
    with anyio.fail_after(60):
        async with open_agents(db_url) as agents:
            result = await agents.ask("Can we still make the date on ORD-10003?")

    assert "propose_schedule" not in [c.name for c in result.tool_calls]
    assert "SHIPPED" in result.answer and "shipment" in result.answer
