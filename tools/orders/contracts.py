"""What a customer's contract allows an order: checked when it is created and again when validated.

The checks, each named in `ContractReview.checked`:

- `contract`: the contract runs at least until today (`customers.contract_valid_until`).
- `divisions`: every product belongs to a division the customer buys from.
- `rush`: a rush order only for a customer whose contract allows rush orders.
- `material_cert`: for a customer requiring MATERIAL_CERT, each product that requires
  certification needs certified material on record: a material batch, of the product itself or
  of a certified raw material of its division (the bar it is machined from), carrying a mill
  certificate, material test or certificate of conformance that has not expired.
- `itar`: for a customer requiring ITAR, aerospace products ship only to North American regions.

AS9100, IATF 16949 and ISO 9001 certify the plant's quality system, not an order, and the
FAA 8130-3 release tag is issued per finished lot at final inspection; governance reports on
those. Unknown customers and SKUs are NotFoundError before any of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel

from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError

MATERIAL_CERT_KINDS = ("MILL_CERT", "MATERIAL_TEST", "CERT_OF_CONFORMANCE")


class LineRequest(BaseModel):
    """One line of a new order; the price defaults to the product's list price."""

    sku: str
    quantity: int
    unit_price: Decimal | None = None


class OrderDraft(BaseModel):
    """A new order as a customer (or an agent for one) asks for it."""

    customer_id: str
    lines: list[LineRequest]
    due_at: datetime
    is_rush: bool = False
    priority: int | None = None  # 1 (first) to 5; default: 1 for rush, else the customer's
    facility_id: str | None = None  # default: the facility stocking most of its SKUs
    ship_to_region: str | None = None  # default: the customer's region
    notes: str = ""


class Customer(BaseModel):
    """The contract terms of a customer that orders are checked against."""

    customer_id: str
    name: str
    region: str
    priority: int
    rush_allowed: bool
    payment_terms_days: int
    contract_valid_until: date
    divisions: list[str]
    compliance: list[str]


class Product(BaseModel):
    """What an order needs to know of a product."""

    sku: str
    name: str
    division_id: str
    category: str
    unit_price: Decimal
    requires_certification: bool
    certified_material: bool


class ContractReview(BaseModel):
    """The outcome of checking an order against its customer's contract."""

    customer_id: str
    ok: bool
    checked: list[str]
    problems: list[str]


_CUSTOMER = """
select c.customer_id, c.name, c.region, c.priority, c.rush_allowed, c.payment_terms_days,
    c.contract_valid_until,
    array(select division_id from customer_divisions d where d.customer_id = c.customer_id
          order by division_id) as divisions,
    array(select requirement from customer_compliance r where r.customer_id = c.customer_id
          order by requirement) as compliance
from customers c where c.customer_id = %(customer_id)s
"""
_PRODUCTS = """
select p.sku, p.name, p.division_id, p.category, p.unit_price, p.requires_certification,
    exists (
        select 1 from material_batches b
        join batch_certificates c on c.batch_id = b.batch_id
        join products m on m.sku = b.sku
        where (b.sku = p.sku or (m.category = 'RAW_MATERIAL' and m.requires_certification
                                 and m.division_id = p.division_id))
          and c.kind = any(%(kinds)s) and (c.valid_until is null or c.valid_until >= %(today)s)
    ) as certified_material
from products p where p.sku = any(%(skus)s)
"""


async def customer(conn: AsyncConn, customer_id: str) -> Customer:
    """The customer's contract terms; NotFoundError if there is no such customer."""
    cur = await conn.execute(_CUSTOMER, {"customer_id": customer_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFoundError(
            f"customer {customer_id!r} does not exist; IDs look like BOEING",
            entity="customer",
            id=str(customer_id),
        )
    return Customer.model_validate(row)


async def products(conn: AsyncConn, skus: Sequence[str], *, today: date) -> dict[str, Product]:
    """The products of `skus`; NotFoundError naming any SKU that names nothing."""
    cur = await conn.execute(
        _PRODUCTS, {"skus": list(skus), "kinds": list(MATERIAL_CERT_KINDS), "today": today}
    )
    found = {r["sku"]: Product.model_validate(r) for r in await cur.fetchall()}
    unknown = [sku for sku in skus if sku not in found]
    if unknown:
        raise NotFoundError(
            f"unknown SKU {', '.join(unknown)}; SKUs look like SKU-TB-1001 "
            "(search the product catalogue to find one)"
        )
    return found


def review(
    buyer: Customer,
    goods: Sequence[Product],
    *,
    is_rush: bool,
    ship_to_region: str,
    today: date,
) -> ContractReview:
    """Check an order's products, rush flag and destination against the buyer's contract."""
    problems: list[str] = []
    checked = ["contract", "divisions", "rush"]
    who = buyer.customer_id
    if buyer.contract_valid_until < today:
        problems.append(
            f"{who}'s contract ran until {buyer.contract_valid_until.isoformat()}; "
            "it must be renewed before the customer can order"
        )
    for p in goods:
        if p.division_id not in buyer.divisions:
            problems.append(
                f"{p.sku} is a {p.division_id} product; {who}'s contract covers "
                f"{', '.join(buyer.divisions) or 'no division'}"
            )
    if is_rush and not buyer.rush_allowed:
        problems.append(f"{who}'s contract does not allow rush orders; order without rush")
    if "MATERIAL_CERT" in buyer.compliance:
        checked.append("material_cert")
        for p in goods:
            if p.requires_certification and not p.certified_material:
                problems.append(
                    f"{p.sku} must be made from certified material for {who} (MATERIAL_CERT), "
                    "and no material batch with a valid mill certificate, material test or "
                    "certificate of conformance is on record"
                )
    if "ITAR" in buyer.compliance:
        checked.append("itar")
        if not ship_to_region.startswith("NA-") and any(p.division_id == "AERO" for p in goods):
            problems.append(
                f"{who} requires ITAR handling: aerospace parts ship only to North American "
                f"regions (NA-...), not {ship_to_region}"
            )
    return ContractReview(customer_id=who, ok=not problems, checked=checked, problems=problems)
