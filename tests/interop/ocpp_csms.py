"""A Central System on the `ocpp` package from PyPI (asyncio + websockets): an independent peer.

Run as a separate process by tests/interop/test_interop.py (asyncio must not
share a process with trio). It listens on 127.0.0.1 with an ephemeral port and
prints JSON lines on stdout:

    {"event": "listening", "port": N}
    {"event": "call", "action": "...", "payload": {...}}          every CALL received
    {"event": "callerror", "frame": "..."}                       every CALLERROR it sends
    {"event": "step", "name": "...", ...}                        the scenario's progress
    {"event": "result", "ok": true|false, "error": "...", ...}   the end of the scenario

The scenario (for the first charge point that connects): answer everything
(Boot Accepted with a 2 s heartbeat interval), check HTTP Basic authentication
when the charge point sends it, wait for a Heartbeat and for the end of the
locally started transaction (StopTransaction), then GetConfiguration,
ChangeConfiguration (MeterValueSampleInterval), GetConfiguration again,
RemoteStartTransaction, wait for StartTransaction and a MeterValues of the new
transaction, RemoteStopTransaction, wait for StopTransaction.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import sys
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

STEP_TIMEOUT = 20.0
EXPECTED_KEY = bytes.fromhex(sys.argv[1]) if len(sys.argv) > 1 else None


def emit(**fields: Any) -> None:
    print(json.dumps(fields, default=str), flush=True)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Watched:
    """The websocket as the ocpp package sees it; every frame sent is inspected on the way."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def recv(self) -> str:
        return await self.ws.recv()

    async def send(self, text: str) -> None:
        frame = json.loads(text)
        if frame and frame[0] == 4:
            # a CALLERROR from this CSMS is a complaint about what the station sent
            emit(event="callerror", frame=text)
        await self.ws.send(text)


class Csms(ChargePoint):
    def __init__(self, cp_id: str, connection: Any) -> None:
        super().__init__(cp_id, connection)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.transaction_ids = itertools.count(100)
        self.last_transaction_id: int | None = None

    async def route_message(self, raw: str) -> Any:
        frame = json.loads(raw)
        answered = await super().route_message(raw)
        if frame and frame[0] == 2:
            # after the handler: the scenario sees a StartTransaction with its id handed out
            emit(event="call", action=frame[2], payload=frame[3])
            self.received.append((frame[2], frame[3]))
            self.changed.set()
        return answered

    async def wait_for(self, action: str, where: Any = lambda p: True, after: int = 0) -> dict:
        async def found() -> dict:
            while True:
                for name, payload in self.received[after:]:
                    if name == action and where(payload):
                        return payload
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(found(), STEP_TIMEOUT)

    @on("BootNotification")
    def on_boot(self, **_: Any) -> Any:
        return call_result.BootNotification(current_time=now(), interval=2, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=now())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> Any:
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        return call_result.Authorize(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    def on_start(self, **_: Any) -> Any:
        self.last_transaction_id = next(self.transaction_ids)
        return call_result.StartTransaction(
            transaction_id=self.last_transaction_id, id_tag_info={"status": "Accepted"}
        )

    @on("StopTransaction")
    def on_stop(self, **_: Any) -> Any:
        return call_result.StopTransaction(id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return call_result.MeterValues()

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")

    async def scenario(self) -> None:
        try:
            await self.wait_for("BootNotification")
            await self.wait_for("Heartbeat")
            emit(event="step", name="heartbeat")
            local_stop = await self.wait_for("StopTransaction")
            emit(event="step", name="local transaction", stop=local_stop)
            config = await self.call(
                call.GetConfiguration(key=["HeartbeatInterval", "MeterValueSampleInterval"])
            )
            values = {kv["key"]: kv.get("value") for kv in config.configuration_key}
            emit(event="step", name="GetConfiguration", values=values)
            change = await self.call(
                call.ChangeConfiguration(key="MeterValueSampleInterval", value="1")
            )
            if change.status != "Accepted":
                raise AssertionError(f"ChangeConfiguration answered {change.status}")
            again = await self.call(call.GetConfiguration(key=["MeterValueSampleInterval"]))
            changed = {kv["key"]: kv.get("value") for kv in again.configuration_key}
            emit(event="step", name="ChangeConfiguration", values=changed)
            mark = len(self.received)
            start = await self.call(call.RemoteStartTransaction(id_tag="REMOTE-1", connector_id=1))
            if start.status != "Accepted":
                raise AssertionError(f"RemoteStartTransaction answered {start.status}")
            started = await self.wait_for(
                "StartTransaction", lambda p: p["idTag"] == "REMOTE-1", after=mark
            )
            tx_id = self.last_transaction_id
            meter = await self.wait_for(
                "MeterValues", lambda p: p.get("transactionId") == tx_id, after=mark
            )
            emit(event="step", name="remote transaction", start=started, meter=meter)
            stop = await self.call(call.RemoteStopTransaction(transaction_id=tx_id))
            if stop.status != "Accepted":
                raise AssertionError(f"RemoteStopTransaction answered {stop.status}")
            stopped = await self.wait_for(
                "StopTransaction", lambda p: p["transactionId"] == tx_id, after=mark
            )
            emit(event="result", ok=True, remote_stop=stopped)
        except Exception as e:
            emit(event="result", ok=False, error=f"{type(e).__name__}: {e}")


def basic_password(request: Any) -> bytes | None:
    header = request.headers.get("Authorization")
    if not header or not header.lower().startswith("basic "):
        return None
    _, _, password = base64.b64decode(header[6:]).partition(b":")
    return password


async def main() -> None:
    started = asyncio.Event()

    async def serve(ws: Any) -> None:
        cp_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        password = basic_password(ws.request)
        emit(event="connected", id=cp_id, path=ws.request.path, basic_auth=password is not None)
        if EXPECTED_KEY is not None and password != EXPECTED_KEY:
            emit(event="result", ok=False, error="wrong or missing HTTP Basic password")
            await ws.close()
            return
        csms = Csms(cp_id, Watched(ws))
        tasks = [asyncio.create_task(csms.start())]
        if not started.is_set():
            started.set()
            tasks.append(asyncio.create_task(csms.scenario()))
        try:
            await asyncio.gather(*tasks)
        except websockets.ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()

    server = await websockets.serve(serve, "127.0.0.1", 0, subprotocols=["ocpp1.6"])
    port = next(iter(server.sockets)).getsockname()[1]
    emit(event="listening", port=port)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
