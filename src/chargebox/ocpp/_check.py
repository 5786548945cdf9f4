"""Checks shared by the generated validators: error kinds, date-times, URIs, decimals."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from .errors import MISSING, ErrorCode

__all__ = ["FORMATION", "MISSING", "OCCURRENCE", "PROPERTY", "TYPE", "Invalid"]

FORMATION = ErrorCode.FormationViolation
OCCURRENCE = ErrorCode.OccurenceConstraintViolation
TYPE = ErrorCode.TypeConstraintViolation
PROPERTY = ErrorCode.PropertyConstraintViolation


class Invalid(Exception):
    """Raised by a generated validator; the path grows as it propagates outward."""

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


# RFC 3339 section 5.6 date-time: full-date "T" full-time, "T" and "Z" in either case,
# any number of fraction digits, and an offset that is mandatory.
DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)

_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_datetime(text: str) -> bool:
    m = DATETIME.fullmatch(text)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]):
        return False
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return False
    if hour > 23 or minute > 59 or second > 60:
        return False
    if m.group(8) is None and (int(m.group(10)) > 23 or int(m.group(11)) > 59):
        return False
    if year in (1, 9999) or year == 0:
        # an offset can carry the first or last day out of the years a datetime holds
        from .timestamps import TimestampError, parse_datetime

        try:
            parse_datetime(text)
        except TimestampError:
            return False
    return True


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
