"""The simulated station: the engine hosted by simulated hardware (EVSE, EV, meter, RFID).

`Simulator(SimSettings(config=...)).run()` runs a station that any Central
System can talk to; `chargebox sim` is its command line and `chargebox demo`
puts it next to the development CSMS. See docs/tutorial.md.
"""

from chargebox.sim.commands import Command, CommandError, parse
from chargebox.sim.physics import Ev, Outlet
from chargebox.sim.simulator import SilentOutput, SimSettings, Simulator, StatusRow
from chargebox.sim.transfer import Diagnostics, Firmware, installed_firmware_version

__all__ = [
    "Command",
    "CommandError",
    "Diagnostics",
    "Ev",
    "Firmware",
    "Outlet",
    "SilentOutput",
    "SimSettings",
    "Simulator",
    "StatusRow",
    "installed_firmware_version",
    "parse",
]
