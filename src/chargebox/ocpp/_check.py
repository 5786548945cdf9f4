"""Checks shared by the generated decoders and encoders: error kinds, date-times, URIs, decimals."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .errors import MISSING, ErrorCode

__all__ = ["FORMATION", "MISSING", "OCCURRENCE", "PROPERTY", "TYPE", "Invalid", "writable"]

FORMATION = ErrorCode.FormationViolation
OCCURRENCE = ErrorCode.OccurenceConstraintViolation
TYPE = ErrorCode.TypeConstraintViolation
PROPERTY = ErrorCode.PropertyConstraintViolation


class Invalid(Exception):
    """Raised by a generated decoder or encoder; the path grows as it propagates outward."""

    __slots__ = ("code", "path", "rule", "value")

    def __init__(self, code: ErrorCode, path: list[str | int], value: Any, rule: str) -> None:
        self.code = code
        self.path = path
        self.value = value
        self.rule = rule

    def dotted_path(self) -> str:
        out = ""
        for part in self.path:
            if isinstance(part, int):
                out += f"[{part}]"
            else:
                out += ("." if out else "") + part
        return out


def writable(cls: type) -> type:
    """A subclass of the frozen slotted class `cls` whose instances can be filled in.

    A decoder builds a message from values it has checked and converted already, so it
    skips the class's `__init__`. Setting each slot of a frozen class through its
    descriptor is a call per field; an instance of this subclass (made by calling it
    without arguments; no slots of its own, the plain attribute setter) takes plain
    assignments, a third of the time, and then becomes an instance of `cls` by
    `__class__` assignment, which Python allows between classes of the same layout.
    Nothing else ever sees it as the subclass.
    """
    sub = type(
        f"_Writable{cls.__name__}",
        (cls,),
        {
            "__slots__": (),
            "__module__": cls.__module__,
            # both, so that the type keeps the generic C setter (the specialised store)
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            # so that calling the subclass makes an empty instance, faster than
            # object.__new__(sub), which looks for the class's own __new__ first
            "__init__": object.__init__,
        },
    )
    probe = sub()
    probe.__class__ = cls  # a layout Python cannot switch fails here, at import
    return sub


# RFC 3339 section 5.6 date-time: full-date "T" full-time, "T" and "Z" in either case,
# any number of fraction digits, and an offset that is mandatory.
DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)

_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def datetime_of(text: str) -> datetime | None:
    """The aware UTC datetime of an RFC 3339 date-time, or None when `text` is not one.

    One match does both jobs of a decoder: the check (every field in range, an
    offset that is a real offset, an instant within years 1..9999 in UTC) and
    the value, which is what `timestamps.parse_datetime` gives for the same text
    (fractions cut to microseconds, a leap second as the last microsecond of its
    minute).
    """
    n = len(text)
    if (
        20 <= n <= 27
        and text[-1] == "Z"
        and text[10] == "T"
        and text[4] == "-"
        and text[7] == "-"
        and text[13] == ":"
        and text[16] == ":"
        and (n == 20 or (n > 21 and text[19] == "." and text[20:-1].isdigit()))
        and text[11:13] != "24"
    ):
        # The usual shape, YYYY-MM-DDTHH:MM:SS[.fraction]Z (UTC, upper case, at most
        # microseconds), told by its separators without the full pattern; the C parser
        # reads it and checks that every field is ASCII digits and in range. What it
        # refuses (a leap second, the year 0, any other character) is judged by the
        # general path below. Hour 24 never gets here, as newer parsers read it as the
        # next midnight.
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    m = DATETIME.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = m.groups()
    month, day = int(month), int(day)
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]):
        return None
    hour, minute, second = int(hour), int(minute), int(second)
    if hour > 23 or minute > 59 or second > 60:
        return None
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if second == 60:
        second, micro = 59, 999999
    try:
        # datetime() refuses February 29 of a common year and the year 0
        if zulu is not None:
            return datetime(int(year), month, day, hour, minute, second, micro, tzinfo=UTC)
        hours, minutes = int(off_h), int(off_m)
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if sign == "-" else offset)
        # an offset can carry the first or last day out of the years a datetime holds
        return datetime(int(year), month, day, hour, minute, second, micro, tzinfo=tz).astimezone(
            UTC
        )
    except (ValueError, OverflowError):
        return None


def is_datetime(text: str) -> bool:
    """Whether `text` is an RFC 3339 date-time with an offset, in years 1..9999 once in UTC."""
    return datetime_of(text) is not None


_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*")


def is_uri(text: str) -> bool:
    """An absolute URI: a scheme, a colon, no white space (RFC 3986 section 3)."""
    return _URI.fullmatch(text) is not None


def is_tenth(number: int | float) -> bool:
    """Whether a JSON number is a multiple of 0.1 (the charging limits' `multipleOf`).

    Judged on the number's decimal digits, never by float modulo: 16.1 is a
    multiple, 16.15 is not. A sender that computed its limit in binary floating
    point may write 1337 * 0.1 as 133.70000000000002; a number within 4 units in
    the last place of a multiple of 0.1 is taken as that multiple (see
    `tenths`), anything further away is not.
    """
    if type(number) is int:
        return True
    d = Decimal(repr(number))
    if not d.is_finite():
        return False
    if d.normalize().as_tuple().exponent >= -1:  # type: ignore[operator]
        return True
    nearest = d.quantize(_TENTH)
    return abs(Decimal(number) - nearest) <= Decimal(math.ulp(number)) * 4


def tenths(number: int | float) -> Decimal:
    """The exact decimal of a number that passed `is_tenth`."""
    if type(number) is int:
        return Decimal(number)
    d = Decimal(repr(number))
    if d.normalize().as_tuple().exponent >= -1:  # type: ignore[operator]
        return d
    return d.quantize(_TENTH)


_TENTH = Decimal("0.1")
