"""RFC 3339 timestamps: any offset in, UTC with milliseconds and `Z` out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from ._check import DATETIME


class TimestampError(ValueError):
    """Text that is not an RFC 3339 date-time, or one outside years 1..9999 in UTC."""


def parse_datetime(text: str) -> datetime:
    """An aware UTC datetime from any RFC 3339 date-time.

    Fractions finer than a microsecond are cut (datetime cannot hold them); a
    leap second (:60) becomes the last microsecond of its minute.
    """
    m = DATETIME.fullmatch(text)
    if m is None:
        raise TimestampError(f"{text!r} is not an RFC 3339 date-time with a time zone")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = m.group(7)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if second == 60:
        second, micro = 59, 999999
    tz = UTC
    if not m.group(8):
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 23 or minutes > 59:
            # RFC 3339's time-numoffset: time-hour (00-23) ":" time-minute (00-59)
            raise TimestampError(
                f"{text!r} has an offset out of range (hours 00-23, minutes 00-59)"
            )
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if m.group(9) == "-" else offset)
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError) as e:
        raise TimestampError(f"{text!r} is not a valid date-time in years 1..9999 UTC: {e}") from e


def format_datetime(value: datetime) -> str:
    """`2024-05-01T12:00:00.000Z`: UTC, milliseconds, `Z` (what every CSMS parses)."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value!r} has no time zone; OCPP timestamps must be aware")
        value = value.astimezone(UTC)
    # Milliseconds are cut, not rounded: never a later instant than the one given.
    # The two- and three-digit fields come from tables: half the time of formatting
    # each number (or of isoformat) on this hot path.
    return (
        f"{value.year:04d}-{_2[value.month]}-{_2[value.day]}T{_2[value.hour]}:"
        f"{_2[value.minute]}:{_2[value.second]}.{_3[value.microsecond // 1000]}Z"
    )


_2 = tuple(f"{i:02d}" for i in range(100))
_3 = tuple(f"{i:03d}" for i in range(1000))
