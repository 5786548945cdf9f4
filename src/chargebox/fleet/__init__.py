"""Fleets: thousands of simulated stations in one process, against any Central System.

    from chargebox.fleet import FleetSpec, PROFILES, run_fleet

    spec = FleetSpec(config=Path("ocpp-config.json"), count=1000,
                     csms_url="ws://127.0.0.1:8180/steve/websocket/CentralSystemService/",
                     profile=PROFILES["light"], duration=600)
    summary = trio.run(run_fleet, spec)
    print(summary.text())

`chargebox fleet` is the command line of it; docs/fleet.md tells how to run a
fleet, shard it across processes and machines, and read its summary.
"""

from chargebox.fleet.plan import FleetError, Plan, Shard, make_plan, parse_shard
from chargebox.fleet.profiles import PROFILES, Profile, profile_named
from chargebox.fleet.runner import Fleet, FleetSpec, Progress, run_fleet
from chargebox.fleet.summary import Summary, merge

__all__ = [
    "PROFILES",
    "Fleet",
    "FleetError",
    "FleetSpec",
    "Plan",
    "Profile",
    "Progress",
    "Shard",
    "Summary",
    "make_plan",
    "merge",
    "parse_shard",
    "profile_named",
    "run_fleet",
]
