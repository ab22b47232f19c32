"""Finding stock: product search, alternatives for a short SKU, and the spare parts a machine
fault calls for, each with where it is in stock."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel

from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.limits import check_page
from tools.maintenance.fault_types import FAULT_TYPES

CATEGORIES = (
    "TURBINE_BLADE", "ENGINE_HOUSING", "MOTOR_HOUSING", "BATTERY_ENCLOSURE", "BEARING", "SPINDLE",
    "RAW_MATERIAL", "SPARE_PART",
)  # fmt: skip


class ProductHit(BaseModel):
    """A product and its stock across facilities."""

    sku: str
    name: str
    division_id: str
    category: str
    unit_price: Decimal
    unit_weight_kg: Decimal
    is_manufactured: bool
    requires_certification: bool
    on_hand: int
    available: int


async def search_products(
    conn: AsyncConn,
    *,
    text: str | None = None,
    division_id: str | None = None,
    category: str | None = None,
    limit: int = 50,
) -> list[ProductHit]:
    """Products whose SKU or name contains `text` (any case), of a division and category."""
    check_page(limit, 0)
    if category is not None and category not in CATEGORIES:
        raise ValidationError(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    pattern = None
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
    async with conn.transaction():
        cur = await conn.execute(
            "select p.sku, p.name, p.division_id, p.category, p.unit_price, p.unit_weight_kg, "
            "p.is_manufactured, p.requires_certification, "
            "coalesce(sum(s.on_hand), 0)::int as on_hand, "
            "coalesce(sum(s.on_hand - s.reserved), 0)::int as available "
            "from products p left join stock_levels s on s.sku = p.sku "
            "where (%(pattern)s::text is null or p.sku ilike %(pattern)s "
            "       or p.name ilike %(pattern)s) "
            "and (%(division)s::text is null or p.division_id = %(division)s) "
            "and (%(category)s::text is null or p.category = %(category)s) "
            "group by p.sku order by p.sku limit %(limit)s",
            {"pattern": pattern, "division": division_id, "category": category, "limit": limit},
        )
        return [ProductHit.model_validate(r) for r in await cur.fetchall()]


class FacilityStock(BaseModel):
    """A SKU's stock at one facility."""

    facility_id: str
    on_hand: int
    reserved: int
    available: int


class SupplierOption(BaseModel):
    """A supplier of a SKU, its terms, and when an order placed today would arrive."""

    supplier_id: str
    name: str
    status: str
    reliability: Decimal
    unit_price: Decimal
    lead_time_days: int
    min_order_qty: int
    is_preferred: bool
    arrives_by: datetime


class Alternatives(BaseModel):
    """Where else a short SKU can come from."""

    sku: str
    short_at: str | None
    quantity: int | None
    other_facilities: list[FacilityStock]  # free stock elsewhere, most first
    transfer_covers: bool  # the free stock elsewhere covers `quantity`
    suppliers: list[SupplierOption]  # ACTIVE first, then fastest, then cheapest


async def alternatives(
    conn: AsyncConn, sku: str, *, facility_id: str | None = None, quantity: int | None = None
) -> Alternatives:
    """Other facilities with free stock of `sku`, and the suppliers that sell it."""
    async with conn.transaction():
        cur = await conn.execute("select 1 from products where sku = %s", (sku,))
        if await cur.fetchone() is None:
            raise NotFoundError(f"unknown SKU {sku!r}; SKUs look like SKU-BRG-7014")
        cur = await conn.execute(
            "select facility_id, on_hand, reserved, on_hand - reserved as available "
            "from stock_levels where sku = %(sku)s and on_hand > reserved "
            "and facility_id is distinct from %(facility)s order by available desc, facility_id",
            {"sku": sku, "facility": facility_id},
        )
        elsewhere = [FacilityStock.model_validate(r) for r in await cur.fetchall()]
        cur = await conn.execute(
            "select s.supplier_id, s.name, s.status, s.reliability, i.unit_price, "
            "i.lead_time_days, i.min_order_qty, i.is_preferred "
            "from supplier_items i join suppliers s on s.supplier_id = i.supplier_id "
            "where i.sku = %s order by s.status <> 'ACTIVE', i.lead_time_days, i.unit_price",
            (sku,),
        )
        now = clock.now()
        suppliers = [
            SupplierOption.model_validate(
                {**r, "arrives_by": now + timedelta(days=r["lead_time_days"])}
            )
            for r in await cur.fetchall()
        ]
    free = sum(f.available for f in elsewhere)
    return Alternatives(
        sku=sku, short_at=facility_id, quantity=quantity, other_facilities=elsewhere,
        transfer_covers=quantity is not None and free >= quantity, suppliers=suppliers,
    )  # fmt: skip


class SparePart(BaseModel):
    """A part a fault calls for, and where it is in stock."""

    sku: str
    name: str
    part_role: str
    quantity_needed: int
    unit_price: Decimal
    available_on_site: int  # free at the machine's facility
    enough_on_site: bool
    stock: list[FacilityStock]  # every facility stocking it, the machine's first


class SparePartsForFault(BaseModel):
    """The spare parts that fix a fault on a machine (through its model)."""

    machine_id: str
    model: str
    facility_id: str
    fault_type: str
    parts: list[SparePart]


async def spare_parts_for(conn: AsyncConn, machine_id: str, fault_type: str) -> SparePartsForFault:
    """Parts compatible with the machine's model for `fault_type`, with their stock."""
    if fault_type not in FAULT_TYPES:
        raise ValidationError(f"fault type {fault_type!r} is not one of {', '.join(FAULT_TYPES)}")
    async with conn.transaction():
        cur = await conn.execute(
            "select model, facility_id from equipment where machine_id = %s", (machine_id,)
        )
        machine = await cur.fetchone()
        if machine is None:
            raise NotFoundError(
                f"machine {machine_id!r} does not exist; IDs look like PHX-CNC-007",
                entity="machine",
                id=str(machine_id),
            )
        cur = await conn.execute(
            "select c.sku, p.name, c.part_role, c.quantity as quantity_needed, p.unit_price, "
            "coalesce(json_agg(json_build_object('facility_id', s.facility_id, "
            "'on_hand', s.on_hand, 'reserved', s.reserved, 'available', s.on_hand - s.reserved) "
            "order by s.facility_id <> %(facility)s, s.facility_id) "
            "filter (where s.facility_id is not null), '[]') as stock "
            "from spare_part_compatibility c join products p on p.sku = c.sku "
            "left join stock_levels s on s.sku = c.sku "
            "where c.model = %(model)s and c.fault_type = %(fault)s "
            "group by c.sku, p.name, c.part_role, c.quantity, p.unit_price "
            "order by c.part_role, c.sku",
            {"model": machine["model"], "fault": fault_type, "facility": machine["facility_id"]},
        )
        rows = await cur.fetchall()
    parts = []
    for r in rows:
        stock = [FacilityStock.model_validate(s) for s in r["stock"]]
        here = next((s.available for s in stock if s.facility_id == machine["facility_id"]), 0)
        parts.append(SparePart.model_validate(
            {**r, "stock": stock, "available_on_site": here,
             "enough_on_site": here >= r["quantity_needed"]}
        ))  # fmt: skip
    return SparePartsForFault(
        machine_id=machine_id, model=machine["model"], facility_id=machine["facility_id"],
        fault_type=fault_type, parts=parts,
    )  # fmt: skip
