"""Plug&Charge towards the Central System: a contract's authorization, an EV's certificate request.

The OCA application note "Using ISO 15118 Plug & Charge with OCPP 1.6" carries
OCPP 2.0.1 messages in DataTransfer (vendorId org.openchargealliance.iso15118pnc,
the action as messageId, the 2.0.1 payload as JSON text in `data`);
`pnc_call` sends one and reads the 2.0.1 answer, both checked against the
2.0.1 schemas.

`ContractAuthorizer` decides on a contract the EV presented (OCPP 2.0.1 C07,
as libocpp applies it to 1.6, with the differences below):

- ISO15118PnCEnabled false (or no PnC section): Invalid, nothing is sent.
- Online, with OCSP data from the ISO 15118 stack: Authorize with it.
- Online, with the contract chain: the station validates it against its MO
  (and V2G) roots. No root of its issuer (or no ISO 15118 certificate store):
  with CentralContractValidationAllowed the chain itself goes in Authorize
  (C07.FR.06), else Invalid. A chain the roots prove bad (a signature that
  does not verify, an expired or revoked certificate, another eMAID) is
  refused at once with the statuses of its problem; libocpp forwards it, but
  the OCSP data of a forged certificate would look good to the Central System.
  A valid chain: Authorize with its OCSP data (C07.FR.02), or with the chain
  when it names no OCSP responder and CentralContractValidationAllowed.
- The Central System's idTokenInfo is the verdict; it goes to the
  authorization cache as the eMAID's idTagInfo (so that an offline station
  finds it, C07.FR.09). A DataTransfer it does not accept (UnknownVendorId from
  a Central System without Plug&Charge) or answers badly gives Unknown.
- Offline (or the Authorize unanswered): with ContractValidationOffline the
  chain is validated locally (C07.FR.08); a valid contract's eMAID is looked up
  in the Local Authorization List and the cache like an idTag (C07.FR.09:
  LocalAuthorizeOffline, AllowOfflineTxForUnknownId); an invalid one gets its
  problem's statuses (Expired / CertificateExpired for an expired one). Without
  ContractValidationOffline: NotAtThisTime (C07.FR.07).

`request_ev_certificate` passes the EV's CertificateInstallationReq or
CertificateUpdateReq (the exiRequest, unchanged) to the Central System in
Get15118EVCertificate and returns its answer; only with ISO15118PnCEnabled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from chargebox.actors.authorization import Authorizer
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Gate, Offline
from chargebox.host import (
    ContractAuthorization,
    EvCertificateResponse,
    Iso15118CertificateStore,
    OcspRequestData,
)
from chargebox.ocpp import pnc, v16
from chargebox.ocpp.errors import EncodeError, OcppError
from chargebox.ocpp.pnc import (
    AuthorizationStatusEnumType,
    AuthorizeRequest,
    CertificateActionEnumType,
    Get15118EVCertificateRequest,
    IdTokenEnumType,
    IdTokenType,
    OCSPRequestDataType,
)
from chargebox.ocpp.v16 import AuthorizationStatus, DataTransferStatus
from chargebox.pki.contract import ContractProblem

log = logging.getLogger(__name__)

#: what Get15118EVCertificate names when the host gives no schema version (ISO 15118-2)
ISO15118_2_SCHEMA = "urn:iso:15118:2:2013:MsgDef"

# 2.0.1 statuses that 1.6's idTagInfo has; the others are Invalid there
_TO_V16 = {
    "Accepted": AuthorizationStatus.Accepted,
    "Blocked": AuthorizationStatus.Blocked,
    "Expired": AuthorizationStatus.Expired,
    "Invalid": AuthorizationStatus.Invalid,
    "ConcurrentTx": AuthorizationStatus.ConcurrentTx,
}


class PncCallFailed(Exception):
    """A Plug&Charge DataTransfer that brought no usable answer; the message says why.
    `unanswered`: no answer came at all (offline, the connection lost, no answer in time,
    a CALLERROR), as opposed to an answer that refuses or cannot be read."""

    def __init__(self, action: str, reason: str, *, unanswered: bool) -> None:
        super().__init__(f"{action}: {reason}")
        self.action = action
        self.unanswered = unanswered


def pnc_enabled(ctx: StationContext) -> bool:
    """Plug&Charge authorization is on: a PnC section with ISO15118PnCEnabled true."""
    return ctx.cfg.get("ISO15118PnCEnabled") is True


def iso15118_store(ctx: StationContext) -> Iso15118CertificateStore | None:
    """The host's certificate store when it serves Plug&Charge, else None."""
    store = ctx.host.certificates
    return store if isinstance(store, Iso15118CertificateStore) else None


def certificate_management_enabled(ctx: StationContext) -> bool:
    """The Central System's PnC DataTransfers are served and the V2G timers run: a PnC
    section with ISO15118CertificateManagementEnabled true, and an ISO 15118 store."""
    return (
        "ISO15118PnCEnabled" in ctx.cfg
        and ctx.cfg.get("ISO15118CertificateManagementEnabled") is True
        and iso15118_store(ctx) is not None
    )


async def pnc_call(ctx: StationContext, message: Any) -> Any:
    """Send a Plug&Charge request in a DataTransfer (once the registration is Accepted);
    the 2.0.1 response. Raises PncCallFailed."""
    action = pnc.ACTION_OF[type(message)]
    try:
        request = pnc.to_data_transfer(message)
    except EncodeError as e:
        raise PncCallFailed(action, str(e), unanswered=False) from None
    try:
        answer = await ctx.endpoint.call(request, gate=Gate.ACCEPTED)
    except (Offline, ConnectionLost, CallTimeout, CallFailed) as e:
        raise PncCallFailed(action, f"not answered ({e})", unanswered=True) from None
    if answer.status != DataTransferStatus.Accepted:
        raise PncCallFailed(
            action, f"the Central System answered DataTransfer {answer.status}", unanswered=False
        )
    try:
        return pnc.response_from_data(action, answer.data)
    except OcppError as e:
        raise PncCallFailed(
            action, f"the Central System's answer is not a 2.0.1 response: {e}", unanswered=False
        ) from None


def wire_ocsp(data: OcspRequestData) -> OCSPRequestDataType:
    """A store's OCSP request data as 2.0.1's OCSPRequestDataType."""
    hashed = data.hash_data
    return OCSPRequestDataType(
        hash_algorithm=str(hashed.hash_algorithm),
        issuer_name_hash=hashed.issuer_name_hash,
        issuer_key_hash=hashed.issuer_key_hash,
        serial_number=hashed.serial_number,
        responder_url=data.responder_url,
    )


class ContractAuthorizer:
    """Decides on the contracts EVs present (see the module's docstring); `authorizer`
    keeps the authorization cache and looks eMAIDs up offline."""

    def __init__(self, ctx: StationContext, authorizer: Authorizer) -> None:
        self.ctx = ctx
        self.authorizer = authorizer

    def _flag(self, key: str) -> bool:
        return self.ctx.cfg.get(key) is True

    async def authorize(
        self,
        emaid: str,
        certificate: str | None = None,
        ocsp: Sequence[OcspRequestData] | None = None,
    ) -> ContractAuthorization:
        """The verdict on the contract of `emaid`, with its chain (PEM, leaf first) or the
        OCSP data of it."""
        if not pnc_enabled(self.ctx):
            return _refused(
                emaid,
                "Invalid",
                "ISO15118PnCEnabled is false (or the configuration has no PnC section)",
            )
        if self.ctx.endpoint.accepted:
            request = await self._request(emaid, certificate, ocsp)
            if isinstance(request, ContractAuthorization):
                return request
            try:
                response = await pnc_call(self.ctx, request)
            except PncCallFailed as e:
                if not e.unanswered:
                    log.warning("Authorize of a contract: %s", e)
                    return _refused(emaid, "Unknown", str(e), source="csms")
                log.info("Authorize of a contract went unanswered (%s): deciding offline", e)
            else:
                return self._answered(emaid, response)
        return await self._offline(emaid, certificate)

    async def _request(
        self, emaid: str, certificate: str | None, ocsp: Sequence[OcspRequestData] | None
    ) -> AuthorizeRequest | ContractAuthorization:
        """What Authorize carries online, or the refusal when nothing may go."""
        token = IdTokenType(id_token=emaid, type=IdTokenEnumType.eMAID)
        if ocsp:
            return AuthorizeRequest(
                id_token=token, iso15118_certificate_hash_data=[wire_ocsp(d) for d in ocsp]
            )
        if certificate is None:
            return _refused(
                emaid, "Invalid", "neither the contract certificate chain nor its OCSP data given"
            )
        central = self._flag("CentralContractValidationAllowed")
        store = iso15118_store(self.ctx)
        verdict = None
        if store is not None:
            verdict = await self.ctx.call_host(
                "validate a contract certificate", store.verify_contract(certificate, emaid)
            )
            if verdict is None:
                return _refused(emaid, "Invalid", "the certificate store failed to validate it")
        if verdict is None or verdict.problem is ContractProblem.UnknownRoot:
            why = verdict.reason if verdict is not None else "no ISO 15118 certificate store"
            if central:
                log.info("Authorize %s: %s; the Central System validates the chain", emaid, why)
                return AuthorizeRequest(id_token=token, certificate=certificate)
            return _refused(
                emaid,
                "Invalid",
                f"{why}, and CentralContractValidationAllowed is false",
                certificate_status="CertChainError",
            )
        if not verdict.ok:
            return _refused(
                emaid,
                str(verdict.authorization_status),
                verdict.reason,
                certificate_status=str(verdict.certificate_status),
            )
        assert store is not None
        data = await self.ctx.call_host(
            "make the contract's OCSP request data", store.contract_ocsp_request_data(certificate)
        )
        if data:
            return AuthorizeRequest(
                id_token=token, iso15118_certificate_hash_data=[wire_ocsp(d) for d in data]
            )
        if central:
            return AuthorizeRequest(id_token=token, certificate=certificate)
        return _refused(
            emaid,
            "Invalid",
            "the contract chain names no OCSP responder, and CentralContractValidationAllowed "
            "is false",
        )

    def _answered(self, emaid: str, response: Any) -> ContractAuthorization:
        info = response.id_token_info
        status = str(info.status)
        group = info.group_id_token.id_token if info.group_id_token is not None else None
        # the Central System's word on the eMAID, for an offline lookup later (C07.FR.09)
        self.authorizer.remember(
            emaid,
            v16.IdTagInfo(
                status=_TO_V16.get(status, AuthorizationStatus.Invalid),
                expiry_date=info.cache_expiry_date_time,
                parent_id_tag=group if group is not None and len(group) <= 20 else None,
            ),
        )
        certificate_status = (
            str(response.certificate_status) if response.certificate_status is not None else None
        )
        return ContractAuthorization(
            emaid,
            status,
            certificate_status,
            source="csms",
            reason="the Central System's answer",
            group_id_token=group,
        )

    async def _offline(self, emaid: str, certificate: str | None) -> ContractAuthorization:
        if not self._flag("ContractValidationOffline"):
            return _refused(
                emaid,
                str(AuthorizationStatusEnumType.NotAtThisTime),
                "offline, and ContractValidationOffline is false",
            )
        store = iso15118_store(self.ctx)
        if certificate is None or store is None:
            why = "no contract certificate chain" if certificate is None else "no ISO 15118 store"
            return _refused(emaid, "Invalid", f"offline: {why} to validate the contract with")
        verdict = await self.ctx.call_host(
            "validate a contract certificate", store.verify_contract(certificate, emaid)
        )
        if verdict is None:
            return _refused(emaid, "Invalid", "offline: the certificate store failed")
        if not verdict.ok:
            return ContractAuthorization(
                emaid,
                str(verdict.authorization_status),
                str(verdict.certificate_status),
                source="local",
                reason=f"offline: {verdict.reason}",
            )
        decided = self.authorizer.decide_offline(emaid)
        return ContractAuthorization(
            emaid,
            str(decided.status),
            "Accepted",
            source="local",
            reason=f"offline: the contract is valid; the eMAID ({decided.source}) is "
            f"{decided.status}",
            group_id_token=decided.parent_id_tag,
        )


def _refused(
    emaid: str,
    status: str,
    reason: str,
    *,
    certificate_status: str | None = None,
    source: str = "station",
) -> ContractAuthorization:
    return ContractAuthorization(emaid, status, certificate_status, source=source, reason=reason)


async def request_ev_certificate(
    ctx: StationContext,
    exi_request: str,
    action: str = "Install",
    schema_version: str = ISO15118_2_SCHEMA,
) -> EvCertificateResponse:
    """The Central System's answer to an EV's certificate request (Get15118EVCertificate)."""
    if not pnc_enabled(ctx):
        return EvCertificateResponse(
            "Failed",
            reason="ISO15118PnCEnabled is false (or the configuration has no PnC section)",
        )
    try:
        kind = CertificateActionEnumType(action)
    except ValueError:
        allowed = ", ".join(a.value for a in CertificateActionEnumType)
        return EvCertificateResponse("Failed", reason=f"action {action!r} is not one of {allowed}")
    request = Get15118EVCertificateRequest(
        iso15118_schema_version=schema_version, action=kind, exi_request=exi_request
    )
    try:
        response = await pnc_call(ctx, request)
    except PncCallFailed as e:
        log.warning("Get15118EVCertificate: %s", e)
        return EvCertificateResponse("Failed", reason=str(e))
    info = response.status_info
    reason = ""
    if info is not None:
        reason = info.reason_code + (f": {info.additional_info}" if info.additional_info else "")
    return EvCertificateResponse(str(response.status), response.exi_response, reason)
