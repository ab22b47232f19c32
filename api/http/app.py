"""The Titan service: the FastAPI app and what its lifespan opens and closes.

Start: locate the database (embedded unless DATABASE_URL), migrate it, seed the demo plant when
it has no facilities, make the first admin key when there is none, open the agent team (its
pool is the service's), the MCP endpoints `/mcp/<domain>`, the event hub, the reactor loop and,
when asked, the simulation engine. Stop: the engine finishes its tick and releases its lock,
live streams end, the reactor loop finishes the event in hand, then the pool closes. With
TITAN_INGEST_MQTT_URL set, the MQTT ingest runs inside too (stopped before the engine, storing
what it received); `/metrics` reads every ingest's status row when scraped.

Several service processes may share a database (`titan serve --workers N`, or replicas): the
engine runs in the one holding its lock while the others follow its plant time
(`api.hosting.engine_host`), and the MQTT ingest runs in the leading one (`api.hosting.leadership`).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import psycopg
from fastapi import FastAPI

from agents.checkpoints import prepare_checkpointer
from agents.runtime import open_agents
from agents.thread_locks import ThreadLocks
from agents.triggers import follow_events
from api.hosting.engine_host import engine_running
from api.hosting.leadership import Leadership, while_leading
from api.hosting.supervision import Supervisor
from api.http import errors
from api.http.metrics import Metrics, RequestMetrics
from api.http.routes import approvals as routes_approvals
from api.http.routes import audit as routes_audit
from api.http.routes import board as routes_board
from api.http.routes import chat as routes_chat
from api.http.routes import console as routes_console
from api.http.routes import keys as routes_keys
from api.http.routes import live as routes_live
from api.http.routes import ops as routes_ops
from api.http.routes import plant as routes_plant
from api.http.routes import schedule as routes_schedule
from api.http.routes import sim as routes_sim
from api.http.service import EventHub, Service
from ingest.runner import mqtt_ingest
from mcp_servers.gate import run_by_service, settle_request
from mcp_servers.http import PlantRef, build_http_servers, mcp_routes, running
from mcp_servers.runtime import Plant
from mcp_servers.servers import DOMAINS
from tools.accounts import accounts
from tools.approvals import requests, sweep
from tools.core import admin, db
from tools.core.errors import TitanError
from tools.core.operations import SYSTEM
from tools.core.settings import configure_logging, get_settings
from tools.demo import plant as demo_plant
from tools.reactors import rules as reactors
from tools.reactors import timed

log = logging.getLogger(__name__)

KeyShown = Callable[[accounts.IssuedKey], None]
WORKER_ENV = "TITAN_SERVE_WORKER"  # the options of `titan serve --workers N`, for each worker


async def prepare(url: str, *, seed: int, on_admin_key: KeyShown | None) -> None:
    """Migrate, set up the checkpoint tables, seed the demo plant into an empty database, make
    the first admin key."""
    async with db.connection(url) as conn:
        await admin.prepare(conn)
        await prepare_checkpointer(url)
        async with conn.transaction():
            cur = await conn.execute("select exists (select 1 from facilities) as loaded")
            row = await cur.fetchone()
            if not (row and row["loaded"]):
                summary = await demo_plant.seed(conn, seed=seed)
                log.info("seeded the demo plant (seed %s)", summary.seed)
        if on_admin_key is None:
            return
        async with conn.transaction():
            if await accounts.has_admin_key(conn):
                return
            issued = await accounts.create_key(
                conn, SYSTEM, role="admin", user_id="admin", label="made at first start"
            )
        on_admin_key(issued)  # shown only once it is committed


async def _react(service: Service) -> None:
    """Run the reactors on committed events, woken by the event hub, until the service stops."""
    async with service.hub.waiter() as waiter:
        while True:
            try:
                async with service.pool.connection() as conn:
                    while await reactors.process_pending(conn) >= 500:
                        pass
            except (psycopg.Error, TitanError) as exc:
                log.warning("the reactors could not run (%s); retrying on the next event", exc)
            if not await waiter.wait():
                return


EXPIRY_CHECK_S = 30.0
# The user an expiry is decided as, in the agents' resumed thread.
EXPIRER = "titan"


async def expire_approvals(service: Service, ttl: timedelta) -> int:
    """Expire the approval requests pending longer than `ttl` (plant time) and resume the agent
    threads that waited on them with that outcome; how many expired."""
    async with service.pool.connection() as conn:
        expired = await requests.expire_requests(conn, SYSTEM, ttl=ttl)
    await _tell_threads(service, expired, "expired")
    return len(expired)


async def withdraw_stale_approvals(service: Service) -> int:
    """Withdraw the pending requests whose entity has moved on (`tools.approvals.sweep`) and
    resume the agent threads that waited on them with that outcome; how many were withdrawn."""
    async with service.pool.connection() as conn:
        withdrawn = await sweep.withdraw_stale(conn, SYSTEM, get_settings())
    await _tell_threads(service, withdrawn, "was withdrawn")
    return len(withdrawn)


async def settle_decisions(service: Service) -> int:
    """Carry out the decisions whose decider died before acting on them (`requests.unsettled`):
    resume the agent thread that still waits, or run a client's held call once; how many."""
    async with service.pool.connection() as conn:
        rows = await requests.unsettled(conn)
    plant = Plant(pool=service.pool, location=service.location)
    for row in rows:
        log.warning("approval %s was decided (%s) but not carried out; carrying it out now",
                    row["approval_id"], row["status"])  # fmt: skip
        try:
            if run_by_service(row["thread_id"]):
                await settle_request(plant, row["approval_id"])
            else:
                await service.agents.settle(row["thread_id"], row["approval_id"])
        except TitanError as exc:
            log.warning("approval %s could not be carried out: %s", row["approval_id"], exc)
            async with service.pool.connection() as conn:
                await requests.settle(conn, row["approval_id"])  # said once, not retried forever
    return len(rows)


async def _tell_threads(service: Service, rows: list[dict[str, Any]], what: str) -> None:
    for row in rows:
        if run_by_service(row["thread_id"]):
            continue  # no thread of ours waits (a client, LangGraph's server): get_approval says
        try:
            await service.agents.decide(row["thread_id"], "reject", user=EXPIRER, role="admin")
        except TitanError as exc:
            log.warning("thread %s could not learn that %s %s: %s", row["thread_id"],
                        row["approval_id"], what, exc)  # fmt: skip


async def _expire(
    service: Service, ttl: timedelta, stopping: asyncio.Event, leading: asyncio.Event
) -> None:
    """At start and every `EXPIRY_CHECK_S` seconds until the service stops: expire the requests
    left unanswered too long, withdraw those whose entity has moved on, and (in the process that
    leads) carry out the decisions a dead process left undone."""
    while not stopping.is_set():
        try:
            await expire_approvals(service, ttl)
            await withdraw_stale_approvals(service)
            if leading.is_set():
                await settle_decisions(service)
        except (psycopg.Error, TitanError) as exc:
            log.warning("approvals could not be expired (%s); retrying", exc)
        # The next round: after the interval, or at once when this process becomes the leader.
        waits = [asyncio.ensure_future(stopping.wait())]
        if not leading.is_set():
            waits.append(asyncio.ensure_future(leading.wait()))
        _, pending = await asyncio.wait(
            waits, timeout=EXPIRY_CHECK_S, return_when=asyncio.FIRST_COMPLETED
        )
        for waiting in pending:
            waiting.cancel()


TIMED_RULES_S = 5.0


async def timed_rules_round(service: Service) -> dict[str, int]:
    """One round of the plant's timed rules (`tools.reactors.timed`); what each changed."""
    async with service.pool.connection() as conn:
        done = await timed.run_round(conn, get_settings())
    if any(done.values()):
        log.info("plant rules: %s", ", ".join(f"{k} {v}" for k, v in done.items() if v))
    return done


async def _timed_rules(service: Service, stopping: asyncio.Event, leading: asyncio.Event) -> None:
    """Every `TIMED_RULES_S` seconds in the leading process: a round of the timed rules. With
    the simulation the engine judges heartbeats at its own tick; without it (real machines),
    this does."""
    while not stopping.is_set():
        if leading.is_set() and not service.simulating:
            await timed_rules_round(service)
        with suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), TIMED_RULES_S)


def create_app(
    *,
    database_url: str | None = None,
    simulate: bool = False,
    seed: int | None = None,
    on_admin_key: KeyShown | None = None,
    event_runs: bool = False,
    freeze_after_start: bool = False,
) -> FastAPI:
    """The service's app. `database_url` overrides DATABASE_URL (and the embedded server);
    `simulate` runs the simulation engine inside; `event_runs` lets critical anomalies, supplier
    delays and customer inquiries start agent runs of their own; `on_admin_key` is handed the
    admin key made at first start (it is shown nowhere else); `freeze_after_start` (for a
    service process of its own, not an app among others in one process) spares what start-up
    built from the garbage collector's full passes until the app stops."""
    ref = PlantRef()
    servers = build_http_servers(DOMAINS, ref)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = get_settings()
        if database_url is not None:
            location = db.DatabaseLocation(url=database_url, embedded=False)
        else:
            location = await asyncio.to_thread(db.locate)
        chosen_seed = settings.sim_seed if seed is None else seed
        await prepare(location.url, seed=chosen_seed, on_admin_key=on_admin_key)
        async with AsyncExitStack() as stack:
            agents = await stack.enter_async_context(open_agents(location.url))
            ref.set(agents.plant)
            leadership = Leadership(location.url)
            hub = EventHub(location.url, metrics, counting=leadership.leading)
            approval_locks = ThreadLocks(location.url)
            await approval_locks.open()
            stack.push_async_callback(approval_locks.close)
            service = Service(
                url=location.url,
                location=location,
                pool=agents.plant.pool,
                agents=agents,
                hub=hub,
                metrics=metrics,
                simulating=simulate,
                approval_locks=approval_locks,
                supervisor=Supervisor(restarted=lambda t: metrics.restarts.labels(task=t).inc()),
            )
            app.state.titan = service
            await stack.enter_async_context(running(servers))
            stopping = asyncio.Event()
            keep = service.supervisor
            listener = keep.start("events", hub.run, stopping)
            reactor = keep.start("reactors", lambda: _react(service), stopping)
            follower = (
                keep.start(
                    "triggers",
                    lambda: follow_events(
                        agents,
                        location.url,
                        dropped=lambda e, why: metrics.event_runs_dropped.labels(
                            type=e.type, reason=why
                        ).inc(),
                    ),
                    stopping,
                )  # fmt: skip
                if event_runs
                else None
            )
            engine = (
                await stack.enter_async_context(engine_running(service, chosen_seed))
                if simulate
                else None
            )
            leader = keep.start("leadership", lambda: leadership.run(stopping), stopping)
            expirer = keep.start(
                "approvals",
                lambda: _expire(service, settings.approval_ttl, stopping, leadership.leading),
                stopping,
            )
            rules = keep.start(
                "plant-rules",
                lambda: _timed_rules(service, stopping, leadership.leading),
                stopping,
            )
            mqtt_url = settings.ingest_mqtt_url
            ingest = (
                keep.start(
                    "ingest",
                    lambda: while_leading(
                        leadership,
                        stopping,
                        lambda: mqtt_ingest(location.url, settings, mqtt_url=mqtt_url),
                        "the MQTT ingest",
                    ),
                    stopping,
                )
                if mqtt_url
                else None
            )
            if freeze_after_start:
                # What start-up built (modules, the graph, the servers' schemas) lives as long as
                # the service: leave it out of the collector's full passes, which otherwise scan
                # it all and stall every request for some 180 ms a few times a minute under load.
                gc.freeze()
            try:
                yield
            finally:
                if freeze_after_start:
                    gc.unfreeze()
                stopping.set()
                if ingest is not None:
                    await ingest  # stores what it received, before the engine stops
                await leader
                await expirer
                await rules
                if engine is not None:
                    engine.set()
                hub.stop()
                if follower is not None:
                    follower.cancel()
                    with suppress(asyncio.CancelledError):
                        await follower
                with suppress(asyncio.CancelledError):
                    await reactor
                listener.cancel()
                with suppress(asyncio.CancelledError):
                    await listener

    app = FastAPI(
        title="Titan",
        summary="An operations assistant for manufacturing plants: chat, approvals, "
        "simulation control and live events.",
        version="0.1.0",
        lifespan=lifespan,
        responses=errors.COMMON_RESPONSES,
    )
    errors.install(app)
    app.add_middleware(RequestMetrics, metrics=metrics)
    for module in (
        routes_chat,
        routes_approvals,
        routes_audit,
        routes_live,
        routes_plant,
        routes_sim,
        routes_keys,
        routes_ops,
        routes_board,
        routes_schedule,
        routes_console,
    ):
        app.include_router(module.router)
    app.router.routes.extend(mcp_routes(servers, ref))
    return app


def worker_app() -> FastAPI:
    """The app of one worker of `titan serve --workers N` (uvicorn's app factory), with the
    options the command put in `WORKER_ENV`."""
    options = json.loads(os.environ.get(WORKER_ENV) or "{}")
    configure_logging(get_settings().log_level)
    return create_app(
        simulate=bool(options.get("simulate")), event_runs=True, freeze_after_start=True
    )
