"""Governance: the audit trail and batch traces, compliance checks and reports, traceability
records and the data catalog.

Its public API is its modules; import the one you need (`from tools.governance import audit`).
"""

__all__ = ["audit", "catalog", "compliance", "reports", "traceability"]
