"""One task's run on its own database: the agent team with the chosen model, the user's turns,
the approvals answered as the task says, the end state read back.

The clock is process-global, so a process runs one task at a time, with a FixedClock standing
at its stage's plant time; parallel tasks run in worker processes of their own (evals.runner).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import anyio
from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.language_models import BaseChatModel
from pydantic import JsonValue

from agents.models import make_model
from agents.offline import OfflineChatModel
from agents.runtime import Agents, ChatResult
from evals.taskfile import Edit, Task
from evals.transcript import ApprovalSeen, Call, CallStatus, StateResult, Tokens, Transcript, Turn
from evals.workbench import Workbench
from tools.core import clock, db
from tools.core.errors import ConflictError, ValidationError
from tools.core.settings import get_settings

log = logging.getLogger(__name__)

USER = "eval"
REJECT_REASON = "rejected by the evaluation task"


def eval_model(name: str | None) -> BaseChatModel:
    """The model a run uses: None the configured one, "offline" the offline model, any other
    name that model at the configured OpenAI-compatible endpoint."""
    if name == "offline":
        return OfflineChatModel()
    settings = get_settings()
    if name is None:
        return make_model(settings)
    if settings.openai_api_key is None and settings.openai_base_url is None:
        raise ValidationError(
            f"--model {name} needs an OpenAI-compatible endpoint: set OPENAI_BASE_URL and/or "
            "OPENAI_API_KEY, or use --model offline"
        )
    return make_model(settings.model_copy(update={"model": name}))


def _plain(value: Any) -> JsonValue:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


async def apply_sql(url: str, statements: list[str]) -> None:
    """The task's extra statements, in one transaction."""
    if not statements:
        return
    async with db.connection(url) as conn, conn.transaction():
        for statement in statements:
            await conn.execute(statement.encode())


async def read_state(url: str, task: Task) -> list[StateResult]:
    """Each state check's rows, read in a transaction that is rolled back."""
    results: list[StateResult] = []
    async with db.connection(url) as conn:
        for check in task.expect.state or []:
            try:
                async with conn.transaction(force_rollback=True):
                    cur = await conn.execute(check.sql.encode())
                    rows = await cur.fetchall() if cur.description else []
                results.append(
                    StateResult(
                        sql=check.sql, rows=[{k: _plain(v) for k, v in r.items()} for r in rows]
                    )
                )
            except Exception as exc:  # a broken check is that check's failure, shown
                results.append(StateResult(sql=check.sql, error=str(exc).strip()))
    return results


def _key(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def _turn(request: str, result: ChatResult, seen: list[ApprovalSeen], writes: set[str]) -> Turn:
    rejected = {
        (a["name"], _key(a["args"])) for a in result.actions if a.get("status") == "rejected"
    }
    calls = []
    for c in result.tool_calls:
        key = (c.name, _key(c.args))
        status: CallStatus = "done" if c.ok else "rejected" if key in rejected else "failed"
        calls.append(
            Call(agent=c.agent, name=c.name, args=c.args, status=status, write=c.name in writes)
        )
    if result.approval is not None:
        pending = result.approval
        calls.append(
            Call(
                agent=pending.agent,
                name=pending.action,
                args=pending.args,
                status="pending",
                write=pending.action in writes,
            )
        )
    return Turn(
        request=request, answer=result.answer, route=result.route, calls=calls, approvals=seen
    )


async def converse(team: Agents, task: Task, writes: set[str], transcript: Transcript) -> None:
    """The task's turns on one thread, approvals decided in the task's order, each turn added to
    `transcript` as it ends (so a run cut short keeps the turns it finished)."""
    thread = f"eval-{task.id}-{uuid.uuid4().hex[:8]}"
    decisions = list(task.decisions)
    for number, request in enumerate(task.turns, start=1):
        last = transcript.turns[-1] if transcript.turns else None
        waiting = last is not None and last.approvals and last.approvals[-1].decision is None
        try:
            # A turn asked while an approval waits may be the decision itself ("approve it").
            result = await team.ask(request, thread, user=USER)
        except ConflictError:
            if not waiting:
                raise
            transcript.error = (
                f"turn {number} was not understood as a decision: the thread still waits for "
                f"approval of {last.approvals[-1].action if last else '?'}"
            )
            break
        if waiting and last is not None:
            last.approvals[-1].decision = "in chat: " + request[:80]
        seen: list[ApprovalSeen] = []
        while result.approval is not None and decisions:
            pending, decision = result.approval, decisions.pop(0)
            if isinstance(decision, Edit):
                label, args = f"edit {decision.edit}", dict(decision.edit)
                result = await team.decide(thread, "edit", args=args, user=USER, role="admin")
            else:
                label = decision
                reason = REJECT_REASON if decision == "reject" else None
                result = await team.decide(thread, decision, reason=reason, user=USER, role="admin")
            seen.append(
                ApprovalSeen(
                    action=pending.action, args=pending.args, reason=pending.reason, decision=label
                )
            )
        if result.approval is not None:
            p = result.approval
            seen.append(ApprovalSeen(action=p.action, args=p.args, reason=p.reason))
        transcript.turns.append(_turn(request, result, seen, writes))
    transcript.unused_decisions = len(decisions)


def _tokens(handler: UsageMetadataCallbackHandler) -> Tokens | None:
    if not handler.usage_metadata:
        return None
    found = Tokens()
    for usage in handler.usage_metadata.values():
        found.input += usage.get("input_tokens", 0)
        found.output += usage.get("output_tokens", 0)
        found.total += usage.get("total_tokens", 0)
    return found


async def run_on(
    url: str,
    task: Task,
    *,
    now: datetime,
    model_name: str | None,
    writes: set[str],
    timeout_s: float,
    bench: Workbench,
) -> Transcript:
    """One run of `task` on the prepared database at `url` with the clock standing at `now`.

    Whatever goes wrong (a model error, a timeout, a bad SQL setup) ends this task's run as a
    failure with the reason; it never ends the eval.
    """
    transcript = Transcript(task_id=task.id)
    usage = UsageMetadataCallbackHandler()
    started: float | None = None
    with clock.using(clock.FixedClock(now)):
        try:
            await apply_sql(url, task.setup.sql)
            model = eval_model(model_name)
            model.callbacks = [usage]
            async with bench.team(url, model) as team:
                started = time.perf_counter()
                with anyio.fail_after(timeout_s):
                    await converse(team, task, writes, transcript)
        except TimeoutError:
            transcript.error = f"timed out after {timeout_s:g} s"
        except Exception as exc:  # the task's top-level handler: its failure, not the run's
            log.debug("task %s failed", task.id, exc_info=True)
            transcript.error = f"{type(exc).__name__}: {str(exc).strip() or 'no message'}"
    if started is not None:  # the conversation's time, without preparing the task
        transcript.latency_s = round(time.perf_counter() - started, 3)
    transcript.tokens = _tokens(usage)
    transcript.state = await read_state(url, task)
    return transcript
