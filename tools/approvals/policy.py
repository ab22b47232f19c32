"""Which writes wait for a person: the one approval policy, whoever calls (the agents, a desktop
MCP client over stdio or HTTP).

Each rule reads the plant through `tools/` and returns a `Verdict` — why a person is needed,
what the write would change in numbers, and who may decide — or None when the write may go
ahead. Who decides is a permission (`tools.accounts.permissions`): schedule changes need
schedule.approve, purchase orders above the manager limit spend.approve, plant-wide settings
plant.config, the rest ai.approve.

- `create_purchase_order`: its value (quantity × the supplier's price for the SKU, or the price
  asked for) above `TITAN_APPROVAL_PO_LIMIT_USD`; above the manager limit
  (`TITAN_APPROVAL_PO_MANAGER_LIMIT_USD`) it needs spend.approve.
- `apply_schedule`: a schedule change that moves more than 3 jobs, makes an order late, needs
  overtime or touches a rush order (a reschedule's stored impact; for a fresh plan, the jobs
  whose times differ from the schedule in force).
- `send_message` to anyone outside the staff roles, `notify_about` a customer event,
  `answer_inquiry` and `close_inquiry`: always (the customer reads them).
- `cancel_order`, `hold_order`: always; `create_order` of a rush order: always.
- `reschedule_machine`: always (the jobs it moves are known only once it is solved).
- `schedule_work_order`: when the window takes shift time from a machine that is running or has
  work of the schedule in force in it (a window off shift, an idle machine with nothing planned,
  or a machine already down does not wait).
- `start_work_order`: when it stops a machine that is running now, or takes shift time with
  planned work in its next `UNPLANNED_START_SPAN`; a start inside the window the work order was
  scheduled for was decided with the window.
- `adjust_stock` of more than `TITAN_APPROVAL_STOCK_ADJUST_UNITS` units.
- `set_sensor_threshold` for every machine at once (the plant-wide default): always.

`check_registered` fails fast when a rule names a tool that no server registers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import JsonValue

from tools.accounts.permissions import Permission
from tools.communications.inquiries import INQUIRY_LIFECYCLE
from tools.communications.inquiries import Status as InquiryStatus
from tools.communications.notifications import known_recipient
from tools.communications.templates import STAFF_ROLES
from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ValidationError
from tools.core.settings import Settings
from tools.maintenance.work_orders import WORK_ORDER_LIFECYCLE, WorkOrderStatus
from tools.orders.lifecycle import ORDER_LIFECYCLE, OrderStatus
from tools.scheduling.plant import shift_loss

MAX_JOBS_WITHOUT_APPROVAL = 3
UNPLANNED_START_SPAN = timedelta(hours=2)
OUT_OF_PRODUCTION = ("DOWN", "OFFLINE")  # a repair of a machine that is not producing never waits
CUSTOMER_EVENTS = ("order.", "shipment.", "inquiry.")


@dataclass(frozen=True)
class Verdict:
    """Why a write needs a person, what it would change, and the permission that decides it
    (exactly the roles holding it may)."""

    reason: str
    impact: dict[str, JsonValue] = field(default_factory=dict)
    permission: Permission = Permission.AI_APPROVE


@dataclass(frozen=True)
class MovedOn:
    """The write no longer applies: its entity has moved on (the order is cancelled already,
    the work order started). The operation itself refuses it; a request for it is withdrawn."""

    reason: str


Rule = Callable[[AsyncConn, dict[str, Any], Settings], Awaitable[Verdict | MovedOn | None]]


async def _one(conn: AsyncConn, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
    async with conn.transaction():
        cur = await conn.execute(sql, params)
        return await cur.fetchone()


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


async def _purchase(conn: AsyncConn, args: dict[str, Any], settings: Settings) -> Verdict | None:
    price = _decimal(args.get("unit_price"))
    if price is None:
        row = await _one(
            conn,
            "select unit_price from supplier_items where supplier_id = %(s)s and sku = %(k)s",
            {"s": args.get("supplier_id"), "k": args.get("sku")},
        )
        price = row["unit_price"] if row else None
    quantity = int(args.get("quantity") or 0)
    impact: dict[str, JsonValue] = {
        "sku": args.get("sku"), "quantity": quantity, "supplier_id": args.get("supplier_id"),
        "value_usd": str(price * quantity) if price is not None else None,
    }  # fmt: skip
    if price is None:
        # The supplier does not sell it: the operation refuses it, no person is needed.
        return None
    value = price * quantity
    if value <= settings.approval_po_limit_usd:
        return None
    manager = value > settings.approval_po_manager_limit_usd
    return Verdict(
        reason=f"the purchase order is worth {value} USD, above the "
        f"{settings.approval_po_limit_usd} USD limit",
        impact=impact,
        permission=Permission.SPEND_APPROVE if manager else Permission.AI_APPROVE,
    )


_SCHEDULE_CHANGE = """
with target as (select * from schedules where schedule_id = %(id)s),
applied as (
    select x.schedule_id from schedules x, target t
    where x.status = 'APPLIED' and x.facility_id is not distinct from t.facility_id
),
changed as (
    select distinct p.order_id, p.line_no from schedule_slots p
    left join schedule_slots a on a.schedule_id = (select schedule_id from applied)
        and a.order_id = p.order_id and a.line_no = p.line_no and a.op_seq = p.op_seq
    where p.schedule_id = %(id)s
      and (a.starts_at is null or a.starts_at <> p.starts_at or a.machine_id <> p.machine_id)
)
select t.kind, t.status, t.impact,
       (select count(*) from changed) as jobs_changed,
       (select coalesce(array_agg(distinct o.order_id order by o.order_id), '{}')
        from orders o where o.is_rush and o.order_id in (select order_id from changed))
           as rush_changed,
       (select coalesce(array_agg(distinct o.order_id order by o.order_id), '{}')
        from orders o where o.is_rush) as rush_orders
from target t
"""


async def _apply_schedule(
    conn: AsyncConn, args: dict[str, Any], settings: Settings
) -> Verdict | MovedOn | None:
    row = await _one(conn, _SCHEDULE_CHANGE, {"id": args.get("schedule_id")})
    if row is None:
        return MovedOn(f"schedule {args.get('schedule_id')} does not exist")
    if row["status"] != "PROPOSED":
        return MovedOn(f"schedule {args.get('schedule_id')} is {row['status']} now")
    stored = row["impact"] or {}
    if row["kind"] == "RESCHEDULE" and stored:
        jobs = int(stored.get("jobs_moved") or 0)
        late = [c.get("order_id") for c in stored.get("orders_late") or []]
        overtime = int(stored.get("overtime_minutes") or 0)
        touched = {m.get("order_id") for m in stored.get("moves") or []}
        rush = sorted(o for o in row["rush_orders"] if o in touched)
    else:
        jobs, late, overtime = int(row["jobs_changed"]), [], 0
        rush = list(row["rush_changed"])
    impact: dict[str, JsonValue] = {
        "schedule_id": args.get("schedule_id"), "jobs_moved": jobs, "orders_late": late,
        "overtime_minutes": overtime, "rush_orders": rush,
    }  # fmt: skip
    reasons = []
    if jobs > MAX_JOBS_WITHOUT_APPROVAL:
        reasons.append(f"it moves {jobs} jobs (more than {MAX_JOBS_WITHOUT_APPROVAL})")
    if late:
        reasons.append(f"it makes {len(late)} order(s) late ({', '.join(map(str, late))})")
    if overtime:
        reasons.append(f"it needs {overtime} minutes of overtime")
    if rush:
        reasons.append(f"it changes rush order(s) {', '.join(rush)}")
    if not reasons:
        return None
    return Verdict(
        reason="the schedule change " + "; ".join(reasons),
        impact=impact,
        permission=Permission.SCHEDULE_APPROVE,
    )


async def _send_message(conn: AsyncConn, args: dict[str, Any], _: Settings) -> Verdict | None:
    recipient = str(args.get("recipient", ""))
    if recipient.removeprefix("role:") in STAFF_ROLES:
        return None
    try:
        await known_recipient(conn, recipient)
    except ValidationError:
        return None  # the operation says whom it may write to
    staff = await _one(
        conn, "select 1 as staff from users where user_id = %(r)s or lower(email) = lower(%(r)s)",
        {"r": recipient},
    )  # fmt: skip
    if staff is not None:
        return None
    return Verdict(
        reason=f"the message goes outside the team, to {recipient}",
        impact={"recipient": recipient, "subject": args.get("subject")},
    )


async def _notify(conn: AsyncConn, args: dict[str, Any], _: Settings) -> Verdict | None:
    event = str(args.get("event_type", ""))
    if not event.startswith(CUSTOMER_EVENTS):
        return None
    return Verdict(
        reason=f"the {event} notice goes to the customer",
        impact={"event_type": event, "entity_id": args.get("entity_id")},
    )


async def _order_impact(conn: AsyncConn, order_id: object) -> dict[str, JsonValue]:
    row = await _one(
        conn,
        "select o.customer_id, o.status, o.is_rush, o.due_at, "
        "coalesce(sum(l.quantity * l.unit_price), 0) as value "
        "from orders o left join order_lines l using (order_id) "
        "where o.order_id = %(id)s group by o.order_id",
        {"id": order_id},
    )
    if row is None:
        return {"order_id": str(order_id)}
    return {
        "order_id": str(order_id), "customer_id": row["customer_id"], "status": row["status"],
        "is_rush": row["is_rush"], "due_at": row["due_at"].isoformat(),
        "value_usd": str(row["value"]),
    }  # fmt: skip


def _order_stop(verb: str, target: OrderStatus) -> Rule:
    async def rule(conn: AsyncConn, args: dict[str, Any], _: Settings) -> Verdict | MovedOn:
        impact = await _order_impact(conn, args.get("order_id"))
        status = impact.get("status")
        if not isinstance(status, str):
            return MovedOn(f"order {args.get('order_id')} does not exist")
        if not ORDER_LIFECYCLE.can_become(status, target):
            return MovedOn(f"order {args.get('order_id')} is {status} now")
        return Verdict(reason=f"{verb} an order changes what the customer gets", impact=impact)

    return rule


def _inquiry(verb: str, target: InquiryStatus) -> Rule:
    async def rule(conn: AsyncConn, args: dict[str, Any], _: Settings) -> Verdict | MovedOn:
        row = await _one(
            conn,
            "select status, customer_id from customer_inquiries where inquiry_id = %(id)s",
            {"id": args.get("inquiry_id")},
        )
        if row is None:
            return MovedOn(f"inquiry {args.get('inquiry_id')} does not exist")
        if not INQUIRY_LIFECYCLE.can_become(row["status"], target):
            return MovedOn(f"inquiry {args.get('inquiry_id')} is {row['status']} now")
        return Verdict(
            reason=f"{verb} an inquiry speaks to the customer",
            impact={"inquiry_id": args.get("inquiry_id"), "customer_id": row["customer_id"]},
        )

    return rule


async def _rush_order(conn: AsyncConn, args: dict[str, Any], _: Settings) -> Verdict | None:
    if not args.get("is_rush"):
        return None
    return Verdict(
        reason="a rush order is a commitment to the customer",
        impact={"customer_id": args.get("customer_id"), "due_at": args.get("due_at")},
    )


def _work_order(target: WorkOrderStatus) -> Rule:
    async def rule(conn: AsyncConn, args: dict[str, Any], _: Settings) -> Verdict | MovedOn | None:
        row = await _one(
            conn,
            "select work_order_id, status, machine_id, scheduled_start, scheduled_end "
            "from work_orders where work_order_id = %(id)s",
            {"id": args.get("work_order_id")},
        )
        if row is None:
            return MovedOn(f"work order {args.get('work_order_id')} does not exist")
        if not WORK_ORDER_LIFECYCLE.can_become(row["status"], target):
            return MovedOn(f"work order {row['work_order_id']} is {row['status']} now")
        if target == "SCHEDULED":
            starts_at, ends_at = _instant(args.get("starts_at")), _instant(args.get("ends_at"))
            if starts_at is None or ends_at is None or ends_at <= starts_at:
                return None  # the operation says what is wrong with the window
            planned = False
        else:
            now = clock.now()
            start, end = row["scheduled_start"], row["scheduled_end"]
            planned = start is not None and end is not None and start <= now < end
            starts_at, ends_at = now, now + UNPLANNED_START_SPAN
        loss = await shift_loss(conn, row["machine_id"], starts_at, ends_at)
        if planned or loss is None or loss.machine_status in OUT_OF_PRODUCTION:
            return None  # inside the window already decided, or the machine is not producing
        running = loss.machine_status == "RUNNING"
        in_shift = loss.shift_minutes > 0 and (running or bool(loss.jobs))
        if not in_shift and not (running and target == "IN_PROGRESS"):
            return None  # off shift, or an idle machine with nothing planned: no production lost
        reason = (
            f"starting it now stops {loss.machine_id}, which is running"
            if running and target == "IN_PROGRESS"
            else f"the work order takes {loss.machine_id} ({loss.machine_status.lower()}) out "
            f"of production for {loss.shift_minutes} shift minutes"
        )
        if loss.jobs:
            reason += f", with work planned for {len(loss.jobs)} order(s)"
        return Verdict(
            reason=reason,
            impact={
                "work_order_id": row["work_order_id"], "machine_id": loss.machine_id,
                "machine_status": loss.machine_status, "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(), "shift_minutes": loss.shift_minutes,
                "orders_planned": list(loss.jobs),
            },
        )  # fmt: skip

    return rule


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


async def _reschedule(conn: AsyncConn, args: dict[str, Any], _: Settings) -> Verdict | None:
    row = await _one(
        conn, "select status from equipment where machine_id = %(m)s", {"m": args.get("machine_id")}
    )
    if row is None:
        return None  # the operation says the machine does not exist
    return Verdict(
        permission=Permission.SCHEDULE_APPROVE,
        reason="a reschedule re-plans the machine's queued work onto others; a person looks at "
        "the jobs it moves before it is made",
        impact={"machine_id": args.get("machine_id"), "machine_status": row["status"],
                "unavailable_from": args.get("unavailable_from"),
                "unavailable_until": args.get("unavailable_until")},
    )  # fmt: skip


async def _stock(conn: AsyncConn, args: dict[str, Any], settings: Settings) -> Verdict | None:
    delta = int(args.get("delta") or 0)
    if abs(delta) <= settings.approval_stock_adjust_units:
        return None
    row = await _one(
        conn,
        "select on_hand - reserved as available from stock_levels "
        "where sku = %(s)s and facility_id = %(f)s",
        {"s": args.get("sku"), "f": args.get("facility_id")},
    )
    if row is None or row["available"] + delta < 0:
        return None  # not stocked there, or more than is free: the operation refuses it
    return Verdict(
        reason=f"the adjustment of {delta} units is above the "
        f"{settings.approval_stock_adjust_units}-unit limit",
        impact={"sku": args.get("sku"), "facility_id": args.get("facility_id"), "delta": delta},
    )


async def _threshold(conn: AsyncConn, args: dict[str, Any], _: Settings) -> Verdict | None:
    if args.get("machine_id"):
        return None
    return Verdict(
        reason="the threshold holds for every machine of the plant",
        permission=Permission.PLANT_CONFIG,
        impact={
            "sensor": args.get("sensor"), "warning": args.get("warning"),
            "critical": args.get("critical"),
        },
    )  # fmt: skip


POLICY: dict[str, Rule] = {
    "create_purchase_order": _purchase,
    "apply_schedule": _apply_schedule,
    "reschedule_machine": _reschedule,
    "send_message": _send_message,
    "notify_about": _notify,
    "answer_inquiry": _inquiry("answering", "ANSWERED"),
    "close_inquiry": _inquiry("closing", "CLOSED"),
    "cancel_order": _order_stop("cancelling", "CANCELLED"),
    "hold_order": _order_stop("holding", "ON_HOLD"),
    "create_order": _rush_order,
    "schedule_work_order": _work_order("SCHEDULED"),
    "start_work_order": _work_order("IN_PROGRESS"),
    "adjust_stock": _stock,
    "set_sensor_threshold": _threshold,
}


def guarded(name: str) -> bool:
    """Whether the write `name` is one the policy may hold for a person."""
    return name in POLICY


async def verdict(
    conn: AsyncConn, name: str, args: dict[str, Any], settings: Settings
) -> Verdict | None:
    """The verdict on calling `name` with `args`: a Verdict when a person must decide (None
    also when the write no longer applies: the operation then refuses it with the reason)."""
    rule = POLICY.get(name)
    found = None if rule is None else await rule(conn, args, settings)
    return found if isinstance(found, Verdict) else None


async def moved_on(
    conn: AsyncConn, name: str, args: dict[str, Any], settings: Settings
) -> str | None:
    """Why a request to call `name` with `args` no longer applies (its entity moved on), else
    None."""
    rule = POLICY.get(name)
    found = None if rule is None else await rule(conn, args, settings)
    return found.reason if isinstance(found, MovedOn) else None


# The argument naming the entity a guarded write acts on: one pending request per action and
# entity (asking again, with other words or from another thread, finds the one that waits).
ENTITY_KEYS = (
    "order_id", "work_order_id", "po_id", "schedule_id", "inquiry_id", "shipment_id",
)  # fmt: skip


def entity_of(args: dict[str, Any]) -> tuple[str, str] | None:
    """The (argument, value) naming the entity `args` act on, when they name one."""
    for key in ENTITY_KEYS:
        value = args.get(key)
        if isinstance(value, str) and value:
            return key, value
    return None


def check_registered(tool_names: Iterable[str]) -> None:
    """Fail fast when the policy guards a tool that no server registers."""
    missing = sorted(set(POLICY) - set(tool_names))
    if missing:
        raise ValueError(f"the approval policy names tools no server registers: {missing}")
