"""Where an MQTT broker is: host, port, credentials and TLS, from an `mqtt://` or `mqtts://` URL.

Shared by the MQTT ingest (`ingest/`) and the simulated machines that publish to it
(`simulation/publish.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Broker:
    """Where the broker is, from an `mqtt://user:password@host:port` URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """The broker named by `url`; ValueError saying what a valid URL looks like."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(
                f"broker URL {url!r} is not mqtt://host[:port] or mqtts://host[:port] "
                "(optionally with user:password@)"
            )
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    @property
    def label(self) -> str:
        return f"mqtt{'s' if self.tls else ''}://{self.host}:{self.port}"
