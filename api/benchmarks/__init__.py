"""Every benchmark in one place (`titan bench …`, `titan schedule bench`), with the harness they
share.

Its public API is its modules; import the one you need (`from api.benchmarks import api`).
"""

__all__ = ["api", "chat", "domain", "harness", "ingest", "mcp", "scheduling", "simulation"]
