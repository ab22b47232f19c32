"""The HTTP service: the FastAPI app, authentication, errors, metrics, what a running service
holds, and its routes.

Its public API is its modules; import the one you need (`from api.http import app`).
"""

__all__ = ["app", "auth", "errors", "metrics", "service"]
