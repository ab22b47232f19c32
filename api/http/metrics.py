"""The service's Prometheus metrics: requests and latencies, agent runs, tool calls, approvals
waiting, events as they commit (`rate(titan_events_total[1m])` is events per second), and each
machine-data ingest's state as it last wrote it (`titan_ingest_*`, by source, wherever it runs).

Each app has a registry of its own, so several apps in one process (tests) never collide. Under
`titan serve --workers N` every worker writes its figures to files in `PROMETHEUS_MULTIPROC_DIR`
(prometheus_client's multiprocess mode) and a scrape of any worker adds them up; the gauges set
at scrape time report the scraping worker's reading.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents.runtime import ChatResult
from tools.machine_data.ingest_status import IngestStatus

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set: the workers of one service share figures
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "titan_http_requests",
            "HTTP requests answered, by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "titan_http_request_seconds",
            "Time to answer an HTTP request (for streams: how long they stayed open).",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.agent_runs = Counter(
            "titan_agent_runs",
            "Agent runs (a request or a decision), by how they ended.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.event_runs_dropped = Counter(
            "titan_event_runs_dropped",
            "Events that would have started a run and did not: written by a run nobody started "
            "(by_a_run), a repeat (duplicate), or over the per-entity limit (rate_limited).",
            ["type", "reason"],
            registry=self.registry,
        )
        self.restarts = Counter(
            "titan_background_restarts",
            "Restarts of the service's background tasks after they failed, by task.",
            ["task"],
            registry=self.registry,
        )
        self.tool_calls = Counter(
            "titan_tool_calls",
            "Tool calls the agents made, by tool and whether they succeeded.",
            ["agent", "tool", "ok"],
            registry=self.registry,
        )
        self.approvals_pending = Gauge(
            "titan_approvals_pending",
            "Approvals waiting for a decision (read at scrape time).",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.events = Counter(
            "titan_events",
            "Events committed to the event log, as heard by the leading service process.",
            ["type"],
            registry=self.registry,
        )

        ingest = {
            "messages": "Messages an ingest received since it started.",
            "stored": "Messages an ingest stored since it started.",
            "readings": "New readings an ingest stored since it started.",
            "dead_letters": "Messages an ingest set aside as dead letters since it started.",
            "reconnects": "Times an ingest reconnected to its broker or server.",
            "queue_depth": "Messages an ingest received and has not stored yet.",
            "messages_per_second": "Messages an ingest stored or set aside per second, lately.",
            "lag_seconds": "How long the oldest message of an ingest's last batch waited.",
            "connected": "1 while an ingest is connected to its broker or server, else 0.",
        }
        self.ingest_gauges = {
            name: Gauge(
                f"titan_ingest_{name}",
                doc,
                ["source"],
                registry=self.registry,
                multiprocess_mode="mostrecent",
            )
            for name, doc in ingest.items()
        }

    def exposition(self) -> bytes:
        """The figures in Prometheus' text format: this process's, or with several workers, all
        of theirs added up."""
        shared = os.environ.get(MULTIPROC_ENV)
        if not shared:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def ingests(self, statuses: list[IngestStatus]) -> None:
        """Set the ingest gauges from each ingest's last written status."""
        for status in statuses:
            values = {
                "messages": status.messages,
                "stored": status.stored,
                "readings": status.readings,
                "dead_letters": status.dead_letters,
                "reconnects": status.reconnects,
                "queue_depth": status.queue_depth,
                "messages_per_second": status.messages_per_s,
                "lag_seconds": status.lag_s,
                "connected": 1 if status.connection == "connected" else 0,
            }
            for name, value in values.items():
                self.ingest_gauges[name].labels(source=status.source).set(value)

    def ran(self, kind: str, result: ChatResult, *, tools_before: int = 0) -> None:
        """Count one agent run and the tool calls it added."""
        self.agent_runs.labels(kind=kind, outcome="waiting" if result.approval else "done").inc()
        for call in result.tool_calls[tools_before:]:
            self.tool_calls.labels(agent=call.agent, tool=call.name, ok=str(call.ok)).inc()


class RequestMetrics:
    """ASGI middleware: count requests and time them, by route template (not raw path)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            found = scope.get("route")
            route = getattr(found, "path", None) or "unmatched"
            method = str(scope["method"])
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(
                time.perf_counter() - started
            )
