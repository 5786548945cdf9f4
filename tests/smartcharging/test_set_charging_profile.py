"""SetChargingProfile: the validation rules, one test each, and replacement (5.16)."""

from __future__ import annotations

import pytest

from chargebox.ocpp.errors import ErrorCode
from chargebox.ocpp.v16 import ChargingProfileStatus
from chargebox.smartcharging import ActiveTransaction, ProfileSet

from .builders import (
    T0,
    at,
    context,
    cp_max,
    installed,
    profile,
    request,
    tx,
    tx_default,
)

ON_1 = {1: ActiveTransaction(at(-1), 42)}


def verdict(connector, charging_profile, ctx=None, profiles=None):
    profiles = profiles or ProfileSet()
    return profiles.validate_set(request(connector, charging_profile), T0, ctx or context())


ACCEPTED = [
    pytest.param(0, tx_default(), context(), id="tx-default-on-connector-0"),
    pytest.param(2, tx_default(), context(), id="tx-default-on-connector-2"),
    pytest.param(0, cp_max(), context(), id="cp-max-on-0"),
    pytest.param(
        0,
        profile(1, "ChargePointMaxProfile", "Recurring", recurrency="Weekly"),
        context(),
        id="cp-max-recurring",
    ),
    pytest.param(1, tx(), context(transactions=ON_1), id="tx-with-transaction"),
    pytest.param(
        1, tx(transaction_id=42), context(transactions=ON_1), id="tx-with-its-transaction-id"
    ),
    pytest.param(1, tx(), context(remote_start=True), id="tx-inside-remote-start"),
    pytest.param(1, tx_default(kind="Relative"), context(), id="relative-without-start-schedule"),
    pytest.param(1, tx_default(stack=5), context(max_stack_level=5), id="stack-level-at-maximum"),
    pytest.param(
        1,
        tx_default(periods=[(0, 16), (60, 10)]),
        context(max_periods=2),
        id="periods-at-maximum",
    ),
    pytest.param(1, tx_default(unit="W"), context(allowed_units=["W"]), id="unit-allowed"),
    pytest.param(1, tx_default(periods=[(0, 16, 1)]), context(), id="one-phase"),
    pytest.param(1, tx_default(periods=[(0, 0)]), context(), id="limit-zero"),
    pytest.param(1, tx_default(duration=0), context(), id="duration-zero"),
    pytest.param(
        1,
        tx_default(valid_from=at(2), valid_to=at(1)),
        context(),
        id="empty-validity-window-accepted",
    ),
    pytest.param(
        1,
        profile(1, "TxDefaultProfile", "Absolute", recurrency="Daily"),
        context(),
        id="recurrency-kind-on-absolute-ignored",
    ),
]


@pytest.mark.parametrize(("connector", "charging_profile", "ctx"), ACCEPTED)
def test_accepted(connector, charging_profile, ctx):
    result = verdict(connector, charging_profile, ctx)
    assert result.status == ChargingProfileStatus.Accepted, result.reason
    assert result.accepted
    assert result.profile == charging_profile
    assert result.reason is None and result.call_error is None


REJECTED = [
    pytest.param(
        1,
        tx_default(),
        context(supported_purposes=["ChargePointMaxProfile"]),
        "not supported",
        id="purpose-not-supported",
    ),
    pytest.param(1, tx_default(stack=-1), context(), "stackLevel -1", id="stack-level-negative"),
    pytest.param(
        1,
        tx_default(stack=6),
        context(max_stack_level=5),
        "stackLevel 6 is not 0..5",
        id="stack-level-above-maximum",
    ),
    pytest.param(
        1,
        tx_default(periods=[(0, 16), (60, 10), (120, 8)]),
        context(max_periods=2),
        "ChargingScheduleMaxPeriods",
        id="too-many-periods",
    ),
    pytest.param(1, tx_default(periods=[]), context(), "empty", id="no-periods"),
    pytest.param(
        1,
        tx_default(unit="W"),
        context(allowed_units=["A"]),
        "ChargingScheduleAllowedChargingRateUnit",
        id="unit-not-allowed",
    ),
    pytest.param(
        1, tx_default(periods=[(10, 16)]), context(), "first startPeriod", id="first-not-zero"
    ),
    pytest.param(
        1,
        tx_default(periods=[(0, 16), (60, 10), (60, 8)]),
        context(),
        "does not follow",
        id="start-periods-repeat",
    ),
    pytest.param(
        1,
        tx_default(periods=[(0, 16), (120, 10), (60, 8)]),
        context(),
        "does not follow",
        id="start-periods-out-of-order",
    ),
    pytest.param(1, tx_default(periods=[(0, -1)]), context(), "negative", id="negative-limit"),
    pytest.param(1, tx_default(periods=[(0, 16, 0)]), context(), "numberPhases 0", id="phases-0"),
    pytest.param(1, tx_default(periods=[(0, 16, 4)]), context(), "numberPhases 4", id="phases-4"),
    pytest.param(1, tx_default(duration=-1), context(), "duration -1", id="negative-duration"),
    pytest.param(
        1, tx_default(min_rate="-0.1"), context(), "minChargingRate", id="negative-min-rate"
    ),
    pytest.param(
        1,
        profile(1, "TxDefaultProfile", "Recurring"),
        context(),
        "recurrencyKind",
        id="recurring-without-recurrency-kind",
    ),
    pytest.param(
        1, tx_default(start=None), context(), "needs startSchedule", id="absolute-no-start"
    ),
    pytest.param(
        1,
        profile(1, "TxDefaultProfile", "Recurring", recurrency="Daily", start=None),
        context(),
        "needs startSchedule",
        id="recurring-no-start",
    ),
    pytest.param(1, cp_max(), context(), "connectorId 0", id="cp-max-on-connector"),
    pytest.param(0, cp_max(kind="Relative"), context(), "Relative", id="cp-max-relative"),
    pytest.param(0, tx(), context(), "connectorId > 0", id="tx-on-connector-0"),
    pytest.param(1, tx(), context(), "no transaction", id="tx-without-transaction"),
    pytest.param(2, tx(), context(transactions=ON_1), "no transaction", id="tx-on-other-connector"),
    pytest.param(
        1,
        tx(transaction_id=7),
        context(transactions=ON_1),
        "transactionId 7",
        id="tx-of-another-transaction",
    ),
    pytest.param(
        1,
        tx(transaction_id=7),
        context(transactions={1: ActiveTransaction(at(-1))}),
        "transactionId 7",
        id="tx-id-before-start-transaction-conf",
    ),
    pytest.param(
        1, tx_default(), context(remote_start=True), "must be a TxProfile", id="remote-tx-default"
    ),
    pytest.param(
        1,
        profile(1, "TxDefaultProfile", transaction_id=42),
        context(transactions=ON_1),
        "only valid in a TxProfile",
        id="transaction-id-on-tx-default",
    ),
    pytest.param(
        0,
        profile(1, "ChargePointMaxProfile", transaction_id=42),
        context(transactions=ON_1),
        "only valid in a TxProfile",
        id="transaction-id-on-cp-max",
    ),
    pytest.param(
        1,
        tx(transaction_id=42),
        context(remote_start=True),
        "no transactionId",
        id="remote-start-with-transaction-id",
    ),
]


@pytest.mark.parametrize(("connector", "charging_profile", "ctx", "why"), REJECTED)
def test_rejected(connector, charging_profile, ctx, why):
    result = verdict(connector, charging_profile, ctx)
    assert result.status == ChargingProfileStatus.Rejected
    assert not result.accepted
    assert why in result.reason
    assert result.profile is None and result.call_error is None


@pytest.mark.parametrize("connector", [-1, 3])
def test_unknown_connector_is_a_call_error(connector):
    """Errata 3.39: PropertyConstraintViolation, not a status."""
    result = verdict(connector, tx_default())
    assert result.call_error == ErrorCode.PropertyConstraintViolation
    assert f"connectorId {connector}" in result.reason


def test_missing_start_schedule_allowed_starts_now():
    """AllowChargingProfileWithoutStartSchedule: the schedule starts when it is received."""
    now = at(3, seconds=0.25)
    ctx = context(allow_without_start_schedule=True)
    outcome = installed().set_charging_profile(request(1, tx_default(start=None)), now, ctx)
    assert outcome.verdict.accepted
    assert outcome.verdict.profile.charging_schedule.start_schedule == now
    [item] = outcome.profiles
    assert item.profile.charging_schedule.start_schedule == now
    recurring = profile(2, "TxDefaultProfile", "Recurring", recurrency="Daily", start=None)
    assert verdict(1, recurring, ctx).profile.charging_schedule.start_schedule == T0


def test_max_profiles_installed_counts_after_replacement():
    """9.4.5 counts the profiles installed at a time: a replacement is not one more
    (libocpp compares the count before replacing and would reject it)."""
    ctx = context(max_profiles_installed=2)
    full = installed((1, tx_default(1)), (2, tx_default(2)))
    assert "MaxChargingProfilesInstalled 2" in verdict(1, tx_default(3, stack=1), ctx, full).reason
    assert verdict(1, tx_default(1, [(0, 8)]), ctx, full).accepted  # same id
    assert verdict(2, tx_default(9, [(0, 8)]), ctx, full).accepted  # same connector/stack/purpose
    assert not verdict(1, tx_default(3), context(max_profiles_installed=0)).accepted


# --- replacement (3.13.2, 5.16.3, 5.16.4) ---------------------------------------------------


def ids(profiles):
    return sorted((item.connector_id, item.id) for item in profiles)


def test_same_id_replaces_wherever_it_was():
    profiles = installed((1, tx_default(7, stack=3)))
    outcome = profiles.set_charging_profile(request(2, tx_default(7, stack=1)), T0, context())
    assert ids(outcome.profiles) == [(2, 7)]
    assert [(item.connector_id, item.stack_level) for item in outcome.replaced] == [(1, 3)]
    assert (outcome.installed.connector_id, outcome.installed.stack_level) == (2, 1)


def test_same_connector_stack_and_purpose_replaces():
    profiles = installed((1, tx_default(1, stack=2)))
    outcome = profiles.set_charging_profile(request(1, tx_default(2, stack=2)), T0, context())
    assert ids(outcome.profiles) == [(1, 2)]
    assert [item.id for item in outcome.replaced] == [1]


def test_same_stack_and_purpose_on_another_connector_is_added():
    """3.13.1: a TxDefaultProfile for connector > 0 replaces connector 0's only for that
    connector, so both stay installed."""
    profiles = installed((0, tx_default(1, stack=2)))
    outcome = profiles.set_charging_profile(request(1, tx_default(2, stack=2)), T0, context())
    assert ids(outcome.profiles) == [(0, 1), (1, 2)]
    assert outcome.replaced == ()


def test_other_purpose_at_same_stack_is_added():
    profiles = installed((0, tx_default(1, stack=0)))
    outcome = profiles.set_charging_profile(request(0, cp_max(2, stack=0)), T0, context())
    assert ids(outcome.profiles) == [(0, 1), (0, 2)]


def test_one_profile_can_replace_two():
    profiles = installed((1, tx_default(1, stack=0)), (1, tx_default(2, stack=1)))
    outcome = profiles.set_charging_profile(request(1, tx_default(2, stack=0)), T0, context())
    assert ids(outcome.profiles) == [(1, 2)]
    assert sorted(item.id for item in outcome.replaced) == [1, 2]


def test_remote_start_profile_replaced_by_set_with_same_stack():
    """5.16.2: a SetChargingProfile with the transaction's id and the RemoteStart profile's
    stackLevel replaces it; another stackLevel stacks next to it."""
    remote = installed().set_charging_profile(
        request(1, tx(1, stack=1)), T0, context(remote_start=True)
    )
    assert remote.verdict.accepted
    started = remote.profiles
    running = context(transactions=ON_1)
    same = started.set_charging_profile(request(1, tx(2, stack=1, transaction_id=42)), T0, running)
    assert ids(same.profiles) == [(1, 2)]
    other = started.set_charging_profile(request(1, tx(3, stack=2, transaction_id=42)), T0, running)
    assert ids(other.profiles) == [(1, 1), (1, 3)]


def test_setting_the_same_profile_twice_changes_nothing():
    ctx = context()
    once = installed().set_charging_profile(request(0, tx_default(1)), T0, ctx).profiles
    twice = once.set_charging_profile(request(0, tx_default(1)), T0, ctx)
    assert twice.profiles == once
    assert [item.id for item in twice.replaced] == [1]


def test_rejected_profile_leaves_the_set_unchanged():
    profiles = installed((1, tx_default(1)))
    outcome = profiles.set_charging_profile(request(1, tx_default(1, stack=-1)), T0, context())
    assert outcome.profiles is profiles
    assert outcome.replaced == () and outcome.installed is None
    assert not outcome.verdict.accepted


def test_equal_sets_whatever_the_order_of_installation():
    a = installed((1, tx_default(1)), (0, cp_max(2)))
    b = installed((0, cp_max(2)), (1, tx_default(1)))
    assert a == b and hash(a) == hash(b)
