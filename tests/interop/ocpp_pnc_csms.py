"""A Plug&Charge Central System on the `ocpp` package from PyPI (asyncio + websockets).

Run as a separate process by tests/interop/test_pnc_interop.py against a chargebox
station (`chargebox sim --pnc`). Every PnC payload it receives or sends is made or
checked with the `ocpp` package's OCPP 2.0.1 classes and schemas (ocpp.v201), and
carried in 1.6 DataTransfer as the OCA application note says. The certificates come
from chargebox's test PKI with the development CSMS's seed (their content is not the
protocol under test): it signs the V2G CSR, issues the EV's contract and answers OCSP.
It listens on 127.0.0.1 with an ephemeral port and prints JSON lines:

    {"event": "listening", "port": N}
    {"event": "pnc", "direction": "in"|"out", "action": "...", "status": "...", "data": {...}}
    {"event": "call", "action": "..."}                                 1.6 CALLs received
    {"event": "result", "ok": true|false, "error": "..."}              the end

The scenario, after BootNotification: InstallCertificate (V2G root),
GetInstalledCertificateIds, TriggerMessage SignV2GCertificate; the station's
SignCertificate is answered and CertificateSigned sent; then it waits for the
station's GetCertificateStatus, Get15118EVCertificate, Authorize (with OCSP data of
the contract it issued), StartTransaction with the eMAID and StopTransaction.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import asdict
from datetime import UTC, datetime
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

from chargebox.pki import ev_certificate as ev
from chargebox.pki.iso15118 import Pki15118
from chargebox.pki.ocsp import CertId

VENDOR_ID = "org.openchargealliance.iso15118pnc"
STEP_TIMEOUT = 30.0


def emit(**fields: Any) -> None:
    print(json.dumps(fields, default=str), flush=True)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wire(message: Any) -> dict[str, Any]:
    """The JSON of an ocpp-package dataclass, as the package itself would send it."""
    return snake_to_camel_case(remove_nones(asdict(message)))


class _Hash:
    """OCSPRequestData as chargebox's CertId reads it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.hash_algorithm = data["hashAlgorithm"]
        self.issuer_name_hash = data["issuerNameHash"]
        self.issuer_key_hash = data["issuerKeyHash"]
        self.serial_number = data["serialNumber"]


class PncCsms(ChargePoint):
    def __init__(self, cp_id: str, connection: Any) -> None:
        super().__init__(cp_id, connection)
        self.pki = Pki15118.create("chargebox")
        self.received: list[tuple[str, Any]] = []
        self.changed = asyncio.Event()
        self.emaid: str | None = None
        self.contract_serial: str | None = None
        self.signed_chain: str | None = None

    def _note(self, action: str, payload: Any) -> None:
        self.received.append((action, payload))
        self.changed.set()

    async def route_message(self, raw: str) -> Any:
        frame = json.loads(raw)
        answered = await super().route_message(raw)
        if frame and frame[0] == 2:
            emit(event="call", action=frame[2])
            self._note(frame[2], frame[3])
        return answered

    async def wait_for(self, action: str, where: Any = lambda p: True) -> Any:
        async def found() -> Any:
            while True:
                for name, payload in self.received:
                    if name == action and where(payload):
                        return payload
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(found(), STEP_TIMEOUT)

    # -- the 1.6 messages ------------------------------------------------------------------

    @on("BootNotification")
    def on_boot(self, **_: Any) -> Any:
        return result16.BootNotification(current_time=now(), interval=300, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return result16.Heartbeat(current_time=now())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> Any:
        return result16.StatusNotification()

    @on("SecurityEventNotification")
    def on_security_event(self, **_: Any) -> Any:
        return result16.SecurityEventNotification()

    @on("StartTransaction")
    def on_start(self, **_: Any) -> Any:
        return result16.StartTransaction(transaction_id=1, id_tag_info={"status": "Accepted"})

    @on("StopTransaction")
    def on_stop(self, **_: Any) -> Any:
        return result16.StopTransaction(id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return result16.MeterValues()

    # -- Plug&Charge --------------------------------------------------------------------------

    @on("DataTransfer")
    async def on_data_transfer(
        self, vendor_id: str, message_id: str = "", data: str = "", **_: Any
    ) -> Any:
        if vendor_id != VENDOR_ID:
            return result16.DataTransfer(status="UnknownVendorId")
        payload = json.loads(data)
        # the station's 2.0.1 request, checked with the ocpp package's own schema
        await validate_payload(Call("inner", message_id, payload), "2.0.1")
        answer = wire(self.answer(message_id, payload))
        await validate_payload(CallResult("inner", answer, message_id), "2.0.1")
        emit(event="pnc", direction="in", action=message_id, data=payload, answer=answer)
        self._note(f"pnc:{message_id}", payload)
        if message_id == "SignCertificate":
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self.certificate_signed())
            )
        return result16.DataTransfer(status="Accepted", data=json.dumps(answer))

    def answer(self, action: str, payload: dict[str, Any]) -> Any:
        if action == "SignCertificate":
            self.signed_chain = self.pki.sign_secc_csr(payload["csr"]).chain_pem
            return result201.SignCertificate(status="Accepted")
        if action == "GetCertificateStatus":
            cert_id = CertId.from_wire(_Hash(payload["ocspRequestData"]))
            der = self.pki.statuses.response(cert_id, datetime.now(UTC))
            if der is None:
                return result201.GetCertificateStatus(status="Failed")
            return result201.GetCertificateStatus(
                status="Accepted", ocsp_result=base64.b64encode(der).decode()
            )
        if action == "Get15118EVCertificate":
            request = ev.read_request(payload["exiRequest"])
            self.emaid = "DECBXSIMEV0001"
            contract = self.pki.issue_contract(self.emaid)
            assert contract.key is not None
            self.contract_serial = format(contract.certificate.serial_number, "X")
            exi = ev.certificate_response(request, contract.chain, contract.key, self.emaid)
            return result201.Get15118EVCertificate(status="Accepted", exi_response=exi)
        if action == "Authorize":
            hashed = payload.get("iso15118CertificateHashData") or []
            ours = any(d["serialNumber"] == self.contract_serial for d in hashed)
            token = payload["idToken"]["idToken"]
            status = "Accepted" if ours and token == self.emaid else "Invalid"
            return result201.Authorize(
                id_token_info={"status": status},
                certificate_status="Accepted" if ours else "CertChainError",
            )
        raise AssertionError(f"the station sent {action}, which a station does not send")

    async def pnc(self, action: str, message: Any) -> dict[str, Any]:
        """Send a 2.0.1 request in DataTransfer; the station's 2.0.1 answer (validated)."""
        payload = wire(message)
        await validate_payload(Call("inner", action, payload), "2.0.1")
        answer = await self.call(
            call16.DataTransfer(vendor_id=VENDOR_ID, message_id=action, data=json.dumps(payload))
        )
        data = json.loads(answer.data) if answer.data else None
        if answer.status != "Accepted" or data is None:
            raise AssertionError(f"{action}: DataTransfer {answer.status}, data {answer.data!r}")
        await validate_payload(CallResult("inner", data, action), "2.0.1")
        emit(event="pnc", direction="out", action=action, status=data.get("status"), data=data)
        return data

    async def certificate_signed(self) -> None:
        try:
            assert self.signed_chain is not None
            await self.pnc(
                "CertificateSigned",
                call201.CertificateSigned(
                    certificate_chain=self.signed_chain, certificate_type="V2GCertificate"
                ),
            )
        except Exception as e:
            emit(event="result", ok=False, error=f"CertificateSigned: {type(e).__name__}: {e}")

    async def scenario(self) -> None:
        try:
            await self.wait_for("BootNotification")
            await self.pnc(
                "InstallCertificate",
                call201.InstallCertificate(
                    certificate_type="V2GRootCertificate", certificate=self.pki.v2g_root.pem
                ),
            )
            await self.pnc(
                "GetInstalledCertificateIds",
                call201.GetInstalledCertificateIds(certificate_type=["V2GRootCertificate"]),
            )
            await self.pnc(
                "TriggerMessage", call201.TriggerMessage(requested_message="SignV2GCertificate")
            )
            await self.wait_for("pnc:GetCertificateStatus")
            await self.wait_for("pnc:Get15118EVCertificate")
            await self.wait_for("pnc:Authorize")
            start = await self.wait_for("StartTransaction")
            if start["idTag"] != self.emaid:
                raise AssertionError(f"StartTransaction idTag {start['idTag']}, not the eMAID")
            await self.wait_for("StopTransaction")
            emit(event="result", ok=True)
        except Exception as e:
            emit(event="result", ok=False, error=f"{type(e).__name__}: {e}")


async def main() -> None:
    started = asyncio.Event()

    async def serve(ws: Any) -> None:
        cp_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        csms = PncCsms(cp_id, ws)
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
