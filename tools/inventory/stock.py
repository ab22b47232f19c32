"""Stock by SKU and facility: levels, the movement ledger, adjustments and the reorder check.

The write path every stock change takes (locks, ledger rows, low-stock flags) is
`tools.inventory.ledger`; its docstring says how the ledger balances and when `stock.low` is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from tools.core.db import AsyncConn
from tools.core.errors import InsufficientStockError, NotFoundError, ValidationError
from tools.core.limits import require_text
from tools.core.operations import Actor, atomic, idempotent, record
from tools.inventory.ledger import (
    LEVEL_COLUMNS,
    LevelChange,
    MovementKind,
    StockLevel,
    apply_changes,
    lock_levels,
    note_low_stock,
)

# The kinds a person (or the maintenance and production code) may book by hand; receipts and
# shipments come only from purchase orders and shipments.
AdjustmentKind = Literal["ADJUSTMENT", "CONSUMPTION", "PRODUCTION", "SCRAP"]
_ADJUSTMENT_KINDS = ("ADJUSTMENT", "CONSUMPTION", "PRODUCTION", "SCRAP")


class Movement(BaseModel):
    """One row of the stock ledger."""

    movement_id: int
    sku: str
    facility_id: str
    quantity: int
    kind: MovementKind
    reference_type: str | None
    reference_id: str | None
    at: datetime
    actor: str


class LedgerMismatch(BaseModel):
    """A level whose movements do not sum to its on-hand quantity."""

    sku: str
    facility_id: str
    on_hand: int
    ledger: int


# ───────────────────────── reading ─────────────────────────


async def stock_levels(
    conn: AsyncConn, *, sku: str | None = None, facility_id: str | None = None
) -> list[StockLevel]:
    """Stock levels, optionally of one SKU and/or one facility, by SKU then facility."""
    async with conn.transaction():
        cur = await conn.execute(
            f"select {LEVEL_COLUMNS} from stock_levels "
            "where (%(sku)s::text is null or sku = %(sku)s) "
            "and (%(facility)s::text is null or facility_id = %(facility)s) "
            "order by sku, facility_id",
            {"sku": sku, "facility": facility_id},
        )
        return [StockLevel.model_validate(r) for r in await cur.fetchall()]


async def stock_level(conn: AsyncConn, sku: str, facility_id: str) -> StockLevel:
    """The level of `sku` at `facility_id`; NotFoundError naming where the SKU is stocked."""
    levels = await stock_levels(conn, sku=sku)
    for level in levels:
        if level.facility_id == facility_id:
            return level
    raise NotFoundError(_not_stocked(sku, facility_id, [lv.facility_id for lv in levels]))


def _not_stocked(sku: str, facility_id: str, where: Sequence[str]) -> str:
    if not where:
        return f"{sku} is not stocked anywhere; check the SKU (they look like SKU-TB-1001)"
    return f"{sku} is not stocked at {facility_id}; it is stocked at {', '.join(where)}"


async def movements(
    conn: AsyncConn, sku: str, facility_id: str, *, limit: int = 100
) -> list[Movement]:
    """The newest `limit` (1 to 1000) ledger rows of one level, newest first."""
    if not 1 <= limit <= 1000:
        raise ValidationError(f"limit must be 1 to 1000, got {limit}")
    async with conn.transaction():
        cur = await conn.execute(
            "select movement_id, sku, facility_id, quantity, kind, reference_type, reference_id, "
            "at, actor from stock_movements where sku = %(sku)s and facility_id = %(facility)s "
            "order by at desc, movement_id desc limit %(limit)s",
            {"sku": sku, "facility": facility_id, "limit": limit},
        )
        return [Movement.model_validate(r) for r in await cur.fetchall()]


async def ledger_mismatches(conn: AsyncConn) -> list[LedgerMismatch]:
    """Levels whose ledger does not sum to on-hand (empty when the books balance)."""
    async with conn.transaction():
        cur = await conn.execute(
            "select s.sku, s.facility_id, s.on_hand, coalesce(sum(m.quantity), 0)::int as ledger "
            "from stock_levels s left join stock_movements m using (sku, facility_id) "
            "group by s.sku, s.facility_id, s.on_hand "
            "having s.on_hand <> coalesce(sum(m.quantity), 0) order by s.sku, s.facility_id"
        )
        return [LedgerMismatch.model_validate(r) for r in await cur.fetchall()]


# ───────────────────────── operations ─────────────────────────


async def adjust_stock(
    conn: AsyncConn,
    actor: Actor,
    sku: str,
    facility_id: str,
    *,
    delta: int,
    reason: str,
    kind: AdjustmentKind = "ADJUSTMENT",
    reference_type: str | None = None,
    reference_id: str | None = None,
    idempotency_key: str | None = None,
) -> StockLevel:
    """Book `delta` units in or out of a level (a count, a consumption, a scrap), with a reason.

    Free stock must cover a decrease: reserved units are spoken for.
    """
    if delta == 0:
        raise ValidationError("an adjustment must change stock: delta may not be 0")
    if kind not in _ADJUSTMENT_KINDS:
        raise ValidationError(
            f"{kind!r} cannot be booked by hand; use one of {', '.join(_ADJUSTMENT_KINDS)}"
        )
    why = require_text(reason, "an adjustment reason")

    async def run() -> StockLevel:
        levels = await lock_levels(conn, keys=[(sku, facility_id)])
        level = levels.get((sku, facility_id))
        if level is None:
            where = [lv.facility_id for lv in (await lock_levels(conn, skus=[sku])).values()]
            raise NotFoundError(_not_stocked(sku, facility_id, where))
        if level.available + delta < 0:
            raise InsufficientStockError(
                f"{sku} at {facility_id} has {level.available} free "
                f"({level.on_hand} on hand, {level.reserved} reserved); cannot take {-delta}",
                sku=sku,
                facility_id=facility_id,
                requested=-delta,
                available=level.available,
                on_hand=level.on_hand,
                reserved=level.reserved,
            )
        change = LevelChange(
            sku,
            facility_id,
            on_hand=delta,
            kind=kind,
            reference_type=reference_type or "adjustment",
            reference_id=reference_id,
        )
        (after,) = await apply_changes(conn, actor, [change])
        await record(
            conn,
            actor,
            event_type="stock.adjusted",
            entity_type="stock_level",
            entity_id=level.entity_id,
            action="stock.adjust",
            before={"on_hand": level.on_hand},
            after={"on_hand": after.on_hand},
            payload={
                "sku": sku,
                "facility_id": facility_id,
                "delta": delta,
                "kind": kind,
                "reason": why,
                "reference_id": reference_id,
            },  # fmt: skip
        )
        return after

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "inventory.adjust", StockLevel, run)


class ReorderCheck(BaseModel):
    """What a reorder check found and flagged."""

    low: list[StockLevel]  # every level at or below its reorder point
    newly_low: list[StockLevel]  # those flagged (and `stock.low` raised) by this check
    restored: list[StockLevel]  # those back above their reorder point, flag cleared


async def check_reorder(
    conn: AsyncConn,
    actor: Actor,
    *,
    sku: str | None = None,
    facility_id: str | None = None,
    idempotency_key: str | None = None,
) -> ReorderCheck:
    """Flag levels at or below their reorder point, raising `stock.low` once per dip.

    Levels already flagged raise nothing again; levels back above have their flag cleared.
    """

    async def run() -> ReorderCheck:
        cur = await conn.execute(
            f"select {LEVEL_COLUMNS} from stock_levels "
            "where (%(sku)s::text is null or sku = %(sku)s) "
            "and (%(facility)s::text is null or facility_id = %(facility)s) "
            "and (on_hand - reserved <= reorder_point) <> (low_since is not null) "
            "order by sku, facility_id for update",
            {"sku": sku, "facility": facility_id},
        )
        flips = [StockLevel.model_validate(r) for r in await cur.fetchall()]
        noted = await note_low_stock(conn, actor, flips)
        cur = await conn.execute(
            f"select {LEVEL_COLUMNS} from stock_levels "
            "where (%(sku)s::text is null or sku = %(sku)s) "
            "and (%(facility)s::text is null or facility_id = %(facility)s) "
            "and on_hand - reserved <= reorder_point order by sku, facility_id",
            {"sku": sku, "facility": facility_id},
        )
        low = [StockLevel.model_validate(r) for r in await cur.fetchall()]
        return ReorderCheck(
            low=low,
            newly_low=[lv for lv in noted if lv.low_since is not None],
            restored=[lv for lv in noted if lv.low_since is None],
        )

    async with atomic(conn):
        return await idempotent(conn, idempotency_key, "inventory.check_reorder", ReorderCheck, run)
