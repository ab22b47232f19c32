"""Titan's offline evaluation suite."""
