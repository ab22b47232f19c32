"""Shipments: creation and reading, carrier tracking, and shipping rates.

Its public API is its modules; import the one you need (`from tools.logistics import rates`).
"""

__all__ = ["rates", "shipments", "tracking"]
