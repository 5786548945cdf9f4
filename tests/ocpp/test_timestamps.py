"""RFC 3339 timestamps: every offset and precision in, UTC milliseconds and Z out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chargebox.ocpp import codec
from chargebox.ocpp._check import datetime_of
from chargebox.ocpp.errors import ValidationError
from chargebox.ocpp.timestamps import TimestampError, format_datetime, parse_datetime
from chargebox.ocpp.v16 import HeartbeatResponse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.000Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01t12:00:00z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T07:30:00-04:30", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00+00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00-00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.5Z", datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T12:00:00.12345Z", datetime(2024, 5, 1, 12, 0, 0, 123450, tzinfo=UTC)),
        ("2024-05-01T12:00:00.1Z", datetime(2024, 5, 1, 12, 0, 0, 100000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999Z", datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        ("2024-01-01T00:30:00+01:00", datetime(2023, 12, 31, 23, 30, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
        # a leap second is the last instant of its minute
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_any_rfc3339_timestamp_parses_to_aware_utc(text, expected):
    value = parse_datetime(text)
    assert value == expected
    assert value.tzinfo is UTC
    # the codec reads a received timestamp to the same instant
    decoded = codec.decode(HeartbeatResponse, {"currentTime": text}).current_time
    assert decoded == expected
    assert decoded.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00",  # no offset: not RFC 3339, the instant is unknown
        "2024-05-01 12:00:00Z",
        "2024-05-01",
        "12:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:60:00Z",
        "2024-05-01T12:00:61Z",
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:00+00:60",  # an offset's minutes are 00-59
        "0001-01-01T00:00:00-00:60",
        "2024-05-01T12:00:00+0200",
        "2024-05-01T12:00:00.Z",
        "20240501T120000Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "0000-01-01T00:00:00Z",
    ],
)
def test_what_is_not_a_representable_rfc3339_timestamp_is_refused(text):
    with pytest.raises(TimestampError):
        parse_datetime(text)
    with pytest.raises(ValidationError) as e:
        codec.decode(HeartbeatResponse, {"currentTime": text})
    assert e.value.code == "FormationViolation"
    assert e.value.path == "currentTime"
    assert text in e.value.description


def test_emitted_as_utc_with_milliseconds_and_z():
    cet = timezone(timedelta(hours=1))
    assert format_datetime(datetime(2024, 5, 1, 13, 0, 0, 123456, tzinfo=cet)) == (
        "2024-05-01T12:00:00.123Z"
    )
    assert format_datetime(datetime(2024, 5, 1, tzinfo=UTC)) == "2024-05-01T00:00:00.000Z"
    assert format_datetime(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"
    out = codec.encode(HeartbeatResponse(current_time=datetime(2024, 5, 1, 14, tzinfo=cet)))
    assert out == {"currentTime": "2024-05-01T13:00:00.000Z"}


def test_a_naive_datetime_is_never_sent():
    with pytest.raises(ValueError, match="no time zone"):
        format_datetime(datetime(2024, 5, 1, 12))
    with pytest.raises(ValueError, match="no time zone"):
        codec.encode(HeartbeatResponse(current_time=datetime(2024, 5, 1, 12)))


# The fast paths against the general ones: the same value or the same refusal.

_RFC3339_LIKE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,8})?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)
# characters a broken or unusual timestamp may hold in any place
_ODD = st.sampled_from("0123456789-:.TtZz+ ,W\u0663\u00b2")


@st.composite
def _timestamp_texts(draw):
    """Mostly well-formed RFC 3339 shapes, some with one or two characters changed."""
    text = draw(st.from_regex(_RFC3339_LIKE, fullmatch=True))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(_ODD) + text[at + 1 :]
    return text


def _general(text):
    try:
        return parse_datetime(text)
    except TimestampError:
        return None


@settings(max_examples=3000, database=None, deadline=None)
@given(_timestamp_texts())
# shapes next to the usual one that the C parser reads (or newer ones may) and RFC 3339 not
@example("2024-W18-3T12:00:00.000Z")
@example("2024-05-01T24:00:00.000Z")
@example("2024-05-01T12:00:00,500Z")
@example("2024-05-01T120000.000Z")
@example("2024-05-01 12:00:00.000Z")
@example("2024-05-01T12:00:60.000Z")
@example("2024-05-01T12:00:00.\u0663\u0663\u0663Z")
@example("0001-01-01T00:00:00-00:60")
def test_the_codec_reads_a_timestamp_as_the_general_parser_does(text):
    # datetime_of reads the usual shape with the C parser; parse_datetime never does
    value = datetime_of(text)
    assert value == _general(text)
    if value is not None:
        assert value.tzinfo is UTC


@settings(max_examples=500, database=None, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
)
def test_emitted_timestamps_are_the_utc_instant_to_the_millisecond(local, offset_minutes):
    value = local.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    utc = value.astimezone(UTC)
    expected = "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond // 1000,
    )
    assert format_datetime(value) == expected
    assert parse_datetime(expected) == utc.replace(microsecond=utc.microsecond // 1000 * 1000)
