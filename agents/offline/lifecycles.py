"""The lifecycles of the plant's records, as the domain defines them: which status each may go
to from where it is. The offline model looks before it changes a record, so that a change the
lifecycle forbids is explained rather than attempted (the domain refuses it either way)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from tools.logistics import tracking as shipment_tracking
from tools.maintenance import work_orders
from tools.orders import lifecycle as order_lifecycle
from tools.purchasing import purchase_orders as purchasing

LIFECYCLES: dict[str, Mapping[Any, Collection[Any]]] = {
    "order": order_lifecycle.TRANSITIONS,
    "purchase_order": purchasing.PO_TRANSITIONS,
    "shipment": shipment_tracking.SHIPMENT_TRANSITIONS,
    "work_order": work_orders.TRANSITIONS,
}


def next_statuses(kind: str, status: str) -> list[str]:
    """Where a record of `kind` in `status` may go, in the lifecycle's order."""
    table = LIFECYCLES[kind]
    allowed = table.get(status, ())
    return [s for s in table if s in allowed]


def allows(kind: str, status: str | None, target: str) -> bool:
    return bool(status) and target in LIFECYCLES[kind].get(status, ())
