"""The `titan` command line: the root app (`main`), one module per command group, and the runner of
async jobs.

Its public API is its modules; import the one you need (`from api.cli import bench`).
"""

__all__ = [
    "bench",
    "chat",
    "eval",
    "ingest",
    "keys",
    "main",
    "mcp",
    "model",
    "runner",
    "schedule",
    "serve",
    "sim",
]
