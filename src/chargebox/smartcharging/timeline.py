"""Where each profile's periods fall in time: the internal engine of the composite schedule.

Times are integers, microseconds since the Unix epoch, so that comparisons and
sums are exact and cheap. A profile is compiled once (`CompiledProfile`) into
the period offsets, limits and phases of its schedule, the length of one run
of the schedule and its window of validity. `segments` lists where, inside a
window, each period applies; `next_boundary` says when the next period,
schedule run or validity window of a profile begins or ends after a moment.

A *layer* is a sorted list of non-overlapping `(start, end, value)` pieces
with gaps where the profile does not apply; `sweep` walks several layers at
once, cutting time at every edge of every piece.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from chargebox.ocpp.v16 import (
    ChargingProfile,
    ChargingProfileKindType,
    ChargingProfilePurposeType,
    ChargingRateUnitType,
    RecurrencyKindType,
)

from .units import convert

SECOND = 1_000_000
DAY = 86_400 * SECOND
WEEK = 7 * DAY
# Later than any datetime (year 9999 is about 2.5e17 us): "never ends".
FOREVER = 1 << 62

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

RECURRENCE = {RecurrencyKindType.Daily: DAY, RecurrencyKindType.Weekly: WEEK}


def to_us(moment: datetime) -> int:
    """An aware datetime as microseconds since the epoch."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"times must be aware datetimes (got {moment!r})")
    return (moment - _EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    """Microseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


class CompiledProfile:
    """A charging profile's schedule in microseconds, ready to be laid out in time.

    `span` is the length of one run of the schedule: its duration, cut to the
    recurrence period for a Recurring profile (errata 3.44: what lies beyond
    the recurrence period is never executed); None when it runs until replaced.
    Periods that start at or after `span` are dropped, since they never run.
    """

    __slots__ = (
        "_converted",
        "anchor",
        "kind",
        "limits",
        "offsets",
        "phases",
        "purpose",
        "recurrence",
        "span",
        "stack_level",
        "transaction_id",
        "unit",
        "valid_from",
        "valid_to",
    )

    def __init__(self, profile: ChargingProfile) -> None:
        schedule = profile.charging_schedule
        self.kind = ChargingProfileKindType(profile.charging_profile_kind)
        self.purpose = ChargingProfilePurposeType(profile.charging_profile_purpose)
        self.unit = ChargingRateUnitType(schedule.charging_rate_unit)
        self.stack_level = profile.stack_level
        self.transaction_id = profile.transaction_id
        self.valid_from = None if profile.valid_from is None else to_us(profile.valid_from)
        self.valid_to = None if profile.valid_to is None else to_us(profile.valid_to)

        self.recurrence: int | None = None
        self.anchor: int | None = None
        if self.kind == ChargingProfileKindType.Recurring:
            if profile.recurrency_kind is None:
                raise ValueError(
                    f"profile {profile.charging_profile_id}: Recurring needs recurrencyKind"
                )
            self.recurrence = RECURRENCE[RecurrencyKindType(profile.recurrency_kind)]
        if self.kind != ChargingProfileKindType.Relative:
            # A Relative profile starts with its transaction; a startSchedule it
            # carries means nothing (spec 7.9).
            if schedule.start_schedule is None:
                raise ValueError(
                    f"profile {profile.charging_profile_id}: {self.kind} needs startSchedule"
                )
            self.anchor = to_us(schedule.start_schedule)

        starts = [period.start_period for period in schedule.charging_schedule_period]
        if starts and (starts[0] != 0 or any(b <= a for a, b in pairwise(starts))):
            # validation rejects such schedules; the layout below relies on it
            raise ValueError(
                f"profile {profile.charging_profile_id}: startPeriods {starts} do not rise from 0"
            )

        span = None if schedule.duration is None else schedule.duration * SECOND
        if self.recurrence is not None:
            span = self.recurrence if span is None else min(span, self.recurrence)
        self.span = span

        periods = [
            period
            for period in schedule.charging_schedule_period
            if span is None or period.start_period * SECOND < span
        ]
        self.offsets = tuple(period.start_period * SECOND for period in periods)
        self.limits = tuple(period.limit for period in periods)
        self.phases = tuple(period.number_phases for period in periods)
        self._converted: dict[Any, tuple[tuple[Decimal, int | None], ...]] = {}

    def values(
        self, unit: ChargingRateUnitType, voltage: Decimal, default_phases: int
    ) -> tuple[tuple[Decimal, int | None], ...]:
        """Each period's (limit in `unit`, numberPhases), converted once and remembered."""
        key = (unit, voltage, default_phases)
        cached = self._converted.get(key)
        if cached is None:
            cached = tuple(
                (convert(limit, self.unit, unit, voltage, phases or default_phases), phases)
                for limit, phases in zip(self.limits, self.phases, strict=True)
            )
            self._converted[key] = cached
        return cached

    def run_start(self, moment: int, relative_start: int | None) -> int | None:
        """The start of the run of the schedule that `moment` falls in (or of the first run,
        before it starts); None for a Relative schedule without a transaction."""
        if self.kind == ChargingProfileKindType.Relative:
            return relative_start
        assert self.anchor is not None
        base = self.anchor
        if self.recurrence is not None and moment >= base:
            base += (moment - base) // self.recurrence * self.recurrence
        return base

    def index_at(self, moment: int, relative_start: int | None) -> int | None:
        """The index of the period in force at `moment`, or None when none is."""
        if not self.offsets:
            return None
        if self.valid_from is not None and moment < self.valid_from:
            return None
        if self.valid_to is not None and moment >= self.valid_to:
            return None
        base = self.run_start(moment, relative_start)
        if base is None:
            return None
        elapsed = moment - base
        if elapsed < 0 or (self.span is not None and elapsed >= self.span):
            return None
        return bisect_right(self.offsets, elapsed) - 1

    def starts(self, lo: int, hi: int, relative_start: int | None) -> Iterator[int]:
        """The starts of the runs of the schedule that may overlap [lo, hi)."""
        if self.kind == ChargingProfileKindType.Relative:
            if relative_start is not None:
                yield relative_start
            return
        assert self.anchor is not None
        if self.recurrence is None:
            yield self.anchor
            return
        # A Recurring schedule first runs at its startSchedule (it does not run
        # before it), then every recurrence period after it (errata 3.79).
        k = max(0, (lo - self.anchor) // self.recurrence)
        start = self.anchor + k * self.recurrence
        while start < hi:
            yield start
            start += self.recurrence

    def segments(self, lo: int, hi: int, relative_start: int | None) -> list[tuple[int, int, int]]:
        """Where each period applies inside [lo, hi): sorted (start, end, period index)."""
        out: list[tuple[int, int, int]] = []
        if not self.offsets:
            return out
        if self.valid_from is not None and self.valid_from > lo:
            lo = self.valid_from
        if self.valid_to is not None and self.valid_to < hi:
            hi = self.valid_to
        if lo >= hi:
            return out
        offsets = self.offsets
        count = len(offsets)
        for base in self.starts(lo, hi, relative_start):
            end = FOREVER if self.span is None else base + self.span
            first = max(lo, base)
            last = min(hi, end)
            if first >= last:
                continue
            i = bisect_right(offsets, first - base) - 1
            while i < count:
                start = base + offsets[i]
                if start >= last:
                    break
                stop = base + offsets[i + 1] if i + 1 < count else FOREVER
                out.append((max(start, first), min(stop, last), i))
                i += 1
        return out

    def next_boundary(self, after: int, relative_start: int | None) -> int | None:
        """The first moment later than `after` at which this profile's limit may start,
        change or stop; None when it never will."""
        if self.valid_to is not None and self.valid_to <= after:
            return None
        if self.valid_from is not None and self.valid_from > after:
            return self.valid_from  # nothing before it matters
        if not self.offsets:
            return None
        base = self.run_start(after, relative_start)
        if base is None:
            return None
        candidates = []
        if base > after:
            candidates.append(base)
        else:
            i = bisect_right(self.offsets, after - base)
            if i < len(self.offsets):
                candidates.append(base + self.offsets[i])
            if self.span is not None and base + self.span > after:
                candidates.append(base + self.span)
            if self.recurrence is not None:
                candidates.append(base + self.recurrence)
        if self.valid_to is not None:
            candidates.append(self.valid_to)
        return min(candidates) if candidates else None


Piece = tuple[int, int, Any]


def sweep(layers: Sequence[Sequence[Piece]], lo: int, hi: int) -> Iterator[tuple[int, int, list]]:
    """Cut [lo, hi) at every edge of every piece.

    Yields (start, end, the value of each layer there or None). Each piece is
    two events, its start and its end; between two consecutive event times
    every layer's value is constant.
    """
    # An event is (2 x time + 1 for a start / + 0 for an end, layer, value): plain
    # tuple order then puts an end before a start at the same instant (pieces of
    # one layer touch but never overlap), and never has to compare two values.
    events: list[tuple[int, int, Any]] = []
    for n, layer in enumerate(layers):
        for start, end, value in layer:
            events.append(((start << 1) | 1, n, value))
            events.append((end << 1, n, None))
    events.sort()
    current: list[Any] = [None] * len(layers)
    previous = lo
    count = len(events)
    i = 0
    while i < count:
        moment = events[i][0] >> 1
        if moment > previous:
            yield previous, moment, current.copy()
            previous = moment
        while i < count and events[i][0] >> 1 == moment:
            _, n, value = events[i]
            current[n] = value
            i += 1
    if previous < hi:
        yield previous, hi, current.copy()
