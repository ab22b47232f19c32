"""Data from the machines: sensors and readings, thresholds, the payload contract and the plant's
own feed, machine status, production counters, the ingest's status and dead letters, and where
the MQTT broker is.

Its public API is its modules; import the one you need (`from tools.machine_data import broker`).
"""

__all__ = [
    "broker",
    "contract",
    "dead_letters",
    "feed",
    "ingest_status",
    "production",
    "sensors",
    "status",
    "thresholds",
]
