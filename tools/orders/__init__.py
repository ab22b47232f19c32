"""Customer orders: creation and reading, contract terms, the order lifecycle, and progress along
the floor.

Its public API is its modules; import the one you need (`from tools.orders import contracts`).
"""

__all__ = ["contracts", "lifecycle", "orders", "progress"]
