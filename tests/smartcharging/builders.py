"""Builders for the smart-charging tests: times, profiles, contexts, schedules as tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chargebox.ocpp.v16 import (
    ChargingProfile,
    ChargingSchedule,
    ChargingSchedulePeriod,
    SetChargingProfileRequest,
)
from chargebox.smartcharging import (
    ActiveTransaction,
    ChargingContext,
    ProfileSet,
    SmartChargingSettings,
)

# A Monday, 00:00 UTC: weekly tests rely on it.
T0 = datetime(2024, 5, 6, tzinfo=UTC)
H = 3600
DAY = 86_400
# The daily TxDefaultProfile of spec 3.13.7 (W): 11 kW, 6 kW from 08:00, 11 kW from 20:00.
SPEC_DAILY = ((0, 11000, 3), (28800, 6000, 3), (72000, 11000, 3))


def at(hours: float = 0, *, days: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    """T0 plus an offset."""
    return T0 + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _period(spec: Sequence[Any]) -> ChargingSchedulePeriod:
    start, limit, *rest = spec
    return ChargingSchedulePeriod(
        start_period=start, limit=Decimal(str(limit)), number_phases=rest[0] if rest else None
    )


_UNSET: Any = object()


def profile(
    id: int = 1,
    purpose: str = "TxDefaultProfile",
    kind: str = "Absolute",
    periods: Iterable[Sequence[Any]] = ((0, 16),),
    *,
    unit: str = "A",
    stack: int = 0,
    start: datetime | None = _UNSET,
    duration: int | None = None,
    recurrency: str | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    transaction_id: int | None = None,
    min_rate: str | None = None,
) -> ChargingProfile:
    """A charging profile; `periods` are (startPeriod, limit[, numberPhases]).

    startSchedule defaults to T0, except for Relative profiles, which have none.
    """
    if start is _UNSET:
        start = None if kind == "Relative" else T0
    return ChargingProfile(
        charging_profile_id=id,
        stack_level=stack,
        charging_profile_purpose=purpose,
        charging_profile_kind=kind,
        recurrency_kind=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=transaction_id,
        charging_schedule=ChargingSchedule(
            charging_rate_unit=unit,
            start_schedule=start,
            duration=duration,
            min_charging_rate=None if min_rate is None else Decimal(min_rate),
            charging_schedule_period=[_period(p) for p in periods],
        ),
    )


def tx_default(id: int = 1, periods: Iterable[Sequence[Any]] = ((0, 16),), **kw: Any):
    return profile(id, "TxDefaultProfile", kw.pop("kind", "Absolute"), periods, **kw)


def tx(id: int = 1, periods: Iterable[Sequence[Any]] = ((0, 16),), **kw: Any):
    return profile(id, "TxProfile", kw.pop("kind", "Absolute"), periods, **kw)


def cp_max(id: int = 1, periods: Iterable[Sequence[Any]] = ((0, 32),), **kw: Any):
    return profile(id, "ChargePointMaxProfile", kw.pop("kind", "Absolute"), periods, **kw)


def daily(id: int, purpose: str, periods: Iterable[Sequence[Any]], **kw: Any) -> ChargingProfile:
    return profile(id, purpose, "Recurring", periods, recurrency="Daily", **kw)


def weekly(id: int, purpose: str, periods: Iterable[Sequence[Any]], **kw: Any) -> ChargingProfile:
    return profile(id, purpose, "Recurring", periods, recurrency="Weekly", **kw)


def context(
    connectors: int = 2,
    transactions: Mapping[int, ActiveTransaction | datetime] | None = None,
    *,
    remote_start: bool = False,
    offline: bool = False,
    **settings: Any,
) -> ChargingContext:
    """A context; a transaction given as a datetime gets the id 100 + connector."""
    running = {
        connector: value
        if isinstance(value, ActiveTransaction)
        else ActiveTransaction(value, 100 + connector)
        for connector, value in (transactions or {}).items()
    }
    return ChargingContext(
        number_of_connectors=connectors,
        transactions=running,
        remote_start=remote_start,
        offline=offline,
        settings=SmartChargingSettings(**settings),
    )


def installed(*items: tuple[int, ChargingProfile]) -> ProfileSet:
    return ProfileSet.of(*items)


def request(connector: int, charging_profile: ChargingProfile) -> SetChargingProfileRequest:
    return SetChargingProfileRequest(connector_id=connector, cs_charging_profiles=charging_profile)


def table(schedule: ChargingSchedule, phases: bool = False) -> list[tuple]:
    """The periods of a schedule as (startPeriod, limit) or (startPeriod, limit, numberPhases)."""
    if phases:
        return [
            (p.start_period, p.limit, p.number_phases) for p in schedule.charging_schedule_period
        ]
    return [(p.start_period, p.limit) for p in schedule.charging_schedule_period]


def expect(rows: Iterable[Sequence[Any]]) -> list[tuple]:
    """Expected table rows with limits written as ints or strings, as exact decimals."""
    return [(row[0], Decimal(str(row[1])), *row[2:]) for row in rows]
