"""People and API keys, and the role each one has.

Its public API is its modules; import the one you need (`from tools.accounts import accounts`).
"""

__all__ = ["accounts"]
