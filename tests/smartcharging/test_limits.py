"""What the actor asks between CSMS calls: the limit now, the next moment it may change,
and GetCompositeSchedule.req answered end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chargebox.ocpp import codec
from chargebox.ocpp.v16 import (
    ChargingRateUnitType,
    GetCompositeScheduleRequest,
    GetCompositeScheduleResponse,
    GetCompositeScheduleStatus,
)
from chargebox.smartcharging import Limit

from .builders import (
    DAY,
    SPEC_DAILY,
    T0,
    H,
    at,
    context,
    cp_max,
    daily,
    installed,
    table,
    tx,
    tx_default,
)

A = ChargingRateUnitType.A
W = ChargingRateUnitType.W


def spec_daily():
    start = datetime(2013, 1, 1, tzinfo=UTC)
    return installed((0, daily(1, "TxDefaultProfile", SPEC_DAILY, unit="W", start=start)))


# --- limit_at ------------------------------------------------------------------------------


def test_limit_at_follows_the_periods():
    profiles = spec_daily()
    ctx = context()
    assert profiles.limit_at(1, at(7, minutes=59), ctx, W) == Limit(Decimal(11000), W, 3, True)
    assert profiles.limit_at(1, at(8), ctx, W) == Limit(Decimal(6000), W, 3, True)  # boundary
    assert profiles.limit_at(1, at(20) - timedelta(microseconds=1), ctx, W).value == 6000
    assert profiles.limit_at(1, at(20), ctx, W).value == 11000
    assert profiles.limit_at(1, at(12), ctx).value == Decimal("8.6")  # first allowed unit: A


def test_limit_at_default_is_not_limited():
    limit = installed().limit_at(1, T0, context())
    assert limit == Limit(Decimal(48), A, None, False)
    assert installed().limit_at(1, T0, context(allowed_units=["W", "A"])).unit == W


def test_limit_at_connector_0_and_unknown_connectors():
    profiles = installed((0, tx_default(1, [(0, "7.1")])), (0, cp_max(2, [(0, 20)])))
    assert profiles.limit_at(0, T0, context(3)).value == Decimal("20")
    assert profiles.limit_at(0, T0, context(2)).value == Decimal("14.2")
    assert profiles.limit_at(3, T0, context(2)) is None
    assert profiles.limit_at(-1, T0, context(2)) is None


def test_limit_at_agrees_with_the_composite():
    ctx = context(transactions={1: at(-0.25)})
    profiles = installed(
        (0, cp_max(1, [(0, 40), (5400, 20)])),
        (1, tx(2, [(0, 6), (1800, 32)], kind="Relative")),
        (1, tx_default(3, [(0, 16)])),
    )
    schedule = profiles.composite(1, T0, 2 * H, "A", ctx)
    for period in schedule.charging_schedule_period:
        moment = T0 + timedelta(seconds=period.start_period)
        assert profiles.limit_at(1, moment, ctx).value == period.limit


# --- next_change_after -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "ctx", "when", "expected"),
    [
        pytest.param([], context(), T0, None, id="no-profiles"),
        pytest.param([(1, tx_default())], context(), T0, None, id="one-period-forever"),
        pytest.param(
            [(1, tx_default(periods=[(0, 16), (600, 10)]))],
            context(),
            T0,
            at(minutes=10),
            id="period",
        ),
        pytest.param(
            [(1, tx_default(periods=[(0, 16), (600, 10)]))],
            context(),
            at(minutes=10),
            None,
            id="strictly-after-the-last-boundary",
        ),
        pytest.param(
            [(1, tx_default(duration=900))], context(), T0, at(minutes=15), id="schedule-end"
        ),
        pytest.param([(1, tx_default(start=at(2)))], context(), T0, at(2), id="schedule-start"),
        pytest.param([(1, tx_default(valid_from=at(3)))], context(), T0, at(3), id="valid-from"),
        pytest.param([(1, tx_default(valid_to=at(4)))], context(), T0, at(4), id="valid-to"),
        pytest.param(
            [(1, tx_default(valid_to=at(4)))], context(), at(4), None, id="after-valid-to"
        ),
        pytest.param(
            [(1, daily(1, "TxDefaultProfile", [(0, 10)]))],
            context(),
            at(5),
            at(24),
            id="daily-next-recurrence",
        ),
        pytest.param(
            [(1, daily(1, "TxDefaultProfile", [(0, 10)], start=at(2)))],
            context(),
            T0,
            at(2),
            id="recurring-before-its-start",
        ),
        pytest.param(
            [(1, daily(1, "TxDefaultProfile", [(0, 10)], duration=H))],
            context(),
            at(days=3, minutes=30),
            at(days=3, hours=1),
            id="recurring-run-ends",
        ),
        pytest.param(
            [(1, tx(1, [(0, 6), (600, 16)], kind="Relative"))],
            context(transactions={1: at(minutes=-5)}),
            T0,
            at(minutes=5),
            id="relative-from-transaction",
        ),
        pytest.param(
            [(1, tx_default(1, [(0, 6), (600, 16)], kind="Relative"))],
            context(),
            T0,
            None,
            id="relative-without-transaction",
        ),
        pytest.param(
            [(2, tx_default(1, [(0, 6), (600, 16)]))],
            context(),
            T0,
            None,
            id="other-connector-ignored",
        ),
        pytest.param(
            [(0, cp_max(1, [(0, 6), (600, 16)]))], context(), T0, at(minutes=10), id="cp-max"
        ),
        pytest.param(
            [(1, tx_default(periods=[(0, 16), (600, 10)]))],
            context(offline=True, ignored_purposes_offline=["TxDefaultProfile"]),
            T0,
            None,
            id="ignored-offline",
        ),
    ],
)
def test_next_change_after(items, ctx, when, expected):
    assert installed(*items).next_change_after(1, when, ctx) == expected


def test_next_change_after_on_connector_0_sees_every_connector():
    profiles = installed(
        (2, tx_default(1, [(0, 6), (1200, 16)])), (0, cp_max(2, [(0, 6), (600, 16)]))
    )
    ctx = context(3)
    assert profiles.next_change_after(0, T0, ctx) == at(minutes=10)
    assert profiles.next_change_after(0, at(minutes=10), ctx) == at(minutes=20)
    assert profiles.next_change_after(1, at(minutes=10), ctx) is None


def test_next_change_after_unknown_connector():
    assert installed((1, tx_default())).next_change_after(5, T0, context()) is None


def test_walking_the_boundaries_reproduces_the_composite():
    """An actor arming one timer per boundary sees exactly the composite's changes."""
    ctx = context(transactions={1: at(-0.5)})
    profiles = installed(
        (0, daily(1, "ChargePointMaxProfile", [(0, 40), (61200, 20), (79200, 40)])),
        (0, daily(2, "TxDefaultProfile", SPEC_DAILY, unit="W", start=at(days=-30))),
        (1, tx(3, [(0, 6), (3600, 32)], kind="Relative", duration=6 * H)),
        (1, tx_default(4, [(0, 10)], stack=1, valid_from=at(13), valid_to=at(14, minutes=30))),
    )
    end = T0 + timedelta(days=2)
    seen = [(T0, profiles.limit_at(1, T0, ctx).value)]
    moment = T0
    while (moment := profiles.next_change_after(1, moment, ctx)) is not None and moment < end:
        value = profiles.limit_at(1, moment, ctx).value
        if value != seen[-1][1]:
            seen.append((moment, value))
    schedule = profiles.composite(1, T0, 2 * DAY, "A", ctx)
    assert [(int((t - T0).total_seconds()), v) for t, v in seen] == table(schedule)


# --- GetCompositeSchedule.req ---------------------------------------------------------------


def test_get_composite_schedule_accepted():
    now = at(9, seconds=12.345)
    answer = spec_daily().get_composite_schedule(
        GetCompositeScheduleRequest(connector_id=1, duration=3600, charging_rate_unit="W"),
        now,
        context(),
    )
    assert answer.status == GetCompositeScheduleStatus.Accepted
    assert answer.connector_id == 1
    assert answer.schedule_start == at(9, seconds=12)  # cut to the second
    assert table(answer.charging_schedule) == [(0, Decimal(6000))]
    assert answer.charging_schedule.duration == 3600
    # what goes on the wire is valid against the official schema
    payload = codec.encode(answer)
    assert payload["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 6000, "numberPhases": 3}
    ]
    assert "startSchedule" not in payload["chargingSchedule"]
    assert codec.decode(GetCompositeScheduleResponse, payload) == answer


def test_get_composite_schedule_default_unit_and_duration_cap():
    ctx = context(allowed_units=["W", "A"], max_composite_duration=600)
    answer = spec_daily().get_composite_schedule(
        GetCompositeScheduleRequest(connector_id=0, duration=86400), at(7, minutes=55), ctx
    )
    assert answer.charging_schedule.charging_rate_unit == W
    assert answer.charging_schedule.duration == 600
    assert table(answer.charging_schedule) == [(0, Decimal(22000)), (300, Decimal(12000))]


@pytest.mark.parametrize(
    ("fields", "ctx"),
    [
        pytest.param({"connector_id": 3, "duration": 60}, context(), id="unknown-connector"),
        pytest.param({"connector_id": -1, "duration": 60}, context(), id="negative-connector"),
        pytest.param({"connector_id": 1, "duration": -1}, context(), id="negative-duration"),
        pytest.param(
            {"connector_id": 1, "duration": 60, "charging_rate_unit": "W"},
            context(allowed_units=["A"]),
            id="unit-not-allowed",
        ),
    ],
)
def test_get_composite_schedule_rejected(fields, ctx):
    answer = spec_daily().get_composite_schedule(GetCompositeScheduleRequest(**fields), T0, ctx)
    assert answer == GetCompositeScheduleResponse(status=GetCompositeScheduleStatus.Rejected)
