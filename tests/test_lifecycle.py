"""Each record's lifecycle is declared once (`tools.core.lifecycle.Lifecycle`), covers exactly
the statuses of its Literal, and words every refusal the same way with fields a client reads."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from tools.communications.inquiries import INQUIRY_LIFECYCLE
from tools.communications.inquiries import Status as InquiryStatus
from tools.communications.notifications import NOTIFICATION_LIFECYCLE
from tools.communications.notifications import Status as NotificationStatus
from tools.core.errors import InvalidTransitionError
from tools.core.lifecycle import Lifecycle
from tools.logistics.shipments import ShipmentStatus
from tools.logistics.tracking import SHIPMENT_LIFECYCLE
from tools.machine_data.status import MACHINE_LIFECYCLE
from tools.maintenance.anomalies import ANOMALY_LIFECYCLE, AnomalyStatus
from tools.maintenance.health import MachineStatus
from tools.maintenance.work_orders import WORK_ORDER_LIFECYCLE, WorkOrderStatus
from tools.orders.lifecycle import ORDER_LIFECYCLE, OrderStatus
from tools.purchasing.purchase_orders import PO_LIFECYCLE, PoStatus
from tools.scheduling.records import SCHEDULE_LIFECYCLE, ScheduleStatus

DECLARED: list[tuple[Lifecycle[Any], Any]] = [
    (ORDER_LIFECYCLE, OrderStatus),
    (PO_LIFECYCLE, PoStatus),
    (SHIPMENT_LIFECYCLE, ShipmentStatus),
    (WORK_ORDER_LIFECYCLE, WorkOrderStatus),
    (MACHINE_LIFECYCLE, MachineStatus),
    (NOTIFICATION_LIFECYCLE, NotificationStatus),
    (INQUIRY_LIFECYCLE, InquiryStatus),
    (ANOMALY_LIFECYCLE, AnomalyStatus),
    (SCHEDULE_LIFECYCLE, ScheduleStatus),
]


@pytest.mark.parametrize(("lifecycle", "literal"), DECLARED, ids=lambda x: getattr(x, "entity", ""))
def test_a_lifecycle_covers_exactly_the_statuses_of_its_literal(
    lifecycle: Lifecycle[Any], literal: Any
) -> None:
    assert set(lifecycle.statuses) == set(get_args(literal))
    assert set(lifecycle.moves) == set(lifecycle.statuses)


def test_a_lifecycle_that_moves_outside_its_statuses_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match="moves B outside it"):
        Lifecycle(
            entity="thing",
            statuses=("A", "B"),
            moves={"A": frozenset({"B"}), "B": frozenset({"C"})},
        )
    with pytest.raises(ValueError, match="names moves for \\['B'\\]"):
        Lifecycle(entity="thing", statuses=("A", "B"), moves={"A": frozenset({"B"})})


def test_a_refusal_says_where_the_record_may_go_and_carries_it_in_fields() -> None:
    with pytest.raises(InvalidTransitionError) as refused:
        ORDER_LIFECYCLE.check("ORD-1", "RESERVED", "SHIPPED")

    assert str(refused.value) == (
        "order ORD-1 is RESERVED and cannot become SHIPPED; from RESERVED it can become "
        "IN_PRODUCTION, ON_HOLD, CANCELLED or go back to VALIDATED by releasing its stock"
    )
    assert refused.value.error_body() == {
        "code": "invalid_transition",
        "message": str(refused.value),
        "details": [
            {
                "entity": "order",
                "id": "ORD-1",
                "status": "RESERVED",
                "target": "SHIPPED",
                "allowed": ["IN_PRODUCTION", "ON_HOLD", "CANCELLED"],
            }
        ],
    }


def test_a_final_status_a_move_back_and_an_operation_are_worded_as_such() -> None:
    final = SHIPMENT_LIFECYCLE.refusal("SHP-1", "DELIVERED", "CANCELLED")
    started = WORK_ORDER_LIFECYCLE.refusal("WO-1", "COMPLETED", "IN_PROGRESS", verb="be started")

    assert str(final) == "shipment SHP-1 is DELIVERED, a final status: it cannot become CANCELLED"
    assert str(started) == "work order WO-1 is COMPLETED, a final status: it cannot be started"
    assert final.fields["allowed"] == []
    # A move back is only a release's: a plain change may not take it.
    assert ORDER_LIFECYCLE.can_become("RESERVED", "VALIDATED", back=True)
    assert not ORDER_LIFECYCLE.can_become("RESERVED", "VALIDATED")
