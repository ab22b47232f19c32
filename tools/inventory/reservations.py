"""Stock reserved for orders: reserve across facilities, commit, release, and take for shipping.

A reservation holds units of one order line at one facility: RESERVED when claimed, COMMITTED
once production starts, RELEASED when given back, FULFILLED when the units left with a
shipment. Reserving claims free stock line by line, the order's own facility first and then the
facilities with the most free stock; a partial reservation is allowed and reported (the order
stays VALIDATED until every line is covered, then becomes RESERVED). The reserve path is a
handful of statements: lock the order, read its lines, lock the levels, write the levels and the
reservations, then the event and audit rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import InsufficientStockError, InvalidTransitionError
from tools.core.limits import require_text
from tools.core.operations import Actor, atomic, idempotent, record
from tools.core.settings import get_settings
from tools.inventory.ledger import (
    LevelChange,
    StockLevel,
    apply_changes,
    lock_levels,
    note_low_stock,
)
from tools.orders.lifecycle import OrderHeader, OrderStatus, lock_order, move_order

ReservationStatus = Literal["RESERVED", "COMMITTED", "RELEASED", "FULFILLED"]


class Allocation(BaseModel):
    """Units of one order line held (or released) at one facility."""

    line_no: int
    sku: str
    facility_id: str
    quantity: int


class LineReservation(BaseModel):
    """How one line stands after a reservation."""

    line_no: int
    sku: str
    ordered: int
    shipped: int
    held_before: int  # reserved or committed before this call
    reserved_now: int
    shortfall: int  # still uncovered after this call
    allocations: list[Allocation]  # what this call reserved, per facility


class ReservationResult(BaseModel):
    """What a reservation did, line by line, and where the order stands."""

    order_id: str
    order_status: OrderStatus
    fully_reserved: bool
    reserved_now: int
    shortfall: int
    lines: list[LineReservation]


class Reservation(BaseModel):
    """One row of stock held for an order line."""

    reservation_id: int
    order_id: str
    line_no: int
    sku: str
    facility_id: str
    quantity: int
    status: ReservationStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = Field(
        default=None, description="When it is released if still RESERVED (None: never)."
    )


class ReleaseResult(BaseModel):
    """Stock given back by an order, and where the order stands."""

    order_id: str
    order_status: OrderStatus
    released: list[Allocation]


# Each line of an order and the units already held for it. Read after the order is locked, in
# a statement of its own: a statement that waited for the lock would still see the reservations
# as they were before the lock holder committed.
_OPEN_LINES = """
select l.line_no, l.sku, l.quantity, l.quantity_shipped,
    coalesce(sum(r.quantity) filter (where r.status in ('RESERVED', 'COMMITTED')), 0)::int as held
from order_lines l
left join stock_reservations r on r.order_id = l.order_id and r.line_no = l.line_no
where l.order_id = %(order_id)s
group by l.order_id, l.line_no
order by l.line_no
"""
# The reservations, and the levels' reserved quantities, in one statement.
_HOLD = """
with held as (
    insert into stock_reservations (order_id, line_no, sku, facility_id, quantity, status,
        created_at, updated_at, expires_at)
    select %(order_id)s, line_no, sku, facility_id, quantity, 'RESERVED', %(at)s, %(at)s,
        %(expires_at)s
    from unnest(%(line_nos)s::smallint[], %(skus)s::text[], %(facilities)s::text[],
        %(quantities)s::int[]) as r(line_no, sku, facility_id, quantity)
)
update stock_levels s set reserved = s.reserved + d.quantity, updated_at = %(at)s
from (select sku, facility_id, sum(quantity)::int as quantity
      from unnest(%(skus)s::text[], %(facilities)s::text[], %(quantities)s::int[])
          as u(sku, facility_id, quantity)
      group by sku, facility_id) as d
where s.sku = d.sku and s.facility_id = d.facility_id
returning s.sku, s.facility_id, s.on_hand, s.reserved, s.on_hand - s.reserved as available,
    s.reorder_point, s.reorder_quantity, s.low_since, s.updated_at
"""


async def reserve_stock(
    conn: AsyncConn,
    actor: Actor,
    order_id: str,
    *,
    allow_partial: bool = True,
    idempotency_key: str | None = None,
) -> ReservationResult:
    """Reserve free stock for every uncovered unit of a VALIDATED order, across facilities.

    With `allow_partial=False` a shortfall raises InsufficientStockError and reserves nothing.
    A fully covered order becomes RESERVED; calling again on it reserves nothing more.
    """

    async def run() -> ReservationResult:
        # Pipelined: statements whose results are not read (the NOTIFY, the audit row) go out
        # without a round trip of their own; the reserve path is what the benchmark times.
        async with conn.pipeline():
            return await _reserve(conn, actor, order_id, allow_partial=allow_partial)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "inventory.reserve", ReservationResult, run)


async def _reserve(
    conn: AsyncConn, actor: Actor, order_id: str, *, allow_partial: bool
) -> ReservationResult:
    order = await lock_order(conn, order_id)
    if order.status not in ("VALIDATED", "RESERVED"):
        raise InvalidTransitionError(
            f"order {order_id} is {order.status}; stock is reserved for VALIDATED orders"
            + (" (validate it first)" if order.status == "CREATED" else "")
        )
    cur = await conn.execute(_OPEN_LINES, {"order_id": order_id})
    lines = await cur.fetchall()
    needs = {r["line_no"]: r["quantity"] - r["quantity_shipped"] - r["held"] for r in lines}
    skus = sorted({r["sku"] for r in lines if needs[r["line_no"]] > 0})
    levels = await lock_levels(conn, skus=skus) if skus else {}
    free = {key: level.available for key, level in levels.items()}
    taken: list[Allocation] = []
    report: list[LineReservation] = []
    for r in lines:
        need = needs[r["line_no"]]
        mine: list[Allocation] = []
        places = sorted(
            (key for key in free if key[0] == r["sku"]),
            key=lambda key: (key[1] != order.facility_id, -free[key], key[1]),
        )
        for key in places:
            take = min(need - sum(a.quantity for a in mine), free[key])
            if take > 0:
                free[key] -= take
                mine.append(Allocation(line_no=r["line_no"], sku=r["sku"], facility_id=key[1],
                                       quantity=take))  # fmt: skip
        got = sum(a.quantity for a in mine)
        taken.extend(mine)
        report.append(LineReservation(
            line_no=r["line_no"], sku=r["sku"], ordered=r["quantity"],
            shipped=r["quantity_shipped"], held_before=r["held"], reserved_now=got,
            shortfall=max(need, 0) - got, allocations=mine,
        ))  # fmt: skip
    shortfall = sum(line.shortfall for line in report)
    if shortfall and not allow_partial:
        before = {key: level.available for key, level in levels.items()}
        raise InsufficientStockError(
            _shortfall_message(order_id, report, before),
            order_id=order_id,
            short=[f"{line.sku}: {line.shortfall}" for line in report if line.shortfall],
        )
    if taken:
        await _hold(conn, actor, order, taken)
    status: OrderStatus = order.status
    if not shortfall and order.status == "VALIDATED":
        moved = await move_order(conn, actor, order, "RESERVED", note="stock reserved")
        status = moved.status
    return ReservationResult(
        order_id=order_id,
        order_status=status,
        fully_reserved=shortfall == 0,
        reserved_now=sum(a.quantity for a in taken),
        shortfall=shortfall,
        lines=report,
    )


def _shortfall_message(
    order_id: str, report: Sequence[LineReservation], free: dict[tuple[str, str], int]
) -> str:
    parts = []
    for line in (line for line in report if line.shortfall):
        wanted = line.shortfall + line.reserved_now
        where = ", ".join(f"{fac} {n}" for (sku, fac), n in sorted(free.items()) if sku == line.sku)
        parts.append(
            f"line {line.line_no} needs {wanted} {line.sku} but only {line.reserved_now} are free"
            + (f" ({where})" if where else " (it is stocked nowhere)")
        )
    return (
        f"not enough stock for order {order_id}: {'; '.join(parts)}; reserve what there is "
        "(allow_partial) or raise a purchase order"
    )


async def _hold(
    conn: AsyncConn, actor: Actor, order: OrderHeader, taken: Sequence[Allocation]
) -> None:
    now = clock.now()
    hold = get_settings().reservation_hold
    cur = await conn.execute(
        _HOLD,
        {
            "order_id": order.order_id,
            "at": now,
            "expires_at": None if hold is None else now + hold,
            "line_nos": [a.line_no for a in taken],
            "skus": [a.sku for a in taken],
            "facilities": [a.facility_id for a in taken],
            "quantities": [a.quantity for a in taken],
        },
    )
    await note_low_stock(conn, actor, [StockLevel.model_validate(r) for r in await cur.fetchall()])
    await record(
        conn,
        actor,
        event_type="stock.reserved",
        entity_type="order",
        entity_id=order.order_id,
        action="stock.reserve",
        after={"reserved": sum(a.quantity for a in taken)},
        payload={"order_id": order.order_id, "allocations": _json(taken)},
    )


def _json(allocations: Sequence[Allocation]) -> list[JsonValue]:
    return [a.model_dump() for a in allocations]


# ───────────────────────── commit and release ─────────────────────────


async def commit_reservations(
    conn: AsyncConn, actor: Actor, order: OrderHeader
) -> list[Allocation]:
    """Commit a locked order's RESERVED stock to production (no change to the levels)."""
    cur = await conn.execute(
        "update stock_reservations set status = 'COMMITTED', updated_at = %(at)s "
        "where order_id = %(order_id)s and status = 'RESERVED' "
        "returning line_no, sku, facility_id, quantity",
        {"order_id": order.order_id, "at": clock.now()},
    )
    committed = [Allocation.model_validate(r) for r in await cur.fetchall()]
    if committed:
        await record(
            conn,
            actor,
            event_type="stock.committed",
            entity_type="order",
            entity_id=order.order_id,
            action="stock.commit",
            before={"status": "RESERVED"},
            after={"status": "COMMITTED"},
            payload={"order_id": order.order_id, "allocations": _json(committed)},
        )
    return committed


async def release_reservations(
    conn: AsyncConn,
    actor: Actor,
    order: OrderHeader,
    *,
    reason: str,
    statuses: Sequence[ReservationStatus] = ("RESERVED",),
    line_no: int | None = None,
    expired_by: datetime | None = None,
) -> list[Allocation]:
    """Give back a locked order's reservations in `statuses` (of one line, or all; or those
    expiring by `expired_by`)."""
    cur = await conn.execute(
        "select reservation_id, line_no, sku, facility_id, quantity from stock_reservations "
        "where order_id = %(order_id)s and status = any(%(statuses)s) "
        "and (%(line_no)s::int is null or line_no = %(line_no)s) "
        "and (%(by)s::timestamptz is null or expires_at <= %(by)s) "
        "order by reservation_id for update",
        {"order_id": order.order_id, "statuses": list(statuses), "line_no": line_no,
         "by": expired_by},
    )  # fmt: skip
    rows = await cur.fetchall()
    if not rows:
        return []
    await lock_levels(conn, keys=[(r["sku"], r["facility_id"]) for r in rows])
    await conn.execute(
        "update stock_reservations set status = 'RELEASED', updated_at = %(at)s "
        "where reservation_id = any(%(ids)s)",
        {"ids": [r["reservation_id"] for r in rows], "at": clock.now()},
    )
    released = [Allocation.model_validate(r) for r in rows]
    await apply_changes(
        conn, actor, [LevelChange(a.sku, a.facility_id, reserved=-a.quantity) for a in released]
    )
    await record(
        conn,
        actor,
        event_type="stock.released",
        entity_type="order",
        entity_id=order.order_id,
        action="stock.release",
        before={"reserved": sum(a.quantity for a in released)},
        after={"reserved": 0},
        payload={"order_id": order.order_id, "reason": reason, "allocations": _json(released)},
    )
    return released


async def commit_stock(
    conn: AsyncConn, actor: Actor, order_id: str, *, idempotency_key: str | None = None
) -> ReleaseResult:
    """Commit a RESERVED order's reservations; `released` lists what was committed."""

    async def run() -> ReleaseResult:
        order = await lock_order(conn, order_id)
        if order.status != "RESERVED":
            raise InvalidTransitionError(
                f"order {order_id} is {order.status}; only a RESERVED order's stock can be "
                "committed"
            )
        committed = await commit_reservations(conn, actor, order)
        return ReleaseResult(order_id=order_id, order_status=order.status, released=committed)

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "inventory.commit", ReleaseResult, run)


async def release_stock(
    conn: AsyncConn,
    actor: Actor,
    order_id: str,
    *,
    reason: str,
    line_no: int | None = None,
    idempotency_key: str | None = None,
) -> ReleaseResult:
    """Give back the stock reserved for a VALIDATED or RESERVED order (one line, or all).

    A RESERVED order goes back to VALIDATED. Stock committed to production is released only by
    cancelling the order.
    """
    why = require_text(reason, "a release reason")

    async def run() -> ReleaseResult:
        order = await lock_order(conn, order_id)
        if order.status not in ("VALIDATED", "RESERVED"):
            raise InvalidTransitionError(
                f"order {order_id} is {order.status}; stock can be released from VALIDATED or "
                "RESERVED orders (cancel the order to free committed stock)"
            )
        released = await release_reservations(conn, actor, order, reason=why, line_no=line_no)
        return await _released(
            conn, actor, order, released, why=why, event_type="order.reservation_released"
        )

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "inventory.release", ReleaseResult, run)


async def expire_reservations(
    conn: AsyncConn, actor: Actor, *, now: datetime | None = None
) -> list[ReleaseResult]:
    """Release the reservations still RESERVED past their expiry, order by order: the stock is
    free again and a RESERVED order goes back to VALIDATED (`order.reservation_expired`). An
    order ON_HOLD keeps its stock while it is held; it expires once it is released."""
    at = now or clock.now()
    cur = await conn.execute(
        "select distinct order_id from stock_reservations "
        "where status = 'RESERVED' and expires_at <= %s order by order_id",
        (at,),
    )
    done: list[ReleaseResult] = []
    for row in await cur.fetchall():
        async with atomic(conn):
            order = await lock_order(conn, row["order_id"])
            if order.status not in ("VALIDATED", "RESERVED"):
                continue
            why = "the reservation expired before production started"
            released = await release_reservations(conn, actor, order, reason=why, expired_by=at)
            done.append(
                await _released(
                    conn, actor, order, released, why=why, event_type="order.reservation_expired"
                )
            )
    return done


async def _released(
    conn: AsyncConn,
    actor: Actor,
    order: OrderHeader,
    released: list[Allocation],
    *,
    why: str,
    event_type: str,
) -> ReleaseResult:
    """A RESERVED order whose stock was given back goes back to VALIDATED."""
    status: OrderStatus = order.status
    if released and order.status == "RESERVED":
        moved = await move_order(
            conn, actor, order, "VALIDATED", note=f"stock released: {why}",
            event_type=event_type, back=True,
        )  # fmt: skip
        status = moved.status
    return ReleaseResult(order_id=order.order_id, order_status=status, released=released)


async def order_reservations(conn: AsyncConn, order_id: str) -> list[Reservation]:
    """Every reservation of an order, oldest first."""
    async with conn.transaction():
        cur = await conn.execute(
            "select reservation_id, order_id, line_no, sku, facility_id, quantity, status, "
            "created_at, updated_at, expires_at from stock_reservations "
            "where order_id = %(order_id)s "
            "order by reservation_id",
            {"order_id": order_id},
        )
        return [Reservation.model_validate(r) for r in await cur.fetchall()]
