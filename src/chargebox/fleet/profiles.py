"""Behaviour profiles: how the drivers of a fleet's connectors come and go.

Each connector sees arrivals as a Poisson process (`arrivals_per_hour`): the
time to the next EV is exponential, drawn when the connector becomes free (an
EV that finds it busy goes elsewhere). An EV plugs in, its driver presents an
idTag, the transaction starts once the Central System authorized it, energy
flows at `power_kw` for an exponential time of mean `charge_minutes` (the meter
reports every `meter_interval` seconds), then the driver stops it and leaves
`leave_minutes` later. The Central System's own operations are answered as a
station does: RemoteStartTransaction plugs an EV in and charges, RemoteStop
stops, Reset restarts the station, ChangeAvailability takes connectors in or
out of service, UnlockConnector unlocks.

The draws come from one random generator per fleet (seeded), so a run on the
virtual clock is the same every time.
"""

from __future__ import annotations

import random

import attrs

from chargebox.fleet.plan import FleetError


@attrs.frozen
class Profile:
    """How the connectors of a fleet are used. Times are the stations' (virtual or real)."""

    name: str = "custom"
    #: EVs per hour arriving at each connector (0: nobody comes, the station only stays online)
    arrivals_per_hour: float = 0.0
    #: mean minutes of charging (exponential)
    charge_minutes: float = 30.0
    #: power drawn while charging (kW)
    power_kw: float = 11.0
    #: seconds between two meter readings the station hands the engine while charging
    meter_interval: float = 60.0
    #: minutes the EV stays plugged in after the transaction stopped
    leave_minutes: float = 1.0
    #: idTags the drivers present (empty: a fresh one per session, unique in the station)
    id_tags: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        checks = (
            ("--arrivals-per-hour", self.arrivals_per_hour, 0.0, "0 or more"),
            ("--charge-minutes", self.charge_minutes, 1e-3, "more than 0"),
            ("--power-kw", self.power_kw, 0.0, "0 or more"),
            ("--meter-interval", self.meter_interval, 1.0, "1 or more"),
            ("--leave-minutes", self.leave_minutes, 0.0, "0 or more"),
        )
        for option, value, low, allowed in checks:
            if not value >= low:  # NaN fails too
                raise FleetError(f"{option} {value}: allowed is {allowed}")

    def next_arrival(self, rng: random.Random) -> float | None:
        """Seconds until the next EV arrives at a free connector (None: never)."""
        if self.arrivals_per_hour <= 0:
            return None
        return rng.expovariate(self.arrivals_per_hour / 3600.0)

    def charge_seconds(self, rng: random.Random) -> float:
        """How long this session charges: exponential, mean charge_minutes, at least a second."""
        return max(1.0, rng.expovariate(1.0 / (self.charge_minutes * 60.0)))


#: the named profiles (`chargebox fleet --profile NAME`)
PROFILES: dict[str, Profile] = {
    # online and answering, no sessions: what holding the fleet's connections costs
    "idle": Profile("idle"),
    # a public car park: a session every two hours or so, 45 minutes at 11 kW
    "light": Profile("light", arrivals_per_hour=0.5, charge_minutes=45.0, power_kw=11.0),
    # a busy site: about two EVs an hour per connector, 20 minutes at 22 kW
    "busy": Profile("busy", arrivals_per_hour=2.0, charge_minutes=20.0, power_kw=22.0),
}


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise FleetError(
            f"--profile {name!r} is not a profile (known: {', '.join(PROFILES)})"
        ) from None
