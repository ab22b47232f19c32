"""Reads for the console's schedule board: the schedules applied now (one per facility, or one
for the whole plant), and the proposals waiting for a decision, each with the pending approval
that would apply it, if an agent asked for one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from api.http.auth import needs
from api.http.service import service_of
from tools.accounts.accounts import Principal
from tools.accounts.permissions import Permission as P
from tools.scheduling.records import Schedule
from tools.scheduling.schedules import get_schedule

router = APIRouter(tags=["scheduling"])


class Proposal(BaseModel):
    schedule: Schedule
    approval_id: str | None  # the pending approval to apply it, when an agent asked for one


class ScheduleBoard(BaseModel):
    """What is planned now, and what is proposed instead."""

    applied: list[Schedule]
    proposed: list[Proposal]


_APPLIED = """
select schedule_id from schedules
where status = 'APPLIED' and (%(facility_id)s::text is null or facility_id = %(facility_id)s)
order by facility_id nulls first
"""

_PROPOSED = """
select s.schedule_id, (
    select a.approval_id from approvals a
    where a.status = 'PENDING' and a.action = 'apply_schedule'
      and a.arguments ->> 'schedule_id' = s.schedule_id::text
    order by a.requested_at desc limit 1
) as approval_id
from schedules s
where s.status = 'PROPOSED' and (%(facility_id)s::text is null or s.facility_id = %(facility_id)s)
order by s.created_at desc, s.schedule_id desc
limit %(limit)s
"""


@router.get("/schedules/board", response_model=ScheduleBoard, summary="Applied and proposed")
async def schedule_board(
    request: Request,
    _: Annotated[Principal, needs(P.SCHEDULE_VIEW)],
    facility_id: Annotated[str | None, Query(max_length=100)] = None,
    proposals: Annotated[int, Query(ge=0, le=20, description="Newest proposals.")] = 3,
) -> ScheduleBoard:
    """The applied schedules with their slots and late orders, and the newest proposals
    still waiting (PROPOSED), newest first."""
    async with service_of(request).pool.connection() as conn, conn.transaction():
        cur = await conn.execute(_APPLIED, {"facility_id": facility_id})
        applied = [await get_schedule(conn, r["schedule_id"]) for r in await cur.fetchall()]
        cur = await conn.execute(_PROPOSED, {"facility_id": facility_id, "limit": proposals})
        waiting = await cur.fetchall()
        proposed = [
            Proposal(
                schedule=await get_schedule(conn, r["schedule_id"]),
                approval_id=r["approval_id"],
            )
            for r in waiting
        ]
    return ScheduleBoard(applied=applied, proposed=proposed)
