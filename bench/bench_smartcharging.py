"""Smart charging: microseconds per composite schedule, per limit and per next boundary.

Measured in one run:
  stacked     connector 1: three stacked TxDefaultProfiles (Absolute, Daily, Weekly),
              24 periods each, over 24 hours, in A, one of them in W
  station     connector 0 of a 10-connector station: every connector with its own
              24-period TxDefaultProfile over connector 0's shared one, half of them
              with a TxProfile of 24 periods, all capped by a 24-period
              ChargePointMaxProfile in W; the sum over 10 connectors over 24 hours
  limit_at / next_change_after on both: what the actor calls at each boundary

Run: python bench/bench_smartcharging.py [--seconds S]
"""

from __future__ import annotations

import argparse
import timeit
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chargebox.ocpp.v16 import ChargingProfile, ChargingSchedule, ChargingSchedulePeriod
from chargebox.smartcharging import ActiveTransaction, ChargingContext, ProfileSet

START = datetime(2024, 5, 6, 0, 0, 30, tzinfo=UTC)  # a Monday, just after midnight
DAY = 86_400


def periods(low: int, high: int, offset: int = 0, seed: int = 0) -> list[ChargingSchedulePeriod]:
    """24 hourly periods (the first at 0, the others shifted by `offset` seconds), their
    limits spread between `low` and `high` in tenths."""
    return [
        ChargingSchedulePeriod(
            start_period=0 if n == 0 else n * 3600 + offset,
            limit=(Decimal(low) + Decimal(high - low) * ((n * 7 + seed) % 13) / 12).quantize(
                Decimal("0.1")
            ),
        )
        for n in range(24)
    ]


def profile(
    profile_id: int,
    purpose: str,
    kind: str,
    stack: int,
    unit: str,
    schedule_periods: list[ChargingSchedulePeriod],
    start: datetime | None = None,
    **extra: object,
) -> ChargingProfile:
    return ChargingProfile(
        charging_profile_id=profile_id,
        stack_level=stack,
        charging_profile_purpose=purpose,
        charging_profile_kind=kind,
        recurrency_kind=extra.pop("recurrency", None),
        charging_schedule=ChargingSchedule(
            charging_rate_unit=unit,
            start_schedule=start,
            charging_schedule_period=schedule_periods,
            duration=extra.pop("duration", None),
        ),
        **extra,
    )


def stacked() -> tuple[ProfileSet, ChargingContext]:
    """Three stacked TxDefaultProfiles, 24 periods each: Absolute (A) all day, Daily (W)
    from 04:00 for 20 hours, Weekly (A) on Mondays 02:00-08:00."""
    profiles = ProfileSet.of(
        (1, profile(1, "TxDefaultProfile", "Absolute", 0, "A", periods(6, 32), START)),
        (
            1,
            profile(
                2,
                "TxDefaultProfile",
                "Recurring",
                1,
                "W",
                periods(4000, 11000, 600, 3),
                START - timedelta(days=30, hours=-4),
                recurrency="Daily",
                duration=20 * 3600,
            ),
        ),
        (
            1,
            profile(
                3,
                "TxDefaultProfile",
                "Recurring",
                2,
                "A",
                periods(6, 20, 120, 5),
                START - timedelta(days=70, hours=-2),
                recurrency="Weekly",
                duration=6 * 3600,
            ),
        ),
    )
    return profiles, ChargingContext(number_of_connectors=1)


def station() -> tuple[ProfileSet, ChargingContext]:
    """10 connectors: a 24-period ChargePointMaxProfile (W) and a Daily TxDefaultProfile on
    connector 0; on each connector its own 24-period TxDefaultProfile for 18 hours and,
    on every second one, a running transaction with a 24-period Relative TxProfile."""
    items = [
        (0, profile(1, "ChargePointMaxProfile", "Absolute", 0, "W", periods(60000, 160000), START)),
        (
            0,
            profile(
                2,
                "TxDefaultProfile",
                "Recurring",
                0,
                "A",
                periods(6, 16, 0, 1),
                START - timedelta(days=9),
                recurrency="Daily",
            ),
        ),
    ]
    transactions = {}
    for connector in range(1, 11):
        items.append(
            (
                connector,
                profile(
                    10 + connector,
                    "TxDefaultProfile",
                    "Absolute",
                    1,
                    "A",
                    periods(6, 32, 60 * connector, connector),
                    START,
                    duration=18 * 3600,
                ),
            )
        )
        if connector % 2 == 0:
            transactions[connector] = ActiveTransaction(START - timedelta(minutes=50), connector)
            items.append(
                (
                    connector,
                    profile(
                        20 + connector,
                        "TxProfile",
                        "Relative",
                        0,
                        "A",
                        periods(6, 32, 30 * connector, 2 * connector),
                    ),
                )
            )
    context = ChargingContext(number_of_connectors=10, transactions=transactions)
    return ProfileSet.of(*items), context


def per_call(function, seconds: float) -> float:
    """Best microseconds per call over 5 repeats of about `seconds` / 5 each."""
    timer = timeit.Timer(function)
    number, elapsed = timer.autorange()
    number = max(1, int(number * (seconds / 5) / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def measure(
    name: str, profiles: ProfileSet, context: ChargingContext, connector: int, seconds: float
) -> tuple[str, int, float, float, float]:
    """(case, periods in the composite, us per composite, per limit_at, per next_change_after)."""
    schedule = profiles.composite(connector, START, DAY, "A", context)
    middle = START + timedelta(hours=13, minutes=7)
    return (
        name,
        len(schedule.charging_schedule_period),
        per_call(lambda: profiles.composite(connector, START, DAY, "A", context), seconds),
        per_call(lambda: profiles.limit_at(connector, middle, context), seconds),
        per_call(lambda: profiles.next_change_after(connector, middle, context), seconds),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()

    rows = [
        measure("stacked (3 x 24 periods, connector 1)", *stacked(), 1, args.seconds),
        measure("station (10 connectors, connector 0)", *station(), 0, args.seconds),
    ]
    print(f"{'case':40} {'periods out':>11} {'composite':>12} {'limit_at':>10} {'next_change':>12}")
    for name, count, composite, limit, boundary in rows:
        print(f"{name:40} {count:>11} {composite:>9.1f} us {limit:>7.1f} us {boundary:>9.1f} us")
    print(f"station / stacked composite: {rows[1][2] / rows[0][2]:.1f}x")


if __name__ == "__main__":
    main()
