"""Reactors: the plant's rules that answer events, each exactly once.

Its public API is its modules; import the one you need (`from tools.reactors import purchasing`).
"""

__all__ = ["purchasing", "rules", "timed"]
