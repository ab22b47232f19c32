"""The offline model reads what people type: IDs however written, the plant's names with near
misses, quantities and money as said (sign and size kept), dates and periods on the plant clock."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agents.offline.catalogue import load_catalogue
from agents.offline.clauses import split
from agents.offline.entities import Mention, find_mentions, mask
from agents.offline.understanding import example_names, trained

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday, the start of the early shift


def mentions(text: str) -> list[Mention]:
    return find_mentions(
        text, names=example_names(), vocabularies=load_catalogue().vocabularies, now=NOW
    )


def of(text: str, kind: str) -> list[object]:
    return [m.value for m in mentions(text) if m.type == kind]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("why is PHX CNC 7 vibrating", "machine", "PHX-CNC-007"),
        ("cnc 7 in phoenix runs hot", "machine", "PHX-CNC-007"),
        ("phx-cnc-12 is down", "machine", "PHX-CNC-012"),
        ("the heat treat furnace in munich", "machine", "MUC-HT-001"),
        ("what's waiting at the Phoenix grinding cell", "work_center", "PHX-GRIND"),
        ("order 10013 for Boeing", "order", "ORD-10013"),
        ("status of wo 3005", "work_order", "WO-3005"),
        ("is PO 5002 late", "purchase_order", "PO-5002"),
        ("stock of the 6205 bearings", "sku", "SKU-BRG-6205"),
        ("how much titanium bar is left", "sku", "SKU-RM-TI64"),
        ("Is Nippon bearing late?", "supplier", "NIPPONBEARING"),
        ("Boieng's order", "customer", "BOEING"),
        ("the machines in munich", "facility", "MUC"),
        ("track 894086151462", "tracking_number", "894086151462"),
        ("show schedule 12", "schedule", 12),
    ],
)
def test_ids_and_names_are_read_however_people_write_them(
    text: str, kind: str, value: object
) -> None:
    assert of(text, kind)[:1] == [value]


def test_ordinary_words_that_look_like_names_stay_words() -> None:
    assert of("this report is boring", "customer") == []
    assert of("the ups and downs of the week", "carrier") == []
    assert of("hello Titan, which SKU is the spindle cartridge?", "supplier") == []
    assert of("which SKU is the angular contact bearing", "sku") == []


def test_a_machine_id_the_plant_does_not_have_is_still_read_as_one() -> None:
    # so that the request is asked about ("I can't find …"), not read as something else
    assert of("Check the health of PHX-CNC-099", "machine") == ["PHX-CNC-099"]


def test_quantities_and_money_keep_their_sign_and_size() -> None:
    assert of("New order: -20 turbine blades", "number") == [Decimal(-20)]
    assert of("reserve 500,000 motor housings", "number") == [Decimal(500_000)]
    assert of("order 10^23 blades", "number") == [Decimal(10) ** 23]
    assert of("a PO worth $5,000", "money") == [Decimal(5000)]
    assert of("5k USD at most", "money") == [Decimal(5000)]
    assert of("ship 2 t of housings", "weight") == [Decimal(2000)]
    assert of("ORD-10011 will be two days late", "days") == [Decimal(2)]


def test_a_run_of_digits_is_one_number_read_from_its_start() -> None:
    # Read once from where the run starts (a pasted 4,000-digit run took seconds when every digit
    # was tried as a start), never from inside it: "1.5" is not also a 5, nor "10,000" a 000.
    assert of("7" * 4000, "number") == [Decimal("7" * 4000)]
    assert of("scrap 1.5 kg", "weight") == [Decimal("1.5")]
    assert of("reserve 10,000 housings", "number") == [Decimal(10_000)]


def test_dates_and_periods_are_read_on_the_plant_clock() -> None:
    [window] = of("Book WO-3005 for tomorrow morning, 08:00 to 12:00", "period")
    assert window == (datetime(2026, 3, 3, 8, tzinfo=UTC), datetime(2026, 3, 3, 12, tzinfo=UTC))
    [today] = of("from 09:00 to 13:00 today", "period")
    assert today[0].hour == 9 and today[1].hour == 13 and today[0].day == 2
    [week] = of("OEE over the last seven days", "period")
    assert week == (datetime(2026, 2, 23, 6, tzinfo=UTC), NOW)
    [april] = of("the one due in April", "period")
    assert april[0] == datetime(2026, 4, 1, tzinfo=UTC)
    [due] = of("due 30 April 2026", "period")
    assert due[0] == datetime(2026, 4, 30, tzinfo=UTC)
    [shift] = of("how did we do this shift", "period")
    assert shift == (NOW, datetime(2026, 3, 2, 14, tzinfo=UTC))


def test_numbers_that_are_not_times_are_not_read_as_times() -> None:
    assert of("reserve 2 to 3 units", "period") == []
    assert of("due 2026-04-01", "period")[0][0] == datetime(2026, 4, 1, tzinfo=UTC)


def test_masking_keeps_the_shape_of_a_request_and_drops_its_values() -> None:
    text = "Put in a PO to RheinTech for 20 of SKU-BRG-7014 for the Phoenix plant."
    assert mask(text, mentions(text)) == (
        "Put in a PO to <SUPPLIER> for <NUMBER> of <SKU> for the <FACILITY> plant."
    )


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        (
            "Where is Boeing's order and can we still make the date?",
            ["Where is Boeing's order", "can we still make the date?"],
        ),
        (
            "PHX-CNC-007 is acting up. Work out what's wrong, check we have the parts to fix it, "
            "and tell the plant manager.",
            [
                "PHX-CNC-007 is acting up. Work out what's wrong",
                "check we have the parts to fix it",
                "tell the plant manager.",
            ],
        ),
        ("ORD-10012 for BMW passed final inspection and is packed.", None),
        ("If we keep cnc-007 running through the weekend, is it going to make it?", None),
        ("Technician's at PHX-HT-001, kick off WO-3004.", None),
    ],
)
def test_a_request_with_several_asks_is_split_into_them_and_a_stated_fact_joins_the_next(
    text: str, clauses: list[str] | None
) -> None:
    _, starting = trained(load_catalogue())
    assert [c.text for c in split(text, starting)] == (clauses or [text])
