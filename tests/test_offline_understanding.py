"""The offline model understands a turn: which intents it asks for, in which order, with which
values — and asks back, rather than guesses, when something is missing or cannot be right.

The requests here are worded unlike the catalogue's examples (a test checks they are not copies),
so that they measure what the matcher generalises to."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rapidfuzz import fuzz

from agents.offline.catalogue import load_catalogue
from agents.offline.understanding import Brain, Reading, Turn, example_names

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def brain() -> Brain:
    return Brain(example_names())


def read(brain: Brain, text: str, history: list[Turn] | None = None) -> Reading:
    return brain.read(text, history or [], now=NOW)


def intents(reading: Reading) -> list[str]:
    return [f.intent.id for f in reading.frames]


ROUTED = [
    ("is the spindle on MUC-CNC-002 about to give up? it sounds awful", "maintenance.diagnose"),
    ("give me every machine at the Detroit site", "maintenance.list_machines"),
    ("how many 7014 bearings are sitting in Phoenix right now", "inventory.stock_level"),
    ("when is TitanMet's PO-5001 landing?", "inventory.get_purchase_order"),
    ("when will Rivian get their stuff?", "logistics.where_is_order"),
    ("ORD-10016: are we going to miss its due date?", "scheduling.due_date"),
    ("ORD-10021 got cancelled — which manager okayed that?", "governance.who_approved"),
    (
        "let Tesla know their order ORD-10011 slips by two days",
        "communications.notify_customer_delay",
    ),
    ("please put a hold on ORD-10019, Tesla wants to change the spec", "orders.hold"),
    ("take ORD-10023 off hold, Airbus fixed the paperwork", "orders.release"),
    ("throw together a schedule for Munich but don't apply it", "scheduling.propose"),
]


def test_the_requests_here_are_not_copies_of_the_catalogues_examples() -> None:
    examples = [e.lower() for i in load_catalogue().intents.values() for e in i.examples]
    for text, _ in ROUTED:
        assert max(fuzz.ratio(text.lower(), e) for e in examples) < 85, text


@pytest.mark.parametrize(("text", "intent"), ROUTED)
def test_a_request_goes_to_the_intent_it_asks_for(brain: Brain, text: str, intent: str) -> None:
    reading = read(brain, text)

    assert reading.act == "route", reading.reply
    assert intents(reading) == [intent]


@pytest.mark.parametrize(
    "text",
    [
        "was ORD-10021 cancelled?",
        "has PO-5001 arrived yet",
        "Is ORD-10008 ready to go?",
        "did WO-3002 start?",
        "Can ORD-10016 still ship by the 17th?",
        "What do I need to swap the coolant pump on DET-CNC-002, and is there one in Detroit?",
        "why does PHX-CNC-012 run hot?",
        "when will PHX-CNC-007 fail?",
    ],
)
def test_a_question_never_writes(brain: Brain, text: str) -> None:
    reading = read(brain, text)

    assert reading.frames and not any(f.intent.writes for f in reading.frames), intents(reading)


def test_several_asks_go_to_each_agent_in_the_order_work_flows(brain: Brain) -> None:
    reading = read(
        brain,
        "PHX-CNC-007 is acting up. Work out what's wrong, check we have the parts to fix it, "
        "and tell the plant manager.",
    )

    assert reading.act == "route"
    assert reading.agents == ["maintenance", "inventory", "communications"]
    parts = next(f for f in reading.frames if f.intent.agent == "inventory")
    assert parts.slots["machine"] == "PHX-CNC-007" and "fault" in parts.from_team


def test_an_incident_brings_its_parts_check_and_message_with_it(brain: Brain) -> None:
    reading = read(brain, "We have an incident on PHX-CNC-007, deal with it")

    assert intents(reading) == [
        "maintenance.incident",
        "inventory.repair_parts",
        "communications.notify_staff",
    ]
    assert reading.frames[2].slots["recipient"] == "plant_manager"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("What's the weather in Munich tomorrow?", "isn't something"),
        ("translate 'late delivery' into German", "isn't something"),
    ],
)
def test_a_request_outside_the_plant_is_declined(brain: Brain, text: str, said: str) -> None:
    reading = read(brain, text)

    assert reading.act == "decline" and reading.frames == [] and reading.understood


def test_a_missing_value_is_asked_for(brain: Brain) -> None:
    reading = read(brain, "Open a work order.")

    assert reading.act == "ask" and "Which machine" in reading.reply


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("New order for Boeing: -20 blades SKU-TB-1001, due 30 April 2026", "-20"),
        ("Order 10^23 SKU-TB-1001 for Boeing due 2026-05-01", "×10^23"),
        ("New order for Tesla: 20 SKU-MH-4001 due 9999-01-01", "9999-01-01"),
        ("check the health of PHX-CNC-099", "PHX-CNC-099"),
        ("stock of SKU-XX-0000 in Munich", "SKU-XX-0000"),
    ],
)
def test_a_value_that_cannot_be_right_gets_a_question_and_no_action(
    brain: Brain, text: str, said: str
) -> None:
    reading = read(brain, text)

    assert reading.act == "ask" and said in reading.reply


def test_the_next_turn_answers_the_question_asked(brain: Brain) -> None:
    asked = read(brain, "need a WO raised")
    answered = read(
        brain,
        "for the heat treat furnace in munich, vacuum is slow to pump down. medium prio",
        [Turn("need a WO raised", asked.reply)],
    )

    assert asked.act == "ask" and answered.act == "route"
    [frame] = answered.frames
    assert frame.intent.id == "maintenance.create_work_order"
    assert frame.slots["machine"] == "MUC-HT-001" and frame.slots["priority"] == "MEDIUM"


def test_a_follow_up_keeps_the_intent_and_changes_the_value_it_names(brain: Brain) -> None:
    first = "What was our OEE in Phoenix last week?"
    reading = read(brain, "and Munich?", [Turn(first, "OEE for PHX …")])

    assert intents(reading) == ["maintenance.oee"]
    assert reading.frames[0].slots["facility"] == "MUC"


def test_a_follow_up_takes_the_machine_and_fault_from_the_turn_before(brain: Brain) -> None:
    answer = "PHX-CNC-007 most likely has bearing degradation (confidence 0.97)."
    reading = read(
        brain, "what about its spare parts?", [Turn("why is PHX-CNC-007 so loud?", answer)]
    )

    [frame] = reading.frames
    assert frame.intent.id == "inventory.spare_parts"
    assert frame.slots == {"machine": "PHX-CNC-007", "fault": "BEARING_DEGRADATION"}


LISTED = (
    "2 orders (RIVIAN, open):\n\n| Order | Status | Due |\n|---|---|---|\n"
    "| ORD-10015 | reserved | Tue 17 Mar 2026 |\n| ORD-10021 | created | Sat 18 Apr 2026 |"
)


def test_a_write_on_one_of_several_listed_is_not_guessed(brain: Brain) -> None:
    history = [Turn("Show me Rivian's open orders.", LISTED)]
    asked = read(brain, "cancel it", history)
    picked = read(brain, "the second one", [*history, Turn("cancel it", asked.reply)])

    assert asked.act == "ask" and "ORD-10015 or ORD-10021" in asked.reply
    assert picked.act == "route" and picked.frames[0].slots["order"] == "ORD-10021"


def test_a_row_of_the_last_answer_is_found_by_what_it_shows(brain: Brain) -> None:
    history = [Turn("Show me Rivian's open orders.", LISTED)]
    reading = read(brain, "cancel the one due in April, they withdrew it", history)

    assert reading.act == "route"
    assert reading.frames[0].intent.id == "orders.cancel"
    assert reading.frames[0].slots["order"] == "ORD-10021"


def test_quantities_reach_the_slots_as_said(brain: Brain) -> None:
    reading = read(brain, "Order 4 more SKU-SP-VS100 vibration sensors for Detroit from RheinTech")

    [frame] = reading.frames
    assert frame.slots["quantity"] == Decimal(4) and frame.slots["supplier"] == "RHEINTECH"


@pytest.mark.parametrize(
    ("text", "act"),
    [("hi there", "greet"), ("cheers, thanks", "thanks"), ("what can you do?", "help")],
)
def test_the_conversation_itself_is_answered_without_the_team(
    brain: Brain, text: str, act: str
) -> None:
    assert read(brain, text).act == act


def test_a_report_of_what_is_going_on_changes_nothing(brain: Brain) -> None:
    reading = read(brain, "we're putting a hot Boeing lot onto phx-cnc-007 after lunch")

    assert not any(f.intent.writes for f in reading.frames)


def test_could_we_is_a_question_and_writes_nothing(brain: Brain) -> None:
    reading = read(brain, "could we take ORD-10023 off hold now?")

    assert reading.frames and not any(f.intent.writes for f in reading.frames)


def test_a_booking_in_the_past_is_asked_about(brain: Brain) -> None:
    reading = read(brain, "book WO-3005 in for 14 February 2026 from 08:00 to 10:00")

    assert reading.act == "ask"
    assert reading.reply.startswith("Sat 14 Feb 2026 08:00 is in the past")


def test_dates_written_in_figures_are_read_day_first_unless_they_cannot_be(brain: Brain) -> None:
    european = read(brain, "new order for Airbus: 12 of SKU-TB-1002, due 03/06/2026")
    american = read(brain, "new order for Airbus: 12 of SKU-TB-1002, due 06/30/2026")

    assert european.frames[0].slots["due"] == datetime(2026, 6, 3, tzinfo=UTC)
    assert american.frames[0].slots["due"] == datetime(2026, 6, 30, tzinfo=UTC)


ORDERS_TABLE = (
    "2 orders (RIVIAN, open), soonest due first:\n\n"
    "| Order | Customer | Status | Due | Products | Units | Value | Rush |\n"
    "|---|---|---|---|---|---|---|---|\n"
    "| ORD-10015 | RIVIAN | reserved | Tue 17 Mar 2026 | SKU-MH-4001 | 376 | 144,760.00 USD | — |\n"
    "| ORD-10021 | RIVIAN | created | Sat 18 Apr 2026 | SKU-MH-4002 and SKU-BE-5003 "
    "| 280 | 157,270.00 USD | — |"
)


def test_the_one_meant_is_found_in_the_table_just_shown(brain: Brain) -> None:
    history = [Turn("what has Rivian got open?", ORDERS_TABLE)]

    reading = read(brain, "please cancel the one due in April — Rivian has pulled out", history)

    assert intents(reading) == ["orders.cancel"]
    assert reading.frames[0].slots["order"] == "ORD-10021"


def test_the_reason_is_what_was_told_not_the_ask(brain: Brain) -> None:
    reading = read(brain, "Tesla have walked away from ORD-10019 - could you cancel it?")

    assert intents(reading) == ["orders.cancel"]
    assert reading.frames[0].slots["reason"] == "Tesla have walked away from ORD-10019"


READY_TABLE = (
    "2 orders (ready), soonest due first:\n\n"
    "| Order | Customer | Status | Due | Products | Units | Value | Rush |\n"
    "|---|---|---|---|---|---|---|---|\n"
    "| ORD-10007 | GE_AEROSPACE | ready | Sun 8 Mar 2026 | SKU-TB-1001 | 162 | 435,470 USD | — |\n"
    "| ORD-10008 | TESLA | ready | Mon 9 Mar 2026 | SKU-MH-4001 | 906 | 409,185.00 USD | — |"
)


def test_the_customers_one_is_that_customers_row_of_the_table(brain: Brain) -> None:
    history = [Turn("which orders are packed and waiting?", READY_TABLE)]

    reading = read(brain, "ship the Tesla one with UPS", history)

    assert intents(reading) == ["logistics.create_shipments"]
    assert reading.frames[0].slots["order"] == "ORD-10008"
