"""A fleet against the development CSMS on the in-process network (exact on MockClock)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio

from chargebox.actors.clock import StationClock
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.netsim import Network
from chargebox.station import Options
from tests.support import SEED

CSMS_ADDRESS = ("csms.test", 80)
CSMS_URL = f"{CSMS_ADDRESS[0]}:{CSMS_ADDRESS[1]}/steve/websocket/CentralSystemService/"


def template(folder: Path, **sections: dict[str, Any]) -> Path:
    """The seed's configuration as a fleet template: profile 0, two connectors, the CSMS."""
    document = json.loads(SEED.read_text())
    document["Internal"]["CentralSystemURI"] = CSMS_URL + "cp001"
    document["Security"]["SecurityProfile"] = 0
    document["Core"]["NumberOfConnectors"] = 2
    document["Core"]["WebSocketPingInterval"] = document["Core"].pop("WebsocketPingInterval", 0)
    for name, values in sections.items():
        document.setdefault(name, {}).update(values)
    path = folder / "template.json"
    path.write_text(json.dumps(document, indent=2))
    return path


@attrs.define
class Ground:
    """The development CSMS, the in-process network, and engine options that use it."""

    csms: CentralSystem
    net: Network
    options: Options


@asynccontextmanager
async def ground(settings: CsmsSettings | None = None) -> AsyncIterator[Ground]:
    csms = CentralSystem(settings or CsmsSettings())
    # the CSMS's answers carry the (mock) clock's calendar, as the stations' clocks do
    csms.clock = StationClock().now
    net = Network()
    async with trio.open_nursery() as nursery:
        await nursery.start(net.run)
        net.listen(*CSMS_ADDRESS, csms)
        options = Options(open_stream=net.open_stream, blocking_inline=True)
        yield Ground(csms, net, options)
        nursery.cancel_scope.cancel()
