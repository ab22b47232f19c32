"""What happened in one run of a task: the turns, answers, route, tool calls, approvals, the
end state's query results, timing and tokens. Graders read nothing else."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

CallStatus = Literal["done", "failed", "rejected", "pending"]


class Call(BaseModel):
    """One tool call the agents made, or tried to make."""

    agent: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    status: CallStatus = "done"
    write: bool = False


class ApprovalSeen(BaseModel):
    """An approval the run stopped for, and how it was answered (None: left waiting)."""

    action: str
    args: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""
    decision: str | None = None


class Turn(BaseModel):
    request: str
    answer: str = ""
    route: list[str] = Field(default_factory=list)
    calls: list[Call] = Field(default_factory=list)
    approvals: list[ApprovalSeen] = Field(default_factory=list)


class StateResult(BaseModel):
    """A state check's query run on the task's database after the conversation."""

    sql: str
    rows: list[dict[str, JsonValue]] = Field(default_factory=list)
    error: str | None = None

    @property
    def value(self) -> JsonValue:
        """The first column of the first row (None without rows)."""
        if not self.rows:
            return None
        return next(iter(self.rows[0].values()), None)

    @property
    def column(self) -> list[JsonValue]:
        """The first column of every row."""
        return [next(iter(r.values()), None) for r in self.rows]


class Tokens(BaseModel):
    input: int = 0
    output: int = 0
    total: int = 0


class Transcript(BaseModel):
    task_id: str
    trial: int = 0
    turns: list[Turn] = Field(default_factory=list)
    state: list[StateResult] = Field(default_factory=list)
    error: str | None = None
    latency_s: float = 0.0
    tokens: Tokens | None = None
    unused_decisions: int = 0

    @property
    def answer(self) -> str:
        return "\n\n".join(t.answer for t in self.turns if t.answer)

    @property
    def route(self) -> list[str]:
        return [agent for t in self.turns for agent in t.route]

    @property
    def calls(self) -> list[Call]:
        return [c for t in self.turns for c in t.calls]

    @property
    def approvals(self) -> list[ApprovalSeen]:
        return [a for t in self.turns for a in t.approvals]
