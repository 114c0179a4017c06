"""Instants: ISO-8601 timestamps with an offset, compared as absolute times.

An instant is held as nanoseconds since the Unix epoch: an ``int`` when the text
has at most nine fractional digits, an exact ``Fraction`` beyond that, so two
instants compare to the full precision they were written with, whatever offset
they use (``…23:59:59.5-04:00`` is after ``…23:59:59-04:00``).

Policy boundaries are inclusive at both ends. :func:`start_key` and
:func:`end_key` turn them into integers on a doubled scale, and :func:`instant_key`
maps a request instant onto the same scale, so one ``bisect_right`` tells which
segment of a timeline an instant falls in, exactly, with no ``epsilon``.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from fractions import Fraction

Instant = int | Fraction

NS_PER_SECOND = 1_000_000_000

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)"
)
_NAIVE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?")


class InstantError(ValueError):
    """The text is not an ISO-8601 instant with an offset; the message says why."""


def parse_instant(text: str) -> Instant:
    """Parse ``YYYY-MM-DDTHH:MM[:SS[.fff…]]`` followed by ``Z``, ``±HH:MM``, ``±HHMM`` or ``±HH``.

    Raises :class:`InstantError` for a naive time (no offset), a date alone, an
    impossible calendar date or time, or any other text.
    """
    if not isinstance(text, str):
        raise InstantError(f"expected an ISO-8601 instant string, got {type(text).__name__}")
    m = _ISO.fullmatch(text.strip())
    if m is None:
        if _NAIVE.fullmatch(text.strip()):
            raise InstantError(f"`{text}` has no UTC offset; write it with `Z` or `±HH:MM`")
        raise InstantError(f"`{text}` is not an ISO-8601 instant with an offset")
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    try:
        date(year, month, day)
    except ValueError as exc:
        raise InstantError(f"`{text}`: {exc}") from None
    if hour > 23 or minute > 59 or second > 59:
        raise InstantError(f"`{text}`: time of day out of range")
    offset = 0
    if m.group(9):
        off_h, off_m = int(m.group(10)), int(m.group(11) or 0)
        if off_h > 23 or off_m > 59:
            raise InstantError(f"`{text}`: offset out of range")
        offset = (off_h * 3600 + off_m * 60) * (1 if m.group(9) == "+" else -1)
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    value: Instant = seconds * NS_PER_SECOND
    digits = m.group(7)
    if digits:
        if len(digits) <= 9:
            value += int(digits.ljust(9, "0"))
        else:
            value = Fraction(value) + Fraction(int(digits), 10 ** (len(digits) - 9))
    return value


def format_instant(value: Instant) -> str:
    """The instant in UTC as ``YYYY-MM-DDTHH:MM:SS[.f…]Z``, without trailing zeros."""
    whole = value // NS_PER_SECOND if isinstance(value, int) else int(value // NS_PER_SECOND)
    rest = value - whole * NS_PER_SECOND
    y, mo, d, h, mi, s = _utc_fields(whole)
    text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
    if rest:
        if isinstance(rest, int):
            frac = f"{rest:09d}".rstrip("0")
        else:
            frac = _exact_decimals(Fraction(rest) / NS_PER_SECOND)
        text += "." + frac
    return text + "Z"


def _utc_fields(seconds: int) -> tuple[int, int, int, int, int, int]:
    days, secs = divmod(seconds, 86400)
    d = date.fromordinal(date(1970, 1, 1).toordinal() + days)
    return d.year, d.month, d.day, secs // 3600, secs % 3600 // 60, secs % 60


def _exact_decimals(fraction: Fraction) -> str:
    """Digits after the point of a fraction in [0, 1) whose denominator divides a power of ten."""
    digits = []
    while fraction:
        fraction *= 10
        digit = int(fraction)
        digits.append(str(digit))
        fraction -= digit
    return "".join(digits) or "0"


def instant_key(value: Instant) -> int:
    """Position of an instant on the doubled scale used by timelines."""
    if isinstance(value, int):
        return value * 2
    floor = int(value // 1)
    return floor * 2 + (0 if floor == value else 1)


def start_key(value: int) -> int:
    """Key of a boundary that takes effect *at* ``value`` (inclusive start)."""
    return value * 2


def end_key(value: int) -> int:
    """Key of a boundary that takes effect just *after* ``value`` (inclusive end)."""
    return value * 2 + 1
