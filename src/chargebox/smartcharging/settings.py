"""The plain inputs of the smart-charging core: its settings and the station's situation.

`SmartChargingSettings` holds the configuration keys the core reads, as plain
values (the configuration layer fills it; this package never reads a file).
`ChargingContext` tells a call what the station looks like at that moment: how
many connectors it has, which transactions run where and since when, whether
the profile comes inside a RemoteStartTransaction.req, whether the link is
offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from chargebox.ocpp.v16 import ChargingProfilePurposeType, ChargingRateUnitType

ALL_PURPOSES = frozenset(ChargingProfilePurposeType)

# ChargingScheduleAllowedChargingRateUnit speaks of quantities, the schedules of
# units (errata 3.88: 'Current' means A, 'Power' means W).
_QUANTITY_UNITS = {"current": ChargingRateUnitType.A, "power": ChargingRateUnitType.W}


def parse_rate_units(text: str) -> tuple[ChargingRateUnitType, ...]:
    """The units of a ChargingScheduleAllowedChargingRateUnit value ("Current,Power"), in order."""
    units: list[ChargingRateUnitType] = []
    for item in text.split(","):
        name = item.strip()
        if not name:
            continue
        try:
            unit = _QUANTITY_UNITS[name.lower()]
        except KeyError:
            raise ValueError(
                f"ChargingScheduleAllowedChargingRateUnit: {name!r} is not Current or Power"
            ) from None
        if unit not in units:
            units.append(unit)
    return tuple(units)


def parse_purposes(text: str) -> frozenset[ChargingProfilePurposeType]:
    """The purposes of a comma-separated list such as IgnoredProfilePurposesOffline."""
    purposes = set()
    for item in text.split(","):
        name = item.strip()
        if not name:
            continue
        try:
            purposes.add(ChargingProfilePurposeType(name))
        except ValueError:
            allowed = ", ".join(ChargingProfilePurposeType)
            raise ValueError(f"{name!r} is not a charging profile purpose ({allowed})") from None
    return frozenset(purposes)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _at_least(minimum: int | Decimal, *, strict: bool = False) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value < minimum or (strict and value == minimum):
            relation = ">" if strict else ">="
            raise ValueError(f"{attribute.name} must be {relation} {minimum} (got {value})")

    return check


def _units(value: Iterable[Any]) -> tuple[ChargingRateUnitType, ...]:
    return tuple(ChargingRateUnitType(unit) for unit in value)


def _purposes(value: Iterable[Any]) -> frozenset[ChargingProfilePurposeType]:
    return frozenset(ChargingProfilePurposeType(purpose) for purpose in value)


def _not_empty(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


@attrs.frozen(kw_only=True)
class SmartChargingSettings:
    """The configuration keys the smart-charging core reads (defaults: libocpp's schema defaults).

    | field | configuration key |
    |---|---|
    | max_stack_level | SmartCharging.ChargeProfileMaxStackLevel |
    | max_profiles_installed | SmartCharging.MaxChargingProfilesInstalled |
    | max_periods | SmartCharging.ChargingScheduleMaxPeriods |
    | allowed_units | SmartCharging.ChargingScheduleAllowedChargingRateUnit (first = default) |
    | supported_purposes | Internal.SupportedChargingProfilePurposeTypes |
    | max_composite_duration | Internal.MaxCompositeScheduleDuration |
    | default_limit_amps / _watts | Internal.CompositeScheduleDefaultLimitAmps / Watts |
    | default_number_phases | Internal.CompositeScheduleDefaultNumberPhases |
    | supply_voltage | Internal.SupplyVoltage |
    | allow_without_start_schedule | Internal.AllowChargingProfileWithoutStartSchedule |
    | ignored_purposes_offline | Internal.IgnoredProfilePurposesOffline |
    """

    # ChargeProfileMaxStackLevel is required and has no schema default; 1000 is
    # the value of libocpp's example configuration.
    max_stack_level: int = attrs.field(default=1000, validator=_at_least(0))
    max_profiles_installed: int = attrs.field(default=500, validator=_at_least(0))
    max_periods: int = attrs.field(default=1440, validator=_at_least(0))
    allowed_units: tuple[ChargingRateUnitType, ...] = attrs.field(
        default=(ChargingRateUnitType.A, ChargingRateUnitType.W),
        converter=_units,
        validator=_not_empty,
    )
    supported_purposes: frozenset[ChargingProfilePurposeType] = attrs.field(
        default=ALL_PURPOSES, converter=_purposes
    )
    max_composite_duration: int = attrs.field(default=31_536_000, validator=_at_least(0))
    default_limit_amps: Decimal = attrs.field(
        default=Decimal(48), converter=_decimal, validator=_at_least(Decimal(0))
    )
    default_limit_watts: Decimal = attrs.field(
        default=Decimal(33120), converter=_decimal, validator=_at_least(Decimal(0))
    )
    default_number_phases: int = attrs.field(
        default=3, validator=[_at_least(1), attrs.validators.le(3)]
    )
    # The configuration allows SupplyVoltage 0, but no A <-> W conversion is
    # possible with it: the layer that builds the settings must refuse it.
    supply_voltage: Decimal = attrs.field(
        default=Decimal(230), converter=_decimal, validator=_at_least(Decimal(0), strict=True)
    )
    allow_without_start_schedule: bool = False
    ignored_purposes_offline: frozenset[ChargingProfilePurposeType] = attrs.field(
        default=frozenset(), converter=_purposes
    )

    def default_limit(self, unit: ChargingRateUnitType) -> Decimal:
        """The limit of a moment no profile limits, in `unit` (never converted: both are keys)."""
        if unit == ChargingRateUnitType.A:
            return self.default_limit_amps
        return self.default_limit_watts


def _aware(instance: Any, attribute: attrs.Attribute, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must be an aware datetime (got {value!r})")


@attrs.frozen
class ActiveTransaction:
    """A transaction running on a connector: when it started, and its id once the CSMS gave one.

    `transaction_id` is None between StartTransaction.req and its .conf.
    """

    start: datetime = attrs.field(validator=_aware)
    transaction_id: int | None = None


def _transactions(value: Mapping[int, ActiveTransaction]) -> dict[int, ActiveTransaction]:
    return dict(value)


@attrs.frozen(kw_only=True)
class ChargingContext:
    """What the station looks like when a smart-charging call is made.

    - `number_of_connectors`: connectors 1..N exist; 0 is the whole charge point.
    - `transactions`: connector id -> the transaction running there.
    - `remote_start`: the profile arrived inside a RemoteStartTransaction.req (a
      TxProfile is then accepted before its transaction exists, spec 5.16.2).
    - `offline`: the link to the CSMS is down (IgnoredProfilePurposesOffline applies).
    """

    number_of_connectors: int = attrs.field(validator=_at_least(0))
    transactions: dict[int, ActiveTransaction] = attrs.field(factory=dict, converter=_transactions)
    remote_start: bool = False
    offline: bool = False
    settings: SmartChargingSettings = attrs.field(factory=SmartChargingSettings)

    def transaction(self, connector_id: int) -> ActiveTransaction | None:
        """The transaction running on `connector_id`, if any."""
        return self.transactions.get(connector_id)

    def ignores(self, purpose: ChargingProfilePurposeType) -> bool:
        """True when profiles of `purpose` are left out of the limits right now."""
        return self.offline and purpose in self.settings.ignored_purposes_offline
