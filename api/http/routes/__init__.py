"""The HTTP routes, one module per area of the API.

Its public API is its modules; import the one you need (`from api.http.routes import approvals`).
"""

__all__ = [
    "approvals",
    "audit",
    "board",
    "chat",
    "console",
    "keys",
    "live",
    "ops",
    "plant",
    "schedule",
    "sim",
]
