"""The demo plant: its catalogue of data, its loader, and scratch databases holding a copy of it.

Its public API is its modules; import the one you need (`from tools.demo import catalogue`).
"""

__all__ = ["catalogue", "plant", "scratch"]
