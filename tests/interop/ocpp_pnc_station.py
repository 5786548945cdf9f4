"""A Plug&Charge charge point on the `ocpp` package from PyPI (asyncio + websockets).

Run as a separate process by tests/interop/test_pnc_interop.py against the
development CSMS. It builds every PnC payload with the `ocpp` package's OCPP
2.0.1 classes (ocpp.v201.call / call_result), validates each one it sends and
receives with that package's own 2.0.1 schemas, and carries them in 1.6
DataTransfer as the OCA application note says. Arguments: the CSMS URL (ending
in the charge point id) and a folder with the test's inputs (inputs.json).
It prints JSON lines:

    {"event": "answer", "action": "...", "status": "...", "data": {...}}   its requests' answers
    {"event": "request", "action": "...", "data": {...}}                    the CSMS's requests
    {"event": "result", "ok": true|false, "error": "..."}                   the end
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import websockets
from ocpp.charge_point import remove_nones, snake_to_camel_case
from ocpp.messages import Call, CallResult, validate_payload
from ocpp.routing import on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

VENDOR_ID = "org.openchargealliance.iso15118pnc"
STEP_TIMEOUT = 20.0
#: the CSMS-initiated requests the scenario waits for before it ends
EXPECTED_REQUESTS = 5


def emit(**fields: Any) -> None:
    print(json.dumps(fields, default=str), flush=True)


def wire(message: Any) -> dict[str, Any]:
    """The JSON of an ocpp-package dataclass, as the package itself would send it."""
    return snake_to_camel_case(remove_nones(asdict(message)))


ANSWERS = {
    "CertificateSigned": result201.CertificateSigned(status="Accepted"),
    "InstallCertificate": result201.InstallCertificate(status="Accepted"),
    "DeleteCertificate": result201.DeleteCertificate(status="NotFound"),
    "GetInstalledCertificateIds": result201.GetInstalledCertificateIds(
        status="Accepted",
        certificate_hash_data_chain=[
            {
                "certificate_type": "V2GRootCertificate",
                "certificate_hash_data": {
                    "hash_algorithm": "SHA256",
                    "issuer_name_hash": "aa" * 32,
                    "issuer_key_hash": "bb" * 32,
                    "serial_number": "1F",
                },
            }
        ],
    ),
    "TriggerMessage": result201.TriggerMessage(status="Accepted"),
}


class PncStation(ChargePoint):
    def __init__(self, cp_id: str, connection: Any) -> None:
        super().__init__(cp_id, connection)
        self.requests: list[str] = []
        self.changed = asyncio.Event()

    @on("DataTransfer")
    async def on_data_transfer(
        self, vendor_id: str, message_id: str = "", data: str = "", **_: Any
    ) -> Any:
        if vendor_id != VENDOR_ID or message_id not in ANSWERS:
            return result16.DataTransfer(status="UnknownMessageId")
        payload = json.loads(data)
        # the CSMS's 2.0.1 request, checked with the ocpp package's own schema
        await validate_payload(Call("inner", message_id, payload), "2.0.1")
        emit(event="request", action=message_id, data=payload)
        self.requests.append(message_id)
        self.changed.set()
        answer = wire(ANSWERS[message_id])
        await validate_payload(CallResult("inner", answer, message_id), "2.0.1")
        return result16.DataTransfer(status="Accepted", data=json.dumps(answer))

    async def pnc(self, action: str, message: Any) -> dict[str, Any] | None:
        payload = wire(message)
        await validate_payload(Call("inner", action, payload), "2.0.1")
        answer = await self.call(
            call16.DataTransfer(vendor_id=VENDOR_ID, message_id=action, data=json.dumps(payload))
        )
        data = json.loads(answer.data) if answer.data else None
        if data is not None:
            await validate_payload(CallResult("inner", data, action), "2.0.1")
        emit(event="answer", action=action, status=answer.status, data=data)
        return data

    async def wait_requests(self, count: int) -> None:
        async def enough() -> None:
            while len(self.requests) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(enough(), STEP_TIMEOUT)


async def scenario(station: PncStation, inputs: dict[str, Any]) -> None:
    token = {"id_token": inputs["emaid"], "type": "eMAID"}
    await station.pnc(
        "Authorize", call201.Authorize(id_token=token, certificate=inputs["contract_chain"])
    )
    await station.pnc(
        "Authorize",
        call201.Authorize(
            id_token=token,
            iso15118_certificate_hash_data=[
                {
                    "hash_algorithm": d["hashAlgorithm"],
                    "issuer_name_hash": d["issuerNameHash"],
                    "issuer_key_hash": d["issuerKeyHash"],
                    "serial_number": d["serialNumber"],
                    "responder_url": d["responderURL"],
                }
                for d in inputs["ocsp_request_data"]
            ],
        ),
    )
    first = inputs["ocsp_request_data"][0]
    await station.pnc(
        "GetCertificateStatus",
        call201.GetCertificateStatus(
            ocsp_request_data={
                "hash_algorithm": first["hashAlgorithm"],
                "issuer_name_hash": first["issuerNameHash"],
                "issuer_key_hash": first["issuerKeyHash"],
                "serial_number": first["serialNumber"],
                "responder_url": first["responderURL"],
            }
        ),
    )
    await station.pnc(
        "Get15118EVCertificate",
        call201.Get15118EVCertificate(
            iso15118_schema_version="urn:iso:15118:2:2013:MsgDef",
            action="Install",
            exi_request=inputs["exi_request"],
        ),
    )
    await station.pnc(
        "SignCertificate",
        call201.SignCertificate(csr=inputs["csr"], certificate_type="V2GCertificate"),
    )
    # CertificateSigned, then what the test sends: Install, Delete, GetInstalled, Trigger
    await station.wait_requests(EXPECTED_REQUESTS)


async def main() -> int:
    url, folder = sys.argv[1], Path(sys.argv[2])
    inputs = json.loads((folder / "inputs.json").read_text())
    try:
        async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:
            station = PncStation(url.rsplit("/", 1)[-1], ws)
            runner = asyncio.create_task(station.start())
            try:
                await scenario(station, inputs)
                emit(event="result", ok=True)
                # keep answering (the last request's answer is still to go out) until the
                # Central System closes the connection or the test ends this process
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(runner, STEP_TIMEOUT)
            finally:
                runner.cancel()
    except Exception as e:  # the test reads the reason from the result line
        emit(event="result", ok=False, error=f"{type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
