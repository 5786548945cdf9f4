"""The simulated hardware of one connector: the EVSE's offer, the EV's draw, the meter.

Pure and synchronous (no trio, no engine): the simulator advances it in time
and reads readings from it, and tests drive it with plain calls. The model is
IEC 61851 AC charging reduced to what OCPP can see: the EVSE offers a current
(its rating, capped by the smart-charging limit, nothing below 6 A), the EV
draws what it wants up to that offer on its phases, and the meter integrates
the power.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from chargebox.host import Reading

#: IEC 61851-1: a PWM offer below 6 A means "no charging allowed"
MIN_CURRENT = 6.0
NOMINAL_VOLTAGE = 230.0
PHASE_NAMES = ("L1", "L2", "L3")


@attrs.define
class Ev:
    """A simulated EV: a battery, a charger that asks for a current, a pause switch."""

    capacity_wh: float = 60_000.0
    soc: float = 30.0  # percent
    #: the current the EV's on-board charger asks for (A per phase)
    max_current: float = 16.0
    phases: int = 3
    #: the driver (or the EV's own logic) paused charging
    paused: bool = False

    def requested_current(self) -> float:
        """The current the EV would take now: full up to 80 % SoC, tapering to the minimum at 100 %.

        The taper never goes below 6 A before the battery is full, so a session ends
        (SuspendedEV) instead of creeping towards 100 % forever.
        """
        if self.paused or self.soc >= 100.0:
            return 0.0
        if self.soc <= 80.0:
            return self.max_current
        taper = self.max_current * (100.0 - self.soc) / 20.0
        return max(min(MIN_CURRENT, self.max_current), taper)

    def to_json(self) -> dict[str, float | int | bool]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, float | int | bool]) -> Ev:
        fields = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})  # type: ignore[arg-type]


@attrs.define
class Outlet:
    """One connector's hardware: plug, contactor, limits, faults, meter and the EV on it."""

    connector_id: int
    #: the rating of the connector and its cable (A per phase)
    max_current: float = 32.0
    phases: int = 3
    voltage: float = NOMINAL_VOLTAGE
    plugged: bool = False
    ev: Ev | None = None
    #: the engine made the connector operative or inoperative (ChangeAvailability)
    enabled: bool = True
    #: the engine asked the EVSE to offer no energy (pause_charging)
    evse_paused: bool = False
    #: the contactor is closed: a transaction runs on this connector
    contactor_closed: bool = False
    #: active errors: ChargePointErrorCode -> is it a fault (a fault stops the offer)
    faults: dict[str, bool] = attrs.Factory(dict)
    #: the smart-charging limit of this connector (EnergySink.set_limit)
    limit_amps: Decimal | None = None
    limit_watts: Decimal | None = None
    #: the energy register, Wh (monotonic across sessions and restarts)
    energy_wh: float = 0.0
    #: the current the EVSE offers now (A per phase), after every cap
    offered: float = 0.0
    #: the current the EV draws now (A per phase)
    drawn: float = 0.0

    def phases_in_use(self) -> int:
        return min(self.phases, self.ev.phases) if self.ev is not None else self.phases

    def connector_offer(self, station_share: float | None = None) -> float:
        """The current this connector may offer: rating, limits, state; 0 below 6 A."""
        if (
            not self.contactor_closed
            or self.evse_paused
            or not self.enabled
            or any(self.faults.values())
        ):
            return 0.0
        offer = self.max_current
        if self.limit_amps is not None:
            offer = min(offer, float(self.limit_amps))
        if self.limit_watts is not None:
            offer = min(offer, float(self.limit_watts) / (self.voltage * self.phases_in_use()))
        if station_share is not None:
            offer = min(offer, station_share)
        return offer if offer >= MIN_CURRENT else 0.0

    def update_flow(self, offered: float) -> None:
        """Set the offer and let the EV take what it wants of it."""
        self.offered = offered
        ev = self.ev
        if not self.plugged or ev is None or offered <= 0.0:
            self.drawn = 0.0
            return
        wanted = ev.requested_current()
        self.drawn = min(offered, wanted) if wanted >= MIN_CURRENT else 0.0

    @property
    def power_w(self) -> float:
        return self.voltage * self.drawn * self.phases_in_use() if self.drawn > 0 else 0.0

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass at the present flow: the register and the battery fill."""
        if seconds <= 0 or self.drawn <= 0:
            return
        wh = self.power_w * seconds / 3600.0
        ev = self.ev
        if ev is not None:
            room = (100.0 - ev.soc) / 100.0 * ev.capacity_wh
            wh = min(wh, max(room, 0.0))
            ev.soc = min(100.0, ev.soc + wh / ev.capacity_wh * 100.0)
        self.energy_wh += wh

    @property
    def meter_wh(self) -> int:
        """The register as the meter shows it (whole Wh; OCPP's meterStart and meterStop)."""
        return int(self.energy_wh)

    def readings(self) -> list[Reading]:
        """What the meter measures now: energy, power, current and voltage per phase, SoC."""
        used = self.phases_in_use()
        out = [
            Reading("Energy.Active.Import.Register", self.meter_wh, "Wh"),
            Reading("Power.Active.Import", _num(self.power_w), "W"),
            Reading("Power.Offered", _num(self.offered * self.voltage * used), "W"),
            Reading("Current.Offered", _num(self.offered), "A"),
        ]
        for i, phase in enumerate(PHASE_NAMES[: self.phases]):
            current = self.drawn if i < used else 0.0
            out.append(Reading("Current.Import", _num(current), "A", phase=phase))
        for phase in PHASE_NAMES[: self.phases]:
            out.append(Reading("Voltage", _num(self.voltage), "V", phase=f"{phase}-N"))
        if self.plugged and self.ev is not None:
            out.append(Reading("SoC", int(self.ev.soc), "Percent", location="EV"))
        return out


def _num(value: float) -> str:
    """One decimal, no trailing '.0' noise beyond it: the meter's display resolution."""
    return f"{value:.1f}"
