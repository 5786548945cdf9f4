"""A simulated station against the development CSMS on the in-process network (mock clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio

from chargebox.actors.clock import StationClock
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.netsim import Network
from chargebox.sim import SilentOutput, SimSettings, Simulator
from chargebox.station import Options
from tests.support import config_file

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "config" / "ocpp-config.json"
CSMS_ADDRESS = ("csms.test", 80)


def sim_config(
    folder: Path,
    url: str = "csms.test:80/steve/websocket/CentralSystemService/",
    **sections: dict[str, Any],
) -> Path:
    """The seed's configuration for the simulator: profile 0, `sections` merged in."""
    core = {"ClockAlignedDataInterval": 0, **sections.pop("Core", {})}
    internal = {"ChargePointId": "SIM-1", **sections.pop("Internal", {})}
    return config_file(folder, url, Core=core, Internal=internal, **sections)


@attrs.define
class SimRig:
    sim: Simulator
    csms: CentralSystem
    net: Network
    output: SilentOutput

    async def session(self) -> Any:
        return await self.csms.session("SIM-1")

    async def run(self, *lines: str) -> None:
        """Run commands; fail the test on any command error."""
        before = self.sim.errors
        await self.sim.run_lines(lines)
        assert self.sim.errors == before, self.output.errors

    def statuses(self, connector_id: int) -> list[str]:
        return [
            str(s.status)
            for s in self.csms.received("SIM-1", "StatusNotification")
            if s.connector_id == connector_id
        ]


@asynccontextmanager
async def simulated(
    tmp_path: Path,
    *,
    csms_settings: CsmsSettings | None = None,
    data_dir: Path | None = None,
    limit: float = 7 * 86400,
    **settings: Any,
) -> AsyncIterator[SimRig]:
    """A Simulator and the development CSMS on the in-process network (exact on MockClock)."""
    sections = settings.pop("sections", {})
    csms = CentralSystem(csms_settings or CsmsSettings())
    csms.clock = StationClock().now  # the CSMS's time on the (mock) clock of the test
    net = Network()
    output = SilentOutput()
    config = sim_config(tmp_path, **sections)
    sim = Simulator(
        SimSettings(
            config=config,
            data_dir=data_dir,
            options=Options(open_stream=net.open_stream),
            **settings,
        ),
        output=output,
    )
    with trio.fail_after(limit):
        async with trio.open_nursery() as nursery:
            await nursery.start(net.run)
            net.listen(*CSMS_ADDRESS, csms)
            await nursery.start(sim.run)
            cp = await sim.wait_running()
            await csms.wait_until(lambda: cp.registered)
            yield SimRig(sim, csms, net, output)
            sim.quit()
            await sim.finished.wait()
            nursery.cancel_scope.cancel()
