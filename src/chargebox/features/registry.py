"""The feature profiles of one station, built together: one typed attribute per feature.

`build_features(ctx, actors, ...)` builds every feature once, in the order
their dependencies need: a feature that asks another is given it as a
constructor argument (Core asks smart charging and
Plug&Charge, which answers the PnC DataTransfers; RemoteTrigger the firmware
and diagnostics statuses; the security profile RemoteTrigger, firmware and
logs; Plug&Charge the security profile's CA rules). `Features.handlers()` maps
every action the Central System may call to the handler that answers it;
`Features.services()` lists the long-running tasks the station runs beside its
actors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import attrs

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.features import Handler, Service
from chargebox.features.core import Core
from chargebox.features.diagnostics import Diagnostics
from chargebox.features.firmware import Firmware
from chargebox.features.localauth import LocalAuthList
from chargebox.features.logs import Logs
from chargebox.features.pnc import PlugAndCharge
from chargebox.features.reservation import Reservations
from chargebox.features.security import Certificates
from chargebox.features.smartcharging import SmartCharging
from chargebox.features.trigger import RemoteTrigger


class _Profile(Protocol):
    def handlers(self) -> dict[str, Handler]: ...


#: the Features attributes that answer the Central System's calls, in the order of the
#: profiles
_PROFILE_NAMES = (
    "core",
    "smart_charging",
    "reservations",
    "local_auth",
    "remote_trigger",
    "firmware",
    "diagnostics",
    "logs",
    "security",
)
#: the feature classes -> action -> (attribute, method name) of its handler
_ROUTES: dict[tuple[type, ...], dict[str, tuple[str, str]]] = {}


@attrs.frozen(eq=False)
class Features:
    """Every feature profile of one station."""

    core: Core
    smart_charging: SmartCharging
    reservations: Reservations
    local_auth: LocalAuthList
    remote_trigger: RemoteTrigger
    firmware: Firmware
    diagnostics: Diagnostics
    logs: Logs
    security: Certificates
    #: Plug&Charge (the Central System's PnC DataTransfers; Core routes them here)
    pnc: PlugAndCharge

    def handlers(self) -> dict[str, Handler]:
        """Action -> the handler of the Central System's CALL; an action has one handler."""
        found: dict[str, Handler] = {}
        profiles: tuple[_Profile, ...] = (
            self.core,
            self.smart_charging,
            self.reservations,
            self.local_auth,
            self.remote_trigger,
            self.firmware,
            self.diagnostics,
            self.logs,
            self.security,
        )
        for feature in profiles:
            for action, handler in feature.handlers().items():
                if action in found:
                    raise ValueError(f"two features answer {action}")
                found[action] = handler
        return found

    def handler(self, action: str) -> Handler | None:
        """The handler of the Central System's CALL `action` (None: no feature answers it).

        The table of which feature answers which action is made once per combination of
        feature classes and shared by every station: a table of bound methods per station
        would cost ten thousand stations 50 MB."""
        kinds = tuple(type(getattr(self, name)) for name in _PROFILE_NAMES)
        routes = _ROUTES.get(kinds)
        if routes is None:
            routes = {}
            for found, method in self.handlers().items():
                owner = getattr(method, "__self__", None)
                names = [name for name in _PROFILE_NAMES if getattr(self, name) is owner]
                if not names:
                    raise TypeError(f"the handler of {found} is no method of a feature: {method}")
                routes[found] = (names[0], method.__func__.__name__)
            _ROUTES[kinds] = routes
        route = routes.get(action)
        return None if route is None else getattr(getattr(self, route[0]), route[1])

    def services(self) -> list[Service]:
        """The features' long-running tasks, in the order they start."""
        return [
            *self.smart_charging.services(),
            *self.firmware.services(),
            *self.logs.services(),
            *self.security.services(),
        ]


def build_features(
    ctx: StationContext, actors: Actors, *, rearm_aligned: Callable[[], None]
) -> Features:
    """Build every feature of a station. `rearm_aligned` starts the station's clock-aligned
    meter values over (ChangeConfiguration of ClockAlignedDataInterval)."""
    smart_charging = SmartCharging(ctx, actors)
    reservations = Reservations(ctx, actors)
    firmware = Firmware(ctx, actors)
    diagnostics = Diagnostics(ctx, actors)
    logs = Logs(ctx, actors)
    remote_trigger = RemoteTrigger(ctx, actors, firmware=firmware, diagnostics=diagnostics)
    security = Certificates(
        ctx, actors, remote_trigger=remote_trigger, firmware=firmware, logs=logs
    )
    pnc = PlugAndCharge(ctx, actors, security=security)
    core = Core(
        ctx,
        actors,
        smart_charging=smart_charging,
        rearm_aligned=rearm_aligned,
        plug_and_charge=pnc,
    )
    return Features(
        core=core,
        smart_charging=smart_charging,
        reservations=reservations,
        local_auth=LocalAuthList(ctx),
        remote_trigger=remote_trigger,
        firmware=firmware,
        diagnostics=diagnostics,
        logs=logs,
        security=security,
        pnc=pnc,
    )
