"""Hosting the service: leadership among service processes and the simulation engine inside one.

Its public API is its modules; import the one you need (`from api.hosting import engine_host`).
"""

__all__ = ["engine_host", "leadership"]
