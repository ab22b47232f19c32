"""Every closed set of values the Python code names (a status, a kind, a role) is exactly the set
the database's CHECK constraint allows for its column: a value added on one side only fails here,
not in production."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest

from mcp_servers import maintenance as maintenance_server
from simulation.world import faults
from tools.accounts import accounts
from tools.communications import inquiries
from tools.communications import notifications as communications
from tools.communications.templates import Severity, audiences
from tools.core import events, operations
from tools.core.db import AsyncConn
from tools.governance import audit as governance
from tools.inventory import ledger as stock_ledger
from tools.inventory import reservations
from tools.logistics import rates as shipping_rates
from tools.logistics import shipments as logistics
from tools.machine_data import dead_letters, heartbeats, ingest_status, sensors
from tools.maintenance import anomalies, fault_types, health, work_orders
from tools.orders import lifecycle as order_lifecycle
from tools.purchasing import purchase_orders as purchasing
from tools.scheduling import calendar, records

# (table, column) → the Literal (or tuple, or several of them) the code uses for it
COLUMNS: dict[tuple[str, str], Any] = {
    ("equipment", "connectivity"): heartbeats.Connectivity,
    ("equipment", "heartbeat_risk"): heartbeats.Risk,
    ("work_orders", "kind"): [work_orders.KINDS, maintenance_server.Kind],
    ("work_orders", "priority"): [work_orders.PRIORITIES, maintenance_server.Priority],
    ("work_centers", "wc_type"): [health.WC_TYPES, maintenance_server.WcType],
    ("machine_models", "wc_type"): health.WC_TYPES,
    ("routings", "wc_type"): health.WC_TYPES,
    ("anomalies", "status"): anomalies.AnomalyStatus,
    ("calendar_exceptions", "kind"): calendar.ExceptionKind,
    ("work_order_parts", "status"): work_orders.WorkOrderPart.model_fields["status"].annotation,
    ("sim_ground_truth", "source"): faults.Source,
    ("orders", "status"): order_lifecycle.OrderStatus,
    ("purchase_orders", "status"): purchasing.PoStatus,
    ("shipments", "status"): logistics.ShipmentStatus,
    ("shipments", "service_level"): shipping_rates.ServiceLevel,
    ("shipping_rates", "service_level"): shipping_rates.ServiceLevel,
    ("work_orders", "status"): work_orders.WorkOrderStatus,
    ("equipment", "status"): health.MachineStatus,
    ("schedules", "status"): records.ScheduleStatus,
    ("schedules", "kind"): records.ScheduleKind,
    ("anomalies", "kind"): anomalies.Kind,
    ("anomalies", "severity"): anomalies.Severity,
    ("stock_reservations", "status"): reservations.ReservationStatus,
    ("stock_movements", "kind"): stock_ledger.MovementKind,
    ("notifications", "status"): communications.Status,
    ("notifications", "channel"): audiences.Channel,
    ("notifications", "severity"): Severity,
    ("notification_roles", "channel"): audiences.Channel,
    ("notification_roles", "role"): audiences.StaffRole,
    ("customer_inquiries", "kind"): inquiries.Kind,
    ("customer_inquiries", "status"): inquiries.Status,
    ("customer_inquiries", "channel"): inquiries.InquiryChannel,
    ("batch_certificates", "kind"): governance.CertificateKind,
    ("failure_predictions", "failure_mode"): fault_types.FaultType,
    ("spare_part_compatibility", "fault_type"): fault_types.FaultType,
    ("sim_ground_truth", "pattern"): fault_types.FaultType,
    ("sensor_readings", "sensor"): sensors.Sensor,
    ("sensor_thresholds", "sensor"): sensors.Sensor,
    ("sensor_thresholds", "direction"): sensors.Direction,
    ("event_log", "source"): events.Source,
    ("audit_log", "actor_type"): operations.ActorType,
    ("users", "role"): accounts.Role,
    ("api_keys", "role"): accounts.Role,
    ("approvals", "required_role"): accounts.Role,
    ("ingest_dead_letters", "kind"): dead_letters.DeadLetterKind,
    ("ingest_status", "protocol"): ingest_status.Protocol,
    ("ingest_status", "connection"): ingest_status.Connection,
}

_CHECK = re.compile(r"\(\(?(\w+)\)?(?:::text)? = ANY \(\(?ARRAY\[(.*?)\]")


async def allowed_values(conn: AsyncConn) -> dict[tuple[str, str], set[str]]:
    """(table, column) → the values its `column = ANY (ARRAY[...])` CHECK constraint allows."""
    cur = await conn.execute(
        "select conrelid::regclass::text as t, pg_get_constraintdef(oid) as d from pg_constraint "
        "where contype = 'c' and conrelid <> 0"
    )
    found: dict[tuple[str, str], set[str]] = {}
    for row in await cur.fetchall():
        match = _CHECK.search(row["d"])
        if match:
            values = set(re.findall(r"'([^']*)'", match.group(2)))
            found[(row["t"], match.group(1))] = values
    return found


@pytest.mark.anyio
async def test_every_closed_set_in_the_code_equals_its_check_constraint(conn: AsyncConn) -> None:
    allowed = await allowed_values(conn)

    for (table, column), named in COLUMNS.items():
        assert (table, column) in allowed, f"{table}.{column} has no CHECK constraint"
        for one in named if isinstance(named, list) else [named]:
            values = set(one) if isinstance(one, tuple) else set(get_args(one))
            assert values == allowed[(table, column)], f"{table}.{column}: {one}"


@pytest.mark.anyio
async def test_every_check_constraint_of_a_closed_set_is_named_here(conn: AsyncConn) -> None:
    allowed = await allowed_values(conn)
    # Sets only the database names, with no Python twin to keep in step.
    database_only = {
        ("products", "category"), ("customer_compliance", "requirement"), ("suppliers", "status"),
        ("approvals", "status"), ("sim_commands", "command"), ("reactor_runs", "outcome"),
    }  # fmt: skip

    unnamed = set(allowed) - set(COLUMNS) - database_only

    assert not unnamed, f"closed sets with no Python Literal checked here: {sorted(unnamed)}"
