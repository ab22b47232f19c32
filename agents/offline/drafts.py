"""Texts that leave the plant or reach a colleague, written for the person who reads them.

A customer reads about their order in their terms: the order number they know, the product,
the date in words, what changed and an apology when it is bad news — never the team's internal
findings, machine IDs or the text of their own inquiry (which could carry instructions). A
colleague gets the facts the team found.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from agents.offline.names import PlantNames

SIGNATURE = "Kind regards,\nTitan Manufacturing"
# The plant's names while a plan is rendered (set by the planner), for customer and product
# names in the texts.
names_in_use: ContextVar[PlantNames | None] = ContextVar("titan_offline_names", default=None)

_CUSTOMER_TERMS = {
    "CREATED": "has been received",
    "VALIDATED": "is confirmed",
    "RESERVED": "is confirmed and its material is reserved",
    "IN_PRODUCTION": "is in production",
    "READY": "is finished and ready to ship",
    "SHIPPED": "has shipped",
    "DELIVERED": "has been delivered",
    "COMPLETED": "has been delivered and closed",
    "ON_HOLD": "is on hold for the moment",
    "CANCELLED": "has been cancelled",
}
_PRONOUNS = (
    (r"\bthey're\b", "you're"),
    (r"\bthey are\b", "you are"),
    (r"\btheir\b", "your"),
    (r"\btheirs\b", "yours"),
    (r"\bthem\b", "you"),
    (r"\bthey\b", "you"),
    (r"\bthe customer's\b", "your"),
)


def company(customer_id: str | None) -> str:
    """A customer's everyday name: "Tesla" for TESLA (Tesla, Inc.)."""
    if not customer_id:
        return "customer"
    names = names_in_use.get()
    label = names.label("customer", customer_id) if names else customer_id
    if label == customer_id:
        return customer_id.replace("_", " ").title()
    short = re.sub(
        r"^(the)\s+|,?\s+(inc\.?|se|gmbh|group|company|ag|ltd\.?|llc)$", "", label, flags=re.I
    )
    short = re.sub(r"\s+(company)$", "", short, flags=re.I)
    return short.strip() or label


def product(sku: str | None) -> str:
    names = names_in_use.get()
    if not sku or names is None:
        return sku or ""
    label = names.label("sku", sku)
    return label.split(",")[0] if label != sku else sku


def day(value: Any) -> str:
    """A date in words: 'Thursday 12 March 2026'."""
    when = _as_date(value)
    return f"{when:%A} {when.day} {when:%B %Y}" if when else str(value)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None


def for_customer(text: str) -> str:
    """What a colleague wrote about the customer, turned to the customer: 'their certificates
    are ready' → 'your certificates are ready'; first letter up, a full stop at the end."""
    out = text.strip().rstrip(".")
    for pattern, replacement in _PRONOUNS:
        out = re.sub(pattern, replacement, out, flags=re.I)
    out = re.sub(r"^(?:that|to say|saying)\s+", "", out, flags=re.I)
    return (out[:1].upper() + out[1:] + ".") if out else ""


def _greeting(customer_id: str | None) -> str:
    return f"Dear {company(customer_id)} team,"


def _lines(order: dict[str, Any]) -> str:
    lines = order.get("lines") or []
    parts = [f"{ln.get('quantity')} × {product(ln.get('sku'))}" for ln in lines[:3]]
    return ", ".join(p for p in parts if p.strip(" ×"))


def draft_customer_message(
    customer: str | None, message: str | None, order: Any, team: str | None = None
) -> str:
    """A message to a customer from what the person asked to tell them."""
    said = for_customer(message or "")
    apology = bool(re.search(r"apolog|sorry|delay|late", message or "", re.I))
    body: list[str] = [_greeting(customer), ""]
    if isinstance(order, dict) and order.get("order_id") and order["order_id"] not in said:
        body.append(f"This is about your order {order['order_id']} ({_lines(order)}).")
    if said and not re.fullmatch(r"(?i)apologi[sz]ing for the delay\.?", said):
        body.append(said)
    if apology:
        body.append("We are sorry for the delay and the trouble it causes you.")
    if len(body) == 2:
        body.append("We wanted to give you an update on your orders with us.")
    body += ["", "If you have any question, just reply to this message.", "", SIGNATURE]
    return "\n".join(body)[:4000]


def draft_delay_notice(order: Any, days: Any, new_date: Any) -> str | None:
    """A delay notice: the order, how late, the new date, and an apology."""
    if not isinstance(order, dict):
        return None
    due = _as_date(order.get("due_at"))
    late = int(Decimal(str(days))) if days is not None else None
    new = _as_date(new_date) or (due + timedelta(days=late) if due and late else None)
    if due and new and late is None:
        late = (new - due).days
    what = f"your order {order.get('order_id')}"
    lines = _lines(order)
    if lines:
        what += f" ({lines})"
    if new and due and late:
        plural = "day" if late == 1 else "days"
        news = (
            f"we are sorry to tell you that {what} will be {late} {plural} late: we now expect "
            f"to deliver it on {day(new)} instead of {day(due)}."
        )
    elif new:
        news = (
            f"we are sorry to tell you that {what} is delayed: we now expect to deliver it on "
            f"{day(new)}."
        )
    else:
        news = (
            f"we are sorry to tell you that {what} is delayed. We will confirm the new date "
            "shortly."
        )
    return "\n".join(
        [
            _greeting(order.get("customer_id")),
            "",
            news[0].upper() + news[1:],
            "",
            "We apologise for the inconvenience and will let you know at once if anything changes.",
            "",
            SIGNATURE,
        ]
    )


def draft_inquiry_reply(inquiry: Any, message: str | None, order: Any) -> str | None:
    """An answer to a customer inquiry: what the person said to answer, or the order's status
    in the customer's terms. The inquiry's own text is never repeated."""
    if not isinstance(inquiry, dict):
        return None
    about = inquiry.get("order_id")
    lines = [_greeting(inquiry.get("customer_id")), ""]
    lines.append(
        f"thank you for your message about your order {about}."
        if about
        else "thank you for your message."
    )
    lines[-1] = lines[-1][0].upper() + lines[-1][1:]
    said = for_customer(message or "")
    if said:
        lines.append(said)
    elif isinstance(order, dict) and order.get("status"):
        state = _CUSTOMER_TERMS.get(str(order["status"]), "is being processed")
        due = order.get("due_at")
        lines.append(
            f"Your order {order.get('order_id')} {state}"
            + (
                f"; it is due on {day(due)}."
                if due and order["status"] not in ("DELIVERED", "COMPLETED", "CANCELLED")
                else "."
            )
        )
    else:
        lines.append("We are looking into it and will come back to you with the details shortly.")
    lines += ["", SIGNATURE]
    return "\n".join(lines)[:4000]


def customer_subject(order: str | None, message: str | None) -> str:
    if order:
        return f"Your order {order}"
    return "An update from Titan Manufacturing"


def delay_subject(order: str | None) -> str:
    return f"Your order {order}: new delivery date" if order else "A delay on your order"


def inquiry_subject(body: str | None, order: str | None) -> str:
    if order:
        return f"Inquiry about {order}"
    text = (body or "Customer inquiry").strip()
    return text[:80]


def staff_subject(message: str | None, team: str | None, machine: str | None) -> str:
    """A colleague's subject line: the first thing said, or the first finding."""
    text = (message or "").strip() or _first_sentence(team or "") or "Operations update"
    text = _first_sentence(text)
    prefix = f"{machine}: " if machine and machine not in text else ""
    return (prefix + text)[:200]


def staff_body(message: str | None, team: str | None) -> str:
    """What a colleague is told: the message asked for, with what the team found."""
    parts = [p for p in ((message or "").strip(), (team or "").strip()) if p]
    if not parts:
        return "No details were given."
    text = parts[0] if len(parts) == 1 else f"{parts[0]}\n\nWhat the team found:\n{parts[1]}"
    return (text[:1].upper() + text[1:])[:4000]


def _first_sentence(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0]
    return first.rstrip(".")
