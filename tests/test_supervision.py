"""Background work stays alive: a task that fails is restarted with backoff, counted, and shown
as down meanwhile; the service's event follower comes back after its database connection is
terminated, and committed events start runs again; so does the simulation engine, which plays
on."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from api_helpers import bearer, client_for, key, running_app

from agents.triggers import APPLICATION_NAME
from api.hosting.supervision import Supervisor
from api.http.service import Service
from tools.communications.inquiries import NewInquiry, create_inquiry
from tools.core import db
from tools.core.operations import Actor

pytestmark = pytest.mark.anyio


async def test_a_failing_task_is_restarted_counted_and_down_until_it_runs_again() -> None:
    restarts: list[str] = []
    supervisor = Supervisor(restarted=restarts.append, first_backoff_s=0.01)
    stopping, attempts, seen_down = asyncio.Event(), [], []

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) <= 2:
            raise ConnectionError("the database went away")
        seen_down.append(dict(supervisor.down))
        await stopping.wait()

    with anyio.fail_after(10):
        task = supervisor.start("flaky", flaky, stopping)
        while len(attempts) < 3:
            await asyncio.sleep(0.01)
        stopping.set()
        await task

    assert restarts == ["flaky", "flaky"] and len(attempts) == 3
    assert seen_down == [{}]  # running again, it is no longer down


async def _listening_followers(conn: db.AsyncConn) -> int:
    cur = await conn.execute(
        "select count(*) as n from pg_stat_activity where application_name = %s "
        "and query ilike 'listen%%'",
        (APPLICATION_NAME,),
    )
    row = await cur.fetchone()
    await conn.commit()
    return int(row["n"]) if row else 0


async def test_the_event_follower_comes_back_after_its_connection_is_terminated(
    plant: db.AsyncConn, db_url: str
) -> None:
    reader = await key(plant, "supervisor")
    with anyio.fail_after(90):
        async with running_app(db_url, event_runs=True) as app, client_for(app) as http:
            service: Service = app.state.titan
            while await _listening_followers(plant) == 0:
                await asyncio.sleep(0.05)
            await plant.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = %s",
                (APPLICATION_NAME,),
            )
            await plant.commit()
            while not service.metrics.restarts.labels(task="triggers")._value.get():
                await asyncio.sleep(0.05)
            while await _listening_followers(plant) == 0:
                await asyncio.sleep(0.05)
            ready = await http.get("/ready")
            inquiry = await create_inquiry(
                plant, Actor(type="user", id="portal"),
                NewInquiry(customer_id="TESLA", kind="STATUS", subject="ETA?",
                           body="When will our motor housings ship?"),
            )  # fmt: skip
            cur = await plant.execute(
                "select event_id from event_log where type = 'inquiry.created' and entity_id = %s",
                (inquiry.inquiry_id,),
            )
            row = await cur.fetchone()
            await plant.commit()
            assert row is not None
            thread_id = f"incident-{row['event_id']}"
            while not any(t.thread_id == thread_id for t in await service.agents.threads()):
                await asyncio.sleep(0.05)
            metrics = (await http.get("/metrics", headers=bearer(reader))).text

    assert ready.status_code == 200 and ready.json()["down"] == []
    assert 'titan_background_restarts_total{task="triggers"} 1.0' in metrics


async def test_the_simulation_engine_is_restarted_after_its_connection_is_terminated(
    plant: db.AsyncConn, db_url: str
) -> None:
    from api.hosting.engine_host import APPLICATION_NAME as ENGINE

    with anyio.fail_after(90):
        async with running_app(db_url, simulate=True) as app:
            service: Service = app.state.titan
            while not await _engine_connections(plant, ENGINE):
                await asyncio.sleep(0.05)
            await plant.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = %s",
                (ENGINE,),
            )
            await plant.commit()
            while not service.metrics.restarts.labels(task="simulation")._value.get():
                await asyncio.sleep(0.05)
            while not await _engine_connections(plant, ENGINE):
                await asyncio.sleep(0.05)
            ticked = await _ticks(plant)
            while await _ticks(plant) == ticked:  # the engine plays on
                await asyncio.sleep(0.05)


async def _engine_connections(conn: db.AsyncConn, name: str) -> int:
    cur = await conn.execute(
        "select count(*) as n from pg_stat_activity where application_name = %s", (name,)
    )
    row = await cur.fetchone()
    await conn.commit()
    return int(row["n"]) if row else 0


async def _ticks(conn: db.AsyncConn) -> object:
    cur = await conn.execute("select plant_time from sim_state")
    row = await cur.fetchone()
    await conn.commit()
    return row["plant_time"] if row else None
