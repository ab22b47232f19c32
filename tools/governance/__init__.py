"""Governance: the audit trail and batch traces, compliance checks and reports, traceability
records, the data catalog, and the plant's directory (the names a chat needs to recognise).

Its public API is its modules; import the one you need (`from tools.governance import audit`).
"""

__all__ = ["audit", "catalog", "compliance", "directory", "reports", "traceability"]
