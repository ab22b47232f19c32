"""Input limits the fulfilment operations share: reasons, notes, quantities and pages."""

from __future__ import annotations

from tools.core.errors import ValidationError

MAX_REASON = 500  # a hold, cancel, delay or adjustment reason
MAX_NOTE = 2000  # free-text notes on an order
MAX_PAGE = 500  # rows one list call returns at most
MAX_QUANTITY = 1_000_000  # units on one line or in one move: more is a typo, not an order
MAX_OFFSET = 1_000_000  # rows a page may skip
MACHINE_ID = r"^[A-Z]{3}-[A-Z]{2,5}-[0-9]{3}$"  # as the equipment table's check says


def require_text(value: str, what: str, *, limit: int = MAX_REASON) -> str:
    """`value` stripped; ValidationError when it is empty or longer than `limit`."""
    text = value.strip()
    if not text:
        raise ValidationError(f"{what} is required (1 to {limit} characters)")
    if len(text) > limit:
        raise ValidationError(f"{what} is {len(text)} characters long; at most {limit} allowed")
    return text


def check_quantity(quantity: int, what: str) -> int:
    """`quantity` when it is a whole number from 1 to `MAX_QUANTITY`; else ValidationError."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationError(f"{what} must be a whole number of at least 1, got {quantity!r}")
    if quantity > MAX_QUANTITY:
        raise ValidationError(f"{what} of {quantity:,} is more than {MAX_QUANTITY:,} units")
    return quantity


def check_page(limit: int, offset: int) -> None:
    """ValidationError unless 1 ≤ limit ≤ MAX_PAGE and offset ≥ 0."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be 1 to {MAX_PAGE}, got {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationError(f"offset must be 0 to {MAX_OFFSET:,}, got {offset}")
