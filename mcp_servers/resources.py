"""What every Titan MCP server offers besides tools: resources to read and prompts for common jobs.

Resources (JSON text) are for clients that read rather than call:

    titan://directory                     the plant's names: sites, machines, customers, …
    titan://machines                      the plant's machines, with status and model
    titan://machines/{machine_id}/health  a machine's health over the last hour
    titan://stock/{sku}                   a SKU's stock at every facility
    titan://approvals/open                the actions waiting for a person's approval

Prompts are instructions for a job, naming the tools to call and the server serving each (the
`all` server serves every one).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

import pydantic_core
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ResourceError
from pydantic import Field

from mcp_servers.runtime import plant_of
from tools.approvals import queue as approvals_read
from tools.core import clock
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, TitanError
from tools.governance import directory
from tools.inventory import stock as inventory
from tools.maintenance import health

log = logging.getLogger(__name__)

JSON = "application/json"

Reader = Callable[[AsyncConn], Awaitable[object]]


def register(server: FastMCP) -> None:
    """Add the resources and prompts to `server`."""
    _register_resources(server)
    _register_prompts(server)


async def _read(server: FastMCP, uri: str, reader: Reader) -> str:
    """`reader`'s answer as JSON; domain errors with their message, others without internals."""
    try:
        async with plant_of(server.get_context()).pool.connection() as conn:
            value = await reader(conn)
    except TitanError as exc:
        raise ResourceError(str(exc)) from exc
    except Exception as exc:  # the server's top-level handler for one read
        log.exception("resource %s failed", uri)
        raise ResourceError(
            f"{uri} could not be read inside Titan ({type(exc).__name__}); the server log has "
            "details"
        ) from exc
    return pydantic_core.to_json(value, indent=2).decode()


def _register_resources(server: FastMCP) -> None:
    @server.resource("titan://directory", name="directory", title="The plant's names",
                     mime_type=JSON)  # fmt: skip
    async def plant_directory() -> str:
        """The names a chat needs to recognise what people type: facilities (ID, name, city),
        work centers, machines (facility, work center, model, type, status), customers,
        suppliers, products (SKU, name, category, division), carriers and the staff roles
        messages can go to, with a fingerprint that changes when any of it does."""
        return await _read(server, "titan://directory", directory.directory)

    @server.resource("titan://machines", name="machines", title="The plant's machines",
                     mime_type=JSON)  # fmt: skip
    async def machines() -> str:
        """Every machine of the plant: facility, work center and type, model, status (RUNNING,
        IDLE, DOWN, MAINTENANCE, …), efficiency, operating hours and last heartbeat."""
        return await _read(server, "titan://machines", health.list_machines)

    @server.resource("titan://machines/{machine_id}/health", name="machine_health",
                     title="A machine's health", mime_type=JSON)  # fmt: skip
    async def machine_health(machine_id: str) -> str:
        """A machine's health over the last hour, e.g. titan://machines/PHX-CNC-007/health:
        per-sensor statistics against thresholds, a health index 0-100 and its status."""
        return await _read(
            server,
            f"titan://machines/{machine_id}/health",
            lambda conn: health.machine_health(conn, machine_id),
        )

    @server.resource("titan://stock/{sku}", name="stock", title="A SKU's stock",
                     mime_type=JSON)  # fmt: skip
    async def stock(sku: str) -> str:
        """A SKU's stock at every facility stocking it, e.g. titan://stock/SKU-BRG-7014: units
        on hand, reserved, available, reorder point and whether it is low."""

        async def levels(conn: AsyncConn) -> object:
            found = await inventory.stock_levels(conn, sku=sku)
            if not found:
                raise NotFoundError(
                    f"{sku} is not stocked anywhere; check the SKU (they look like SKU-TB-1001)"
                )
            return found

        return await _read(server, f"titan://stock/{sku}", levels)

    @server.resource("titan://approvals/open", name="open_approvals",
                     title="Approvals waiting for a decision", mime_type=JSON)  # fmt: skip
    async def open_approvals() -> str:
        """The risky actions agents asked to take that wait for a person's approval, oldest
        first: approval ID, chat thread, action, its arguments, why, and when it was asked."""
        return await _read(server, "titan://approvals/open", approvals_read.open_approvals)


_BRIEFING = """\
Write the daily plant briefing for {scope}. It is {now} UTC.

Gather the facts with these tools (the server serving each is in brackets):
1. plant_health{facility_args} [maintenance]: machines DOWN or DEGRADED, and the lowest
   health indexes.
2. list_anomalies(status="OPEN") [maintenance] and
   list_work_orders(status="OPEN"{facility_kw}) [maintenance]: open problems and the work on them.
3. stock_levels({facility_only}) [inventory]: levels whose available units are at or below
   their reorder point (low_since set).
4. list_purchase_orders(status="DELAYED"{facility_kw}) [inventory]: supplies that slipped.
5. list_orders(due_before=<now + 3 days>) and list_orders(status="ON_HOLD") [orders]: orders
   due soon and orders stuck on hold.
6. list_shipments(status="DELAYED") [logistics]: shipments running late, and whose.
7. The resource titan://approvals/open: decisions waiting for a person.

Then write the briefing: first the three things that need a decision today, each with its ID
(machine, order, PO, shipment) and the action you propose; then one short section per area
(machines, stock and supply, orders and shipments). Use figures from the tools only; say so
when a tool returned nothing. Propose writes, do not make them.
"""

_INCIDENT = """\
Review the incident on machine {machine_id}. It is {now} UTC.

1. machine_health(machine_id="{machine_id}", window_minutes=240) [maintenance]: which sensors
   are out of their thresholds, and the trend per hour.
2. list_anomalies(machine_id="{machine_id}") [maintenance]: what was detected, and since when.
3. classify_fault(machine_id="{machine_id}") [maintenance]: the most likely fault type and its
   evidence.
4. predict_failure(machine_id="{machine_id}", failure_mode=<that fault type>) [maintenance]:
   remaining useful life in hours and the chance of failure within 72 hours (it records the
   prediction).
5. list_work_orders(machine_id="{machine_id}") [maintenance]: work already open for it.
6. spare_parts_for_fault(machine_id="{machine_id}", fault_type=<that fault type>) [inventory]:
   the parts the repair needs and whether the machine's facility has them; for each short
   part, find_alternatives(sku=<part>, facility_id=<the machine's facility>) [inventory].
7. audit_trail(entity_type="machine", entity_id="{machine_id}") [governance]: what people and
   agents already did about it.

Then write the review: what is wrong (fault, evidence, confidence), how urgent (remaining
useful life), what is already under way, and the actions you recommend, each as the tool call
that would make it: create_work_order [maintenance], create_purchase_order [inventory] for
missing parts, notify_about(event_type="sensor.anomaly", entity_type="machine",
entity_id="{machine_id}") [communications]. Ask before making any of them.
"""


def _register_prompts(server: FastMCP) -> None:
    @server.prompt(title="Daily plant briefing")
    def daily_plant_briefing(
        facility_id: Annotated[
            str | None,
            Field(pattern=r"^[A-Z]{3}$", description="PHX, MUC or DET; the whole plant if empty."),
        ] = None,
    ) -> str:
        """The morning briefing of the plant (or one facility): machines, open problems, stock
        and supply, orders due and shipments late, decisions waiting."""
        scope = f"facility {facility_id}" if facility_id else "the whole plant"
        return _BRIEFING.format(
            scope=scope,
            now=clock.now().strftime("%Y-%m-%d %H:%M"),
            facility_args=f'(facility_id="{facility_id}")' if facility_id else "()",
            facility_kw=f', facility_id="{facility_id}"' if facility_id else "",
            facility_only=f'facility_id="{facility_id}"' if facility_id else "",
        )

    @server.prompt(title="Incident review of a machine")
    def incident_review(
        machine_id: Annotated[
            str,
            Field(pattern=r"^[A-Z]{3}-[A-Z]{2,5}-[0-9]{3}$", description="e.g. PHX-CNC-007"),
        ],
    ) -> str:
        """A review of a machine's incident: what is wrong, how urgent, what is under way, and
        the work orders, purchase orders and notifications to propose."""
        return _INCIDENT.format(machine_id=machine_id, now=clock.now().strftime("%Y-%m-%d %H:%M"))
