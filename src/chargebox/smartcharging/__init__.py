"""Smart charging (OCPP 1.6 section 3.13): charging profiles and composite schedules, pure.

No trio, no storage, no clock: every function takes the moment it works at.
The actor layer keeps one `ProfileSet`, persists what each call adds and
removes, and drives the energy sink with `limit_at` and `next_change_after`.
See docs/smartcharging.md for the rules and the choices made.
"""

from __future__ import annotations

from .profiles import (
    ClearOutcome,
    InstalledProfile,
    Limit,
    ProfileSet,
    Removal,
    SetOutcome,
)
from .settings import (
    ActiveTransaction,
    ChargingContext,
    SmartChargingSettings,
    parse_purposes,
    parse_rate_units,
)
from .units import convert, floor_tenth, to_amps, to_watts
from .validation import Verdict

__all__ = [
    "ActiveTransaction",
    "ChargingContext",
    "ClearOutcome",
    "InstalledProfile",
    "Limit",
    "ProfileSet",
    "Removal",
    "SetOutcome",
    "SmartChargingSettings",
    "Verdict",
    "convert",
    "floor_tenth",
    "parse_purposes",
    "parse_rate_units",
    "to_amps",
    "to_watts",
]
