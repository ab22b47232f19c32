"""Answers about customer inquiries and messages sent to customers and staff."""

from __future__ import annotations

from typing import Any

from agents.offline.answers import answer
from agents.offline.answers.common import label, listing, plural, rows_of, table, when, words
from agents.offline.planner import Progress


def _short(text: Any, limit: int = 90) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@answer("inquiries")
def inquiries(p: Progress) -> str:
    rows = rows_of(p.result("list_inquiries"))
    customer = p.values.get("customer")
    scope = f" from {label('customer', customer)}" if customer else ""
    status = words(p.values.get("status"))
    if not rows:
        return f"No {status + ' ' if status else ''}customer inquiries{scope}."
    waiting = [r for r in rows if r.get("status") == "OPEN"]
    lead = f"{plural(len(rows), 'inquiry', 'inquiries')}{scope}"
    if waiting and not status:
        lead += f", {len(waiting)} waiting for an answer: " + listing(
            [str(r.get("inquiry_id")) for r in waiting]
        )
    grid = table(
        ["Inquiry", "Customer", "Order", "Kind", "Status", "Received", "Subject"],
        [
            [
                r.get("inquiry_id"),
                r.get("customer_id"),
                r.get("order_id"),
                words(r.get("kind")),
                words(r.get("status")),
                when(r.get("received_at")),
                _short(r.get("subject"), 60),
            ]
            for r in rows
        ],
    )
    return f"{lead}.\n\n{grid}"


@answer("inquiry")
def inquiry(p: Progress) -> str:
    for _, outcome in reversed(p.calls):
        d = outcome.data
        if isinstance(d, dict) and d.get("inquiry_id"):
            about = f" about {d['order_id']}" if d.get("order_id") else ""
            text = (
                f"{d['inquiry_id']} from {label('customer', d.get('customer_id'))}{about} "
                f"({words(d.get('kind'))}, {words(d.get('status'))}, received "
                f"{when(d.get('received_at'))}): "
                f"“{_short(d.get('subject'), 120)}”. They write: “{_short(d.get('body'), 300)}”"
            )
            if d.get("response"):
                text += f" Answered {when(d.get('answered_at'))}: “{_short(d['response'], 200)}”"
            else:
                text += " It has no answer yet."
            return text + (
                " (The customer's text is shown as written; nothing in it was acted on.)"
                if d.get("status") == "OPEN"
                else ""
            )
    return "No inquiry came back."


@answer("inquiry_answered")
def inquiry_answered(p: Progress) -> str:
    d = p.result("answer_inquiry") or {}
    return (
        f"Answered {d.get('inquiry_id')} for {label('customer', d.get('customer_id'))}; it is now "
        f"{words(d.get('status'))}. The reply:\n\n> "
        + str(d.get("response") or "").replace("\n", "\n> ")
    )


@answer("message_sent")
def message_sent(p: Progress) -> str:
    d = p.result("send_message") or {}
    who = d.get("recipient")
    shown = label("customer", who) if who and who.isupper() else words(who)
    text = (
        f"Sent “{d.get('subject')}” to {shown} by {words(d.get('channel'))} "
        f"(notification {d.get('notification_id')}, {words(d.get('status'))})."
    )
    if d.get("channel") == "EMAIL":
        text += "\n\n> " + str(d.get("body") or "").replace("\n", "\n> ")
    return text


@answer("notifications")
def notifications(p: Progress) -> str:
    rows = rows_of(p.result("list_notifications"))
    if not rows:
        return "No notifications match."
    grid = table(
        ["#", "When", "To", "Channel", "About", "Subject", "Status"],
        [
            [
                r.get("notification_id"),
                when(r.get("created_at")),
                r.get("recipient"),
                words(r.get("channel")),
                r.get("entity_id"),
                _short(r.get("subject"), 60),
                words(r.get("status")),
            ]
            for r in rows
        ],
    )
    recipients = sorted({str(r.get("recipient")) for r in rows})
    return f"{plural(len(rows), 'notification')}, to {listing(recipients)}:\n\n{grid}"


@answer("notices_sent")
def notices_sent(p: Progress) -> str:
    rows = rows_of(p.result("notify_about"))
    if not rows:
        return "The notice goes to nobody for that event, so nothing was sent."
    return (
        f"Sent the standard notice to {listing([str(r.get('recipient')) for r in rows])}: "
        f"“{rows[0].get('subject')}”."
    )


@answer("preview")
def preview(p: Progress) -> str:
    rows = rows_of(p.result("preview_notification"))
    if not rows:
        return "No standard notice exists for that event and entity."
    parts = []
    for r in rows:
        rendered = r.get("rendered") or {}
        to = listing([str(x.get("address") or x.get("role")) for x in r.get("recipients") or []])
        parts.append(
            f"To {to or 'nobody'}: “{rendered.get('subject')}”\n\n> "
            + str(rendered.get("body") or "").replace("\n", "\n> ")
        )
    return "Nothing was sent. The notice would read:\n\n" + "\n\n".join(parts)


@answer("notification_read")
def notification_read(p: Progress) -> str:
    d = p.result("mark_notification_read") or {}
    return f"Notification {d.get('notification_id')} (“{d.get('subject')}”) is marked read."
