"""The one write path of stock levels: locks, the movement ledger, and low-stock flags.

Every change of on-hand stock books a `stock_movements` row in the same transaction, so the ledger
of a level always sums to its on-hand quantity (the demo plant opens each level with an
ADJUSTMENT). Free stock is on-hand minus reserved. A level is *low* when its free stock is at or
below its reorder point: `stock.low` is raised when a level becomes low (its `low_since` goes from
null to a time) and `stock.restored` when it rises above again: once per dip, not on every change.
Writers lock levels in (sku, facility_id) order, after the order they work for, so that racing
writers queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, JsonValue

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import ConflictError
from tools.core.operations import Actor, record

MovementKind = Literal[
    "RECEIPT",
    "SHIPMENT",
    "PRODUCTION",
    "CONSUMPTION",
    "ADJUSTMENT",
    "TRANSFER_IN",
    "TRANSFER_OUT",
    "SCRAP",
]


class StockLevel(BaseModel):
    """One SKU at one facility."""

    sku: str
    facility_id: str
    on_hand: int
    reserved: int
    available: int  # on hand and not reserved
    reorder_point: int
    reorder_quantity: int
    low_since: datetime | None
    updated_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.sku, self.facility_id)

    @property
    def entity_id(self) -> str:
        return f"{self.sku}@{self.facility_id}"


LEVEL_COLUMNS = (
    "sku, facility_id, on_hand, reserved, on_hand - reserved as available, reorder_point, "
    "reorder_quantity, low_since, updated_at"
)


@dataclass(frozen=True)
class ShippedLine:
    """Units of one order line leaving with a shipment."""

    line_no: int
    sku: str
    quantity: int


async def lock_levels(
    conn: AsyncConn, *, skus: Iterable[str] = (), keys: Iterable[tuple[str, str]] = ()
) -> dict[tuple[str, str], StockLevel]:
    """Lock every level of `skus` and each (sku, facility) of `keys`, in key order."""
    key_list = sorted(set(keys))
    cur = await conn.execute(
        f"select {LEVEL_COLUMNS} from stock_levels "
        "where sku = any(%(skus)s) or (sku, facility_id) in "
        "(select * from unnest(%(key_skus)s::text[], %(key_facilities)s::text[])) "
        "order by sku, facility_id for update",
        {
            "skus": sorted(set(skus)),
            "key_skus": [k[0] for k in key_list],
            "key_facilities": [k[1] for k in key_list],
        },
    )
    levels = [StockLevel.model_validate(r) for r in await cur.fetchall()]
    return {level.key: level for level in levels}


@dataclass(frozen=True)
class LevelChange:
    """A change to one level: on-hand and reserved deltas, and the movement it books."""

    sku: str
    facility_id: str
    on_hand: int = 0
    reserved: int = 0
    kind: MovementKind = "ADJUSTMENT"
    reference_type: str | None = None
    reference_id: str | None = None


_APPLY = """
update stock_levels s set on_hand = s.on_hand + d.on_hand, reserved = s.reserved + d.reserved,
    updated_at = %(at)s
from unnest(%(skus)s::text[], %(facilities)s::text[], %(on_hand)s::int[], %(reserved)s::int[])
    as d(sku, facility_id, on_hand, reserved)
where s.sku = d.sku and s.facility_id = d.facility_id
returning s.sku, s.facility_id, s.on_hand, s.reserved, s.on_hand - s.reserved as available,
    s.reorder_point, s.reorder_quantity, s.low_since, s.updated_at
"""
_BOOK = """
insert into stock_movements (sku, facility_id, quantity, kind, reference_type, reference_id, at,
    actor)
select sku, facility_id, quantity, kind, ref_type, ref_id, %(at)s, %(actor)s
from unnest(%(skus)s::text[], %(facilities)s::text[], %(quantities)s::int[], %(kinds)s::text[],
    %(ref_types)s::text[], %(ref_ids)s::text[]) as m(sku, facility_id, quantity, kind, ref_type,
    ref_id)
"""


async def apply_changes(
    conn: AsyncConn, actor: Actor, changes: Sequence[LevelChange]
) -> list[StockLevel]:
    """Apply changes to levels the caller has locked: the rows, the ledger, and low-stock flags.

    The caller checks quantities first (and raises InsufficientStockError); the schema's CHECKs
    are the last guard. Returns the levels as they are now.
    """
    if not changes:
        return []
    merged: dict[tuple[str, str], list[int]] = {}
    for c in changes:
        totals = merged.setdefault((c.sku, c.facility_id), [0, 0])
        totals[0] += c.on_hand
        totals[1] += c.reserved
    keys = sorted(merged)
    at = clock.now()
    cur = await conn.execute(
        _APPLY,
        {
            "skus": [k[0] for k in keys],
            "facilities": [k[1] for k in keys],
            "on_hand": [merged[k][0] for k in keys],
            "reserved": [merged[k][1] for k in keys],
            "at": at,
        },
    )
    after = [StockLevel.model_validate(r) for r in await cur.fetchall()]
    booked = [c for c in changes if c.on_hand != 0]
    if booked:
        await conn.execute(
            _BOOK,
            {
                "skus": [c.sku for c in booked],
                "facilities": [c.facility_id for c in booked],
                "quantities": [c.on_hand for c in booked],
                "kinds": [c.kind for c in booked],
                "ref_types": [c.reference_type for c in booked],
                "ref_ids": [c.reference_id for c in booked],
                "at": at,
                "actor": actor.label(),
            },
        )
    return await note_low_stock(conn, actor, after)


async def note_low_stock(
    conn: AsyncConn, actor: Actor, levels: Sequence[StockLevel]
) -> list[StockLevel]:
    """Raise `stock.low` for levels that became low and `stock.restored` for recovered ones."""
    flips = [
        lv for lv in levels if (lv.available <= lv.reorder_point) != (lv.low_since is not None)
    ]
    if not flips:
        return list(levels)
    at = clock.now()
    await conn.execute(
        "update stock_levels s set low_since = case when d.low then %(at)s::timestamptz end "
        "from unnest(%(skus)s::text[], %(facilities)s::text[], %(low)s::bool[]) "
        "as d(sku, facility_id, low) where s.sku = d.sku and s.facility_id = d.facility_id",
        {
            "skus": [lv.sku for lv in flips],
            "facilities": [lv.facility_id for lv in flips],
            "low": [lv.low_since is None for lv in flips],
            "at": at,
        },
    )
    on_order = await _on_order(conn, [lv.key for lv in flips])
    updated = {lv.key: lv for lv in levels}
    for lv in flips:
        became_low = lv.low_since is None
        now_level = lv.model_copy(update={"low_since": at if became_low else None})
        updated[lv.key] = now_level
        payload: dict[str, JsonValue] = {
            "sku": lv.sku,
            "facility_id": lv.facility_id,
            "on_hand": lv.on_hand,
            "reserved": lv.reserved,
            "available": lv.available,
            "reorder_point": lv.reorder_point,
            "reorder_quantity": lv.reorder_quantity,
            "on_order": on_order.get(lv.key, 0),
        }
        await record(
            conn,
            actor,
            event_type="stock.low" if became_low else "stock.restored",
            entity_type="stock_level",
            entity_id=lv.entity_id,
            action="stock.low" if became_low else "stock.restored",
            before={"low": not became_low},
            after={"low": became_low, "available": lv.available},
            payload=payload,
        )
    return [updated[lv.key] for lv in levels]


async def _on_order(conn: AsyncConn, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Quantities on open purchase orders per (sku, facility)."""
    cur = await conn.execute(
        "select sku, facility_id, sum(quantity)::int as quantity from purchase_orders "
        "where status in ('PENDING', 'IN_TRANSIT', 'DELAYED') and (sku, facility_id) in "
        "(select * from unnest(%(skus)s::text[], %(facilities)s::text[])) "
        "group by sku, facility_id",
        {"skus": [k[0] for k in keys], "facilities": [k[1] for k in keys]},
    )
    return {(r["sku"], r["facility_id"]): r["quantity"] for r in await cur.fetchall()}


# ───────────────────────── shipping ─────────────────────────


# Part of a reservation ships: it keeps the rest, and a FULFILLED row records the part shipped.
_SPLIT = """
with kept as (
    update stock_reservations set quantity = %(left)s, updated_at = %(at)s
    where reservation_id = %(id)s returning *
)
insert into stock_reservations (order_id, line_no, sku, facility_id, quantity, status,
    created_at, updated_at)
select order_id, line_no, sku, facility_id, %(taken)s, 'FULFILLED', created_at, %(at)s from kept
"""


async def take_for_shipment(
    conn: AsyncConn,
    actor: Actor,
    *,
    order_id: str,
    facility_id: str,
    shipment_id: str,
    lines: Sequence[ShippedLine],
) -> None:
    """Deduct shipped units: fulfil their reservations, lower on-hand and reserved, book SHIPMENT.

    The caller has locked the order; the units must be held for it at `facility_id`.
    """
    cur = await conn.execute(
        "select reservation_id, line_no, quantity from stock_reservations "
        "where order_id = %(order_id)s and facility_id = %(facility)s "
        "and status in ('RESERVED', 'COMMITTED') order by reservation_id for update",
        {"order_id": order_id, "facility": facility_id},
    )
    held = await cur.fetchall()
    done: list[int] = []
    split: list[tuple[int, int, int]] = []  # (reservation_id, quantity left, quantity taken)
    for line in lines:
        need = line.quantity
        for r in (r for r in held if r["line_no"] == line.line_no and r["quantity"] > 0):
            take = min(need, r["quantity"])
            if take == r["quantity"]:
                done.append(r["reservation_id"])
            else:
                split.append((r["reservation_id"], r["quantity"] - take, take))
            r["quantity"] -= take
            need -= take
            if need == 0:
                break
        if need:
            raise ConflictError(
                f"order {order_id} line {line.line_no} has {line.quantity - need} of "
                f"{line.quantity} {line.sku} held at {facility_id}; the shipment cannot leave"
            )
    await lock_levels(conn, keys=[(a.sku, facility_id) for a in lines])
    at = clock.now()
    await conn.execute(
        "update stock_reservations set status = 'FULFILLED', updated_at = %(at)s "
        "where reservation_id = any(%(ids)s)",
        {"ids": done, "at": at},
    )
    for reservation_id, left, taken in split:
        await conn.execute(
            _SPLIT,
            {"id": reservation_id, "left": left, "taken": taken, "at": at},
        )
    changes = [
        LevelChange(a.sku, facility_id, on_hand=-a.quantity, reserved=-a.quantity,
                    kind="SHIPMENT", reference_type="shipment", reference_id=shipment_id)
        for a in lines
    ]  # fmt: skip
    await apply_changes(conn, actor, changes)
