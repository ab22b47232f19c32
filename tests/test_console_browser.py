"""The plant console in a real headless Chromium against the real service (uvicorn on loopback,
the simulation engine inside, the offline model): sign in, chat, approve, run a scenario.

One service for the module's journey; a screenshot of every page is saved to `artifacts()`
(tests/artifacts/console, or $TITAN_CONSOLE_ARTIFACTS).
"""

from __future__ import annotations

import anyio
import pytest
from api_helpers import key, served
from console_helpers import CHROMIUM, LAPTOP, TV, artifacts, chromium, status_when
from playwright.async_api import Browser, Page, expect

from tools.core import db
from tools.core.operations import Actor
from tools.scheduling.schedules import ScheduleRequest, propose_schedule

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
)

LIMIT_S = 300
WAIT_MS = 30_000
DOWN_WAIT_MS = 90_000
STOCK_QUESTION = "How much SKU-TB-1001 do we have in stock?"
CANCEL = "Cancel order ORD-10021, the customer withdrew it"
DOWN_MACHINE = "DET-CNC-001"
SCENARIO_SPEED = "40"
PLANNER = Actor(type="user", id="planner")

# Records, change by change in the order the page made them, what each change to the newest
# answer was: a step shown, answer text, or the answer no longer streaming. (Per change, not per
# observer call: a fast service's whole stream can arrive in one read and render in one task.)
WATCH_STREAM = """() => {
  window.__seen = [];
  const log = document.querySelector('.chat-log');
  new MutationObserver((records) => {
    const ai = [...log.querySelectorAll('.msg.ai')].pop();
    const answer = ai && ai.querySelector('.answer');
    if (!answer) return;
    for (const r of records) {
      if ([...r.addedNodes].some((n) => n.nodeType === 1 && n.matches('.step'))) {
        window.__seen.push('step');
      } else if (r.type === 'attributes' && r.target === answer) {
        if (!answer.classList.contains('streaming')) window.__seen.push('done');
      } else if (answer.contains(r.target)) {
        window.__seen.push('text');
      }
    }
  }).observe(log, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(artifacts() / f"{name}.png"), full_page=False)


async def sign_in(page: Page, base: str, token: str) -> None:
    await page.goto(f"{base}/")
    await page.fill("#signin-key", token)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#app")).to_be_visible()


async def order_status(conn: db.AsyncConn, order_id: str) -> str:
    async with conn.transaction():
        cur = await conn.execute("select status from orders where order_id = %s", (order_id,))
        row = await cur.fetchone()
    assert row is not None
    return str(row["status"])


async def chat_and_watch_it_stream(page: Page) -> list[str]:
    await page.goto(page.url.split("#")[0] + "#/chat")
    await page.evaluate(WATCH_STREAM)
    await page.fill("#chat-input", STOCK_QUESTION)
    await page.click("#chat-send")
    answer = page.locator(".chat-log .msg.ai .answer").last
    await expect(answer).to_have_class("answer", timeout=WAIT_MS)
    await expect(answer).to_contain_text("SKU-TB-1001")
    seen: list[str] = await page.evaluate("window.__seen")
    return seen


async def approve_a_cancellation(page: Page, conn: db.AsyncConn) -> None:
    await page.click("#chat-new")
    await page.fill("#chat-input", CANCEL)
    await page.click("#chat-send")
    review = page.locator(".approval-note a[href^='#/approvals/APR-']")
    await expect(review).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#approvals-badge")).to_have_text("1")
    assert await order_status(conn, "ORD-10021") != "CANCELLED"
    await review.click()
    card = page.locator("article.approval", has_text="cancel order")
    await expect(card).to_be_visible()
    await expect(card).to_contain_text("ORD-10021")
    await shot(page, "approvals")
    await card.locator("button[data-action=approve]").click()
    outcome = page.locator("article.outcome")
    await expect(outcome).to_be_visible(timeout=WAIT_MS)
    await expect(outcome).to_contain_text("approved")
    await expect(outcome).to_contain_text("ORD-10021")
    await expect(page.locator("#approvals-badge")).to_be_hidden()
    await expect(page.locator("table.table tbody tr", has_text="cancel order")).to_contain_text(
        "admin"
    )
    await shot(page, "approvals-decided")


async def run_machine_down(page: Page, base: str) -> None:
    await page.goto(f"{base}/#/sim")
    # Slower than real-time-per-minute: the scenario's planning blocks the engine for its solve,
    # and a long pause in plant time would leave every heartbeat stale.
    await page.fill("#sim-speed", SCENARIO_SPEED)
    await page.click("#sim-speed-set")
    await page.click("button[data-scenario=machine-down]")
    started = page.locator("#event-log li[data-type='simulation.scenario_started']")
    await expect(started).to_be_visible(timeout=WAIT_MS)
    await page.goto(f"{base}/#/plant")
    down = page.locator(f"article.machine[data-machine={DOWN_MACHINE}] [data-status=DOWN]")
    await expect(down).to_be_visible(timeout=DOWN_WAIT_MS)
    await shot(page, "plant-machine-down")
    await page.goto(f"{base}/#/sim")
    changed = page.locator("#event-log li[data-type='machine.down']", has_text=DOWN_MACHINE)
    await expect(changed.first).to_be_visible()
    await shot(page, "simulation")


async def propose_for_detroit(conn: db.AsyncConn) -> None:
    """A planner's proposal for Detroit, made while the world is paused and every machine up."""
    request = ScheduleRequest(facility_id="DET", time_limit_s=5, objective="makespan")
    proposed = await propose_schedule(conn, PLANNER, request=request)
    assert proposed.schedule is not None, proposed.reason
    await conn.commit()


async def schedule_beside_a_proposal(page: Page, base: str) -> None:
    """The scenario applied a schedule for Detroit; the planner's proposal shows beside it."""
    await page.goto(f"{base}/#/schedule")
    pair = page.locator(".compare section.schedule")
    await expect(pair).to_have_count(2, timeout=WAIT_MS)
    await expect(pair.first).to_contain_text("Current")
    await expect(pair.last).to_contain_text("Proposed")
    await expect(pair.last.locator("svg.gantt rect.bar").first).to_be_visible()
    await shot(page, "schedule")


async def operator_is_offered_no_controls(browser: Browser, base: str, token: str) -> None:
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await sign_in(page, base, token)
    await page.goto(f"{base}/#/sim")
    await expect(page.locator("#page-sim .notice")).to_contain_text("supervisor")
    await expect(page.locator("#sim-status")).to_be_visible()
    assert await page.locator("button[data-scenario]").count() == 0
    await shot(page, "operator-simulation")
    await page.goto(f"{base}/#/approvals")
    await expect(page.locator("#page-approvals .notice")).to_contain_text("production manager")
    assert await page.locator("button[data-action]").count() == 0
    await shot(page, "operator-approvals")
    await context.close()


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_plant_person_signs_in_chats_approves_and_runs_a_scenario_in_the_browser(
    plant: db.AsyncConn, db_url: str
) -> None:
    admin, operator = await key(plant, "admin"), await key(plant, "operator")
    with anyio.fail_after(LIMIT_S):
        async with served(db_url, simulate=True) as base, chromium() as browser:
            await status_when(base, admin, lambda s: True)
            page = await browser.new_page(viewport=LAPTOP)
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            await page.goto(f"{base}/")
            await page.fill("#signin-key", "titan_nope_nope")
            await page.click("#signin-form button[type=submit]")
            refusal = page.locator("#signin-error")
            await expect(refusal).to_contain_text("not accepted")
            await shot(page, "sign-in-refused")
            await sign_in(page, base, admin)

            # Pause the world so the order waits, untouched, for the person's decision.
            await page.goto(f"{base}/#/sim")
            await page.click("#sim-pause")
            await status_when(base, admin, lambda s: s["state"]["paused"])

            seen = await chat_and_watch_it_stream(page)
            link = page.locator(".chat-log .answer a.entity[href='#/plant/sku/SKU-TB-1001']").first
            await expect(link).to_be_visible()
            await expect(page.locator(".chat-log details.steps > summary").last).to_contain_text(
                "inventory"
            )
            await shot(page, "chat")
            await approve_a_cancellation(page, plant)
            await propose_for_detroit(plant)
            await page.goto(f"{base}/#/sim")
            await page.click("#sim-resume")
            await status_when(base, admin, lambda s: not s["state"]["paused"])
            await run_machine_down(page, base)

            await schedule_beside_a_proposal(page, base)
            await link_leads_to_the_entity(page, base)
            await page.set_viewport_size(TV)
            await page.click("#large-type")
            await page.goto(f"{base}/#/plant")
            await expect(page.locator("article.machine").first).to_be_visible()
            await shot(page, "plant-tv-large-type")
            await operator_is_offered_no_controls(browser, base, operator)

    # The steps showed while the answer was still forming: before its first text, and before
    # it stopped streaming.
    assert "step" in seen and "text" in seen and "done" in seen, seen
    assert seen.index("step") < seen.index("text") and seen.index("step") < seen.index("done"), seen
    assert await order_status(plant, "ORD-10021") == "CANCELLED"
    assert errors == []


async def link_leads_to_the_entity(page: Page, base: str) -> None:
    await page.goto(f"{base}/#/plant/machine/{DOWN_MACHINE}")
    await expect(page.locator("#entity-detail h2")).to_have_text(f"Machine {DOWN_MACHINE}")
    await shot(page, "plant-machine-detail")
