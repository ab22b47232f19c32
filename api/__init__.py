"""Titan's entry points: the `titan` command line (and, later, the HTTP service)."""
