"""Running a suite: templates prepared once, every task (times `repeat`) on a fresh clone of its
stage, graded, one process per worker.

The plant clock is process-global, so two tasks never share a process at the same time: with
one worker the tasks run one after another here; with more, each runs in a worker process of
its own (spawned, so no state is inherited), which sets its own clock. The templates are
prepared here, before any task starts, so every clone is made from a finished database.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing.util import Finalize

from pydantic import BaseModel

from evals.conversation import run_on
from evals.graders import Grade, grade
from evals.plant import Plants, Stage, clone, stage_key
from evals.taskfile import DEFAULT_TIMEOUT_S, Task
from evals.tooling import tool_kinds
from evals.transcript import Transcript
from evals.workbench import Workbench
from tools.core.settings import configure_logging, get_settings

log = logging.getLogger(__name__)


class Outcome(BaseModel):
    """One graded run of a task."""

    task_id: str
    trial: int
    passed: bool
    grades: list[Grade]
    transcript: Transcript


class Job(BaseModel):
    """What a worker needs to run one task once (sent to it as JSON)."""

    server_url: str
    template: str
    now: datetime
    task: Task
    trial: int
    model: str | None
    writes: set[str]
    timeout_s: float


async def run_job(job: Job, bench: Workbench) -> Transcript:
    """The job's task, once, on a fresh clone of its stage."""
    async with clone(job.server_url, job.template, job.task.id) as url:
        transcript = await run_on(
            url,
            job.task,
            now=job.now,
            model_name=job.model,
            writes=job.writes,
            timeout_s=job.timeout_s,
            bench=bench,
        )
    transcript.trial = job.trial
    return transcript


# A worker process keeps one event loop and one workbench for all the jobs it runs, so that its
# MCP sessions stay open between them; both are closed when the process exits.
_worker_loop: asyncio.AbstractEventLoop | None = None
_worker_bench: Workbench | None = None


def _worker_start() -> None:
    global _worker_loop, _worker_bench
    configure_logging(get_settings().log_level)
    _worker_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_worker_loop)
    _worker_bench = Workbench()
    Finalize(None, _worker_stop, exitpriority=10)


def _worker_stop() -> None:
    if _worker_loop is not None and _worker_bench is not None:
        _worker_loop.run_until_complete(_worker_bench.close())
        _worker_loop.close()


def _in_worker(payload: str) -> str:
    assert _worker_loop is not None and _worker_bench is not None
    job = Job.model_validate_json(payload)
    return _worker_loop.run_until_complete(run_job(job, _worker_bench)).model_dump_json()


def graded(task: Task, transcript: Transcript) -> Outcome:
    grades = grade(task, transcript)
    return Outcome(
        task_id=task.id,
        trial=transcript.trial,
        passed=all(g.passed for g in grades),
        grades=grades,
        transcript=transcript,
    )


async def run_suite(
    tasks: list[Task],
    *,
    server_url: str,
    model: str | None = None,
    repeat: int = 1,
    workers: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    on_stage: Callable[[str], None] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Every task `repeat` times, graded, in task order then trial order."""
    kinds = await tool_kinds()
    writes = {name for name, write in kinds.writes.items() if write}
    by_id = {t.id: t for t in tasks}
    outcomes: list[Outcome] = []
    async with Plants(server_url) as plants:
        stages: dict[str, Stage] = {}
        for task in tasks:
            if on_stage is not None and stage_key(task.setup) not in plants.stages:
                scenario = task.setup.scenario or "no scenario"
                on_stage(f"seed {task.setup.seed}, {scenario}, +{task.setup.advance_minutes} min")
            stages[task.id] = await plants.stage(task.setup)
        jobs = [
            Job(
                server_url=server_url,
                template=stages[task.id].name,
                now=stages[task.id].now,
                task=task,
                trial=trial,
                model=model,
                writes=writes,
                timeout_s=timeout_s,
            )
            for task in tasks
            for trial in range(repeat)
        ]

        def done(transcript: Transcript) -> None:
            outcome = graded(by_id[transcript.task_id], transcript)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)

        if workers <= 1:
            bench = Workbench()
            try:
                for job in jobs:
                    done(await run_job(job, bench))
            finally:
                await bench.close()
        else:
            loop = asyncio.get_running_loop()
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=spawn, initializer=_worker_start) as pool:
                futures = [
                    loop.run_in_executor(pool, _in_worker, job.model_dump_json()) for job in jobs
                ]
                for finished in asyncio.as_completed(futures):
                    done(Transcript.model_validate_json(await finished))
    order = {t.id: i for i, t in enumerate(tasks)}
    return sorted(outcomes, key=lambda o: (order[o.task_id], o.trial))
