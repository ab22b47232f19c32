"""The offline model as a service (an OpenAI-compatible server) and its check against the eval
tasks.

Its public API is its modules; import the one you need (`from api.model import check`).
"""

__all__ = ["check", "server"]
