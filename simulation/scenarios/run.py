"""Scenarios: the stories of DESIGN.md staged on the running plant, each over an hour of plant
time, through `tools/` like everything else the simulation does.

- `phoenix-incident`: PHX-CNC-007's spindle bearing degrades: vibration trends up, the machine
  is checked and its failure predicted, a work order is opened (by the anomaly reactor when the
  anomaly is critical), bearing stock is checked, a purchase order is raised when it is low, and
  the plant manager is told.
- `boeing-expedite`: a rush Boeing order: contract and compliance checked, stock reserved across
  facilities, split shipments, tracking scans, the ETA confirmed, delivery, a feedback request.
- `supply-crisis`: NipponBearing falls behind: its open purchase orders are delayed, alternatives
  found, the orders that wait on its parts re-planned, their customers told.
- `faa-audit`: the traceability record of the aerospace orders: material batch, supplier,
  certificates, machines, events and approvals, sent to the quality manager.
- `machine-down`: DET-CNC-001's drive fails: it goes DOWN, its queued operations are rescheduled
  onto the other machines; when it is repaired, the load is rebalanced.
- `full-demo`: all of them, at twice the pace, staggered over one hour.

`stage(engine, name)` puts a scenario's steps on the engine's agenda, so a running engine plays
it in plant time; `play(engine, name)` stages it and steps the clock through it at once (the CLI
without a running engine, and the tests). A step the plant refuses is recorded in the report as
failed, with the reason, and the story goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from pydantic import BaseModel, JsonValue

from simulation.context import Context, rows
from tools.communications.notifications import NewNotification, send_notification
from tools.communications.templates.audiences import recipients_for_role
from tools.core import clock, events
from tools.core.db import AsyncConn
from tools.core.errors import TitanError, ValidationError
from tools.inventory.planning import alternatives
from tools.purchasing.purchase_orders import PurchaseOrder, create_purchase_order

if TYPE_CHECKING:
    from simulation.engine import Engine

Step = Callable[[], Awaitable[None]]
Plan = list[tuple[float, str, Step]]


class ScenarioStep(BaseModel):
    at: datetime
    step: str
    detail: str
    ok: bool = True


class ScenarioReport(BaseModel):
    name: str
    title: str
    started_at: datetime
    finished: bool
    ok: bool
    steps: list[ScenarioStep]
    facts: dict[str, JsonValue]


# A scenario's solves: deterministic work units (the whole demo plant solves to optimality in
# about 3) and a wall-clock limit far beyond what they take, so that it never decides the plan.
SCENARIO_WORK = 10.0
SCENARIO_SAFETY_S = 60.0


@dataclass
class ScenarioRun:
    """A scenario being played: what it did so far, and what it made (IDs) for later steps."""

    engine: Engine
    name: str
    title: str
    minutes: float
    started_at: datetime
    solve_seconds: float = 5.0
    steps: list[ScenarioStep] = field(default_factory=list)
    facts: dict[str, JsonValue] = field(default_factory=dict)
    finished: bool = False
    parts: list[ScenarioRun] = field(default_factory=list)

    @property
    def ctx(self) -> Context:
        return self.engine.context()

    @property
    def conn(self) -> AsyncConn:
        return self.engine.conn

    def note(self, step: str, detail: str, *, ok: bool = True) -> None:
        self.steps.append(ScenarioStep(at=clock.now(), step=step, detail=detail, ok=ok))

    def solving(self) -> dict[str, Any]:
        """How the scenario's schedules are solved: to a deterministic amount of CP-SAT work on
        one worker, so a scenario plans the same schedule on any machine, however loaded;
        `solve_seconds` is only the wall-clock safety limit."""
        return {
            "deterministic_limit": SCENARIO_WORK,
            "workers": 1,
            "seed": 0,
            "time_limit_s": max(self.solve_seconds, SCENARIO_SAFETY_S),
        }

    def hold(self, *ids: str) -> None:
        """Take entities out of the generators' hands while the scenario drives them."""
        self.engine.world.reserved.update(ids)

    def let_go(self, *ids: str) -> None:
        self.engine.world.reserved.difference_update(ids)

    def report(self) -> ScenarioReport:
        steps = sorted([s for run in (self, *self.parts) for s in run.steps], key=lambda s: s.at)
        facts = dict(self.facts)
        for part in self.parts:
            facts[part.name] = dict(part.facts)
        return ScenarioReport(
            name=self.name,
            title=self.title,
            started_at=self.started_at,
            finished=self.finished and all(p.finished for p in self.parts),
            ok=all(s.ok for s in steps),
            steps=steps,
            facts=facts,
        )


@dataclass(frozen=True)
class Scenario:
    title: str
    plan: Callable[[ScenarioRun], Plan]


def _registry() -> dict[str, Scenario]:
    from simulation.scenarios.audit import faa_audit
    from simulation.scenarios.maintenance import machine_down, phoenix_incident
    from simulation.scenarios.orders import boeing_expedite, supply_crisis

    return {
        "phoenix-incident": Scenario("Phoenix Incident", phoenix_incident),
        "boeing-expedite": Scenario("Boeing Expedite", boeing_expedite),
        "supply-crisis": Scenario("Supply Crisis", supply_crisis),
        "faa-audit": Scenario("FAA Audit", faa_audit),
        "machine-down": Scenario("Machine Down", machine_down),
    }


# Where each part of the full demo starts (plant minutes); the parts run at twice the pace.
FULL_DEMO = (
    ("phoenix-incident", 0.0),
    ("boeing-expedite", 5.0),
    ("supply-crisis", 10.0),
    ("machine-down", 20.0),
    ("faa-audit", 30.0),
)
SCENARIOS = (*(name for name, _ in FULL_DEMO), "full-demo")
MINUTES = 60.0


def scenario_name(name: str) -> str:
    """The scenario's name from any spelling ("Phoenix Incident", phoenix_incident, ...)."""
    key = "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())
    if key not in SCENARIOS:
        raise ValidationError(f"no scenario {name!r}; scenarios are {', '.join(SCENARIOS)}")
    return key


async def stage(
    engine: Engine, name: str, *, solve_seconds: float = 5.0, offset: float = 0.0
) -> ScenarioRun:
    """Put the scenario's steps on the engine's agenda, starting `offset` plant minutes from now."""
    key = scenario_name(name)
    start = clock.now() + timedelta(minutes=offset)
    if key == "full-demo":
        run = ScenarioRun(engine, key, "Full Demo", MINUTES, start, solve_seconds)
        for part, at in FULL_DEMO:
            run.parts.append(_schedule(engine, part, start, at, 0.5, solve_seconds))
    else:
        run = _schedule(engine, key, start, 0.0, 1.0, solve_seconds)
    await _announce(run, "simulation.scenario_started")

    async def finish() -> None:
        run.finished = True
        await _announce(run, "simulation.scenario_finished")

    engine.schedule(start + timedelta(minutes=MINUTES), f"{run.title}: finished", finish)
    return run


def _schedule(
    engine: Engine, key: str, start: datetime, at: float, pace: float, solve_seconds: float
) -> ScenarioRun:
    scenario = _registry()[key]
    begins = start + timedelta(minutes=at)
    run = ScenarioRun(engine, key, scenario.title, MINUTES * pace, begins, solve_seconds)
    for minute, label, step in scenario.plan(run):
        engine.schedule(
            begins + timedelta(minutes=minute * pace),
            f"{run.title}: {label}",
            _guarded(run, label, step),
        )

    async def done() -> None:
        run.finished = True

    engine.schedule(begins + timedelta(minutes=MINUTES * pace), f"{run.title}: done", done)
    return run


def _guarded(run: ScenarioRun, label: str, step: Step) -> Step:
    async def guarded() -> None:
        try:
            await step()
        except (TitanError, psycopg.Error) as exc:
            run.note(label, f"refused: {exc}", ok=False)

    return guarded


async def _announce(run: ScenarioRun, event_type: str) -> None:
    report = run.report()
    payload: dict[str, JsonValue] = {
        "scenario": run.name,
        "title": run.title,
        "steps": len(report.steps),
        "ok": report.ok,
        "facts": report.facts,
    }
    async with run.conn.transaction():
        await events.emit(
            run.conn,
            event_type,
            source="simulator",
            entity_type="scenario",
            entity_id=run.name,
            payload=payload,
        )


async def play(engine: Engine, name: str, *, solve_seconds: float = 5.0) -> ScenarioReport:
    """Stage a scenario and step the clock through its hour; its report."""
    run = await stage(engine, name, solve_seconds=solve_seconds)
    await engine.step(MINUTES + engine.config.tick_s / 60)
    return run.report()


# ───────────────────────── what several scenarios do ─────────────────────────


async def tell_role(
    run: ScenarioRun,
    role: str,
    *,
    facility_id: str | None,
    subject: str,
    body: str,
    severity: str = "INFO",
    entity: tuple[str, str] | None = None,
) -> list[int]:
    """A hand-written message to everyone who receives a staff role's messages; their IDs."""
    async with run.conn.transaction():
        people = await recipients_for_role(run.conn, role, facility_id=facility_id)
    sent = []
    for person in people:
        note = await send_notification(
            run.conn,
            run.ctx.actor,
            NewNotification.model_validate(
                {
                    "recipient": person.address,
                    "channel": person.channel,
                    "severity": severity,
                    "subject": subject[:200],
                    "body": body,
                    "entity_type": entity[0] if entity else None,
                    "entity_id": entity[1] if entity else None,
                }
            ),
        )
        sent.append(note.notification_id)
    return sent


async def tell_customer(
    run: ScenarioRun, customer_id: str, *, order_id: str, subject: str, body: str
) -> int:
    """A hand-written message to a customer's contact about one of its orders; its ID."""
    found = await rows(
        run.conn,
        "select contact_email from customers where customer_id = %(c)s",
        {"c": customer_id},
    )
    if not found:
        raise ValidationError(f"no customer {customer_id} to write to")
    note = await send_notification(
        run.conn,
        run.ctx.actor,
        NewNotification(
            recipient=found[0]["contact_email"],
            channel="EMAIL",
            subject=subject[:200],
            body=body,
            entity_type="order",
            entity_id=order_id,
        ),
    )
    return note.notification_id


async def open_purchase_orders(run: ScenarioRun, sku: str, facility_id: str) -> list[str]:
    """The purchase orders still to arrive for a SKU at a facility."""
    found = await rows(
        run.conn,
        "select po_id from purchase_orders where sku = %(sku)s and facility_id = %(f)s "
        "and status in ('PENDING', 'IN_TRANSIT', 'DELAYED') order by po_id",
        {"sku": sku, "f": facility_id},
    )
    return [r["po_id"] for r in found]


async def raise_purchase(
    run: ScenarioRun, sku: str, facility_id: str, quantity: int, *, avoid: str | None = None
) -> PurchaseOrder | None:
    """A purchase order with the fastest ACTIVE supplier of the SKU (not `avoid`), at least its
    minimum order quantity; None when no such supplier sells it."""
    options = await alternatives(run.conn, sku, facility_id=facility_id, quantity=quantity)
    for offer in options.suppliers:
        if offer.status != "ACTIVE" or offer.supplier_id == avoid:
            continue
        return await create_purchase_order(
            run.conn,
            run.ctx.actor,
            supplier_id=offer.supplier_id,
            sku=sku,
            facility_id=facility_id,
            quantity=max(quantity, offer.min_order_qty),
        )
    return None
