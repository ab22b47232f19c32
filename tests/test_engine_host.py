"""A service process that does not run the engine follows the engine's plant time from what the
engine saves, stands still while it is paused, and does not run on from an engine that died."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.hosting.engine_host import follow
from simulation import lock, state
from simulation.config import SimConfig
from tools.core import clock, db

pytestmark = pytest.mark.anyio
SAVED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def _save(conn: db.AsyncConn, at: datetime, *, paused: bool = False) -> None:
    await state.save_state(
        conn, SimConfig(speed=60), running=True, paused=paused, plant_time=at,
        started_at=SAVED, counts={}, holder_name="engine",
    )  # fmt: skip


async def test_a_standing_by_process_follows_the_running_engines_plant_time(
    db_url: str,
) -> None:
    async with db.connection(db_url) as engine, db.connection(db_url) as standby:
        assert await lock.try_lock(engine)
        followed = clock.FollowedClock(SAVED - timedelta(days=1), speed=1)

        await _save(engine, SAVED)
        await follow(standby, followed)
        assert SAVED <= followed.now() < SAVED + timedelta(minutes=1)
        assert followed.speed == 60

        later = SAVED + timedelta(hours=2)
        await _save(engine, later, paused=True)
        await follow(standby, followed)
        assert followed.now() == later and followed.paused

        # The engine's process ends without saving again: its row still says running, but the
        # lock is gone, so plant time stands where it was saved.
        await _save(engine, later + timedelta(hours=1))
        await lock.unlock(engine)
        await follow(standby, followed)
        assert followed.now() == later + timedelta(hours=1) and followed.paused


async def test_with_no_engine_saved_yet_a_followed_clock_keeps_its_own_time(db_url: str) -> None:
    async with db.connection(db_url) as standby:
        followed = clock.FollowedClock(SAVED, speed=60)
        await follow(standby, followed)

        assert followed.now() >= SAVED and not followed.paused
