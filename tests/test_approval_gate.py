"""The approval gate holds for every MCP caller, not only the agents: a desktop client's guarded
write raises one request and changes nothing; approved, the service runs it once, as the person
who asked; rejected, nothing runs. The one policy decides from the plant's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from api_helpers import bearer, client_for, key, running_app
from mcp_helpers import session_for
from psycopg.types.json import Jsonb

from api.http.app import expire_approvals
from mcp_servers.runtime import Plant, open_plant
from tools.accounts.permissions import deciders
from tools.approvals import policy, sweep
from tools.core import db
from tools.core.clock import FixedClock
from tools.core.operations import SYSTEM, Actor
from tools.core.settings import Settings
from tools.demo import plant as demo_plant
from tools.orders.progress import cancel_order
from tools.reactors import rules

CANCEL = {"order_id": "ORD-10021", "reason": "the customer withdrew it"}


async def status_of(conn: db.AsyncConn, order_id: str) -> str:
    cur = await conn.execute("select status from orders where order_id = %s", (order_id,))
    row = await cur.fetchone()
    assert row is not None
    return str(row["status"])


async def approvals(conn: db.AsyncConn) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "select approval_id, status, action, requested_by, executed_at, outcome, thread_id "
        "from approvals order by requested_at"
    )
    return await cur.fetchall()


@pytest.mark.anyio
async def test_a_clients_guarded_write_raises_one_request_and_changes_nothing(
    mcp_plant: Plant, plant: db.AsyncConn
) -> None:
    before = await status_of(plant, "ORD-10021")
    async with session_for("inventory", mcp_plant) as client:
        first = await client.call_tool("cancel_order", CANCEL)
        again = await client.call_tool("cancel_order", CANCEL)

    assert first.isError and first.structuredContent is not None
    error = first.structuredContent["error"]
    assert error["code"] == "approval_required"
    [details] = error["details"]
    assert details["action"] == "cancel_order" and details["permission"] == "ai.approve"
    assert details["deciders"] == ["supervisor", "production_manager", "admin"]
    assert details["decide_cli"] == f"titan approvals approve {details['approval_id']}"
    assert details["impact"]["order_id"] == "ORD-10021"
    assert "Nothing was done yet" in error["message"]
    assert again.isError and again.structuredContent is not None
    [reused] = again.structuredContent["error"]["details"]
    assert (reused["approval_id"], reused["reused"], details["reused"]) == (
        details["approval_id"],
        True,
        False,
    )  # the same request, found waiting: one request per decision
    assert await status_of(plant, "ORD-10021") == before
    [row] = await approvals(plant)
    assert (row["approval_id"], row["status"]) == (details["approval_id"], "PENDING")
    assert row["requested_by"] == "mcp-local" and row["thread_id"].startswith("mcp-")
    # The people who decide are told that it waits.
    await rules.process_pending(plant)
    cur = await plant.execute(
        "select subject, body from notifications where entity_type = 'approval' and entity_id = %s",
        (details["approval_id"],),
    )
    [note] = await cur.fetchall()
    assert note["subject"] == f"Waiting for your approval: cancel_order ({details['approval_id']})"
    assert f"titan approvals approve {details['approval_id']}" in note["body"]


@pytest.mark.anyio
async def test_approved_the_held_write_runs_once_and_its_outcome_is_kept(
    mcp_plant: Plant, plant: db.AsyncConn, db_url: str
) -> None:
    async with session_for("inventory", mcp_plant) as client:
        held = await client.call_tool("cancel_order", CANCEL)
    assert held.structuredContent is not None
    approval_id = held.structuredContent["error"]["details"][0]["approval_id"]
    # The request names supervisor as the least role that decides it: a supervisor may.
    manager = await key(plant, "supervisor")

    async with running_app(db_url) as app, client_for(app) as http:
        with anyio.fail_after(60):
            approved = await http.post(
                f"/approvals/{approval_id}/decision",
                json={"decision": "approve"},
                headers=bearer(manager),
            )
            twice = await http.post(
                f"/approvals/{approval_id}/decision",
                json={"decision": "approve"},
                headers=bearer(manager),
            )
    async with session_for("governance", mcp_plant) as client:
        read = await client.call_tool("get_approval", {"approval_id": approval_id})

    assert approved.status_code == 200, approved.text
    assert approved.json()["approval"]["status"] == "APPROVED"
    assert approved.json()["approval"]["outcome"]["ok"] is True
    assert twice.status_code == 409
    assert await status_of(plant, "ORD-10021") == "CANCELLED"
    cur = await plant.execute(
        "select count(*) as n from order_events where order_id = 'ORD-10021' "
        "and to_status = 'CANCELLED'"
    )
    assert await cur.fetchone() == {"n": 1}
    assert read.structuredContent is not None and read.structuredContent["executed_at"]
    cur = await plant.execute(
        "select actor_id, approval_id from audit_log where entity_id = 'ORD-10021' "
        "and approval_id is not null"
    )
    assert await cur.fetchall() == [{"actor_id": "mcp-local", "approval_id": approval_id}]


@pytest.mark.anyio
async def test_rejected_the_held_write_never_runs(
    mcp_plant: Plant, plant: db.AsyncConn, db_url: str
) -> None:
    before = await status_of(plant, "ORD-10021")
    await plant.commit()
    async with session_for("inventory", mcp_plant) as client:
        held = await client.call_tool("cancel_order", CANCEL)
    assert held.structuredContent is not None
    approval_id = held.structuredContent["error"]["details"][0]["approval_id"]
    manager = await key(plant, "production_manager")

    async with running_app(db_url) as app, client_for(app) as http:
        with anyio.fail_after(60):
            rejected = await http.post(
                f"/approvals/{approval_id}/decision",
                json={"decision": "reject", "reason": "keep it"},
                headers=bearer(manager),
            )

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["approval"]["status"] == "REJECTED"
    assert await status_of(plant, "ORD-10021") == before
    [row] = await approvals(plant)
    assert row["executed_at"] is None and row["outcome"] is None


@pytest.mark.anyio
async def test_a_purchase_order_waits_by_its_value_and_the_largest_for_a_manager(
    plant: db.AsyncConn,
) -> None:
    settings = Settings()
    # NipponBearing sells SKU-BRG-7014 at 610.00 USD and SKU-SPN-20K at 16,900.00 USD.
    small = {"supplier_id": "NIPPONBEARING", "sku": "SKU-BRG-7014", "quantity": 8}
    large = {**small, "quantity": 10}
    huge = {"supplier_id": "NIPPONBEARING", "sku": "SKU-SPN-20K", "quantity": 3}

    assert await policy.verdict(plant, "create_purchase_order", small, settings) is None
    held = await policy.verdict(plant, "create_purchase_order", large, settings)
    largest = await policy.verdict(plant, "create_purchase_order", huge, settings)

    assert held is not None and held.impact["value_usd"] == str(Decimal("6100.00"))
    assert held.permission == "ai.approve" and "above the 5000 USD limit" in held.reason
    assert largest is not None and largest.permission == "spend.approve"
    assert deciders(largest.permission) == ["production_manager", "admin"]


def test_a_policy_naming_a_tool_no_server_registers_fails_the_start() -> None:
    with pytest.raises(ValueError, match="no server registers: \\['cancel_order'\\]"):
        policy.check_registered(
            ["create_purchase_order"] + [n for n in policy.POLICY if n != "cancel_order"]
        )


def test_the_command_line_lists_and_approves_a_clients_request(db_url: str) -> None:
    from typer.testing import CliRunner

    from api.cli.main import app

    async def raise_request() -> str:
        async with db.connection(db_url) as conn:
            async with conn.transaction():
                await demo_plant.seed(conn, seed=42)
            async with open_plant(db_url) as plant, session_for("inventory", plant) as client:
                held = await client.call_tool("cancel_order", CANCEL)
        assert held.structuredContent is not None
        return str(held.structuredContent["error"]["details"][0]["approval_id"])

    async def order_status() -> str:
        async with db.connection(db_url) as conn:
            return await status_of(conn, "ORD-10021")

    approval_id = anyio.run(raise_request)
    runner = CliRunner()
    listed = runner.invoke(app, ["approvals", "list"])
    approved_now = runner.invoke(app, ["approvals", "approve", approval_id])
    again = runner.invoke(app, ["approvals", "approve", approval_id])

    assert listed.exit_code == 0 and approval_id in listed.output
    assert approved_now.exit_code == 0, approved_now.output
    assert '"ok": true' in approved_now.output
    assert anyio.run(order_status) == "CANCELLED"
    assert again.exit_code == 1 and "already decided" in again.output


@pytest.mark.anyio
async def test_a_request_left_unanswered_expires_and_its_waiting_thread_learns_it(
    plant: db.AsyncConn, db_url: str, fixed_clock: FixedClock
) -> None:
    from agents.runtime import open_agents

    async with open_agents(db_url) as agents:
        asked = await agents.ask("Cancel order ORD-10021, the customer withdrew it", None,
                                 user="maria", role="supervisor")  # fmt: skip
        assert asked.approval is not None
        async with open_plant(db_url) as mcp_plant, session_for("inventory", mcp_plant) as c:
            held = await c.call_tool("hold_order", {"order_id": "ORD-10020", "reason": "spec"})
        assert held.isError
        service = SimpleNamespace(pool=agents.plant.pool, agents=agents)

        fixed_clock.advance(timedelta(hours=23))
        early = await expire_approvals(service, timedelta(hours=24))  # type: ignore[arg-type]
        fixed_clock.advance(timedelta(hours=2))
        expired = await expire_approvals(service, timedelta(hours=24))  # type: ignore[arg-type]
        thread = await agents.thread(asked.thread_id)

    assert (early, expired) == (0, 2)
    statuses = {r["action"]: (r["status"], r["executed_at"]) for r in await approvals(plant)}
    assert statuses == {"cancel_order": ("EXPIRED", None), "hold_order": ("EXPIRED", None)}
    assert await status_of(plant, "ORD-10021") not in ("CANCELLED",)
    assert thread.approval is None and "expired unanswered after 24 plant hours" in thread.answer


async def reschedule_moving(plant: db.AsyncConn, jobs: int) -> int:
    """A proposed reschedule whose stored impact moves `jobs` jobs and makes none late."""
    cur = await plant.execute(
        "with base as (insert into schedules (status, objective, solver_status, horizon_start, "
        "horizon_end, created_at, created_by) values ('SUPERSEDED', 'makespan', 'OPTIMAL', "
        "now(), now() + interval '1 day', now(), 'test') returning schedule_id) "
        "insert into schedules (kind, based_on, status, objective, solver_status, "
        "horizon_start, horizon_end, created_at, created_by, impact) select 'RESCHEDULE', "
        "schedule_id, 'PROPOSED', 'makespan', 'OPTIMAL', now(), now() + interval '1 day', "
        "now(), 'test', %s from base returning schedule_id",
        (Jsonb({"jobs_moved": jobs, "orders_late": [], "overtime_minutes": 0, "moves": []}),),
    )
    row = await cur.fetchone()
    await plant.commit()
    assert row is not None
    return int(row["schedule_id"])


@pytest.mark.anyio
async def test_a_schedule_change_of_two_jobs_passes_and_one_of_five_waits_for_a_manager(
    plant: db.AsyncConn,
) -> None:
    two, five = await reschedule_moving(plant, 2), await reschedule_moving(plant, 5)

    small = await policy.verdict(plant, "apply_schedule", {"schedule_id": two}, Settings())
    large = await policy.verdict(plant, "apply_schedule", {"schedule_id": five}, Settings())

    assert small is None
    assert large is not None and "it moves 5 jobs (more than 3)" in large.reason
    assert large.impact["jobs_moved"] == 5 and large.permission == "schedule.approve"
    assert deciders(large.permission) == ["production_manager", "admin"]


@pytest.mark.anyio
async def test_a_request_whose_order_moved_on_is_withdrawn_and_approving_it_runs_nothing(
    mcp_plant: Plant, plant: db.AsyncConn, db_url: str
) -> None:
    async with session_for("inventory", mcp_plant) as client:
        held = await client.call_tool("cancel_order", CANCEL)
    assert held.structuredContent is not None
    approval_id = held.structuredContent["error"]["details"][0]["approval_id"]
    # Meanwhile a person cancels the order by hand: the request no longer applies.
    async with plant.transaction():
        await cancel_order(plant, Actor(type="user", id="dana"), "ORD-10021", reason="by phone")
    supervisor = await key(plant, "supervisor")
    async with plant.transaction():
        withdrawn = await sweep.withdraw_stale(plant, SYSTEM, Settings())
        again = await sweep.withdraw_stale(plant, SYSTEM, Settings())
    async with running_app(db_url) as app, client_for(app) as http:
        with anyio.fail_after(60):
            approved = await http.post(
                f"/approvals/{approval_id}/decision",
                json={"decision": "approve"},
                headers=bearer(supervisor),
            )

    assert [w["approval_id"] for w in withdrawn] == [approval_id] and again == []
    cur = await plant.execute("select status, decision_reason from approvals")
    [row] = await cur.fetchall()
    assert row["status"] == "WITHDRAWN"
    assert row["decision_reason"] == ("the request was withdrawn: order ORD-10021 is CANCELLED now")
    assert approved.status_code == 409 and "WITHDRAWN" in approved.json()["error"]["message"]
    cur = await plant.execute(
        "select count(*) as n from order_events where order_id = 'ORD-10021' "
        "and to_status = 'CANCELLED'"
    )
    assert await cur.fetchone() == {"n": 1}


async def work_order_on(conn: db.AsyncConn, machine_status: str) -> str:
    """An open work order on MUC-CNC-001 (shifts 06:00-22:00 Berlin time, a break at 10:00)."""
    await conn.execute(
        "update equipment set status = %s where machine_id = 'MUC-CNC-001'", (machine_status,)
    )
    cur = await conn.execute(
        "insert into work_orders (machine_id, kind, priority, description, created_at) "
        "values ('MUC-CNC-001', 'PREVENTIVE', 'MEDIUM', 'spindle service', now()) "
        "returning work_order_id"
    )
    row = await cur.fetchone()
    await conn.commit()
    assert row is not None
    return str(row["work_order_id"])


def window(wo: str, start: str, end: str) -> dict[str, Any]:
    return {"work_order_id": wo, "starts_at": start, "ends_at": end}


@pytest.mark.anyio
async def test_a_work_order_waits_only_when_it_takes_a_running_machine_out_of_a_shift(
    plant: db.AsyncConn, fixed_clock: FixedClock
) -> None:
    s = Settings()
    wo = await work_order_on(plant, "RUNNING")
    # Tuesday 09:00-13:00 in Munich: four hours of the early shift, less its half-hour break.
    day = await policy.verdict(
        plant, "schedule_work_order", window(wo, "2026-03-03T08:00Z", "2026-03-03T12:00Z"), s
    )
    night = await policy.verdict(
        plant, "schedule_work_order", window(wo, "2026-03-03T22:00Z", "2026-03-04T02:00Z"), s
    )
    assert day is not None and night is None
    assert "takes MUC-CNC-001 (running) out of production for 210 shift minutes" in day.reason
    assert day.impact["shift_minutes"] == 210 and day.permission == "ai.approve"

    # A machine that is down is not producing: its repair never waits.
    down = await work_order_on(plant, "DOWN")
    assert await policy.verdict(
        plant, "schedule_work_order", window(down, "2026-03-03T08:00Z", "2026-03-03T12:00Z"), s
    ) is None  # fmt: skip

    # An idle machine waits only when the schedule in force has work for it in the window.
    idle = await work_order_on(plant, "IDLE")
    spare = window(idle, "2026-03-03T08:00Z", "2026-03-03T12:00Z")
    assert await policy.verdict(plant, "schedule_work_order", spare, s) is None
    await plant.execute("update schedules set status = 'SUPERSEDED' where status = 'APPLIED'")
    cur = await plant.execute(
        "insert into schedules (status, objective, solver_status, horizon_start, horizon_end, "
        "created_at, created_by, applied_at) values ('APPLIED', 'makespan', 'OPTIMAL', now(), "
        "now() + interval '7 days', now(), 'planner', now()) returning schedule_id"
    )
    schedule = await cur.fetchone()
    assert schedule is not None
    await plant.execute(
        "insert into schedule_slots (schedule_id, order_id, line_no, op_seq, machine_id, "
        "starts_at, ends_at) select %s, order_id, line_no, 1, 'MUC-CNC-001', "
        "'2026-03-03T10:00Z', '2026-03-03T11:00Z' from order_lines "
        "where order_id = 'ORD-10021' order by line_no limit 1",
        (schedule["schedule_id"],),
    )
    await plant.commit()
    planned = await policy.verdict(plant, "schedule_work_order", spare, s)
    assert planned is not None and planned.impact["orders_planned"] == ["ORD-10021"]
    assert ", with work planned for 1 order(s)" in planned.reason

    # Started inside the window it was scheduled for, the start was decided with the window;
    # started unplanned on a running machine in a shift, it waits.
    await plant.execute(
        "update work_orders set status = 'SCHEDULED', scheduled_start = now() - interval '1 hour',"
        " scheduled_end = now() + interval '3 hours' where work_order_id = %s",
        (wo,),
    )
    await plant.execute("update equipment set status = 'RUNNING'")
    await plant.commit()
    fixed_clock.set(await db_now(plant))
    assert await policy.verdict(plant, "start_work_order", {"work_order_id": wo}, s) is None
    fixed_clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))  # Tuesday 09:00 in Munich
    unplanned = await policy.verdict(plant, "start_work_order", {"work_order_id": idle}, s)
    assert unplanned is not None and unplanned.impact["shift_minutes"] == 90
    assert "starting it now stops MUC-CNC-001, which is running" in unplanned.reason
    # Off shift a running machine still stops (it is producing now); an idle one does not wait.
    fixed_clock.set(datetime(2026, 3, 3, 23, 0, tzinfo=UTC))  # midnight in Munich
    late = await policy.verdict(plant, "start_work_order", {"work_order_id": idle}, s)
    assert late is not None and late.impact["shift_minutes"] == 0
    await plant.execute("update equipment set status = 'IDLE' where machine_id = 'MUC-CNC-001'")
    await plant.commit()
    assert await policy.verdict(plant, "start_work_order", {"work_order_id": idle}, s) is None


async def db_now(conn: db.AsyncConn) -> datetime:
    cur = await conn.execute("select now() as now")
    row = await cur.fetchone()
    assert row is not None
    return row["now"]  # type: ignore[no-any-return]
