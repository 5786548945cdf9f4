"""Meter readings: the latest values the host measured, and the SampledValues made from them.

The host reports readings whenever it likes (`ChargePoint.meter_values`); the
engine keeps the latest per connector and builds MeterValues from them at the
moments OCPP defines (MeterValueSampleInterval, ClockAlignedDataInterval,
the start and end of a transaction, a TriggerMessage), selecting the
measurands the configuration lists (MeterValuesSampledData,
MeterValuesAlignedData, StopTxnSampledData, StopTxnAlignedData): only those
the host supplies appear.

The energy register of a connector (Energy.Active.Import.Register without a
phase, at the outlet) never goes back on the wire: a reading, meterStart or
meterStop below the highest value the connector's register had (in this run,
or as reported before a restart) is raised to that value, with a warning.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from chargebox.host import Reading
from chargebox.ocpp import codec
from chargebox.ocpp.v16 import MeterValue, Phase, SampledValue

log = logging.getLogger(__name__)

ENERGY_REGISTER = "Energy.Active.Import.Register"

_PHASES = sorted((p.value for p in Phase), key=len, reverse=True)


def default_unit(measurand: str) -> str | None:
    """The unit a reading of `measurand` has when the host does not say (spec 7.31)."""
    if measurand.startswith("Energy.Reactive"):
        return "varh"
    if measurand.startswith("Energy"):
        return "Wh"
    if measurand.startswith("Power.Reactive"):
        return "var"
    if measurand in ("Power.Active.Export", "Power.Active.Import", "Power.Offered"):
        return "W"
    if measurand.startswith("Current"):
        return "A"
    if measurand == "Voltage":
        return "V"
    if measurand == "Temperature":
        return "Celsius"
    if measurand == "SoC":
        return "Percent"
    return None  # Frequency, Power.Factor, RPM: 1.6 has no unit for them


@attrs.frozen(cache_hash=True)
class Selector:
    """One entry of a measurand list: a measurand, perhaps limited to one phase.

    Its hash is kept (the lists are keys of `selects_part`'s cache, looked up at every
    sample)."""

    measurand: str
    phase: str | None = None

    def matches(self, reading: Reading) -> bool:
        return reading.measurand == self.measurand and (
            self.phase is None or reading.phase == self.phase
        )


@functools.lru_cache(maxsize=64)
def selectors(csv: str | None) -> tuple[Selector, ...]:
    """`Energy.Active.Import.Register,Current.Import.L1` -> selectors (phase suffix optional).

    Remembered per text (a tuple of frozen selectors): every sample reads its lists
    from the configuration, and they seldom change."""
    out = []
    for item in (csv or "").split(","):
        item = item.strip()
        if not item:
            continue
        for phase in _PHASES:
            if item.endswith("." + phase):
                out.append(Selector(item[: -len(phase) - 1], phase))
                break
        else:
            out.append(Selector(item))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def selects_part(part: tuple[Selector, ...], whole: tuple[Selector, ...]) -> bool:
    """Whether the sampled values `part` selects are exactly those of `whole`'s that
    `filter_wire` keeps with `part`, in the same order.

    True when each selector of `part` is one of `whole`, in `whole`'s order, and no two
    of `whole` name the same measurand (a value then belongs to one selector only)."""
    if len({s.measurand for s in whole}) != len(whole):
        return False
    at = 0
    for selector in part:
        try:
            at = whole.index(selector, at) + 1
        except ValueError:
            return False
    return True


def _text(value: Decimal | float | int | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return (
            format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
        )
    return str(value)


def energy_wh(reading: Reading) -> int:
    """An energy register reading in Wh (kWh converted)."""
    value = reading.value
    if type(value) is int and reading.unit in (None, "Wh"):
        return value  # the usual register (read several times a sample): as it is
    number = Decimal(_text(value))
    if (reading.unit or "Wh") == "kWh":
        number *= 1000
    return int(number)


def is_register(reading: Reading) -> bool:
    """The connector's energy register: the reading meterStart and meterStop are about."""
    return (
        reading.measurand == ENERGY_REGISTER
        and reading.phase is None
        and reading.location in (None, "Outlet")
    )


class Meter:
    """The latest readings of every connector, and the floor of each energy register.

    `floors`: the highest register (Wh) each connector reported before (the store
    keeps them). `on_reported(connector, wh)` hears the register of every MeterValue
    built for the Central System, so the store can keep it.
    """

    def __init__(
        self,
        floors: Mapping[int, int] | None = None,
        on_reported: Callable[[int, int], None] | None = None,
    ) -> None:
        self._latest: dict[int, dict[tuple[str, str | None, str | None], Reading]] = {}
        self._floor: dict[int, int] = dict(floors or {})
        self._on_reported = on_reported

    def update(self, connector: int, values: Iterable[Reading]) -> None:
        latest = self._latest.setdefault(connector, {})
        for reading in values:
            if is_register(reading):
                reading = self._register_reading(connector, reading)
            latest[(reading.measurand, reading.phase, reading.location)] = reading

    def _register_reading(self, connector: int, reading: Reading) -> Reading:
        wh = energy_wh(reading)
        kept = self.not_below(connector, wh, "Energy.Active.Import.Register")
        if kept == wh:
            return reading
        value = Decimal(kept) / 1000 if reading.unit == "kWh" else kept
        return attrs.evolve(reading, value=value)

    def floor(self, connector: int) -> int | None:
        """The highest energy register (Wh) of the connector so far, if any."""
        return self._floor.get(connector)

    def not_below(self, connector: int, wh: int, what: str) -> int:
        """`wh`, or the register's highest value when `wh` is below it (with a warning).

        The register is the connector's meter: it never goes back, so a lower value
        from the host (a meter reset by a restart, a wrong register) must not reach
        the Central System as a meterStart, meterStop or reading.
        """
        floor = self._floor.get(connector)
        if floor is not None and wh < floor:
            log.warning(
                "connector %d: %s %d Wh is below the %d Wh its energy register already "
                "had; %d Wh is used (the register never goes back)",
                connector,
                what,
                wh,
                floor,
                floor,
            )
            return floor
        self._floor[connector] = wh
        return wh

    def readings(self, connector: int) -> list[Reading]:
        return list(self._latest.get(connector, {}).values())

    def energy(self, connector: int) -> int | None:
        """The latest Energy.Active.Import.Register in Wh, if the host gave one."""
        for reading in self._latest.get(connector, {}).values():
            if reading.measurand == ENERGY_REGISTER and reading.phase is None:
                return energy_wh(reading)
        return None

    def sampled_values(
        self, connector: int, measurands: Iterable[Selector], context: str
    ) -> list[SampledValue]:
        """SampledValues of the listed measurands the host supplied, in list order."""
        out: list[SampledValue] = []
        readings = self.readings(connector)
        for selector in measurands:
            for reading in readings:
                if selector.matches(reading):
                    out.append(
                        SampledValue(
                            value=_text(reading.value),
                            context=context,
                            format=reading.format,
                            measurand=reading.measurand,
                            phase=reading.phase,
                            location=reading.location,
                            unit=reading.unit or default_unit(reading.measurand),
                        )
                    )
        return out

    def meter_value(
        self,
        connector: int,
        measurands: Iterable[Selector],
        context: str,
        when: datetime,
        *,
        report: bool = True,
    ) -> MeterValue | None:
        """A MeterValue for the Central System (its register is reported to `on_reported`,
        unless `report` is False: the caller keeps it with the MeterValue, or calls
        `report` itself)."""
        values = self.sampled_values(connector, measurands, context)
        if not values:
            return None
        if report:
            self.report(connector, values)
        return MeterValue(timestamp=when, sampled_value=values)

    def report(self, connector: int, values: list[SampledValue]) -> None:
        """Tell `on_reported` the register these sampled values carry, if any."""
        if self._on_reported is not None:
            for reading in self.readings(connector):
                if is_register(reading) and any(
                    v.measurand == ENERGY_REGISTER
                    and v.phase is None
                    and v.location == reading.location
                    for v in values
                ):
                    self._on_reported(connector, energy_wh(reading))


def energy_value(wh: int, context: str, when: datetime) -> MeterValue:
    """A MeterValue with just the energy register (Transaction.Begin / .End)."""
    return MeterValue(
        timestamp=when,
        sampled_value=[
            SampledValue(value=str(wh), context=context, measurand=ENERGY_REGISTER, unit="Wh")
        ],
    )


def wire(meter_value: MeterValue) -> dict[str, Any]:
    return codec.encode(meter_value)


def filter_wire(meter_value: dict[str, Any], keep: Iterable[Selector]) -> dict[str, Any] | None:
    """The sampled values of a (wire) MeterValue that `keep` selects; None if none is left."""
    keep = tuple(keep)
    values = [
        sv
        for sv in meter_value["sampledValue"]
        if any(
            s.measurand == sv.get("measurand", ENERGY_REGISTER)
            and (s.phase is None or s.phase == sv.get("phase"))
            for s in keep
        )
    ]
    return {"timestamp": meter_value["timestamp"], "sampledValue": values} if values else None
