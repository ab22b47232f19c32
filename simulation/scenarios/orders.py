"""The order scenarios: Boeing expedite and the supply crisis (see `simulation.scenarios.run`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from simulation.context import rows
from simulation.scenarios.run import (
    Plan,
    ScenarioRun,
    Step,
    raise_purchase,
    tell_customer,
    tell_role,
)
from simulation.world.suppliers import CRISIS_REASON
from tools.communications.notifications import (
    NotificationQuery,
    list_notifications,
    notify,
    notify_for_event,
)
from tools.core import clock, events
from tools.core.errors import TitanError
from tools.governance.compliance import check_order
from tools.inventory.planning import alternatives
from tools.inventory.reservations import reserve_stock
from tools.inventory.stock import stock_level
from tools.logistics.shipments import Shipment, create_shipments, get_shipment
from tools.logistics.tracking import advance_shipment, deliver_shipment, pick_up, print_label
from tools.orders.contracts import LineRequest, OrderDraft
from tools.orders.orders import create_order, get_order, validate_order
from tools.orders.progress import complete_order_if_delivered, mark_ready, start_production
from tools.purchasing.purchase_orders import delay_purchase_order

BLADE = "SKU-TB-1001"
SUPPLIER = "NIPPONBEARING"
CRISIS_DAYS = 7


def boeing_expedite(run: ScenarioRun) -> Plan:
    conn, actor = run.conn, run.ctx.actor
    order: list[str] = []
    shipments: list[str] = []

    async def rush_order() -> None:
        phx = await stock_level(conn, BLADE, "PHX")
        muc = await stock_level(conn, BLADE, "MUC")
        quantity = phx.available + max(1, muc.available // 2) if muc.available else phx.available
        due = datetime.combine(
            (clock.now() + timedelta(days=4)).date(), time(17), clock.now().tzinfo
        )
        made = await create_order(
            conn,
            actor,
            OrderDraft(
                customer_id="BOEING",
                lines=[LineRequest(sku=BLADE, quantity=max(quantity, 1))],
                due_at=due,
                is_rush=True,
                facility_id="PHX",
                notes="Rush: aircraft on ground; ship from every facility holding blades",
            ),
        )
        order.append(made.order_id)
        run.hold(made.order_id)
        run.facts["order_id"] = made.order_id
        run.note(
            "rush order", f"{made.order_id}: {quantity} x {BLADE} for Boeing, due {due:%Y-%m-%d}"
        )

    async def checked() -> None:
        # The plant rules validate a new order as it arrives; validate it here if they have not.
        by = "by the plant rules"
        if (await get_order(conn, order[0])).status == "CREATED":
            await validate_order(conn, actor, order[0])
            by = "by the scenario"
        async with conn.transaction():
            verdict = await check_order(conn, order[0])
        run.facts["compliance"] = verdict.status
        run.note(
            "contract and compliance",
            f"{order[0]} validated {by}; compliance {verdict.status} "
            f"({', '.join(verdict.requirements)})",
            ok=verdict.status != "NON_COMPLIANT",
        )

    async def reserved() -> None:
        result = await reserve_stock(conn, actor, order[0], allow_partial=False)
        where = sorted({a.facility_id for line in result.lines for a in line.allocations})
        run.facts["reserved_at"] = list(where)
        run.note("stock reserved", f"{result.reserved_now} units at {', '.join(where)}")

    async def packed() -> None:
        await start_production(conn, actor, order[0])
        await mark_ready(conn, actor, order[0])
        run.note("inspected and packed", f"{order[0]} READY: final inspection, 8130-3 tags")

    async def booked() -> None:
        made = await create_shipments(conn, actor, order[0])
        shipments.extend(s.shipment_id for s in made)
        run.hold(*shipments)
        run.facts["shipments"] = list(shipments)
        run.note(
            "split shipments",
            "; ".join(
                f"{s.shipment_id} from {s.origin_facility_id} by {s.carrier_id} {s.service_level}"
                for s in made
            ),
            ok=len(made) > 1,
        )

    def scan(label: str, to: str) -> tuple[str, Step]:
        async def step() -> None:
            for sid in shipments:
                await _scan(run, sid, to, label)
            run.note(label, f"{len(shipments)} shipment(s) {to}")

        return label, step

    async def eta_confirmed() -> None:
        moving = [await get_shipment(conn, sid) for sid in shipments]
        await tell_customer(
            run,
            "BOEING",
            order_id=order[0],
            subject=f"Order {order[0]}: arrival confirmed",
            body="Your rush order is on its way:\n" + "\n".join(_eta(s) for s in moving),
        )
        run.note("ETA confirmed", "; ".join(_eta(s) for s in moving))

    async def followed_up() -> None:
        await complete_order_if_delivered(conn, actor, order[0])  # done by the reactor already
        done = await get_order(conn, order[0])
        await _ask_feedback(run, shipments)
        run.note(
            "delivered, feedback asked",
            f"{order[0]} {done.status}; feedback asked on {len(shipments)} shipment(s)",
            ok=done.status == "COMPLETED",
        )
        run.let_go(order[0], *shipments)

    return [
        (0, "rush order", rush_order),
        (3, "contract and compliance", checked),
        (6, "stock reserved", reserved),
        (9, "inspected and packed", packed),
        (12, "split shipments", booked),
        (16, *scan("labels printed", "LABEL_PRINTED")),
        (20, *scan("picked up", "PICKED_UP")),
        (28, *scan("at the hub", "IN_TRANSIT")),
        (32, "ETA confirmed", eta_confirmed),
        (45, *scan("out for delivery", "OUT_FOR_DELIVERY")),
        (52, *scan("delivered", "DELIVERED")),
        (56, "feedback", followed_up),
    ]


async def _ask_feedback(run: ScenarioRun, shipments: list[str]) -> None:
    """The feedback request on each delivered shipment, unless the reactor sent it already."""
    for sid in shipments:
        query = NotificationQuery(entity_type="shipment", entity_id=sid)
        async with run.conn.transaction():
            sent = await list_notifications(run.conn, query)
        if not any(n.template == "shipment.delivered+feedback" for n in sent):
            await notify(
                run.conn,
                run.ctx.actor,
                "shipment.delivered",
                entity_type="shipment",
                entity_id=sid,
                template="shipment.delivered+feedback",
            )


async def _scan(run: ScenarioRun, shipment_id: str, to: str, label: str) -> None:
    conn, actor = run.conn, run.ctx.actor
    if to == "LABEL_PRINTED":
        await print_label(conn, actor, shipment_id)
    elif to == "PICKED_UP":
        await pick_up(conn, actor, shipment_id)
    elif to == "DELIVERED":
        await deliver_shipment(conn, actor, shipment_id, note="signed for at Everett receiving")
    else:
        await advance_shipment(conn, actor, shipment_id, to, note=label)


def _eta(s: Shipment) -> str:
    eta = f"{s.eta:%Y-%m-%d %H:%M} UTC" if s.eta else "to be confirmed"
    return (
        f"{s.shipment_id} ({s.carrier_id} {s.tracking_number}) from {s.origin_facility_id}: {eta}"
    )


def supply_crisis(run: ScenarioRun) -> Plan:
    conn, actor = run.conn, run.ctx.actor
    delayed: list[dict[str, object]] = []
    affected: list[dict[str, str]] = []

    async def supplier_late() -> None:
        run.engine.delay_supplier(SUPPLIER)
        run.engine.schedule(
            clock.now() + timedelta(days=CRISIS_DAYS),
            f"{SUPPLIER} delivers again",
            _lift(run),
        )
        pending = await rows(
            conn,
            "select po_id, sku, facility_id, quantity, expected_at from purchase_orders "
            "where supplier_id = %(s)s and status in ('PENDING', 'IN_TRANSIT', 'DELAYED') "
            "order by po_id",
            {"s": SUPPLIER},
        )
        for po in pending:
            moved = await delay_purchase_order(
                conn,
                actor,
                po["po_id"],
                reason=CRISIS_REASON,
                expected_at=max(po["expected_at"], clock.now()) + timedelta(days=21),
            )
            delayed.append(
                {
                    "po_id": moved.po_id,
                    "sku": moved.sku,
                    "facility_id": moved.facility_id,
                    "quantity": moved.quantity,
                }
            )
        ids = [str(d["po_id"]) for d in delayed]
        found = await rows(
            conn,
            "select event_id from event_log where type = 'purchase_order.delayed' "
            "and entity_id = any(%(ids)s) and occurred_at = %(now)s order by event_id",
            {"ids": ids, "now": clock.now()},
        )
        async with conn.transaction():
            delays = await events.fetch(conn, [r["event_id"] for r in found])
        for event in delays:
            # keyed as the reactors key it: whoever tells purchasing first, it is told once
            await notify_for_event(conn, actor, event)
        run.facts["delayed"] = list(ids)
        run.note(
            "supplier delayed",
            f"{SUPPLIER}: {len(delayed)} purchase orders slip 21 days",
            ok=bool(delayed),
        )

    async def options() -> None:
        found = []
        for d in delayed:
            alt = await alternatives(
                conn,
                str(d["sku"]),
                facility_id=str(d["facility_id"]),
                quantity=int(str(d["quantity"])),
            )
            others = [
                s.supplier_id
                for s in alt.suppliers
                if s.supplier_id != SUPPLIER and s.status == "ACTIVE"
            ]
            stock = ", ".join(f"{f.facility_id} {f.available}" for f in alt.other_facilities)
            found.append(
                f"{d['sku']}@{d['facility_id']}: suppliers {', '.join(others) or 'none'}"
                f"; stock elsewhere {stock or 'none'}"
            )
        run.note("alternatives", "; ".join(found) or "nothing was on order")

    async def replanned() -> None:
        waiting = await rows(
            conn,
            "select distinct o.order_id, o.status, o.customer_id, o.facility_id from orders o "
            "join order_lines l on l.order_id = o.order_id "
            "join supplier_items i on i.sku = l.sku and i.supplier_id = %(s)s "
            "where o.status in ('CREATED', 'VALIDATED') order by o.order_id",
            {"s": SUPPLIER},
        )
        plans = []
        for o in waiting:
            try:
                plans.append(await _replan(run, o))
            except TitanError as exc:
                plans.append(f"{o['order_id']}: {exc}")
            affected.append({"order_id": o["order_id"], "customer_id": o["customer_id"]})
        run.facts["replanned"] = [a["order_id"] for a in affected]
        run.note("orders re-planned", "; ".join(plans) or f"no open order waits on {SUPPLIER}")

    async def customers_told() -> None:
        sent = []
        for a in affected:
            sent.append(
                await tell_customer(
                    run,
                    a["customer_id"],
                    order_id=a["order_id"],
                    subject=f"Order {a['order_id']}: supplier delay, revised plan",
                    body=(
                        f"A supplier of parts for your order {a['order_id']} has fallen behind. "
                        "We have re-planned it from our other facilities and alternative suppliers "
                        "and will confirm the ship date as soon as the parts are in."
                    ),
                )
            )
        await tell_role(
            run,
            "planner",
            facility_id=None,
            severity="WARNING",
            subject=f"Supply crisis: {SUPPLIER} behind",
            body=f"{len(delayed)} purchase orders delayed; {len(affected)} orders re-planned.",
        )
        run.facts["customer_notifications"] = list(sent)
        run.note("customers told", f"{len(sent)} customer message(s)")

    return [
        (0, "supplier delayed", supplier_late),
        (10, "alternatives", options),
        (20, "orders re-planned", replanned),
        (30, "customers told", customers_told),
    ]


def _lift(run: ScenarioRun) -> Step:
    async def lift() -> None:
        run.engine.delay_supplier(SUPPLIER, False)

    return lift


async def _replan(run: ScenarioRun, o: dict[str, str]) -> str:
    """Validate if need be, reserve from every facility, order the rest elsewhere."""
    conn, actor, oid = run.conn, run.ctx.actor, o["order_id"]
    if o["status"] == "CREATED":
        await validate_order(conn, actor, oid)
    result = await reserve_stock(conn, actor, oid, allow_partial=True)
    bridged = []
    for line in result.lines:
        if line.shortfall <= 0 or not o["facility_id"]:
            continue
        po = await raise_purchase(run, line.sku, o["facility_id"], line.shortfall, avoid=SUPPLIER)
        if po is not None:
            bridged.append(f"{po.po_id} from {po.supplier_id}")
    return f"{oid}: {result.reserved_now} reserved, {result.shortfall} short" + (
        f", ordered {', '.join(bridged)}" if bridged else ""
    )
