"""The ground every domain stands on: settings, the database and its embedded server, migrations,
the plant clock, events, errors, the operations layer (audited mutations), input limits,
administration and the plant's directory of names.

Its public API is its modules; import the one you need (`from tools.core import admin`).
"""

__all__ = [
    "admin",
    "clock",
    "db",
    "directory",
    "embedded",
    "errors",
    "event_cursor",
    "events",
    "limits",
    "migrations",
    "operations",
    "settings",
]
