"""Parsers for the small range notations used in settings: ``"20-29"`` and ``"3000-3099"``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class IntRange:
    """An inclusive range of integers, such as host offsets ``20-29`` or ports ``3000-3099``."""

    first: int
    last: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.first <= value <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"

    def overlaps(self, other: IntRange) -> bool:
        return self.first <= other.last and other.first <= self.last


def parse_range(text: str, *, lowest: int, highest: int) -> IntRange:
    """Parse ``"A-B"`` (or a single ``"A"``) with ``lowest <= A <= B <= highest``.

    Raises ``ValueError`` with a message that says what is wrong.
    """
    raw = text.strip()
    first_text, sep, last_text = raw.partition("-")
    if not sep:
        last_text = first_text
    try:
        first, last = int(first_text.strip()), int(last_text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a range like '20-29'") from None
    if first > last:
        raise ValueError(f"{text!r} starts after it ends")
    if first < lowest or last > highest:
        raise ValueError(f"{text!r} is outside {lowest}-{highest}")
    return IntRange(first, last)
