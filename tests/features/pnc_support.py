"""Plug&Charge tests: a station with an ISO 15118 certificate store against the development
CSMS, a recording ISO 15118 stack, and the 2.0.1 schema check of every PnC payload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import orjson
import trio

from chargebox.actors.clock import StationClock
from chargebox.certstore import FileCertificateStore
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.host import CertificateUse, ContractAuthorization, EvCertificateResponse
from chargebox.ocpp import pnc
from chargebox.station import Host
from tests.csms.pnc_station import check_schema
from tests.support import RecordingEvse, RecordingSystem, Rig, running

EMAID = "DEFRAC123456789"
V2G = CertificateUse.V2GRootCertificate
MO = CertificateUse.MORootCertificate

#: Plug&Charge on, contracts validated offline; certificate management left to each test
PNC = {"ISO15118PnCEnabled": True, "ContractValidationOffline": True}


@attrs.define
class RecordingIso15118:
    """The ISO 15118 port: records what the engine tells the stack."""

    authorizations: list[tuple[int, ContractAuthorization]] = attrs.Factory(list)
    certificates: list[tuple[int, EvCertificateResponse]] = attrs.Factory(list)
    v2g_certificates: list[tuple[Path, Path]] = attrs.Factory(list)
    changed: trio.Event = attrs.Factory(trio.Event)

    def _note(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    async def authorization_response(
        self, connector_id: int, result: ContractAuthorization
    ) -> None:
        self.authorizations.append((connector_id, result))
        self._note()

    async def certificate_response(
        self, connector_id: int, response: EvCertificateResponse
    ) -> None:
        self.certificates.append((connector_id, response))
        self._note()

    async def v2g_certificate_changed(self, chain: Path, key: Path) -> None:
        self.v2g_certificates.append((chain, key))
        self._note()

    async def authorization(self, count: int = 1) -> ContractAuthorization:
        while len(self.authorizations) < count:
            await self.changed.wait()
        return self.authorizations[count - 1][1]

    async def certificate(self, count: int = 1) -> EvCertificateResponse:
        while len(self.certificates) < count:
            await self.changed.wait()
        return self.certificates[count - 1][1]


@attrs.define
class PncRig:
    rig: Rig
    store: FileCertificateStore
    iso15118: RecordingIso15118
    clock: StationClock

    @property
    def csms(self) -> CentralSystem:
        return self.rig.csms

    @property
    def cp(self) -> Any:
        return self.rig.cp

    @property
    def evse(self) -> RecordingEvse:
        return self.rig.evse

    async def session(self) -> Any:
        return await self.rig.session()


@asynccontextmanager
async def pnc_station(
    tmp_path: Path,
    *,
    roots: tuple[CertificateUse, ...] = (V2G, MO),
    csms_settings: CsmsSettings | None = None,
    iso15118: Any = None,
    store: bool = True,
    limit: float = 30 * 86400,
    **sections: dict[str, Any],
) -> AsyncIterator[PncRig]:
    """A station whose certificate store holds the CSMS's test roots `roots`, with a
    recording ISO 15118 stack, against the development CSMS (all on the test's clock)."""
    clock = StationClock()
    csms = CentralSystem(csms_settings or CsmsSettings())
    csms.clock = clock.now
    files = FileCertificateStore(tmp_path / "certificates", now=clock.now)
    pki = csms.pnc.pki
    for use in roots:
        files.install_ca(use, (pki.v2g_root if use is V2G else pki.mo_root).pem)
    stack = iso15118 if iso15118 is not None else RecordingIso15118()
    host = Host(
        evse=RecordingEvse(),
        system=RecordingSystem(),
        certificates=files if store else None,
        iso15118=stack,
    )
    sections.setdefault("PnC", PNC)
    async with running(tmp_path, csms=csms, host=host, clock=clock, limit=limit, **sections) as rig:
        yield PncRig(rig, files, stack, clock)


def pnc_exchanges(csms: CentralSystem, charge_point_id: str = "CP-1") -> list[tuple[str, str]]:
    """Every Plug&Charge DataTransfer of the session, checked against the official 2.0.1
    schemas both ways: (who sent the request, messageId), in order. A request's `data` is
    checked as `<messageId>Request`, its answer's `data` as `<messageId>Response`."""
    found: list[tuple[str, str]] = []
    for session in csms.all_sessions:
        if session.charge_point_id != charge_point_id:
            continue
        calls: dict[str, tuple[str, str]] = {}
        for exchange in session.exchanges:
            payload = exchange.payload
            if exchange.kind == "CALL" and exchange.action == "DataTransfer":
                if payload.get("vendorId") != pnc.VENDOR_ID:
                    continue
                message_id = payload["messageId"]
                check_schema(f"{message_id}Request", orjson.loads(payload["data"]))
                sender = "station" if exchange.direction == "in" else "csms"
                calls[exchange.unique_id or ""] = (sender, message_id)
                found.append((sender, message_id))
            elif exchange.kind == "CALLRESULT" and exchange.unique_id in calls:
                _, message_id = calls[exchange.unique_id]
                if payload.get("data") is not None:
                    check_schema(f"{message_id}Response", orjson.loads(payload["data"]))
    return found
