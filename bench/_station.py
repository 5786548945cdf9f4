"""What the benchmarks' single station shares: its configuration and a host port.

The benchmarks run as scripts (`python bench/NAME.py`), so this module is found
beside them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chargebox.config import ChargePointConfig

REPO = Path(__file__).resolve().parent.parent


def station_config(folder: Path, url: str, station_id: str, **core: Any) -> ChargePointConfig:
    """The seed configuration (config/ocpp-config.json) of a station `station_id` that
    connects to `url` without TLS and writes no message log; `core` overrides Core keys.
    Written to `folder` and loaded from there, as a station loads its file."""
    document = json.loads((REPO / "config" / "ocpp-config.json").read_text())
    document["Internal"]["CentralSystemURI"] = url
    document["Internal"]["ChargePointId"] = station_id
    document["Internal"]["LogMessages"] = False
    document["Security"]["SecurityProfile"] = 0
    document["Core"].update(core)
    path = folder / "ocpp-config.json"
    path.write_text(json.dumps(document))
    return ChargePointConfig.load(path)


def loopback_config(folder: Path, port: int) -> ChargePointConfig:
    """The benchmarks' station BENCH at a Central System on 127.0.0.1:`port`, with no
    meter values of its own (a benchmark sends what it measures itself)."""
    return station_config(
        folder,
        f"127.0.0.1:{port}/ocpp/",
        "BENCH",
        MeterValueSampleInterval=0,
        ClockAlignedDataInterval=0,
    )


class Evse:
    """The host's EVSE port: nothing to do (a benchmark starts its sessions itself)."""

    async def authorize(self, connector_id: int, id_tag: str) -> None:
        pass
