"""The plant's directory: the names a chat needs to recognise what people type.

Facilities, work centers, machines, customers, suppliers, products and carriers by ID and name,
and the staff roles messages can go to. One query reads every master table (a JSON aggregate
per table), so the directory costs one round trip. Its fingerprint is a hash of the content:
it changes exactly when something listed changes (a machine's status included), so a client
that keeps the directory can tell whether to rebuild what it made of it.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from tools.communications.templates import STAFF_ROLES
from tools.core.db import AsyncConn


class FacilityEntry(BaseModel):
    facility_id: str
    name: str
    city: str


class WorkCenterEntry(BaseModel):
    work_center_id: str
    facility_id: str
    wc_type: str
    name: str


class MachineEntry(BaseModel):
    machine_id: str
    name: str
    facility_id: str
    work_center_id: str
    model: str
    wc_type: str
    status: str


class CustomerEntry(BaseModel):
    customer_id: str
    name: str
    contact_email: str | None = None


class SupplierEntry(BaseModel):
    supplier_id: str
    name: str


class ProductEntry(BaseModel):
    sku: str
    name: str
    category: str
    division_id: str


class CarrierEntry(BaseModel):
    carrier_id: str
    name: str


class Directory(BaseModel):
    """Every name of the plant, by kind, each list in ID order, and a fingerprint of it all."""

    facilities: list[FacilityEntry]
    work_centers: list[WorkCenterEntry]
    machines: list[MachineEntry]
    customers: list[CustomerEntry]
    suppliers: list[SupplierEntry]
    products: list[ProductEntry]
    carriers: list[CarrierEntry]
    staff_roles: list[str]
    fingerprint: str  # 16 hex digits of SHA-256 over the lists above


_DIRECTORY = """
select
  (select coalesce(json_agg(json_build_object(
       'facility_id', facility_id, 'name', name, 'city', city) order by facility_id), '[]')
   from facilities) as facilities,
  (select coalesce(json_agg(json_build_object(
       'work_center_id', work_center_id, 'facility_id', facility_id, 'wc_type', wc_type,
       'name', name) order by work_center_id), '[]')
   from work_centers) as work_centers,
  (select coalesce(json_agg(json_build_object(
       'machine_id', e.machine_id, 'name', e.name, 'facility_id', e.facility_id,
       'work_center_id', e.work_center_id, 'model', e.model, 'wc_type', m.wc_type,
       'status', e.status) order by e.machine_id), '[]')
   from equipment e join machine_models m on m.model = e.model) as machines,
  (select coalesce(json_agg(json_build_object(
       'customer_id', customer_id, 'name', name, 'contact_email', contact_email)
       order by customer_id), '[]')
   from customers) as customers,
  (select coalesce(json_agg(json_build_object(
       'supplier_id', supplier_id, 'name', name) order by supplier_id), '[]')
   from suppliers) as suppliers,
  (select coalesce(json_agg(json_build_object(
       'sku', sku, 'name', name, 'category', category, 'division_id', division_id)
       order by sku), '[]')
   from products) as products,
  (select coalesce(json_agg(json_build_object(
       'carrier_id', carrier_id, 'name', name) order by carrier_id), '[]')
   from carriers) as carriers
"""


async def directory(conn: AsyncConn) -> Directory:
    """The plant's directory of names, with a fingerprint of its content."""
    cur = await conn.execute(_DIRECTORY)
    row = await cur.fetchone()
    assert row is not None  # a select without from always returns its one row
    content = Directory.model_validate(row | {"staff_roles": list(STAFF_ROLES), "fingerprint": ""})
    digest = hashlib.sha256(content.model_dump_json(exclude={"fingerprint"}).encode())
    return content.model_copy(update={"fingerprint": digest.hexdigest()[:16]})
