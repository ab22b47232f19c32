"""Who a rendered message goes to: the customer's contact, or the people behind a staff role,
and the directory that names them.

A staff role's recipients come from the `notification_roles` directory (entries for the entity's
facility or for every facility); with none there, from the active users holding the matching user
role; with none of those either, the role's shared in-app inbox `role:<name>`, so that no message
is lost. Changes to the directory are audited writes like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from tools.communications.templates import CUSTOMER, STAFF_ROLES, Rendered
from tools.core.db import AsyncConn
from tools.core.errors import NotFoundError, ValidationError
from tools.core.operations import Actor, atomic, idempotent, record

Channel = Literal["EMAIL", "SMS", "SLACK", "IN_APP"]
CHANNELS: tuple[Channel, ...] = ("EMAIL", "SMS", "SLACK", "IN_APP")
StaffRole = Literal[
    "planner",
    "plant_manager",
    "maintenance_lead",
    "quality_manager",
    "logistics_coordinator",
    "purchasing",
    "customer_service",
]
# With no directory entry, a staff role's messages go to the users holding this user role.
USER_ROLE_FOR: dict[str, str] = {
    "planner": "production_manager",
    "plant_manager": "production_manager",
    "purchasing": "production_manager",
    "maintenance_lead": "supervisor",
    "quality_manager": "supervisor",
    "logistics_coordinator": "supervisor",
    "customer_service": "supervisor",
}
assert set(USER_ROLE_FOR) == set(STAFF_ROLES)


class Recipient(BaseModel):
    """Where one copy of a message goes."""

    address: str
    channel: Channel
    role: str | None = None


class RoleRecipient(BaseModel):
    """A directory entry: `address` on `channel` receives `role`'s messages."""

    role: StaffRole
    channel: Channel
    address: str = Field(min_length=1, max_length=200)
    user_id: str | None = None
    facility_id: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


async def recipients_for_role(
    conn: AsyncConn, role: str, *, facility_id: str | None = None
) -> list[Recipient]:
    """Who receives `role`'s messages (for `facility_id`, or for every facility)."""
    if role not in USER_ROLE_FOR:
        raise ValidationError(f"unknown staff role {role!r}; roles are {', '.join(STAFF_ROLES)}")
    cur = await conn.execute(
        "select address, channel from notification_roles where role = %(role)s "
        "and (facility_id is null or facility_id = %(facility)s) order by channel, address",
        {"role": role, "facility": facility_id},
    )
    rows = await cur.fetchall()
    if not rows:
        cur = await conn.execute(
            "select coalesce(email, user_id) as address, "
            "case when email is null then 'IN_APP' else 'EMAIL' end as channel "
            "from users where role = %(user_role)s and active order by user_id",
            {"user_role": USER_ROLE_FOR[role]},
        )
        rows = await cur.fetchall()
    if not rows:
        return [Recipient(address=f"role:{role}", channel="IN_APP", role=role)]
    return [Recipient(address=r["address"], channel=r["channel"], role=role) for r in rows]


async def addresses(
    conn: AsyncConn, rendered: Rendered, fields: Mapping[str, object]
) -> list[Recipient]:
    """The recipients of `rendered`'s audiences, each address and channel once."""
    found: list[Recipient] = []
    for audience in rendered.audiences:
        if audience == CUSTOMER:
            email = fields.get("contact_email")
            if not isinstance(email, str):
                raise ValidationError(
                    f"template {rendered.template} is addressed to the customer, but a "
                    f"{fields.get('entity_type')} has no customer; address it to a staff role"
                )
            found.append(Recipient(address=email, channel="EMAIL", role=CUSTOMER))
        else:
            facility = fields.get("facility_id")
            found += await recipients_for_role(
                conn, audience, facility_id=facility if isinstance(facility, str) else None
            )
    unique: dict[tuple[str, str], Recipient] = {}
    for r in found:
        unique.setdefault((r.address, r.channel), r)
    return list(unique.values())


# ───────────────────────── the role directory ─────────────────────────


async def assign_role_recipient(
    conn: AsyncConn, actor: Actor, entry: RoleRecipient, *, idempotency_key: str | None = None
) -> RoleRecipient:
    """Add `entry` to the directory (a repeat of an existing entry updates its user/facility)."""

    async def run() -> RoleRecipient:
        if entry.user_id is not None:
            cur = await conn.execute("select 1 from users where user_id = %s", (entry.user_id,))
            if await cur.fetchone() is None:
                raise NotFoundError(f"no user {entry.user_id!r} to receive {entry.role} messages")
        cur = await conn.execute(
            "select user_id, facility_id from notification_roles "
            "where (role, channel, address) = (%(role)s, %(channel)s, %(address)s) for update",
            entry.model_dump(),
        )
        before = await cur.fetchone()
        await conn.execute(
            "insert into notification_roles (role, channel, address, user_id, facility_id) "
            "values (%(role)s, %(channel)s, %(address)s, %(user_id)s, %(facility_id)s) "
            "on conflict (role, channel, address) do update set user_id = excluded.user_id, "
            "facility_id = excluded.facility_id",
            entry.model_dump(),
        )
        await record(
            conn,
            actor,
            event_type="notification_role.assigned",
            entity_type="notification_role",
            entity_id=f"{entry.role}:{entry.channel}:{entry.address}",
            action="assign",
            before=before,
            after=entry.model_dump(mode="json"),
        )
        return entry

    async with atomic(conn):
        return await idempotent(
            conn, idempotency_key, "communications.assign_role", RoleRecipient, run
        )


async def remove_role_recipient(
    conn: AsyncConn,
    actor: Actor,
    role: StaffRole,
    *,
    channel: Channel,
    address: str,
    idempotency_key: str | None = None,
) -> RoleRecipient:
    """Take an entry out of the directory; returns the entry removed."""

    async def run() -> RoleRecipient:
        cur = await conn.execute(
            "delete from notification_roles "
            "where (role, channel, address) = (%(role)s, %(channel)s, %(address)s) "
            "returning role, channel, address, user_id, facility_id",
            {"role": role, "channel": channel, "address": address},
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFoundError(
                f"{address} on {channel} is not in the directory for {role}; "
                "role_directory() lists the entries"
            )
        removed = RoleRecipient.model_validate(row)
        await record(
            conn,
            actor,
            event_type="notification_role.removed",
            entity_type="notification_role",
            entity_id=f"{role}:{channel}:{address}",
            action="remove",
            before=removed.model_dump(mode="json"),
        )
        return removed

    async with atomic(conn):
        return await idempotent(
            conn, idempotency_key, "communications.remove_role", RoleRecipient, run
        )


async def role_directory(conn: AsyncConn, role: StaffRole | None = None) -> list[RoleRecipient]:
    """The directory's entries (of one role), by role, channel and address."""
    cur = await conn.execute(
        "select role, channel, address, user_id, facility_id from notification_roles "
        "where %(role)s::text is null or role = %(role)s order by role, channel, address",
        {"role": role},
    )
    return [RoleRecipient.model_validate(r) for r in await cur.fetchall()]
