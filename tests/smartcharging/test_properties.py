"""Properties of composite schedules over generated profile sets.

The composite is checked against `reference_limit`, a deliberately naive
evaluator written for these tests: it looks at one instant at a time and
applies the rules literally (validity, kind, recurrence, stack level, TxProfile
over TxDefaultProfile, minimum with ChargePointMaxProfile, sum for connector 0,
defaults). The engine instead lays out whole timelines; the two must agree at
every moment where any limit may change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargebox.ocpp.v16 import (
    ChargingProfile,
    ChargingSchedule,
    ChargingSchedulePeriod,
    ClearChargingProfileRequest,
)
from chargebox.smartcharging import ActiveTransaction, ChargingContext, ProfileSet, convert

from .builders import T0, context, installed, request

MINUTE = timedelta(minutes=1)
PERIODS = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}
FAST = settings(max_examples=90, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# the algebraic properties below break on most sets when they break: fewer examples do
LIGHT = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the reference: one instant, the rules applied literally ---------------------------------


def profile_value(profile: ChargingProfile, moment: datetime, tx_start: datetime | None):
    """(limit, unit, numberPhases) of `profile` at `moment`, or None where it does not apply."""
    schedule = profile.charging_schedule
    if profile.valid_from is not None and moment < profile.valid_from:
        return None
    if profile.valid_to is not None and moment >= profile.valid_to:
        return None
    if profile.charging_profile_kind == "Relative":
        if tx_start is None:
            return None
        base = tx_start
    elif profile.charging_profile_kind == "Absolute":
        base = schedule.start_schedule
    else:
        every = PERIODS[profile.recurrency_kind]
        if moment < schedule.start_schedule:
            return None
        base = schedule.start_schedule + (moment - schedule.start_schedule) // every * every
        if moment - base >= every:
            return None
    elapsed = moment - base
    if elapsed < timedelta(0):
        return None
    if schedule.duration is not None and elapsed >= timedelta(seconds=schedule.duration):
        return None
    current = None
    for period in schedule.charging_schedule_period:
        if timedelta(seconds=period.start_period) <= elapsed:
            current = period
    return (current.limit, schedule.charging_rate_unit, current.number_phases)


def reference_limit(profiles: ProfileSet, ctx: ChargingContext, connector: int, moment, unit):
    settings_ = ctx.settings

    def in_unit(value):
        limit, value_unit, phases = value
        return convert(
            limit,
            value_unit,
            unit,
            settings_.supply_voltage,
            phases or settings_.default_number_phases,
        )

    def prevailing(candidates, tx_start):
        for item in candidates:
            value = profile_value(item.profile, moment, tx_start)
            if value is not None:
                return in_unit(value)
        return None

    def usable(item):
        return not (ctx.offline and item.purpose in settings_.ignored_purposes_offline)

    def connector_limit(n):
        transaction = ctx.transaction(n)
        tx_start = None if transaction is None else transaction.start
        txs = [
            item
            for item in profiles.on(n)
            if item.purpose == "TxProfile"
            and usable(item)
            and transaction is not None
            and item.profile.transaction_id in (None, transaction.transaction_id)
        ]
        txs.sort(key=lambda item: -item.stack_level)
        defaults = [
            item
            for item in (*profiles.on(n), *profiles.on(0))
            if item.purpose == "TxDefaultProfile" and usable(item)
        ]
        defaults.sort(key=lambda item: (-item.stack_level, item.connector_id == 0))
        value = prevailing(txs, tx_start)
        return value if value is not None else prevailing(defaults, tx_start)

    caps = [
        item for item in profiles.on(0) if item.purpose == "ChargePointMaxProfile" and usable(item)
    ]
    cap = prevailing(sorted(caps, key=lambda item: -item.stack_level), None)
    default = settings_.default_limit(unit)
    if connector == 0:
        wanted = sum(
            (
                value if (value := connector_limit(n)) is not None else default
                for n in range(1, ctx.number_of_connectors + 1)
            ),
            Decimal(0),
        )
    else:
        wanted = connector_limit(connector)
    present = [value for value in (wanted, cap) if value is not None]
    return min(present) if present else default


def boundaries(profiles: ProfileSet, ctx: ChargingContext, lo: datetime, hi: datetime):
    """Every instant in [lo, hi) where some profile may start, change or stop."""
    found = {lo}
    for item in profiles:
        p = item.profile
        schedule = p.charging_schedule
        found.update(t for t in (p.valid_from, p.valid_to) if t is not None)
        if p.charging_profile_kind == "Relative":
            bases = [tx.start for tx in ctx.transactions.values()]
        elif p.charging_profile_kind == "Absolute":
            bases = [schedule.start_schedule]
        else:
            every = PERIODS[p.recurrency_kind]
            first = schedule.start_schedule
            k = max(0, (lo - first) // every - 1)
            bases = []
            while first + k * every < hi:
                bases.append(first + k * every)
                k += 1
        for base in bases:
            found.update(
                base + timedelta(seconds=x.start_period) for x in schedule.charging_schedule_period
            )
            if schedule.duration is not None:
                found.add(base + timedelta(seconds=schedule.duration))
            if p.charging_profile_kind == "Recurring":
                found.add(base + PERIODS[p.recurrency_kind])
    return sorted(t for t in found if lo <= t < hi)


def value_at(schedule: ChargingSchedule, offset_seconds: float) -> Decimal:
    current = None
    for period in schedule.charging_schedule_period:
        if period.start_period <= offset_seconds:
            current = period.limit
    return current


# --- generated situations --------------------------------------------------------------------
# Strategies are built once: building them inside every draw costs more than the tests.


def minutes(low: int, high: int):
    return st.integers(low, high).map(lambda m: T0 + m * MINUTE)


PHASES = st.one_of(st.none(), st.integers(1, 3))
# Durations and period starts crowd around a day, where runs of a Daily schedule meet.
DURATIONS = st.one_of(
    st.none(),
    st.integers(0, 12 * 60).map(lambda m: m * 60),
    st.integers(23 * 60, 50 * 60).map(lambda m: m * 60),
)
STARTS = minutes(-3 * 24 * 60, 24 * 60)
VALID_FROM = st.one_of(st.none(), minutes(-24 * 60, 24 * 60))
VALID_TO = st.one_of(st.none(), minutes(-12 * 60, 48 * 60))
LIMITS = {"A": st.integers(0, 640), "W": st.integers(0, 440_000)}  # tenths
PERIOD_STARTS = st.lists(
    st.one_of(st.integers(1, 6 * 60), st.integers(20 * 60, 36 * 60)), max_size=3, unique=True
).map(sorted)


def _schedules(unit: str, kind: str):
    @st.composite
    def build(draw):
        starts = [0, *draw(PERIOD_STARTS)]
        # distinct limits, or a wrong period could hide behind an equal one
        limits = draw(
            st.lists(LIMITS[unit], min_size=len(starts), max_size=len(starts), unique=True)
        )
        periods = [
            ChargingSchedulePeriod(
                start_period=start * 60, limit=Decimal(limit) / 10, number_phases=draw(PHASES)
            )
            for start, limit in zip(starts, limits, strict=True)
        ]
        return ChargingSchedule(
            charging_rate_unit=unit,
            charging_schedule_period=periods,
            duration=draw(DURATIONS),
            start_schedule=None if kind == "Relative" else draw(STARTS),
        )

    return build()


SCHEDULES = {
    (unit, kind): _schedules(unit, kind)
    for unit in ("A", "W")
    for kind in ("Absolute", "Relative", "Recurring")
}
PURPOSES = st.sampled_from(["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"])
UNITS = st.sampled_from(["A", "W"])
MAX_KINDS = st.sampled_from(["Absolute", "Recurring"])
KINDS = st.sampled_from(["Absolute", "Relative", "Recurring"])
RECURRENCES = st.sampled_from(["Daily", "Weekly"])
TRANSACTION_IDS = st.sampled_from([None, None, 101, 999])


def _profiles(connectors: int):
    @st.composite
    def build(draw):
        purpose = draw(PURPOSES)
        if purpose == "ChargePointMaxProfile":
            connector, kind = 0, draw(MAX_KINDS)
        else:
            low = 1 if purpose == "TxProfile" else 0
            connector, kind = draw(st.integers(low, connectors)), draw(KINDS)
        charging_profile = ChargingProfile(
            charging_profile_id=0,
            stack_level=draw(st.integers(0, 2)),
            charging_profile_purpose=purpose,
            charging_profile_kind=kind,
            recurrency_kind=draw(RECURRENCES) if kind == "Recurring" else None,
            transaction_id=draw(TRANSACTION_IDS) if purpose == "TxProfile" else None,
            valid_from=draw(VALID_FROM),
            valid_to=draw(VALID_TO),
            charging_schedule=draw(SCHEDULES[draw(UNITS), kind]),
        )
        return connector, charging_profile

    return build()


PROFILES = {connectors: _profiles(connectors) for connectors in (1, 2, 3)}


def numbered(profile_id: int, charging_profile: ChargingProfile) -> ChargingProfile:
    return attrs.evolve(charging_profile, charging_profile_id=profile_id)


IGNORED = st.sets(st.sampled_from(["TxDefaultProfile", "TxProfile", "ChargePointMaxProfile"]))
VOLTAGES = st.sampled_from([230, 110, Decimal("230.5")])
TRANSACTION_STARTS = minutes(-24 * 60, 2 * 60)
WINDOW_STARTS = minutes(-2 * 60, 24 * 60)


@st.composite
def situations(draw):
    connectors = draw(st.integers(1, 3))
    items, keys = [], set()
    for n in range(draw(st.integers(0, 5))):
        connector, charging_profile = draw(PROFILES[connectors])
        key = (connector, charging_profile.charging_profile_purpose, charging_profile.stack_level)
        if key not in keys:  # one profile per connector, purpose and stackLevel (3.13.2)
            keys.add(key)
            items.append((connector, numbered(n + 1, charging_profile)))
    running = {
        n: ActiveTransaction(draw(TRANSACTION_STARTS), 100 + n)
        for n in range(1, connectors + 1)
        if draw(st.booleans())
    }
    ctx = context(
        connectors,
        running,
        offline=draw(st.booleans()),
        ignored_purposes_offline=draw(IGNORED),
        supply_voltage=draw(VOLTAGES),
        default_number_phases=draw(st.integers(1, 3)),
    )
    connector = draw(st.integers(0, connectors))
    start = draw(WINDOW_STARTS)
    duration = draw(st.integers(0, 36 * 60)) * 60
    unit = draw(UNITS)
    return installed(*items), ctx, connector, start, duration, unit


# --- properties --------------------------------------------------------------------------------


@FAST
@given(situations())
def test_composite_agrees_with_the_reference_everywhere_a_limit_may_change(situation):
    profiles, ctx, connector, start, duration, unit = situation
    schedule = profiles.composite(connector, start, duration, unit, ctx)
    end = start + timedelta(seconds=max(duration, 1))
    for moment in boundaries(profiles, ctx, start, end):
        offset = (moment - start).total_seconds()
        expected = reference_limit(profiles, ctx, connector, moment, unit)
        assert value_at(schedule, offset) == expected
        # limit_at evaluates one instant its own way: it must agree too
        assert profiles.limit_at(connector, moment, ctx, unit).value == expected


@LIGHT
@given(situations())
def test_periods_are_ordered_start_at_zero_and_merged(situation):
    profiles, ctx, connector, start, duration, unit = situation
    schedule = profiles.composite(connector, start, duration, unit, ctx)
    periods = schedule.charging_schedule_period
    assert schedule.duration == duration
    assert periods[0].start_period == 0
    assert all(a.start_period < b.start_period for a, b in pairwise(periods))
    assert all(p.start_period < max(duration, 1) for p in periods)
    assert all(
        (a.limit, a.number_phases) != (b.limit, b.number_phases) for a, b in pairwise(periods)
    )
    assert all(p.limit >= 0 and p.limit == p.limit.quantize(Decimal("0.1")) for p in periods)


@FAST
@given(situations())
def test_composite_never_exceeds_the_charge_point_maximum(situation):
    profiles, ctx, connector, start, duration, unit = situation
    only_max = ProfileSet(
        item
        for item in profiles
        if item.purpose == "ChargePointMaxProfile"
        and not (ctx.offline and item.purpose in ctx.settings.ignored_purposes_offline)
    )
    schedule = profiles.composite(connector, start, duration, unit, ctx)
    end = start + timedelta(seconds=max(duration, 1))
    for moment in boundaries(profiles, ctx, start, end):
        caps = [
            convert(
                value[0],
                value[1],
                unit,
                ctx.settings.supply_voltage,
                value[2] or ctx.settings.default_number_phases,
            )
            for item in sorted(only_max, key=lambda item: -item.stack_level)
            if (value := profile_value(item.profile, moment, None)) is not None
        ]
        if caps:  # the prevailing one: the highest stack level valid at that moment
            assert value_at(schedule, (moment - start).total_seconds()) <= caps[0]


@LIGHT
@given(situations(), st.data())
def test_setting_the_same_profile_twice_changes_nothing(situation, data):
    profiles, ctx, connector, start, duration, unit = situation
    if not len(profiles):
        return
    item = data.draw(st.sampled_from(profiles.installed))
    again = profiles.install(item.connector_id, item.profile)
    assert again.profiles == profiles
    assert again.profiles.composite(connector, start, duration, unit, ctx) == profiles.composite(
        connector, start, duration, unit, ctx
    )
    twice = again.profiles.install(item.connector_id, item.profile).profiles
    assert twice == profiles


@LIGHT
@given(situations(), st.data())
def test_clearing_a_new_profile_restores_the_previous_composite(situation, data):
    profiles, ctx, connector, start, duration, unit = situation
    taken = {(i.connector_id, i.purpose, i.stack_level) for i in profiles}
    target, new = data.draw(PROFILES[ctx.number_of_connectors])
    new = numbered(1000, new)
    if (target, new.charging_profile_purpose, new.stack_level) in taken:
        return
    before = profiles.composite(connector, start, duration, unit, ctx)
    added = profiles.install(target, new).profiles
    assert len(added) == len(profiles) + 1
    cleared = added.clear(ClearChargingProfileRequest(id=1000))
    assert cleared.profiles == profiles
    assert cleared.profiles.composite(connector, start, duration, unit, ctx) == before


@st.composite
def recurring_profiles(draw):
    """A Recurring profile whose periods and duration often run past its recurrence."""
    recurrency = draw(RECURRENCES)
    every = 24 * 60 if recurrency == "Daily" else 7 * 24 * 60
    # hypothesis favours small numbers: ask for values past the recurrence explicitly
    within, beyond = st.integers(1, every - 1), st.integers(every, 2 * every)
    starts = [0, *draw(st.lists(st.one_of(within, beyond), max_size=3, unique=True).map(sorted))]
    limits = draw(st.lists(LIMITS["A"], min_size=len(starts), max_size=len(starts), unique=True))
    duration = draw(st.one_of(st.none(), within, beyond))
    return ChargingProfile(
        charging_profile_id=1,
        stack_level=0,
        charging_profile_purpose="TxDefaultProfile",
        charging_profile_kind="Recurring",
        recurrency_kind=recurrency,
        charging_schedule=ChargingSchedule(
            charging_rate_unit="A",
            start_schedule=draw(STARTS),
            duration=None if duration is None else duration * 60,
            charging_schedule_period=[
                ChargingSchedulePeriod(start_period=m * 60, limit=Decimal(limit) / 10)
                for m, limit in zip(starts, limits, strict=True)
            ],
        ),
    )


@FAST
@given(
    recurring_profiles(),
    minutes(-3 * 24 * 60, 9 * 24 * 60),
    st.one_of(st.integers(0, 24 * 60), st.integers(24 * 60, 3 * 24 * 60)),
)
def test_a_recurring_profile_alone_agrees_with_the_reference(charging_profile, start, length):
    """Runs of a Recurring schedule never overlap: what lies beyond the recurrence period
    is not executed (errata 3.44) and each run starts on time (errata 3.79)."""
    profiles, ctx = installed((1, charging_profile)), context(1)
    duration = length * 60
    schedule = profiles.composite(1, start, duration, "A", ctx)
    end = start + timedelta(seconds=max(duration, 1))
    for moment in boundaries(profiles, ctx, start, end):
        offset = (moment - start).total_seconds()
        assert value_at(schedule, offset) == reference_limit(profiles, ctx, 1, moment, "A")


@st.composite
def default_stacks(draw):
    """TxDefaultProfiles on connector 0 and connector 1 at few stack levels, so that
    connector 1's own profiles and connector 0's often meet at the same level."""
    items, keys = [], set()
    for n in range(draw(st.integers(2, 5))):
        connector, stack = draw(st.integers(0, 1)), draw(st.integers(0, 1))
        kind = draw(st.sampled_from(["Absolute", "Recurring"]))
        if (connector, stack) in keys:
            continue
        keys.add((connector, stack))
        charging_profile = ChargingProfile(
            charging_profile_id=n + 1,
            stack_level=stack,
            charging_profile_purpose="TxDefaultProfile",
            charging_profile_kind=kind,
            recurrency_kind="Daily" if kind == "Recurring" else None,
            valid_from=draw(VALID_FROM),
            valid_to=draw(VALID_TO),
            charging_schedule=draw(SCHEDULES[draw(UNITS), kind]),
        )
        items.append((connector, charging_profile))
    return installed(*items)


@FAST
@given(default_stacks(), WINDOW_STARTS, st.integers(0, 36 * 60))
def test_tx_default_precedence_agrees_with_the_reference(profiles, start, length):
    """Highest stackLevel first; at the same level the connector's own profile before
    connector 0's (3.13.1)."""
    ctx = context(1)
    duration = length * 60
    schedule = profiles.composite(1, start, duration, "A", ctx)
    end = start + timedelta(seconds=max(duration, 1))
    for moment in boundaries(profiles, ctx, start, end):
        offset = (moment - start).total_seconds()
        assert value_at(schedule, offset) == reference_limit(profiles, ctx, 1, moment, "A")


@st.composite
def sub_second_situations(draw):
    """Absolute TxDefaultProfiles whose times fall anywhere inside seconds."""
    micro = st.integers(-600_000_000, 600_000_000).map(lambda us: T0 + timedelta(microseconds=us))
    items = []
    for n in range(draw(st.integers(1, 4))):
        starts = sorted(draw(st.sets(st.integers(1, 300), max_size=3)))
        items.append(
            (
                1,
                ChargingProfile(
                    charging_profile_id=n + 1,
                    stack_level=n,
                    charging_profile_purpose="TxDefaultProfile",
                    charging_profile_kind="Absolute",
                    valid_to=draw(st.one_of(st.none(), micro)),
                    charging_schedule=ChargingSchedule(
                        charging_rate_unit="A",
                        start_schedule=draw(micro),
                        duration=draw(st.one_of(st.none(), st.integers(0, 600))),
                        charging_schedule_period=[
                            ChargingSchedulePeriod(
                                start_period=s, limit=Decimal(draw(st.integers(0, 640))) / 10
                            )
                            for s in [0, *starts]
                        ],
                    ),
                ),
            )
        )
    start = draw(micro)
    return installed(*items), start, draw(st.integers(1, 600))


@FAST
@given(sub_second_situations())
def test_a_second_with_a_change_inside_gets_the_lowest_limit(situation):
    """Every reported second holds the lowest limit in force at any moment of it."""
    profiles, start, duration = situation
    ctx = context(1)
    schedule = profiles.composite(1, start, duration, "A", ctx)
    end = start + timedelta(seconds=duration)
    points = [*boundaries(profiles, ctx, start, end), end]
    pieces = [(a, b, reference_limit(profiles, ctx, 1, a, "A")) for a, b in pairwise(points)]
    second = timedelta(seconds=1)
    for k in range(duration):
        lo, hi = start + k * second, start + (k + 1) * second
        lowest = min(v for a, b, v in pieces if a < hi and b > lo)
        assert value_at(schedule, k) == lowest


def test_reference_sanity():
    """The reference itself reads the spec's daily example right (08:00 -> 6 kW)."""
    from .builders import SPEC_DAILY, at, daily

    profiles = installed((0, daily(1, "TxDefaultProfile", SPEC_DAILY, unit="W")))
    assert reference_limit(profiles, context(), 1, at(8), "W") == 6000
    assert reference_limit(profiles, context(), 1, at(7.99), "W") == 11000
    assert reference_limit(profiles, context(), 0, at(8), "W") == 12000
    assert request(1, profiles.installed[0].profile).connector_id == 1
