"""The ground every domain stands on: settings, the database and its embedded server, migrations,
the plant clock, events, errors, the operations layer (audited mutations), input limits and
administration. It imports no domain package.

Its public API is its modules; import the one you need (`from tools.core import admin`).
"""

__all__ = [
    "admin",
    "clock",
    "db",
    "embedded",
    "errors",
    "event_cursor",
    "events",
    "limits",
    "migrations",
    "operations",
    "settings",
]
