"""A scenario being played (`ScenarioRun`), what it reports, and the steps several scenarios
share: telling a staff role or a customer, finding and raising purchase orders.

A run reaches the engine through the `Stage` protocol only, so the scenarios never import the
engine; the engine stages them through `simulation.scenarios.staging`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, JsonValue

from simulation.config import SimConfig
from simulation.context import Context, World, rows
from tools.communications.notifications import NewNotification, send_notification
from tools.communications.templates.audiences import recipients_for_role
from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ValidationError
from tools.inventory.planning import alternatives
from tools.purchasing.purchase_orders import PurchaseOrder, create_purchase_order

Step = Callable[[], Awaitable[None]]
Plan = list[tuple[float, str, Step]]


class Stage(Protocol):
    """What a scenario needs of the engine that plays it (`simulation.engine.Engine` is one)."""

    conn: AsyncConn
    config: SimConfig
    world: World

    def context(self) -> Context: ...

    def schedule(self, at: datetime, label: str, action: Step) -> None: ...

    def delay_supplier(self, supplier_id: str, delayed: bool = True) -> None: ...

    async def step(self, minutes: float) -> int: ...


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

    engine: Stage
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


# The scenarios by name (their plans are in `simulation.scenarios.staging`).
# Where each part of the full demo starts (plant minutes); the parts run at twice the pace.
ScenarioName = Literal[
    "phoenix-incident", "boeing-expedite", "supply-crisis", "machine-down", "faa-audit", "full-demo"
]
SCENARIOS: tuple[ScenarioName, ...] = get_args(ScenarioName)
FULL_DEMO: tuple[tuple[ScenarioName, float], ...] = (
    ("phoenix-incident", 0.0),
    ("boeing-expedite", 5.0),
    ("supply-crisis", 10.0),
    ("machine-down", 20.0),
    ("faa-audit", 30.0),
)
MINUTES = 60.0


def scenario_name(name: str) -> str:
    """The scenario's name from any spelling ("Phoenix Incident", phoenix_incident, ...)."""
    key = "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())
    if key not in SCENARIOS:
        raise ValidationError(f"no scenario {name!r}; scenarios are {', '.join(SCENARIOS)}")
    return key


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
