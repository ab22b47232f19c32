"""Dates, times and periods as people say them, read on the plant clock.

"tomorrow 6am", "Wednesday 4 March, 06:00 to 14:00", "from 09:00 to 13:00 today", "next week",
"the last seven days", "February 2026", "last quarter", "this shift" — each becomes a point in
time or a period (start, end) in UTC, relative to the plant's `now`. Only what is said is read:
nothing here guesses a date from a bare number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from agents.offline.numbers import word_number

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}
# Parts of a day people name, as local hours (start, end).
DAY_PARTS = {"morning": (8, 12), "afternoon": (12, 17), "evening": (17, 22), "tonight": (18, 23)}
SHIFT_HOURS = 8
SHIFT_STARTS = (6, 14, 22)

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_CLOCK = r"(?:[01]?\d|2[0-3])(?::[0-5]\d)?\s*(?:am|pm|a\.m\.|p\.m\.)?|noon|midnight"
_NUM = r"\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|thirty"

_ISO = re.compile(
    r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2})?(?:Z|[+-]00:?00)?)?\b"
)
_DAY_MONTH = re.compile(
    rf"\b(?:(?:{_WEEKDAY}),?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\.?(?:,?\s+(\d{{4}}))?\b",
    re.I,
)
_MONTH_DAY = re.compile(
    rf"\b(?:(?:{_WEEKDAY}),?\s+)?({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b",
    re.I,
)
# 31/12/2026, 31.12.2026 and 12/31/2026: day first, unless the second number cannot be a month.
_NUMERIC = re.compile(r"\b(\d{1,2})([/.])(\d{1,2})\2(\d{4})\b")
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{4}})\b", re.I)
_BARE_MONTH = re.compile(
    rf"\b(?:in|during|for|by|over|through|throughout|of)\s+({_MONTH})\b(?!\s+\d)", re.I
)
_RANGE = re.compile(
    rf"\b(?:from\s+|between\s+)?({_CLOCK})\s*(?:to|until|till|-|–|and)\s*({_CLOCK})\b", re.I
)
_AT = re.compile(
    r"\b(?:at\s+)?((?:[01]?\d|2[0-3]):[0-5]\d|(?:1[0-2]|0?[1-9])\s*(?:am|pm|a\.m\.|p\.m\.)|noon|midnight)\b",
    re.I,
)
_RELATIVE_DAY = re.compile(r"\b(today|tomorrow|tmrw|tmr|yesterday|tonight)\b", re.I)
_WEEKDAY_REF = re.compile(rf"\b(?:(next|this|last|on|by|coming)\s+)?({_WEEKDAY})\b", re.I)
_LAST_N = re.compile(
    rf"\b(?:(?:over|in|for|during)\s+)?(?:the\s+)?(?:last|past|previous)\s+({_NUM})?\s*(hours?|hrs?|days?|weeks?|months?)\b",
    re.I,
)
_NEXT_N = re.compile(
    rf"\b(?:(?:over|in|for|during)\s+)?(?:the\s+)?(?:next|coming|following)\s+({_NUM})?\s*(hours?|hrs?|days?|weeks?|months?)\b",
    re.I,
)
_IN_N = re.compile(rf"\bin\s+({_NUM})\s+(hours?|hrs?|days?|weeks?)\b", re.I)
_CALENDAR = re.compile(
    r"\b(this|last|next|coming|previous|the past)\s+(week|month|quarter|year|shift)\b", re.I
)
_THIS_SHIFT = re.compile(r"\b(this|current|the current|next|last|previous)\s+shift\b", re.I)
_DAY_PART = re.compile(r"\b(this|tomorrow|tmrw)\s+(morning|afternoon|evening)\b", re.I)


@dataclass(frozen=True)
class When:
    """A point in time (`end` is None) or a period, where it was said."""

    start: datetime
    end: datetime | None
    begin: int
    finish: int
    text: str

    @property
    def is_period(self) -> bool:
        return self.end is not None


def _clock(text: str) -> time | None:
    raw = text.lower().replace(".", "").strip()
    if raw == "noon":
        return time(12)
    if raw == "midnight":
        return time(0)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", raw)
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half == "pm" and hour < 12:
        hour += 12
    if half == "am" and hour == 12:
        hour = 0
    return time(hour, minute) if hour < 24 else None


def _count(raw: str | None) -> int:
    if raw is None:
        return 1
    if raw.lower() in ("a", "an"):
        return 1
    value = word_number(raw)
    return int(value) if value is not None else 1


def _span(unit: str, n: int) -> timedelta:
    unit = unit.lower()
    if unit.startswith(("hour", "hr")):
        return timedelta(hours=n)
    if unit.startswith("day"):
        return timedelta(days=n)
    if unit.startswith("week"):
        return timedelta(weeks=n)
    return timedelta(days=30 * n)


def _at(day: date, at: time = time(0)) -> datetime:
    return datetime.combine(day, at, tzinfo=UTC)


def _month_start(year: int, month: int) -> date:
    return date(year, month, 1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _calendar(word: str, unit: str, now: datetime) -> tuple[datetime, datetime]:
    today = now.date()
    step = {"this": 0, "last": -1, "previous": -1, "the past": -1, "next": 1, "coming": 1}[
        word.lower()
    ]
    unit = unit.lower()
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
        if word.lower() in ("next", "coming") or step == 0:
            return _at(monday), _at(monday + timedelta(days=7))
        return _at(monday), _at(monday + timedelta(days=7))
    if unit == "month":
        first = _month_start(today.year, today.month)
        for _ in range(abs(step)):
            first = (
                _next_month(first)
                if step > 0
                else _month_start(
                    (first - timedelta(days=1)).year, (first - timedelta(days=1)).month
                )
            )
        return _at(first), _at(_next_month(first))
    if unit == "quarter":
        quarter = (today.month - 1) // 3 + step
        year = today.year + quarter // 4
        start_month = (quarter % 4) * 3 + 1
        start = date(year, start_month, 1)
        end = date(year + (start_month + 2) // 12, (start_month + 2) % 12 + 1, 1)
        return _at(start), _at(end)
    if unit == "year":
        return _at(date(today.year + step, 1, 1)), _at(date(today.year + step + 1, 1, 1))
    return shift_window(now, step)


def shift_window(now: datetime, step: int = 0) -> tuple[datetime, datetime]:
    """The eight-hour shift (06-14, 14-22, 22-06 UTC) holding `now`, or `step` shifts away."""
    hour = now.hour
    start_hour = max((h for h in SHIFT_STARTS if h <= hour), default=SHIFT_STARTS[-1])
    start = _at(now.date(), time(start_hour))
    if start_hour == SHIFT_STARTS[-1] and hour < SHIFT_STARTS[0]:
        start -= timedelta(days=1)
    start += timedelta(hours=SHIFT_HOURS * step)
    return start, start + timedelta(hours=SHIFT_HOURS)


def _weekday(word: str | None, name: str, today: date) -> date:
    target = WEEKDAYS[name.lower()]
    ahead = (target - today.weekday()) % 7
    if word and word.lower() == "last":
        return today - timedelta(days=(today.weekday() - target) % 7 or 7)
    if word and word.lower() == "next" and ahead == 0:
        ahead = 7
    return today + timedelta(days=ahead)


def _day_month(day: int, month: int, year: str | None, today: date) -> date | None:
    try:
        if year:
            return date(int(year), month, day)
        found = date(today.year, month, day)
    except ValueError:
        return None
    # A date without a year is the next one to come (within half a year back: this year's).
    if found < today - timedelta(days=183):
        found = found.replace(year=today.year + 1)
    return found


class _Found:
    def __init__(self) -> None:
        self.items: list[When] = []

    def free(self, begin: int, finish: int) -> bool:
        return all(finish <= w.begin or begin >= w.finish for w in self.items)

    def add(self, when: When) -> None:
        if self.free(when.begin, when.finish):
            self.items.append(when)


def _dates(text: str, now: datetime) -> list[tuple[date, int, int]]:
    """Calendar days named in `text`, with where they were said."""
    today = now.date()
    days: list[tuple[date, int, int]] = []
    taken: list[tuple[int, int]] = []

    def add(day: date | None, m: re.Match[str]) -> None:
        if day is None or any(not (m.end() <= a or m.start() >= b) for a, b in taken):
            return
        days.append((day, m.start(), m.end()))
        taken.append((m.start(), m.end()))

    for m in _ISO.finditer(text):
        try:
            add(date(int(m.group(1)), int(m.group(2)), int(m.group(3))), m)
        except ValueError:
            continue
    for m in _NUMERIC.finditer(text):
        first, second, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        day_first = m.group(2) == "." or second <= 12 < first or (first <= 12 and second <= 12)
        day, month = (first, second) if day_first else (second, first)
        try:
            add(date(year, month, day), m)
        except ValueError:
            continue
    for m in _DAY_MONTH.finditer(text):
        add(_day_month(int(m.group(1)), MONTHS[m.group(2).lower()], m.group(3), today), m)
    for m in _MONTH_DAY.finditer(text):
        add(_day_month(int(m.group(2)), MONTHS[m.group(1).lower()], m.group(3), today), m)
    for m in _RELATIVE_DAY.finditer(text):
        word = m.group(1).lower()
        shift = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1, "yesterday": -1}
        add(today + timedelta(days=shift[word]), m)
    for m in _WEEKDAY_REF.finditer(text):
        add(_weekday(m.group(1), m.group(2), today), m)
    return days


def find_times(text: str, now: datetime) -> list[When]:  # noqa: C901 - one pattern per case
    """Every point in time and period `text` names, in the order said."""
    found = _Found()
    for m in _ISO.finditer(text):
        if m.group(4):
            try:
                at = datetime(
                    int(m.group(1)),
                    int(m.group(2)),
                    int(m.group(3)),
                    int(m.group(4)),
                    int(m.group(5)),
                    tzinfo=UTC,
                )
            except ValueError:
                continue
            found.add(When(at, None, m.start(), m.end(), m.group(0)))
    days = _dates(text, now)
    ranges = [(m, _clock(m.group(1)), _clock(m.group(2))) for m in _RANGE.finditer(text)]
    for m, first, last in ranges:
        if first is None or last is None or not _clock_like(m) or _inside(days, m):
            continue
        day = _nearest_day(days, m.start(), now)
        start, end = _at(day, first), _at(day, last)
        if end <= start:
            end += timedelta(days=1)
        begin, finish = _widen(days, m.start(), m.end())
        found.add(When(start, end, begin, finish, text[begin:finish]))
    for m in _AT.finditer(text):
        said = _clock(m.group(1))
        if said is None or not found.free(m.start(), m.end()):
            continue
        day = _nearest_day(days, m.start(), now)
        begin, finish = _widen(days, m.start(), m.end())
        found.add(When(_at(day, said), None, begin, finish, text[begin:finish]))
    for m in _MONTH_YEAR.finditer(text):
        if any(b <= m.start() < e for _, b, e in days):
            continue
        first_day = _month_start(int(m.group(2)), MONTHS[m.group(1).lower()])
        found.add(When(_at(first_day), _at(_next_month(first_day)), m.start(), m.end(), m.group(0)))
    for m in _BARE_MONTH.finditer(text):
        month = MONTHS[m.group(1).lower()]
        year = now.year if month >= now.month - 6 else now.year + 1
        first_day = _month_start(year, month)
        found.add(
            When(_at(first_day), _at(_next_month(first_day)), m.start(1), m.end(), m.group(1))
        )
    for m in _DAY_PART.finditer(text):
        base = now.date() + timedelta(days=0 if m.group(1).lower() == "this" else 1)
        opens, closes = DAY_PARTS[m.group(2).lower()]
        found.add(
            When(_at(base, time(opens)), _at(base, time(closes)), m.start(), m.end(), m.group(0))
        )
    for m in _LAST_N.finditer(text):
        span = _span(m.group(2), _count(m.group(1)))
        found.add(When(now - span, now, m.start(), m.end(), m.group(0)))
    for m in _NEXT_N.finditer(text):
        span = _span(m.group(2), _count(m.group(1)))
        found.add(When(now, now + span, m.start(), m.end(), m.group(0)))
    for m in _IN_N.finditer(text):
        found.add(
            When(now + _span(m.group(2), _count(m.group(1))), None, m.start(), m.end(), m.group(0))
        )
    for m in _CALENDAR.finditer(text):
        start, end = _calendar(m.group(1), m.group(2), now)
        found.add(When(start, end, m.start(), m.end(), m.group(0)))
    for m in _THIS_SHIFT.finditer(text):
        step = {"next": 1, "last": -1, "previous": -1}.get(m.group(1).lower(), 0)
        start, end = shift_window(now, step)
        found.add(When(start, end, m.start(), m.end(), m.group(0)))
    for day, begin, finish in days:
        end = _at(day + timedelta(days=1)) if day < date.max else _at(day, time(23, 59))
        found.add(When(_at(day), end, begin, finish, text[begin:finish]))
    return sorted(found.items, key=lambda w: w.begin)


def _clock_like(m: re.Match[str]) -> bool:
    """A range of clock times, not of numbers ("2 to 3 units"): a side with a colon, am/pm,
    noon or midnight, or said with "from" or "between"."""
    sides = f"{m.group(1)} {m.group(2)}".lower()
    if re.search(r"[-–]", m.group(0)) and sides.count(":") < 2:
        return False
    return bool(re.search(r":|am|pm|noon|midnight", sides)) or m.group(0).lower().startswith(
        ("from", "between")
    )


def _inside(days: list[tuple[date, int, int]], m: re.Match[str]) -> bool:
    return any(not (m.end() <= b or m.start() >= e) for _, b, e in days)


def _nearest_day(days: list[tuple[date, int, int]], at: int, now: datetime) -> date:
    """The day said closest to position `at`, or today."""
    if not days:
        return now.date()
    return min(days, key=lambda d: min(abs(d[1] - at), abs(d[2] - at)))[0]


def _widen(days: list[tuple[date, int, int]], begin: int, finish: int) -> tuple[int, int]:
    """A time's span, grown to cover the day said right next to it ("tomorrow 6am")."""
    for _, b, e in days:
        if 0 <= begin - e <= 12 or 0 <= b - finish <= 12:
            return min(begin, b), max(finish, e)
    return begin, finish
