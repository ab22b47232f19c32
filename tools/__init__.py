"""Titan's domain layer: the plant's state in PostgreSQL and the only code that writes it."""
