"""Keeping the machines running: work orders and their lifecycle, machine health, anomaly
detection, fault classification and failure prediction.

Its public API is its modules; import the one you need (`from tools.maintenance import anomalies`).
"""

__all__ = ["anomalies", "faults", "health", "lifecycle", "prediction", "work_orders"]
