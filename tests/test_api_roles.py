"""An operator reads and chats; the agents make no write for them that nobody approved."""

from __future__ import annotations

import anyio
import pytest
from api_helpers import bearer, client_for, key, running_app

from tools.core import db


async def a_validated_order(conn: db.AsyncConn) -> str:
    cur = await conn.execute(
        "select order_id from orders where status = 'VALIDATED' order by order_id limit 1"
    )
    row = await cur.fetchone()
    await conn.commit()  # end the read, so later writes on this connection commit
    assert row is not None, "the demo plant has a VALIDATED order"
    return str(row["order_id"])


async def reservations(conn: db.AsyncConn, order_id: str) -> int:
    cur = await conn.execute(
        "select count(*) as n from stock_reservations where order_id = %s", (order_id,)
    )
    row = await cur.fetchone()
    await conn.commit()
    return int(row["n"]) if row else 0


@pytest.mark.anyio
async def test_an_operators_chat_reads_but_does_not_write(plant: db.AsyncConn, db_url: str) -> None:
    order_id = await a_validated_order(plant)
    operator, supervisor = await key(plant, "operator"), await key(plant, "supervisor")
    ask = {"message": f"Reserve stock for order {order_id}"}

    with anyio.fail_after(120):
        async with running_app(db_url) as app, client_for(app) as http:
            response = await http.post("/chat", json=ask, headers=bearer(operator))
            assert response.status_code == 200, response.text
            refused = response.json()
            assert await reservations(plant, order_id) == 0
            done = (await http.post("/chat", json=ask, headers=bearer(supervisor))).json()

    calls = {c["name"]: c["ok"] for c in refused["tool_calls"]}
    assert calls.pop("reserve_stock") is False
    assert calls == {"get_order": True}  # the order was read first; reading is allowed
    assert "operator" in refused["answer"] and "supervisor" in refused["answer"]
    assert {c["name"]: c["ok"] for c in done["tool_calls"]}.get("reserve_stock") is True
    assert await reservations(plant, order_id) > 0
