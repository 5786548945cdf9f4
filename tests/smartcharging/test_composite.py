"""Composite schedules: one row per situation, the expected periods worked out by hand.

Unless a row says otherwise: T0 is Monday 2024-05-06 00:00 UTC, SupplyVoltage
230 V, 3 phases, default limits 48 A / 33120 W, two connectors, and the
schedule asked for is connector 1's from T0 for one hour in amperes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargebox.ocpp.v16 import ChargingRateUnitType, ClearChargingProfileRequest

from .builders import (
    DAY,
    SPEC_DAILY,
    T0,
    H,
    at,
    context,
    cp_max,
    daily,
    expect,
    installed,
    profile,
    request,
    table,
    tx,
    tx_default,
    weekly,
)

ON_1 = {1: at(-0.5)}  # a transaction on connector 1 since 23:30 the day before (id 101)


def case(name, items, expected, *, connector=1, start=T0, duration=H, unit="A", ctx=None):
    return pytest.param(
        items, ctx or context(), connector, start, duration, unit, expected, id=name
    )


WEEK_PERIODS = [
    # Monday 00:00 based: full power (32 A) on weekdays 23:00-06:00 and all weekend,
    # reduced (10 A) otherwise: the example of spec 3.13.2.
    (0, 32),
    (6 * H, 10),
    (23 * H, 32),
    (DAY + 6 * H, 10),
    (DAY + 23 * H, 32),
    (2 * DAY + 6 * H, 10),
    (2 * DAY + 23 * H, 32),
    (3 * DAY + 6 * H, 10),
    (3 * DAY + 23 * H, 32),
    (4 * DAY + 6 * H, 10),
    (4 * DAY + 23 * H, 32),
]
SPEC_DAILY_START = datetime(2013, 1, 1, tzinfo=UTC)

CASES = [
    # --- nothing installed: the default limits --------------------------------------
    case("no-profiles-amps", [], [(0, 48)]),
    case("no-profiles-watts", [], [(0, 33120)], unit="W"),
    # --- one Absolute profile ---------------------------------------------------------
    case("absolute-forever", [(1, tx_default())], [(0, 16)]),
    case(
        "absolute-three-periods",
        [(1, tx_default(periods=[(0, 16), (1800, 10), (2700, 20)]))],
        [(0, 16), (1800, 10), (2700, 20)],
    ),
    case(
        "absolute-starts-later",
        [(1, tx_default(start=at(1)))],
        [(0, 48), (3600, 16)],
        duration=2 * H,
    ),
    case(
        "absolute-window-starts-mid-period",
        [(1, tx_default(periods=[(0, 16), (1800, 10), (3600, 20)]))],
        [(0, 10), (900, 20)],
        start=at(minutes=45),
    ),
    case("absolute-duration-ends-inside", [(1, tx_default(duration=1800))], [(0, 16), (1800, 48)]),
    case("absolute-ended-before", [(1, tx_default(start=at(-2), duration=H))], [(0, 48)]),
    case("absolute-starts-after-window", [(1, tx_default(start=at(2)))], [(0, 48)]),
    case("schedule-duration-zero-never-applies", [(1, tx_default(duration=0))], [(0, 48)]),
    case("composite-duration-zero", [(1, tx_default())], [(0, 16)], duration=0),
    case(
        "periods-beyond-duration-dropped",
        [(1, tx_default(periods=[(0, 16), (7200, 10)], duration=H))],
        [(0, 16), (3600, 48)],
        duration=3 * H,
    ),
    case(
        "equal-adjacent-periods-merged",
        [(1, tx_default(periods=[(0, 16), (600, 16), (1200, 10)]))],
        [(0, 16), (1200, 10)],
    ),
    case(
        "number-phases-carried",
        [(1, tx_default(periods=[(0, 16, 1), (1800, 16, 3)]))],
        [(0, 16, 1), (1800, 16, 3)],
    ),
    # --- validFrom / validTo ------------------------------------------------------------
    case("valid-from-in-future", [(1, tx_default(valid_from=at(0.5)))], [(0, 48), (1800, 16)]),
    case(
        "valid-to-in-middle-of-period",
        [(1, tx_default(periods=[(0, 16), (3600, 10)], valid_to=at(0.5)))],
        [(0, 16), (1800, 48)],
        duration=2 * H,
    ),
    case(
        "validity-window-inside",
        [(1, tx_default(valid_from=at(0.25), valid_to=at(0.75)))],
        [(0, 48), (900, 16), (2700, 48)],
    ),
    case("valid-to-before-window", [(1, tx_default(valid_to=at(-1)))], [(0, 48)]),
    # --- stacking within one purpose (3.13.2) -----------------------------------------
    case(
        "higher-stack-wins-even-with-higher-limit",
        [(1, tx_default(1, [(0, 10)])), (1, tx_default(2, [(0, 20)], stack=1))],
        [(0, 20)],
    ),
    case(
        "higher-stack-duration-falls-back",
        [(1, tx_default(1, [(0, 10)])), (1, tx_default(2, [(0, 20)], stack=1, duration=1800))],
        [(0, 20), (1800, 10)],
    ),
    case(
        "higher-stack-not-valid-yet",
        [(1, tx_default(1, [(0, 10)])), (1, tx_default(2, [(0, 20)], stack=1, valid_from=at(0.5)))],
        [(0, 10), (1800, 20)],
    ),
    case(
        "higher-stack-valid-to",
        [(1, tx_default(1, [(0, 10)])), (1, tx_default(2, [(0, 20)], stack=1, valid_to=at(0.5)))],
        [(0, 20), (1800, 10)],
    ),
    case(
        "three-overlapping-stack-levels",
        [
            (1, tx_default(1, [(0, 32)])),
            (1, tx_default(2, [(0, 16)], stack=1, start=at(1), duration=2 * H)),
            (1, tx_default(3, [(0, 8)], stack=2, start=at(1.5), duration=1800)),
        ],
        [(0, 32), (3600, 16), (5400, 8), (7200, 16), (10800, 32)],
        duration=4 * H,
    ),
    case(
        "top-stack-without-duration-never-falls-back",
        [(1, tx_default(1, [(0, 32)])), (1, tx_default(2, [(0, 16)], stack=1, start=at(1)))],
        [(0, 32), (3600, 16)],
        duration=4 * H,
    ),
    case(
        "lower-stack-around-higher",
        [
            (1, tx_default(1, [(0, 16)], duration=3 * H)),
            (1, tx_default(2, [(0, 8)], stack=1, start=at(1), duration=H)),
        ],
        [(0, 16), (3600, 8), (7200, 16), (10800, 48)],
        duration=4 * H,
    ),
    case(
        "gap-between-profiles-gets-default",
        [
            (1, tx_default(1, [(0, 16)], duration=1800)),
            (1, tx_default(2, [(0, 10)], stack=1, start=at(1), duration=1800)),
        ],
        [(0, 16), (1800, 48), (3600, 10), (5400, 48)],
        duration=2 * H,
    ),
    case(
        "gap-between-profiles-gets-default-watts",
        [
            (1, tx_default(1, [(0, 16)], duration=1800)),
            (1, tx_default(2, [(0, 10)], stack=1, start=at(1), duration=1800)),
        ],
        [(0, 11040), (1800, 33120), (3600, 6900), (5400, 33120)],
        duration=2 * H,
        unit="W",
    ),
    # --- TxProfile over TxDefaultProfile (3.13.1) ---------------------------------------
    case(
        "tx-profile-overrides-default",
        [(1, tx_default(1, [(0, 10)])), (1, tx(2, [(0, 20)]))],
        [(0, 20)],
        ctx=context(transactions=ON_1),
    ),
    case(
        "tx-profile-without-transaction-does-not-apply",
        [(1, tx_default(1, [(0, 10)])), (1, tx(2, [(0, 20)]))],
        [(0, 10)],
    ),
    case(
        "tx-profile-duration-falls-back-to-default",
        [(1, tx_default(1, [(0, 10)])), (1, tx(2, [(0, 20)], duration=1800))],
        [(0, 20), (1800, 10)],
        ctx=context(transactions=ON_1),
    ),
    case(
        "tx-profile-of-another-transaction",
        [(1, tx_default(1, [(0, 10)])), (1, tx(2, [(0, 20)], transaction_id=999))],
        [(0, 10)],
        ctx=context(transactions=ON_1),
    ),
    case(
        "tx-profile-of-this-transaction",
        [(1, tx_default(1, [(0, 10)])), (1, tx(2, [(0, 20)], transaction_id=101))],
        [(0, 20)],
        ctx=context(transactions=ON_1),
    ),
    case(
        "two-tx-profiles-stacked",
        [(1, tx(1, [(0, 20)])), (1, tx(2, [(0, 12)], stack=1, duration=1800))],
        [(0, 12), (1800, 20)],
        ctx=context(transactions=ON_1),
    ),
    # --- Relative: from the start of the transaction ----------------------------------
    case(
        "relative-tx-profile-from-transaction-start",
        [(1, tx(1, [(0, 6), (3600, 16)], kind="Relative"))],
        [(0, 6), (1800, 16)],
        ctx=context(transactions=ON_1),
    ),
    case(
        "relative-tx-default-from-transaction-start",
        [(0, tx_default(1, [(0, 6), (3600, 16)], kind="Relative"))],
        [(0, 6), (1800, 16)],
        ctx=context(transactions=ON_1),
    ),
    case(
        "relative-without-transaction-does-not-apply",
        [(0, tx_default(1, [(0, 6), (3600, 16)], kind="Relative"))],
        [(0, 48)],
    ),
    case(
        "relative-with-duration",
        [(1, tx_default(1, [(0, 6)], kind="Relative", duration=H))],
        [(0, 6), (1800, 48)],
        ctx=context(transactions=ON_1),
    ),
    case(
        "relative-ignores-its-start-schedule",
        [(1, tx_default(1, [(0, 6), (3600, 16)], kind="Relative", start=at(-10)))],
        [(0, 6), (1800, 16)],
        ctx=context(transactions=ON_1),
    ),
    # --- TxDefaultProfile on connector 0 (3.13.1) ---------------------------------------
    case("tx-default-on-0-applies-to-1", [(0, tx_default())], [(0, 16)]),
    case("tx-default-on-0-applies-to-2", [(0, tx_default())], [(0, 16)], connector=2),
    case(
        "connector-profile-same-stack-replaces-0-for-it",
        [(0, tx_default(1, [(0, 16)])), (1, tx_default(2, [(0, 10)]))],
        [(0, 10)],
    ),
    case(
        "connector-profile-same-stack-leaves-others",
        [(0, tx_default(1, [(0, 16)])), (1, tx_default(2, [(0, 10)]))],
        [(0, 16)],
        connector=2,
    ),
    case(
        "connector-0-higher-stack-still-wins",
        [(0, tx_default(1, [(0, 16)], stack=1)), (1, tx_default(2, [(0, 10)]))],
        [(0, 16)],
    ),
    case(
        "connector-profile-ends-falls-back-to-0",
        [(0, tx_default(1, [(0, 16)])), (1, tx_default(2, [(0, 10)], duration=1800))],
        [(0, 10), (1800, 16)],
    ),
    # --- ChargePointMaxProfile (3.13.3) -------------------------------------------------
    case("cp-max-alone", [(0, cp_max())], [(0, 32)]),
    case(
        "cp-max-below-tx-default",
        [(0, cp_max(1, [(0, 20)])), (1, tx_default(2, [(0, 32)]))],
        [(0, 20)],
    ),
    case(
        "tx-default-below-cp-max",
        [(0, cp_max(1, [(0, 32)])), (1, tx_default(2, [(0, 16)]))],
        [(0, 16)],
    ),
    case(
        "cp-max-and-tx-profile-minimum-per-interval",
        [
            (0, cp_max(1, [(0, 20), (1800, 10), (3600, 25)])),
            (1, tx(2, [(0, 16), (2700, 22), (4500, 12)])),
        ],
        [(0, 16), (1800, 10), (3600, 22), (4500, 12)],
        duration=2 * H,
        ctx=context(transactions=ON_1),
    ),
    case(
        "cp-max-stacked-highest-wins",
        [(0, cp_max(1, [(0, 10)])), (0, cp_max(2, [(0, 40)], stack=1, duration=1800))],
        [(0, 40), (1800, 10)],
    ),
    case(
        "cp-max-watts-tx-amps",
        [(0, cp_max(1, [(0, 11000)], unit="W")), (1, tx(2, [(0, 16)]))],
        [(0, "15.9")],
        ctx=context(transactions=ON_1),
    ),
    case(
        "cp-max-watts-tx-amps-asked-in-watts",
        [(0, cp_max(1, [(0, 11000)], unit="W")), (1, tx(2, [(0, 16)]))],
        [(0, 11000)],
        unit="W",
        ctx=context(transactions=ON_1),
    ),
    case(
        "cp-max-watts-one-phase",
        [(0, cp_max(1, [(0, 3680, 1)], unit="W")), (1, tx_default(2, [(0, 20)]))],
        [(0, 16, 1)],
    ),
    case(
        "mixed-units-in-one-stack",
        [
            (1, tx_default(1, [(0, 16)])),
            (1, tx_default(2, [(0, 7360)], unit="W", stack=1, duration=1800)),
        ],
        [(0, "10.6"), (1800, 16)],
    ),
    # --- Recurring Daily --------------------------------------------------------------
    case(
        "spec-example-daily-watts",
        [
            (
                0,
                daily(
                    1,
                    "TxDefaultProfile",
                    SPEC_DAILY,
                    unit="W",
                    start=SPEC_DAILY_START,
                    duration=DAY,
                ),
            )
        ],
        [(0, 11000, 3), (28800, 6000, 3), (72000, 11000, 3)],
        duration=DAY,
        unit="W",
    ),
    case(
        "spec-example-daily-amps",
        [
            (
                0,
                daily(
                    1,
                    "TxDefaultProfile",
                    SPEC_DAILY,
                    unit="W",
                    start=SPEC_DAILY_START,
                    duration=DAY,
                ),
            )
        ],
        [(0, "15.9", 3), (28800, "8.6", 3), (72000, "15.9", 3)],
        duration=DAY,
    ),
    case(
        "daily-across-midnight",
        [
            (
                0,
                daily(
                    1,
                    "TxDefaultProfile",
                    SPEC_DAILY,
                    unit="W",
                    start=SPEC_DAILY_START,
                    duration=DAY,
                ),
            )
        ],
        [(0, 6000, 3), (7200, 11000, 3), (50400, 6000, 3)],
        start=at(18),
        duration=16 * H,
        unit="W",
    ),
    case(
        "daily-started-years-ago-at-22h",
        [
            (
                1,
                daily(
                    1,
                    "TxDefaultProfile",
                    [(0, 10), (7200, 20)],
                    start=datetime(2020, 2, 29, 22, tzinfo=UTC),
                ),
            )
        ],
        [(0, 20), (3600, 10), (10800, 20)],
        start=at(21),
        duration=4 * H,
    ),
    case(
        "daily-shorter-than-a-day-falls-back-to-lower-stack",
        [
            (1, tx_default(1, [(0, 16)])),
            (
                1,
                daily(
                    2,
                    "TxDefaultProfile",
                    [(0, 32)],
                    stack=1,
                    start=datetime(2024, 5, 1, 23, tzinfo=UTC),
                    duration=7 * H,
                ),
            ),
        ],
        [(0, 32), (21600, 16), (82800, 32)],
        duration=DAY,
    ),
    case(
        "daily-shorter-than-a-day-falls-back-to-default",
        [
            (
                1,
                daily(
                    2,
                    "TxDefaultProfile",
                    [(0, 32)],
                    start=datetime(2024, 5, 1, 23, tzinfo=UTC),
                    duration=7 * H,
                ),
            )
        ],
        [(0, 32), (21600, 48), (82800, 32)],
        duration=DAY,
    ),
    case(
        "daily-starting-in-future",
        [(1, daily(1, "TxDefaultProfile", [(0, 10)], start=at(2)))],
        [(0, 48), (7200, 10)],
        duration=4 * H,
    ),
    case(
        "daily-periods-beyond-a-day-not-executed",
        [(1, daily(1, "TxDefaultProfile", [(0, 10), (43200, 20), (90000, 5)], duration=100_000))],
        [(0, 20), (14400, 10)],
        start=at(20),
        duration=8 * H,
    ),
    case(
        "daily-valid-to-mid-day",
        [
            (
                1,
                daily(
                    1,
                    "TxDefaultProfile",
                    [(0, 10), (43200, 20)],
                    start=at(days=-10),
                    valid_to=at(15),
                ),
            )
        ],
        [(0, 10), (43200, 20), (54000, 48)],
        duration=DAY,
    ),
    case(
        "daily-over-three-days",
        [
            (
                1,
                daily(
                    1,
                    "TxDefaultProfile",
                    [(0, 10), (28800, 20)],
                    start=datetime(2024, 1, 1, tzinfo=UTC),
                    duration=36000,
                ),
            )
        ],
        [
            (0, 10),
            (28800, 20),
            (36000, 48),
            (86400, 10),
            (115200, 20),
            (122400, 48),
            (172800, 10),
            (201600, 20),
            (208800, 48),
        ],
        duration=3 * DAY,
    ),
    case(
        "daily-cp-max-with-tx-default",
        [
            (
                0,
                daily(
                    1,
                    "ChargePointMaxProfile",
                    [(0, 40), (61200, 20), (79200, 40)],
                    start=datetime(2024, 1, 1, tzinfo=UTC),
                ),
            ),
            (0, tx_default(2, [(0, 32)])),
        ],
        [(0, 32), (61200, 20), (79200, 32)],
        duration=DAY,
    ),
    # --- Recurring Weekly ---------------------------------------------------------------
    case(
        "weekly-spec-example-base",
        [(0, weekly(1, "TxDefaultProfile", WEEK_PERIODS))],
        [(0, 10), (39600, 32), (64800, 10), (126000, 32), (151200, 10)],
        start=at(days=1, hours=12),
        duration=2 * DAY,
    ),
    case(
        "weekly-spec-example-with-holiday-exception",
        [
            (0, weekly(1, "TxDefaultProfile", WEEK_PERIODS)),
            (
                0,
                tx_default(
                    2,
                    [(0, 32)],
                    stack=1,
                    start=at(days=2),
                    valid_from=at(days=2),
                    valid_to=at(days=3),
                ),
            ),
        ],
        [(0, 10), (39600, 32), (151200, 10)],
        start=at(days=1, hours=12),
        duration=2 * DAY,
    ),
    case(
        "weekly-across-week-boundary",
        [(0, weekly(1, "TxDefaultProfile", WEEK_PERIODS, start=datetime(2024, 4, 1, tzinfo=UTC)))],
        [(0, 32), (36000, 10)],
        start=at(days=6, hours=20),
        duration=16 * H,
    ),
    case(
        "weekly-restarts-on-its-weekday",
        [
            (
                1,
                weekly(
                    1,
                    "TxDefaultProfile",
                    [(0, 10), (86400, 20)],
                    start=datetime(2024, 4, 24, 12, tzinfo=UTC),
                ),
            )
        ],
        [(0, 20), (21600, 10)],
        start=at(days=2, hours=6),
        duration=12 * H,
    ),
    case(
        "weekly-duration-shorter-than-a-week",
        [
            (
                1,
                weekly(
                    1,
                    "TxDefaultProfile",
                    [(0, 10)],
                    start=datetime(2024, 4, 29, tzinfo=UTC),
                    duration=DAY,
                ),
            )
        ],
        [(0, 10), (86400, 48)],
        duration=2 * DAY,
    ),
    # --- connector 0: the whole charge point ------------------------------------------
    case("connector-0-no-profiles", [], [(0, 96)], connector=0),
    case("connector-0-no-profiles-watts", [], [(0, 66240)], connector=0, unit="W"),
    case("connector-0-cp-max-caps-defaults", [(0, cp_max(1, [(0, 63)]))], [(0, 63)], connector=0),
    case(
        "connector-0-sums-connector-profiles",
        [(1, tx_default(1, [(0, 10)])), (2, tx_default(2, [(0, 12)]))],
        [(0, 22)],
        connector=0,
    ),
    case(
        "connector-0-ten-times-7.1",
        [(0, tx_default(1, [(0, "7.1")]))],
        [(0, "71.0")],
        connector=0,
        ctx=context(10),
    ),
    case(
        "connector-0-ten-connectors-capped",
        [(0, tx_default(1, [(0, "7.1")])), (0, cp_max(2, [(0, 63)]))],
        [(0, 63)],
        connector=0,
        ctx=context(10),
    ),
    case(
        "connector-0-three-times-7.1-exact",
        [(0, tx_default(1, [(0, "7.1")]))],
        [(0, "21.3")],
        connector=0,
        ctx=context(3),
    ),
    case(
        "connector-0-time-varying-cap",
        [(0, tx_default(1, [(0, 16), (3600, 6)])), (0, cp_max(2, [(0, 100), (1800, 200)]))],
        [(0, 100), (1800, 160), (3600, 60)],
        connector=0,
        duration=2 * H,
        ctx=context(10),
    ),
    case(
        "connector-0-watts-from-amps",
        [(0, tx_default(1, [(0, 16)]))],
        [(0, 22080)],
        connector=0,
        unit="W",
    ),
    case(
        "connector-0-tx-profile-on-one-connector",
        [(0, tx_default(1, [(0, 16)])), (1, tx(2, [(0, 32)]))],
        [(0, 48)],
        connector=0,
        ctx=context(transactions=ON_1),
    ),
    case(
        "connector-0-phases-most-of-any-connector",
        [(1, tx_default(1, [(0, 16, 1)])), (2, tx_default(2, [(0, 16, 3)]))],
        [(0, 32, 3)],
        connector=0,
    ),
    # --- conversion settings ----------------------------------------------------------
    case(
        "supply-voltage-110",
        [(1, tx_default(1, [(0, 3300)], unit="W"))],
        [(0, 10)],
        ctx=context(supply_voltage=110),
    ),
    case(
        "default-number-phases-1",
        [(1, tx_default(1, [(0, 3680)], unit="W"))],
        [(0, 16)],
        ctx=context(default_number_phases=1),
    ),
    case("amps-to-watts-one-phase", [(1, tx_default(1, [(0, 16, 1)]))], [(0, 3680, 1)], unit="W"),
    case(
        "other-default-limits",
        [],
        [(0, 20)],
        ctx=context(default_limit_amps=20),
    ),
    # --- offline (IgnoredProfilePurposesOffline) ----------------------------------------
    case(
        "offline-ignores-purpose",
        [(0, cp_max(1, [(0, 32)])), (1, tx_default(2, [(0, 16)]))],
        [(0, 32)],
        ctx=context(offline=True, ignored_purposes_offline=["TxDefaultProfile"]),
    ),
    case(
        "online-keeps-purpose",
        [(0, cp_max(1, [(0, 32)])), (1, tx_default(2, [(0, 16)]))],
        [(0, 16)],
        ctx=context(ignored_purposes_offline=["TxDefaultProfile"]),
    ),
    # --- changes inside a second: the lower limit gets the second -----------------------
    case(
        "sub-second-decrease-reported-early",
        [
            (1, tx_default(1, [(0, 20)])),
            (1, tx_default(2, [(0, 10)], stack=1, start=at(seconds=10.5))),
        ],
        [(0, 20), (10, 10)],
        duration=60,
    ),
    case(
        "sub-second-increase-reported-late",
        [
            (1, tx_default(1, [(0, 20)])),
            (1, tx_default(2, [(0, 10)], stack=1, valid_to=at(seconds=10.5))),
        ],
        [(0, 10), (11, 20)],
        duration=60,
    ),
]


@pytest.mark.parametrize(
    ("items", "ctx", "connector", "start", "duration", "unit", "expected"), CASES
)
def test_composite(items, ctx, connector, start, duration, unit, expected):
    schedule = installed(*items).composite(connector, start, duration, unit, ctx)
    assert schedule is not None
    with_phases = any(len(row) == 3 for row in expected)
    assert table(schedule, phases=with_phases) == expect(expected)
    assert schedule.duration == duration
    assert schedule.charging_rate_unit == ChargingRateUnitType(unit)
    assert schedule.start_schedule is None  # errata 3.57


def test_there_are_at_least_sixty_cases():
    assert len(CASES) >= 60


def test_replaced_profile_with_future_valid_from_reverts_to_default():
    """3.13.2: an updated profile (same stackLevel and purpose) valid from later replaces
    the installed one at once; until validFrom the station has its default behaviour."""
    ctx = context()
    old = tx_default(1, [(0, 10)])
    new = tx_default(2, [(0, 20)], valid_from=at(0.5))
    profiles = installed((1, old))
    assert table(profiles.composite(1, T0, H, "A", ctx)) == expect([(0, 10)])
    outcome = profiles.set_charging_profile(request(1, new), T0, ctx)
    assert outcome.verdict.accepted
    assert [item.id for item in outcome.replaced] == [1]
    assert table(outcome.profiles.composite(1, T0, H, "A", ctx)) == expect([(0, 48), (1800, 20)])


def test_new_tx_default_applies_to_running_transaction():
    """Errata 3.8: a transaction without a TxProfile switches to a new TxDefaultProfile."""
    ctx = context(transactions=ON_1)
    profiles = installed((0, tx_default(1, [(0, 16)])))
    outcome = profiles.set_charging_profile(request(0, tx_default(2, [(0, 8)], stack=1)), T0, ctx)
    assert table(outcome.profiles.composite(1, T0, H, "A", ctx)) == expect([(0, 8)])
    cleared = outcome.profiles.clear(ClearChargingProfileRequest(id=2))
    assert table(cleared.profiles.composite(1, T0, H, "A", ctx)) == expect([(0, 16)])


def test_tx_profile_from_remote_start_applies_once_transaction_runs():
    """5.16.2: the TxProfile of a RemoteStartTransaction.req applies to its transaction."""
    profile_ = tx(5, [(0, 6), (600, 12)], kind="Relative")
    outcome = installed().set_charging_profile(request(1, profile_), T0, context(remote_start=True))
    assert outcome.verdict.accepted
    idle = outcome.profiles.composite(1, T0, H, "A", context())
    assert table(idle) == expect([(0, 48)])
    running = outcome.profiles.composite(1, T0, H, "A", context(transactions={1: at(minutes=5)}))
    assert table(running) == expect([(0, 48), (300, 6), (900, 12)])


def test_unknown_connector_has_no_composite():
    assert installed().composite(3, T0, H, "A", context()) is None
    assert installed().composite(-1, T0, H, "A", context()) is None


def test_profile_fields_are_not_needed_in_exact_types():
    """Profiles built from plain strings (as a program may) behave like decoded ones."""
    item = profile(1, "TxDefaultProfile", "Recurring", [(0, "7.1")], recurrency="Daily")
    assert table(installed((1, item)).composite(1, T0, H, "A", context())) == expect([(0, "7.1")])
