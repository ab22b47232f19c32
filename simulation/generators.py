"""The generators in the order a tick runs them, and the reactors that close each tick.

Sensors come first (readings move the heartbeats, so a running machine is never taken for a
silent one), then the monitor (heartbeats, anomalies), the machines' production, the customers'
orders and the floor's work on them, carriers, suppliers, customer questions and maintenance;
the reactors last, so that what the tick caused is answered in the same tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from simulation.carriers import CarriersGenerator
from simulation.context import Context, Generator
from simulation.customers import CustomersGenerator
from simulation.faults import FaultsGenerator
from simulation.floor import FulfilmentGenerator
from simulation.maintenance import MaintenanceGenerator
from simulation.monitor import MonitorGenerator
from simulation.orders import OrdersGenerator
from simulation.production import ProductionGenerator
from simulation.sensors import SensorGenerator
from simulation.suppliers import SuppliersGenerator
from tools.reactors import process_pending

# Passes over the pending events per tick: a reaction's own events (a work order's stock.low)
# are answered in the same tick, and a storm of events cannot hold the loop for long.
REACTOR_PASSES = 4


class ReactorsGenerator:
    """Runs the reactors (`tools.reactors`) on the events that are new."""

    name: Literal["reactors"] = "reactors"

    async def tick(self, ctx: Context, at: datetime, minutes: float) -> int:
        handled = 0
        for _ in range(REACTOR_PASSES):
            seen = await process_pending(ctx.conn)
            handled += seen
            if seen == 0:
                break
        ctx.count("events_reacted", handled)
        return handled


def make_generators() -> list[Generator]:
    """A fresh set of generators, in tick order."""
    return [
        SensorGenerator(),
        FaultsGenerator(),
        MonitorGenerator(),
        ProductionGenerator(),
        OrdersGenerator(),
        FulfilmentGenerator(),
        CarriersGenerator(),
        SuppliersGenerator(),
        CustomersGenerator(),
        MaintenanceGenerator(),
        ReactorsGenerator(),
    ]
