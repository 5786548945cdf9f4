"""A minimal charge point for the Plug&Charge tests of the development CSMS.

It speaks OCPP-J over a real websocket on loopback with chargebox's protocol
layer, sends the PnC DataTransfers a station sends, and answers the ones the
Central System sends. Every PnC payload, in both directions, is also checked
with jsonschema against the official 2.0.1 schema (independently of the
codec's generated validators), and recorded in `checked`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import orjson
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from chargebox.csms import CentralSystem
from chargebox.ocpp import codec, frames, pnc, rpc, v16
from chargebox.ocpp.frames import Call, CallError, CallResult
from chargebox.ocpp.pnc import (
    CertificateSignedResponse,
    CertificateSignedStatusEnumType,
    DeleteCertificateResponse,
    DeleteCertificateStatusEnumType,
    GetInstalledCertificateIdsResponse,
    GetInstalledCertificateStatusEnumType,
    InstallCertificateResponse,
    InstallCertificateStatusEnumType,
    TriggerMessageResponse,
    TriggerMessageStatusEnumType,
)
from tests.ocpp.schema_tools import SCHEMA_ROOT, load, official_validator

#: what the station answers to a PnC request of the Central System: (status, response or None);
#: the status "NoAnswer" sends nothing
Answer = Callable[[Any], tuple[str, Any]]


@cache
def _validator(schema_name: str) -> Any:
    return official_validator(load(SCHEMA_ROOT / "pnc-v201" / f"{schema_name}.json"))


def check_schema(schema_name: str, payload: Any) -> None:
    """jsonschema's verdict on a PnC payload, against the official 2.0.1 schema file."""
    _validator(schema_name).validate(payload)


def default_answer(request: Any) -> tuple[str, Any]:
    """Accept everything, as a station with every certificate would."""
    answers: dict[type, Any] = {
        pnc.InstallCertificateRequest: InstallCertificateResponse(
            status=InstallCertificateStatusEnumType.Accepted
        ),
        pnc.DeleteCertificateRequest: DeleteCertificateResponse(
            status=DeleteCertificateStatusEnumType.Accepted
        ),
        pnc.GetInstalledCertificateIdsRequest: GetInstalledCertificateIdsResponse(
            status=GetInstalledCertificateStatusEnumType.NotFound
        ),
        pnc.TriggerMessageRequest: TriggerMessageResponse(
            status=TriggerMessageStatusEnumType.Accepted
        ),
        pnc.CertificateSignedRequest: CertificateSignedResponse(
            status=CertificateSignedStatusEnumType.Accepted
        ),
    }
    return "Accepted", answers[type(request)]


class PncStation:
    """A charge point that sends and answers Plug&Charge DataTransfers."""

    def __init__(self, ws: WebSocketConnection, answer: Answer) -> None:
        self.ws = ws
        self.answer = answer
        #: the Central System's PnC requests, decoded, in order
        self.received: list[Any] = []
        #: every schema a payload was checked against, in order
        self.checked: list[str] = []
        self._pending: dict[str, tuple[trio.Event, list[Any]]] = {}
        self._changed = trio.Event()

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, csms: CentralSystem, charge_point_id: str = "CP-1", answer: Answer = default_answer
    ) -> AsyncIterator[PncStation]:
        async with (
            open_websocket_url(csms.url() + charge_point_id, subprotocols=["ocpp1.6"]) as ws,
            trio.open_nursery() as nursery,
        ):
            station = cls(ws, answer)
            nursery.start_soon(station._read)
            await csms.session(charge_point_id)
            yield station
            nursery.cancel_scope.cancel()

    def _check(self, schema_name: str, payload: Any) -> None:
        check_schema(schema_name, payload)
        self.checked.append(schema_name)

    async def _read(self) -> None:
        while True:
            frame = frames.parse(await self.ws.get_message())
            if isinstance(frame, Call):
                await self._answer(frame)
            else:
                event, box = self._pending.pop(frame.unique_id)
                box.append(frame)
                event.set()

    async def _answer(self, call: Call) -> None:
        spec, request = rpc.decode_call(call)
        assert spec.action == "DataTransfer", f"the test station gets only DataTransfer, not {spec}"
        assert request.vendor_id == pnc.VENDOR_ID
        self._check(f"{request.message_id}Request", orjson.loads(request.data))
        message = pnc.from_data_transfer(request)
        self.received.append(message)
        self._changed.set()
        self._changed = trio.Event()
        status, response = self.answer(message)
        if status == "NoAnswer":  # as a station that hangs
            return
        data = None
        if response is not None:
            data = pnc.response_to_data(response)
            self._check(type(response).schema, orjson.loads(data))
        answer = v16.DataTransferResponse(status=v16.DataTransferStatus(status), data=data)
        await self.ws.send_message(frames.serialize(rpc.result(call, answer)))

    async def wait_received(self, count: int = 1) -> list[Any]:
        """The Central System's PnC requests, once there are `count` of them."""
        while len(self.received) < count:
            await self._changed.wait()
        return self.received

    async def call(self, request: Any) -> Any:
        """Send a 1.6 request and return the decoded response (AssertionError on CALLERROR)."""
        frame = rpc.call(request)
        event, box = trio.Event(), []
        self._pending[frame.unique_id] = (event, box)
        await self.ws.send_message(frames.serialize(frame))
        await event.wait()
        answer = box[0]
        assert not isinstance(answer, CallError), answer
        assert isinstance(answer, CallResult)
        return rpc.decode_result(frame.action, answer)

    async def pnc(self, message: Any) -> tuple[str, Any]:
        """Send a PnC request in a DataTransfer: (DataTransfer status, 2.0.1 response or None)."""
        self._check(message.schema, codec.encode(message))
        answer = await self.call(pnc.to_data_transfer(message))
        action = pnc.ACTION_OF[type(message)]
        if answer.data is None:
            return str(answer.status), None
        self._check(f"{action}Response", orjson.loads(answer.data))
        return str(answer.status), pnc.response_from_data(action, answer.data)

    async def data_transfer(self, message_id: str | None, data: str | None) -> Any:
        """A raw PnC DataTransfer (for bad payloads)."""
        return await self.call(
            v16.DataTransferRequest(vendor_id=pnc.VENDOR_ID, message_id=message_id, data=data)
        )
