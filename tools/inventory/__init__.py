"""Stock: levels and adjustments, the movement ledger, reservations, stock planning and the reorder
plan.

Its public API is its modules; import the one you need (`from tools.inventory import ledger`).
"""

__all__ = ["ledger", "planning", "reorder", "reservations", "stock"]
