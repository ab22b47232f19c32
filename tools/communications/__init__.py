"""Talking to people: notifications and their templates, and customer inquiries.

Its public API is its modules; import the one you need (`from tools.communications import
inquiries`).
"""

__all__ = ["inquiries", "notifications", "templates"]
