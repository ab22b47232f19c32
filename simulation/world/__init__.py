"""The world's generators: machines and their sensors, faults, production, the floor, orders,
carriers, suppliers, customers and technicians.

Its public API is its modules; import the one you need (`from simulation.world import carriers`).
"""

__all__ = [
    "carriers",
    "customers",
    "faults",
    "floor",
    "generators",
    "machines",
    "maintenance",
    "monitor",
    "orders",
    "production",
    "sensors",
    "shifts",
    "signals",
    "suppliers",
]
