"""The generators in the order a tick runs them, and the reactors that close each tick.

Sensors come first (readings move the heartbeats, so a running machine is never taken for a
silent one), then the monitor (heartbeats, anomalies), the machines' production, the customers'
orders and the floor's work on them, carriers, suppliers, customer questions and maintenance;
the reactors last, so that what the tick caused is answered in the same tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from simulation.context import Context, Generator
from simulation.world.carriers import CarriersGenerator
from simulation.world.customers import CustomersGenerator
from simulation.world.faults import FaultsGenerator
from simulation.world.floor import FulfilmentGenerator
from simulation.world.maintenance import MaintenanceGenerator
from simulation.world.monitor import MonitorGenerator
from simulation.world.orders import OrdersGenerator
from simulation.world.production import ProductionGenerator
from simulation.world.sensors import SensorGenerator
from simulation.world.suppliers import SuppliersGenerator
from tools.reactors.rules import process_pending

# Passes over the pending events per tick: a reaction's own events (a work order's stock.low)
# are answered in the same tick, and a storm of events cannot hold the loop for long.
REACTOR_PASSES = 4


class ReactorsGenerator:
    """Runs the reactors (`tools.reactors.rules`) on the events that are new."""

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
