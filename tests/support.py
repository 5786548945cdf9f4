"""A test host, configurations for tests, and a running station against the development CSMS."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio

from chargebox.actors.clock import StationClock
from chargebox.config import ChargePointConfig
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.netsim import Network
from chargebox.station import Host, Options, UnlockResult, open_charge_point

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "config" / "ocpp-config.json"


def config_file(folder: Path, url: str, **sections: dict[str, Any]) -> Path:
    """The seed's configuration, pointed at `url`, profile 0, with `sections` merged in (a
    key set to None is left out; a section set to None too)."""
    document = json.loads(SEED.read_text())
    document["Internal"]["CentralSystemURI"] = url
    document["Internal"]["ChargePointId"] = "CP-1"
    document["Security"]["SecurityProfile"] = 0
    document["Core"]["WebSocketPingInterval"] = document["Core"].pop("WebsocketPingInterval", 0)
    for name, values in sections.items():
        if values is None:
            document.pop(name, None)  # the section left out altogether
            continue
        section = document.setdefault(name, {})
        for key, value in values.items():
            if value is None:
                section.pop(key, None)
            else:
                section[key] = value
    path = folder / "ocpp-config.json"
    path.write_text(json.dumps(document, indent=2))
    return path


@attrs.define
class RecordingEvse:
    """The EVSE port: records every command; answers unlock with `unlock_result`."""

    calls: list[tuple[Any, ...]] = attrs.Factory(list)
    unlock_result: UnlockResult = UnlockResult.Unlocked
    changed: trio.Event = attrs.Factory(trio.Event)

    def _note(self, *call: Any) -> None:
        self.calls.append(call)
        self.changed.set()
        self.changed = trio.Event()

    async def authorize(self, connector_id: int, id_tag: str) -> None:
        self._note("authorize", connector_id, id_tag)

    async def withdraw_authorization(self, connector_id: int) -> None:
        self._note("withdraw_authorization", connector_id)

    async def pause_charging(self, connector_id: int) -> None:
        self._note("pause_charging", connector_id)

    async def resume_charging(self, connector_id: int) -> None:
        self._note("resume_charging", connector_id)

    async def stop_transaction(self, connector_id: int, reason: str) -> None:
        self._note("stop_transaction", connector_id, reason)

    async def unlock(self, connector_id: int) -> UnlockResult:
        self._note("unlock", connector_id)
        return self.unlock_result

    async def set_enabled(self, connector_id: int, enabled: bool) -> None:
        self._note("set_enabled", connector_id, enabled)

    async def wait_for(self, *call: Any) -> None:
        while call not in self.calls:
            await self.changed.wait()


@attrs.define
class RecordingSystem:
    resets: list[str] = attrs.Factory(list)
    times: list[Any] = attrs.Factory(list)
    resumable: set[int] = attrs.Factory(set)
    reset_done: trio.Event = attrs.Factory(trio.Event)

    async def reset(self, kind: Any) -> None:
        self.resets.append(str(kind))
        self.reset_done.set()

    async def set_system_time(self, moment: Any) -> None:
        self.times.append(moment)

    def resume_session(self, connector_id: int, session_id: str | None) -> bool:
        return connector_id in self.resumable


def sampled_values(
    csms: CentralSystem, *, measurand: str | None = None, context: str | None = None
) -> list[str]:
    """The value of every sampledValue in the MeterValues.req CP-1 sent, in order: those of
    one measurand, of one context, or all."""
    return [
        value.value
        for message in csms.received("CP-1", "MeterValues")
        for meter_value in message.meter_value
        for value in meter_value.sampled_value
        if (measurand is None or str(value.measurand) == measurand)
        and (context is None or str(value.context) == context)
    ]


def make_host() -> Host:
    return Host(evse=RecordingEvse(), system=RecordingSystem())


CSMS_ADDRESS = ("csms.test", 80)


@attrs.define
class Rig:
    """A charge point, the development CSMS it talks to, the host, and the network between."""

    cp: Any
    csms: CentralSystem
    host: Host
    net: Network

    @property
    def evse(self) -> RecordingEvse:
        return self.host.evse  # type: ignore[return-value]

    @property
    def system(self) -> RecordingSystem:
        return self.host.system  # type: ignore[return-value]

    async def session(self) -> Any:
        return await self.csms.session("CP-1")

    async def cut(self) -> None:
        await self.net.cut(*CSMS_ADDRESS)


@asynccontextmanager
async def running(
    tmp_path: Path,
    *,
    csms: CentralSystem | None = None,
    csms_settings: CsmsSettings | None = None,
    data_dir: Path | None = None,
    host: Host | None = None,
    options: Options | None = None,
    wait_registered: bool = True,
    limit: float = 7 * 86400,
    csms_clock: Any = None,
    clock: StationClock | None = None,
    store: Any = None,
    **sections: dict[str, Any],
) -> AsyncIterator[Rig]:
    """The development CSMS and a charge point on the in-process network (exact on MockClock)."""
    csms = csms or CentralSystem(csms_settings or CsmsSettings())
    # the CSMS's clock runs on trio's (mock) clock too, or every answer would set the
    # station's calendar back to the wall clock
    csms.clock = csms_clock or (clock or StationClock()).now
    host = host or make_host()
    net = Network()
    options = options or Options()
    options.open_stream = net.open_stream
    # the mock clock would jump ahead while a worker thread works
    options.blocking_inline = True
    # on the mock clock a test that waits for what never comes would run forever
    with trio.fail_after(limit):
        async with trio.open_nursery() as nursery:
            await nursery.start(net.run)
            net.listen(*CSMS_ADDRESS, csms)
            # no scheme: the security profile chooses ws:// or wss://
            url = f"{CSMS_ADDRESS[0]}:{CSMS_ADDRESS[1]}/steve/websocket/CentralSystemService/"
            path = config_file(tmp_path, url, **sections)
            cfg = ChargePointConfig.load(path, tmp_path / "user-config.json")
            async with open_charge_point(
                cfg,
                host,
                data_dir=data_dir or tmp_path / "data",
                options=options,
                clock=clock,
                store=store,
            ) as cp:
                rig = Rig(cp, csms, host, net)
                if wait_registered:
                    await csms.wait_until(lambda: cp.registered)
                yield rig
            nursery.cancel_scope.cancel()
