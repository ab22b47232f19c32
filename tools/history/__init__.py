"""History written in bulk: weeks of a plant's past (sensor readings, shift counters, completed
orders with their delivered shipments) in a few round trips, not as a stream of domain changes.

Its public API is its modules; import the one you need (`from tools.history import readings`).
"""

__all__ = ["business", "readings"]
