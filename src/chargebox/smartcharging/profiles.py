"""The installed charging profiles, as an immutable value, and everything asked of them.

`ProfileSet` answers SetChargingProfile (validate, install with replacement),
ClearChargingProfile and GetCompositeSchedule, and gives the actor above it
what it needs to drive the energy sink: the limit at a moment (`limit_at`) and
the next moment that limit may change (`next_change_after`), so that it can
arm one timer per boundary. Every method is a pure function of the set, its
arguments and the `ChargingContext`; none reads the clock. Methods that change
the set return a new one together with what was removed, so the persistence
layer knows what to write and delete.

How a limit is found, at any moment, for connector c > 0 (docs/smartcharging.md):
1. TxProfiles of c's current transaction, highest stackLevel first (3.13.2);
2. where none applies, TxDefaultProfiles of c and of connector 0, highest
   stackLevel first, c's own before connector 0's at the same level (3.13.1);
3. the minimum of that with the prevailing ChargePointMaxProfile (3.13.3);
4. where nothing applies, the default limit of the unit
   (CompositeScheduleDefaultLimitAmps/Watts).
For connector 0, steps 1-2 (gaps filled with the default) are summed over all
connectors, then capped by the ChargePointMaxProfile (3.13.3, 5.7).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from chargebox.ocpp.v16 import (
    ChargingProfile,
    ChargingProfilePurposeType,
    ChargingProfileStatus,
    ChargingRateUnitType,
    ChargingSchedule,
    ChargingSchedulePeriod,
    ClearChargingProfileRequest,
    ClearChargingProfileStatus,
    GetCompositeScheduleRequest,
    GetCompositeScheduleResponse,
    GetCompositeScheduleStatus,
    SetChargingProfileRequest,
)

from .settings import ChargingContext
from .timeline import FOREVER, SECOND, CompiledProfile, Piece, from_us, sweep, to_us
from .validation import Verdict, check_profile

Purpose = ChargingProfilePurposeType
_PURPOSE_ORDER = {
    Purpose.ChargePointMaxProfile: 0,
    Purpose.TxDefaultProfile: 1,
    Purpose.TxProfile: 2,
}

# A value of the timeline: (limit in the requested unit, numberPhases or None,
# whether a profile set it rather than the default).
Value = tuple[Decimal, int | None, bool]


@attrs.frozen
class InstalledProfile:
    """A profile as installed on a connector (0: the whole charge point)."""

    connector_id: int
    profile: ChargingProfile
    compiled: CompiledProfile = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "compiled", CompiledProfile(self.profile))

    @property
    def id(self) -> int:
        return self.profile.charging_profile_id

    @property
    def purpose(self) -> ChargingProfilePurposeType:
        return self.compiled.purpose

    @property
    def stack_level(self) -> int:
        return self.profile.stack_level

    def _sort_key(self) -> tuple[int, int, int, int]:
        return (self.connector_id, _PURPOSE_ORDER[self.purpose], self.stack_level, self.id)


def _canonical(value: Iterable[InstalledProfile]) -> tuple[InstalledProfile, ...]:
    # One order for one content: two sets holding the same profiles are equal.
    return tuple(sorted(value, key=InstalledProfile._sort_key))


@attrs.frozen
class Limit:
    """The limit in force at one moment on one connector.

    `limited` is False when no profile sets it and `value` is the default limit.
    """

    value: Decimal
    unit: ChargingRateUnitType
    number_phases: int | None
    limited: bool


@attrs.frozen
class SetOutcome:
    """What a SetChargingProfile.req did: the verdict and, when accepted, the new set,
    the profile installed and the profiles it replaced (to store and to delete)."""

    profiles: ProfileSet
    verdict: Verdict
    installed: InstalledProfile | None = None
    replaced: tuple[InstalledProfile, ...] = ()


@attrs.frozen
class ClearOutcome:
    """What a ClearChargingProfile.req did."""

    profiles: ProfileSet
    status: ClearChargingProfileStatus
    removed: tuple[InstalledProfile, ...] = ()


@attrs.frozen
class Removal:
    """A set with some profiles taken out, and those profiles."""

    profiles: ProfileSet
    removed: tuple[InstalledProfile, ...] = ()


def _min(a: Value | None, b: Value | None) -> Value | None:
    """The lower of two limits; numberPhases the fewest either allows (3.13.3)."""
    if a is None:
        return b
    if b is None:
        return a
    if a[1] is None:
        phases = b[1]
    elif b[1] is None:
        phases = a[1]
    else:
        phases = min(a[1], b[1])
    return (min(a[0], b[0]), phases, a[2] or b[2])


@attrs.frozen
class ProfileSet:
    """The charging profiles installed in the charge point (immutable)."""

    installed: tuple[InstalledProfile, ...] = attrs.field(default=(), converter=_canonical)
    _by_connector: dict[int, tuple[InstalledProfile, ...]] = attrs.field(
        init=False, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        index: dict[int, list[InstalledProfile]] = {}
        for item in self.installed:
            index.setdefault(item.connector_id, []).append(item)
        object.__setattr__(
            self, "_by_connector", {key: tuple(value) for key, value in index.items()}
        )

    @classmethod
    def of(cls, *items: tuple[int, ChargingProfile]) -> ProfileSet:
        """A set holding these (connector id, profile) pairs, e.g. as loaded from storage."""
        return cls(tuple(InstalledProfile(connector, profile) for connector, profile in items))

    def __len__(self) -> int:
        return len(self.installed)

    def __iter__(self) -> Iterator[InstalledProfile]:
        return iter(self.installed)

    def on(self, connector_id: int) -> tuple[InstalledProfile, ...]:
        """The profiles installed on `connector_id`."""
        return self._by_connector.get(connector_id, ())

    # SetChargingProfile ---------------------------------------------------

    def replaced_by(
        self, connector_id: int, profile: ChargingProfile
    ) -> tuple[InstalledProfile, ...]:
        """The profiles installing `profile` on `connector_id` replaces: the one with its
        chargingProfileId, and the one with its connector, stackLevel and purpose (5.16.3/4)."""
        purpose = Purpose(profile.charging_profile_purpose)
        return tuple(
            item
            for item in self.installed
            if item.id == profile.charging_profile_id
            or (
                item.connector_id == connector_id
                and item.stack_level == profile.stack_level
                and item.purpose == purpose
            )
        )

    def validate_set(
        self, request: SetChargingProfileRequest, now: datetime, context: ChargingContext
    ) -> Verdict:
        """Judge a SetChargingProfile.req (or, with `context.remote_start`, the profile of a
        RemoteStartTransaction.req on the connector chosen for it)."""
        profile = request.cs_charging_profiles
        after = len(self) - len(self.replaced_by(request.connector_id, profile)) + 1
        return check_profile(request.connector_id, profile, now, context, after)

    def install(self, connector_id: int, profile: ChargingProfile) -> SetOutcome:
        """Install `profile` (already validated) on `connector_id`, replacing what it replaces."""
        replaced = self.replaced_by(connector_id, profile)
        new = InstalledProfile(connector_id, profile)
        kept = [item for item in self.installed if item not in replaced]
        kept.append(new)
        verdict = Verdict(ChargingProfileStatus.Accepted, profile=profile)
        return SetOutcome(ProfileSet(kept), verdict, new, replaced)

    def set_charging_profile(
        self, request: SetChargingProfileRequest, now: datetime, context: ChargingContext
    ) -> SetOutcome:
        """Validate and, when accepted, install: the whole of SetChargingProfile.req."""
        verdict = self.validate_set(request, now, context)
        if not verdict.accepted:
            return SetOutcome(self, verdict)
        assert verdict.profile is not None
        outcome = self.install(request.connector_id, verdict.profile)
        return attrs.evolve(outcome, verdict=verdict)

    # ClearChargingProfile and housekeeping ---------------------------------

    def clear(self, request: ClearChargingProfileRequest) -> ClearOutcome:
        """ClearChargingProfile.req: the profile of the given id, the other fields ignored
        (errata 3.26); without an id, every profile matching all the given fields (errata
        3.25: logical AND; no field at all clears everything). Unknown when none matched
        (7.21)."""

        def matches(item: InstalledProfile) -> bool:
            if request.id is not None:
                return item.id == request.id
            return (
                (request.connector_id is None or item.connector_id == request.connector_id)
                and (
                    request.charging_profile_purpose is None
                    or item.purpose == request.charging_profile_purpose
                )
                and (request.stack_level is None or item.stack_level == request.stack_level)
            )

        removed = tuple(item for item in self.installed if matches(item))
        if not removed:
            return ClearOutcome(self, ClearChargingProfileStatus.Unknown)
        kept = ProfileSet(item for item in self.installed if item not in removed)
        return ClearOutcome(kept, ClearChargingProfileStatus.Accepted, removed)

    def _without(self, removed: tuple[InstalledProfile, ...]) -> Removal:
        if not removed:
            return Removal(self)
        return Removal(ProfileSet(item for item in self.installed if item not in removed), removed)

    def purge_expired(self, now: datetime) -> Removal:
        """Remove the profiles that can never apply again: validTo reached, or an Absolute
        schedule with a duration that has ended."""
        moment = to_us(now)

        def expired(item: InstalledProfile) -> bool:
            compiled = item.compiled
            if compiled.valid_to is not None and compiled.valid_to <= moment:
                return True
            return (
                compiled.recurrence is None
                and compiled.anchor is not None
                and compiled.span is not None
                and compiled.anchor + compiled.span <= moment
            )

        return self._without(tuple(item for item in self.installed if expired(item)))

    def remove_tx_profiles(self, connector_id: int, transaction_id: int | None = None) -> Removal:
        """Remove the TxProfiles of a connector whose transaction ended (3.13.1, 7.10).

        With `transaction_id`, only those bound to that transaction or to none.
        """
        return self._without(
            tuple(
                item
                for item in self.on(connector_id)
                if item.purpose == Purpose.TxProfile
                and (
                    transaction_id is None or item.profile.transaction_id in (None, transaction_id)
                )
            )
        )

    # Limits ----------------------------------------------------------------

    def _tx_profiles(
        self, connector_id: int, context: ChargingContext
    ) -> list[tuple[CompiledProfile, int | None]]:
        """The Tx and TxDefault profiles that may limit `connector_id`, by precedence,
        each with the start of the connector's transaction (for Relative schedules)."""
        transaction = context.transaction(connector_id)
        relative_start = None if transaction is None else to_us(transaction.start)
        tx: list[tuple[int, CompiledProfile]] = []
        default: list[tuple[int, int, CompiledProfile]] = []
        for item in self.on(connector_id):
            compiled = item.compiled
            if context.ignores(compiled.purpose):
                continue
            if compiled.purpose == Purpose.TxProfile:
                # A TxProfile limits its transaction only (7.10): none without one,
                # and one bound to another transactionId does not apply.
                if transaction is None:
                    continue
                if compiled.transaction_id is not None and (
                    compiled.transaction_id != transaction.transaction_id
                ):
                    continue
                tx.append((-compiled.stack_level, compiled))
            elif compiled.purpose == Purpose.TxDefaultProfile:
                default.append((-compiled.stack_level, 0, compiled))
        if connector_id != 0:
            for item in self.on(0):
                compiled = item.compiled
                if compiled.purpose == Purpose.TxDefaultProfile and not context.ignores(
                    compiled.purpose
                ):
                    default.append((-compiled.stack_level, 1, compiled))
        tx.sort(key=lambda entry: entry[0])
        default.sort(key=lambda entry: entry[:2])
        ordered = [entry[-1] for entry in tx] + [entry[-1] for entry in default]
        return [(compiled, relative_start) for compiled in ordered]

    def _max_profiles(self, context: ChargingContext) -> list[tuple[CompiledProfile, int | None]]:
        found = [
            item.compiled
            for item in self.on(0)
            if item.purpose == Purpose.ChargePointMaxProfile and not context.ignores(item.purpose)
        ]
        found.sort(key=lambda compiled: -compiled.stack_level)
        return [(compiled, None) for compiled in found]

    def _layers(
        self,
        profiles: list[tuple[CompiledProfile, int | None]],
        lo: int,
        hi: int,
        unit: ChargingRateUnitType,
        context: ChargingContext,
    ) -> list[list[Piece]]:
        settings = context.settings
        layers = []
        for compiled, relative_start in profiles:
            values = [
                (limit, phases, True)
                for limit, phases in compiled.values(
                    unit, settings.supply_voltage, settings.default_number_phases
                )
            ]
            layer = [
                (start, end, values[i])
                for start, end, i in compiled.segments(lo, hi, relative_start)
            ]
            if layer:
                layers.append(layer)
        return layers

    def _overlay(self, layers: list[list[Piece]]) -> list[Piece]:
        """At each moment the first layer (in precedence order) that has a value there.

        Each layer in turn fills only the gaps the layers before it left.
        """
        if not layers:
            return []
        result = layers[0]
        for layer in layers[1:]:
            painted = _intersect(layer, _gaps(result))
            if painted:
                # pieces never overlap, so their starts differ: the sort never
                # compares two values
                result = sorted([*result, *painted], key=_start)
        return result

    def _timeline(
        self,
        connector_id: int,
        lo: int,
        hi: int,
        unit: ChargingRateUnitType,
        context: ChargingContext,
    ) -> list[tuple[int, int, Value]]:
        """The limit on `connector_id` over [lo, hi): contiguous pieces, defaults filled in."""
        default: Value = (context.settings.default_limit(unit), None, False)
        max_layer = self._overlay(self._layers(self._max_profiles(context), lo, hi, unit, context))
        if connector_id == 0:
            connectors = [
                self._overlay(self._layers(self._tx_profiles(n, context), lo, hi, unit, context))
                for n in range(1, context.number_of_connectors + 1)
            ]
            demand = _summed(connectors, lo, hi, default)
        else:
            demand = self._overlay(
                self._layers(self._tx_profiles(connector_id, context), lo, hi, unit, context)
            )
        out: list[tuple[int, int, Value]] = []
        for start, end, (wanted, cap) in sweep([demand, max_layer], lo, hi):
            value = _min(wanted, cap)
            out.append((start, end, default if value is None else value))
        return out

    def composite(
        self,
        connector_id: int,
        start: datetime,
        duration: int,
        unit: ChargingRateUnitType,
        context: ChargingContext,
    ) -> ChargingSchedule | None:
        """The composite schedule of `connector_id` from `start` for `duration` seconds.

        Periods start at 0 (relative to `start`), are ordered, and adjacent periods
        with the same limit and numberPhases are merged. startSchedule is left out
        (errata 3.57: the answer's scheduleStart says it). Where a change of limit
        falls inside a second, that second gets the lower of the two limits. None
        when the connector does not exist.
        """
        if not 0 <= connector_id <= context.number_of_connectors or duration < 0:
            return None
        unit = ChargingRateUnitType(unit)
        lo = to_us(start)
        # A zero-length schedule still says what applies at its start.
        hi = lo + max(duration * SECOND, 1)
        seconds = _to_seconds(self._timeline(connector_id, lo, hi, unit, context), lo)
        periods = tuple(
            ChargingSchedulePeriod(start_period=offset, limit=limit, number_phases=phases)
            for offset, limit, phases in seconds
        )
        return ChargingSchedule(
            charging_rate_unit=unit, duration=duration, charging_schedule_period=periods
        )

    def get_composite_schedule(
        self, request: GetCompositeScheduleRequest, now: datetime, context: ChargingContext
    ) -> GetCompositeScheduleResponse:
        """GetCompositeSchedule.req answered at `now` (5.7, 6.21, 6.22).

        The schedule starts at `now` cut to the whole second, lasts the requested
        duration capped by MaxCompositeScheduleDuration, in the requested unit or
        else the first of ChargingScheduleAllowedChargingRateUnit.
        """
        settings = context.settings
        unit = request.charging_rate_unit or settings.allowed_units[0]
        if (
            not 0 <= request.connector_id <= context.number_of_connectors
            or request.duration < 0
            or unit not in settings.allowed_units
        ):
            return GetCompositeScheduleResponse(status=GetCompositeScheduleStatus.Rejected)
        start = now.replace(microsecond=0)
        duration = min(request.duration, settings.max_composite_duration)
        schedule = self.composite(request.connector_id, start, duration, unit, context)
        return GetCompositeScheduleResponse(
            status=GetCompositeScheduleStatus.Accepted,
            connector_id=request.connector_id,
            schedule_start=start,
            charging_schedule=schedule,
        )

    def limit_at(
        self,
        connector_id: int,
        when: datetime,
        context: ChargingContext,
        unit: ChargingRateUnitType | None = None,
    ) -> Limit | None:
        """The limit in force on `connector_id` at `when`, in `unit` (default: the first
        allowed unit); None when the connector does not exist.

        The same rules as `composite`, evaluated at one instant (exactly, not
        rounded to the second): cheap enough to call at every boundary.
        """
        if not 0 <= connector_id <= context.number_of_connectors:
            return None
        settings = context.settings
        unit = ChargingRateUnitType(unit or settings.allowed_units[0])
        moment = to_us(when)
        default: Value = (settings.default_limit(unit), None, False)

        def prevailing(profiles: list[tuple[CompiledProfile, int | None]]) -> Value | None:
            for compiled, relative_start in profiles:
                index = compiled.index_at(moment, relative_start)
                if index is not None:
                    limit, phases = compiled.values(
                        unit, settings.supply_voltage, settings.default_number_phases
                    )[index]
                    return (limit, phases, True)
            return None

        if connector_id == 0:
            wanted: Value | None = _sum(
                [
                    prevailing(self._tx_profiles(n, context))
                    for n in range(1, context.number_of_connectors + 1)
                ],
                default,
            )
        else:
            wanted = prevailing(self._tx_profiles(connector_id, context))
        value = _min(wanted, prevailing(self._max_profiles(context))) or default
        return Limit(value[0], unit, value[1], value[2])

    def next_change_after(
        self, connector_id: int, when: datetime, context: ChargingContext
    ) -> datetime | None:
        """The first moment after `when` at which the limit of `connector_id` may change
        (a period, a schedule run, a recurrence or a validity window of an applicable
        profile begins or ends); None when no profile will ever change it.

        Not every such moment changes the limit (a higher stack level may hide it):
        the caller compares `limit_at` before and after. A transaction starting or
        stopping, or a profile set or cleared, are changes the caller knows itself.
        """
        if not 0 <= connector_id <= context.number_of_connectors:
            return None
        moment = to_us(when)
        connectors = (
            range(1, context.number_of_connectors + 1) if connector_id == 0 else [connector_id]
        )
        candidates = [
            boundary
            for compiled, relative_start in self._max_profiles(context)
            if (boundary := compiled.next_boundary(moment, relative_start)) is not None
        ]
        for n in connectors:
            for compiled, relative_start in self._tx_profiles(n, context):
                boundary = compiled.next_boundary(moment, relative_start)
                if boundary is not None:
                    candidates.append(boundary)
        return from_us(min(candidates)) if candidates else None


def _sum(values: Sequence[Value | None], default: Value) -> Value:
    """The connectors' limits added up (a connector without one counts its default);
    numberPhases the most any connector uses."""
    total = Decimal(0)
    phases: int | None = None
    limited = False
    for value in values:
        limit, value_phases, value_limited = default if value is None else value
        total += limit
        if value_phases is not None and (phases is None or value_phases > phases):
            phases = value_phases
        limited = limited or value_limited
    return (total, phases, limited)


def _start(piece: Piece) -> int:
    return piece[0]


def _gaps(pieces: Sequence[Piece]) -> list[tuple[int, int]]:
    """The stretches of time sorted, non-overlapping `pieces` leave uncovered."""
    gaps = []
    cursor = -FOREVER
    for start, end, _ in pieces:
        if start > cursor:
            gaps.append((cursor, start))
        cursor = end
    gaps.append((cursor, FOREVER))
    return gaps


def _intersect(pieces: Sequence[Piece], gaps: Sequence[tuple[int, int]]) -> list[Piece]:
    """The parts of `pieces` inside `gaps` (both sorted and non-overlapping)."""
    out = []
    i = j = 0
    while i < len(pieces) and j < len(gaps):
        start, end, value = pieces[i]
        gap_start, gap_end = gaps[j]
        first, last = max(start, gap_start), min(end, gap_end)
        if first < last:
            out.append((first, last, value))
        if end < gap_end:
            i += 1
        else:
            j += 1
    return out


def _summed(layers: Sequence[Sequence[Piece]], lo: int, hi: int, default: Value) -> list[Piece]:
    """The connectors' limits added up over [lo, hi) (step 5): a running total over the
    starts and ends of their pieces, every connector counting its default in its gaps;
    numberPhases the most any connector uses."""
    events: list[tuple[int, Value]] = []
    for layer in layers:
        for start, end, value in layer:
            events.append(((start << 1) | 1, value))
            events.append((end << 1, value))
    events.sort(key=_start)  # by time only: values are never compared
    total = default[0] * len(layers)
    phases = [0, 0, 0, 0]  # how many connectors use 1, 2, 3 phases
    limited = 0
    out: list[Piece] = []
    previous = lo
    for key, (limit, value_phases, value_limited) in events:
        moment = key >> 1
        if moment > previous:
            most = next((n for n in (3, 2, 1) if phases[n]), None)
            out.append((previous, moment, (total, most, limited > 0)))
            previous = moment
        sign = 1 if key & 1 else -1
        total += sign * (limit - default[0])
        if value_phases is not None:
            phases[value_phases] += sign
        if value_limited:
            limited += sign
    if previous < hi:
        most = next((n for n in (3, 2, 1) if phases[n]), None)
        out.append((previous, hi, (total, most, limited > 0)))
    return out


def _to_seconds(
    pieces: list[tuple[int, int, Value]], lo: int
) -> list[tuple[int, Decimal, int | None]]:
    """Whole-second periods (offset from `lo`, limit, phases), merged.

    A piece covering [a, b) covers the seconds floor(a)..ceil(b)-1; a second
    shared by two pieces gets the lower limit, so the reported schedule never
    allows more than applies at any moment of the second.
    """
    cells: list[list] = []  # [first second, end second, value]
    for start, end, value in pieces:
        first = (start - lo) // SECOND
        last = -((lo - end) // SECOND)
        if cells and cells[-1][1] > first:
            previous = cells[-1]
            shared = _min(previous[2], value)
            if previous[0] < first:
                previous[1] = first
                cells.append([first, first + 1, shared])
            else:
                previous[2] = shared
            if last > first + 1:
                cells.append([first + 1, last, value])
        else:
            cells.append([first, last, value])
    merged: list[tuple[int, Decimal, int | None]] = []
    for first, _, (limit, phases, _limited) in cells:
        if merged and merged[-1][1] == limit and merged[-1][2] == phases:
            continue
        merged.append((first, limit, phases))
    return merged
