"""Titan's MCP servers: one per domain, plus `all`, built over one plant database."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.tools import Tool

from mcp_servers import (
    approvals,
    communications,
    governance,
    inventory,
    logistics,
    maintenance,
    orders,
    resources,
    scheduling,
)
from mcp_servers.runtime import Plant, ToolBox, open_plant
from mcp_servers.sessions import TitanMCP
from tools.accounts.permissions import Permission
from tools.approvals import policy


class PlantSource(Protocol):
    @property
    def plant(self) -> Plant: ...


Registrar = Callable[[ToolBox], None]

# Every specialist may read orders; the inventory agent also writes them (orders have no agent).
# Every server also serves `get_approval`, so that a write held for a person can be followed.
DOMAIN_REGISTRARS: dict[str, tuple[Registrar, ...]] = {
    "orders": (orders.register_order_reads, approvals.register),
    "inventory": (
        orders.register_order_reads, orders.register_order_writes, inventory.register,
        approvals.register,
    ),
    "logistics": (orders.register_order_reads, logistics.register, approvals.register),
    "maintenance": (maintenance.register, approvals.register),
    "scheduling": (orders.register_order_reads, scheduling.register, approvals.register),
    # Writing to a customer about their order starts from the order.
    "communications": (
        orders.register_order_reads, communications.register, approvals.register,
    ),
    "governance": (governance.register, approvals.register),
}  # fmt: skip
DOMAINS: tuple[str, ...] = (*DOMAIN_REGISTRARS, "all")

INSTRUCTIONS = {
    "orders": "Titan's customer orders, to read: find and search orders, see one with its lines "
    "and history, and check an order against its customer's contract.",
    "inventory": "Titan's inventory: stock levels and movements, products, alternatives and "
    "spare parts, reorder planning, purchase orders, stock reservations, and customer orders "
    "(create, validate, hold, release, cancel, and move them through production).",
    "logistics": "Titan's logistics: carriers and shipping estimates, shipments for ready orders, "
    "labels, pickups, carrier scans, delays, deliveries and tracking, and the orders to read.",
    "communications": "Titan's communications: notifications (templated per event, or written "
    "by hand) and customer inquiries, and the orders to read.",
    "governance": "Titan's governance: the audit trail, material and order traceability, "
    "compliance checks and reports, and a catalog of Titan's own data.",
    "maintenance": "Titan's maintenance: machines and their health, sensor thresholds, "
    "anomalies, fault diagnosis, failure prediction, work orders and OEE.",
    "scheduling": "Titan's production scheduling: propose finite-capacity schedules (CP-SAT), "
    "reschedule around machines that are down, apply or reject proposals, find conflicts and "
    "bottlenecks, order a work center's queue by dispatch rule, and the orders to read.",
    "all": "Titan, an operations assistant for a manufacturing plant: every domain's tools.",
}


@dataclass
class TitanServer:
    """A built MCP server, its tools and which of them write."""

    domain: str
    mcp: FastMCP
    tools: list[Tool] = field(default_factory=list)
    write_tools: set[str] = field(default_factory=set)


@functools.cache
def tools_of(register: Registrar) -> ToolBox:
    """A registrar's tools, derived once per process (about 10 ms a tool): every server built
    afterwards serves the same `Tool` objects, whose functions reach the plant through the
    call's context, never through the server that was built."""
    box = ToolBox()
    register(box)
    return box


@functools.cache
def check_policy() -> None:
    """The approval policy guards only tools a server registers (checked once, at the first
    build: a rule naming a tool that does not exist fails the start)."""
    names = {
        t.name for group in DOMAIN_REGISTRARS.values() for r in group for t in tools_of(r).tools
    }
    policy.check_registered(names)


def build_server(
    domain: str,
    *,
    plant: Plant | None = None,
    plant_ref: PlantSource | None = None,
    stateless_http: bool = True,
) -> TitanServer:
    """The MCP server of `domain` ("all" for every tool).

    With `plant` (or `plant_ref`, filled later by an app's lifespan) tools use that pool, as the
    service shares its own; without, the server opens the plant database itself when it starts.
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown MCP server {domain!r}; choose one of {', '.join(DOMAINS)}")

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[Plant]:
        if plant is not None:
            yield plant
            return
        if plant_ref is not None:
            yield plant_ref.plant
            return
        async with open_plant() as opened:
            yield opened

    check_policy()
    names = DOMAIN_REGISTRARS if domain == "all" else {domain: DOMAIN_REGISTRARS[domain]}
    # Servers share registrars (the order reads): each registrar's tools once.
    registrars = list(dict.fromkeys(r for group in names.values() for r in group))
    tools = [tool for register in registrars for tool in tools_of(register).tools]
    server = TitanMCP(
        name=f"titan-{domain}",
        instructions=INSTRUCTIONS.get(domain),
        lifespan=lifespan,
        log_level="WARNING",
        streamable_http_path="/",
        stateless_http=stateless_http,
        json_response=stateless_http,
        tools=tools,
    )
    writes = set().union(*(tools_of(register).write_tools for register in registrars))
    built = TitanServer(domain=domain, mcp=server, tools=tools, write_tools=writes)
    resources.register(server)
    return built


def tool_permissions() -> dict[str, Permission]:
    """Every tool a server serves, by name, and the permission it needs."""
    return {
        name: permission
        for group in DOMAIN_REGISTRARS.values()
        for register in group
        for name, permission in tools_of(register).permissions.items()
    }
