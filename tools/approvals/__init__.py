"""Approval requests: risky actions waiting for a person's decision, written and decided here.

Its public API is its modules; import the one you need (`from tools.approvals import queue`).
"""

__all__ = ["policy", "queue", "requests", "sweep"]
