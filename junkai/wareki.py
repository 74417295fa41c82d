"""和暦: the Japanese eras, and dates converted to and from them.

The card asks for dates by era (the era boxes of a date field), printed values show
them by era, and values read from a scan are turned back into ISO dates. All of it
uses the one table of eras below. (Named `wareki`, not `calendar`, because that is
what it holds, and so that it never stands in for the standard library's `calendar`.)
"""

from __future__ import annotations

from datetime import date, timedelta

from junkai import JunkaiError

# (name, first day): the eras in order; each ends the day before the next.
# 明治 starts on 1868-10-23 (明治改元の詔), the start commonly used by converters; the edict made
# 明治元年 run from the start of that lunar year, but Japan only adopted the Gregorian calendar
# on 明治6年1月1日, so 明治1-5 dates cannot be converted exactly anyway, and any birth that
# early is caught by the age rule of validation.
ERAS: tuple[tuple[str, date], ...] = (
    ("明治", date(1868, 10, 23)),
    ("大正", date(1912, 7, 30)),
    ("昭和", date(1926, 12, 25)),
    ("平成", date(1989, 1, 8)),
    ("令和", date(2019, 5, 1)),
)

# First and last day of each era; the current era has no last day.
ERA_SPANS: dict[str, tuple[date, date | None]] = {
    name: (start, nxt - timedelta(days=1) if nxt else None)
    for (name, start), nxt in zip(ERAS, [s for _, s in ERAS[1:]] + [None])
}

# One-character and Latin abbreviations used on forms (S45.3.2); NFKC already turns
# the square era signs (㍼ ㍻ ㋿) into the full names.
ERA_ALIASES: dict[str, str] = {name[0]: name for name in ERA_SPANS} | dict(zip("MTSHR", ERA_SPANS))


def era_name(text: str) -> str | None:
    """The full name of an era written in full or abbreviated (昭, S); None if it is none."""
    return text if text in ERA_SPANS else ERA_ALIASES.get(text)


def from_wareki(era: str, year: int, month: int, day: int) -> date | None:
    """The day `era` year/month/day names (year 1 is 元年), or None when there is no such day.

    The day may fall outside the era (昭和70年): compare it with ERA_SPANS[era].
    """
    start, _ = ERA_SPANS[era]
    if year < 1:
        return None
    try:
        return date(start.year + year - 1, month, day)
    except (ValueError, OverflowError):
        return None


def to_wareki(d: date) -> tuple[str, int]:
    """The era of a day and the year within it (1 is 元年)."""
    for name, start in reversed(ERAS):
        if d >= start:
            return name, d.year - start.year + 1
    raise JunkaiError(f"明治より前の日付は和暦にできません: {d}")


def wareki_text(iso: str | date | None) -> str:
    """A day as printed on a card: 平成元年1月8日; empty for no day."""
    if not iso:
        return ""
    d = iso if isinstance(iso, date) else date.fromisoformat(str(iso))
    era, year = to_wareki(d)
    return f"{era}{'元' if year == 1 else year}年{d.month}月{d.day}日"
