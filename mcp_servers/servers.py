"""Titan's MCP servers: one per domain, plus `all`, built over one plant database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from mcp.server.fastmcp import FastMCP

from mcp_servers import (
    communications,
    governance,
    inventory,
    logistics,
    maintenance,
    orders,
    resources,
    scheduling,
)
from mcp_servers.runtime import Plant, open_plant


class PlantSource(Protocol):
    @property
    def plant(self) -> Plant: ...


Registrar = Callable[[FastMCP, set[str]], None]

# Every specialist may read orders; the inventory agent also writes them (orders have no agent).
DOMAIN_REGISTRARS: dict[str, tuple[Registrar, ...]] = {
    "orders": (orders.register_order_reads,),
    "inventory": (orders.register_order_reads, orders.register_order_writes, inventory.register),
    "logistics": (orders.register_order_reads, logistics.register),
    "maintenance": (maintenance.register,),
    "scheduling": (orders.register_order_reads, scheduling.register),
    # Writing to a customer about their order starts from the order.
    "communications": (orders.register_order_reads, communications.register),
    "governance": (governance.register,),
}
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
    """A built MCP server and which of its tools write."""

    domain: str
    mcp: FastMCP
    write_tools: set[str] = field(default_factory=set)


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

    server = FastMCP(
        name=f"titan-{domain}",
        instructions=INSTRUCTIONS.get(domain),
        lifespan=lifespan,
        log_level="WARNING",
        streamable_http_path="/",
        stateless_http=stateless_http,
        json_response=stateless_http,
    )
    built = TitanServer(domain=domain, mcp=server)
    names = DOMAIN_REGISTRARS if domain == "all" else {domain: DOMAIN_REGISTRARS[domain]}
    done: set[Registrar] = set()
    for registrars in names.values():
        for register in registrars:
            if register not in done:  # servers share registrars (the order reads); once each
                done.add(register)
                register(server, built.write_tools)
    resources.register(server)
    return built
