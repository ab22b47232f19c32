"""`titan bench chat`: how long the offline model takes to answer, over the real graph.

Each request is one a person asks one specialist (a machine's health, stock, where an order is,
a due date, an audit trail …): the supervisor routes it, the specialist calls its MCP tools on
the demo plant in a scratch database, and the answer comes back in words. Read requests only, so
every run finds the plant as the first did. The model's start (loading the embedding model,
training the matcher, opening the MCP sessions) is done before the clock starts, and recorded
apart. A second figure times the understanding alone (`Brain.read`), without the graph.
"""

from __future__ import annotations

import time
import uuid

from agents.checkpoints import prepare_checkpointer
from agents.mcp_tools import open_directory
from agents.offline import OfflineChatModel
from agents.offline.understanding import Brain
from api.benchmarks.harness import Measurement, summarise
from evals.workbench import Workbench
from tools.core import clock

SINGLE_AGENT = (
    "how is PHX-CNC-007 doing?",
    "what's down in Detroit?",
    "how many SKU-BRG-6205 do we have in Munich?",
    "which stock is below its reorder point?",
    "where is ORD-10003?",
    "when will Rivian get their order?",
    "what's the schedule in force for Phoenix?",
    "who approved the hold on ORD-10023?",
    "show me the audit trail of ORD-10021",
    "any open customer inquiries?",
    "what did we tell the plant manager today?",
)
# A request whose answer is a what-if plan: most of its time is the CP-SAT solver's.
SOLVER_BACKED = ("will ORD-10017 make its due date?",)


async def run_chat_bench(url: str, *, repeat: int) -> list[Measurement]:
    """Figures for the single-agent requests, each asked `repeat` times on a fresh thread."""
    await prepare_checkpointer(url)
    bench = Workbench()
    try:
        started = time.perf_counter()
        model = OfflineChatModel()
        async with bench.team(url, model) as agents:
            async with open_directory(agents.plant) as directory:
                brain = Brain(await directory.names())
            await agents.ask(SINGLE_AGENT[0], f"bench-warm-{uuid.uuid4().hex[:8]}")
            start_s = time.perf_counter() - started
            each: dict[str, list[float]] = {r: [] for r in (*SINGLE_AGENT, *SOLVER_BACKED)}
            for _ in range(repeat):
                for request in each:
                    began = time.perf_counter()
                    result = await agents.ask(request, f"bench-{uuid.uuid4().hex[:12]}")
                    each[request].append(time.perf_counter() - began)
                    if not result.answer:
                        raise RuntimeError(f"no answer to {request!r}")
            reading: list[float] = []
            for _ in range(repeat * 10):
                for request in SINGLE_AGENT:
                    began = time.perf_counter()
                    brain.read(request, now=clock.now())
                    reading.append(time.perf_counter() - began)
    finally:
        await bench.close()
    chat = [t for request in SINGLE_AGENT for t in each[request]]
    return [
        summarise(
            "chat, one specialist",
            chat,
            note=f"{len(SINGLE_AGENT)} read requests over MCP; start {start_s:.1f} s excluded",
        ),
        *(
            summarise(f"  {request}", times)
            for request, times in each.items()
            if request in SINGLE_AGENT
        ),
        *(
            summarise(f"what-if: {request}", each[request], note="most of it the solver")
            for request in SOLVER_BACKED
        ),
        summarise("understanding a request", reading, note="Brain.read alone"),
    ]
