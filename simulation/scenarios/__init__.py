"""Scenarios: the stories of the demo plant staged on the running plant, and the run they share.

Its public API is its modules; import the one you need (`from simulation.scenarios import audit`).
"""

__all__ = ["audit", "maintenance", "orders", "run"]
