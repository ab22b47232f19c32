"""The lifecycles of the plant's records, as the domain defines them: which status each may go
to from where it is. The offline model looks before it changes a record, so that a change the
lifecycle forbids is explained rather than attempted (the domain refuses it either way)."""

from __future__ import annotations

from typing import Any

from tools.core.lifecycle import Lifecycle
from tools.logistics.tracking import SHIPMENT_LIFECYCLE
from tools.maintenance.work_orders import WORK_ORDER_LIFECYCLE
from tools.orders.lifecycle import ORDER_LIFECYCLE
from tools.purchasing.purchase_orders import PO_LIFECYCLE

LIFECYCLES: dict[str, Lifecycle[Any]] = {
    "order": ORDER_LIFECYCLE,
    "purchase_order": PO_LIFECYCLE,
    "shipment": SHIPMENT_LIFECYCLE,
    "work_order": WORK_ORDER_LIFECYCLE,
}


def next_statuses(kind: str, status: str) -> list[str]:
    """Where a record of `kind` in `status` may go, in the lifecycle's order."""
    return [str(s) for s in LIFECYCLES[kind].next(status)]


def allows(kind: str, status: str | None, target: str) -> bool:
    return bool(status) and LIFECYCLES[kind].can_become(status or "", target)
