"""Plug&Charge in the development Central System: ISO 15118 certificate handling over DataTransfer.

As the OCA application note "Using ISO 15118 Plug & Charge with OCPP 1.6"
has it, the OCPP 2.0.1 messages travel in DataTransfer with vendorId
`org.openchargealliance.iso15118pnc`, the 2.0.1 action as messageId and the
JSON text of the 2.0.1 payload as `data`; the answer's `data` is the JSON text
of the 2.0.1 response. Both are checked against the 2.0.1 schemas
(chargebox.ocpp.pnc) in both directions.

The Central System holds a test PKI (chargebox.pki.iso15118: V2G, MO and OEM
hierarchies) and its OCSP status list, and answers what a station sends:

- Authorize: the contract chain (`certificate`) is validated against the MO
  and V2G roots it trusts (chargebox.pki.contract); OCSP data
  (`iso15118CertificateHashData`) is looked up in the status list; then the
  eMAID is authorized like an idTag (CsmsSettings: accepted, blocked and parent
  tags). idTokenInfo and certificateStatus say the outcome.
- Get15118EVCertificate: the EV's request (chargebox's JSON form, not EXI:
  chargebox.pki.ev_certificate) is checked against the OEM root (installation)
  or the MO root (update), and a contract certificate is issued by the MO
  sub-CA 2, its key encrypted for the EV.
- GetCertificateStatus: a DER OCSP response from the status list, base64.
- SignCertificate (V2GCertificate): the CSR is signed by the CPO sub-CA 2;
  after the answer the chain goes back in CertificateSigned (V2GCertificate).

The CSMS-initiated messages (InstallCertificate, DeleteCertificate,
GetInstalledCertificateIds, TriggerMessage, CertificateSigned) are sent with
`PlugAndCharge.call`, or typed at the console as `pnc <Action> ...`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509
from cryptography.x509.oid import NameOID

from chargebox.ocpp import pnc, v16
from chargebox.ocpp.errors import NotImplementedAction, OcppError
from chargebox.ocpp.pnc import (
    AuthorizationStatusEnumType,
    AuthorizeCertificateStatusEnumType,
    AuthorizeRequest,
    AuthorizeResponse,
    CertificateSignedRequest,
    CertificateSigningUseEnumType,
    DeleteCertificateRequest,
    GenericStatusEnumType,
    Get15118EVCertificateRequest,
    Get15118EVCertificateResponse,
    GetCertificateIdUseEnumType,
    GetCertificateStatusEnumType,
    GetCertificateStatusRequest,
    GetCertificateStatusResponse,
    GetInstalledCertificateIdsRequest,
    IdTokenEnumType,
    IdTokenInfoType,
    IdTokenType,
    InstallCertificateRequest,
    InstallCertificateUseEnumType,
    Iso15118EVCertificateStatusEnumType,
    MessageTriggerEnumType,
    SignCertificateRequest,
    SignCertificateResponse,
    StatusInfoType,
    TriggerMessageRequest,
)
from chargebox.ocpp.v16 import DataTransferStatus, Initiator
from chargebox.pki import ev_certificate as ev
from chargebox.pki.contract import (
    ContractProblem,
    ContractValidation,
    same_emaid,
    validate_chain,
    validate_contract,
)
from chargebox.pki.iso15118 import Credential, CsrRefused, Pki15118
from chargebox.pki.ocsp import CertId, CertStatus

if TYPE_CHECKING:
    from chargebox.csms.server import CentralSystem, Session

log = logging.getLogger(__name__)

VENDOR_ID = pnc.VENDOR_ID
#: what the console accepts for InstallCertificate's certificate: the CSMS's own roots
ROOT_REFERENCES = {"@v2g-root": "v2g_root", "@mo-root": "mo_root"}


class PncRefused(Exception):
    """The station answered a Plug&Charge DataTransfer with a status other than Accepted."""

    def __init__(self, action: str, status: str, data: str | None) -> None:
        super().__init__(f"{action}: the charge point answered DataTransfer {status}")
        self.action = action
        self.status = status
        self.data = data


@attrs.define
class PncSettings:
    """How the development Central System plays Plug&Charge.

    `enabled` False answers every PnC DataTransfer UnknownVendorId, as a Central
    System without Plug&Charge does. `sign_status` is the answer to SignCertificate
    (Rejected to test a station's repeats); `send_certificate_signed` sends the
    signed V2G chain back in CertificateSigned right after the answer. `contracts`
    gives the eMAID to issue for an EV's PCID (otherwise one is derived from it);
    `provider_id` is the provider part of derived eMAIDs.
    """

    enabled: bool = True
    sign_status: GenericStatusEnumType = attrs.field(
        default=GenericStatusEnumType.Accepted, converter=GenericStatusEnumType
    )
    send_certificate_signed: bool = True
    contracts: dict[str, str] = attrs.field(factory=dict)
    provider_id: str = "CBX"
    #: contract certificates' lifetime (None: the PKI's default)
    contract_validity: timedelta | None = None


def _status_info(reason_code: str, additional_info: str | None = None) -> StatusInfoType:
    # reasonCode is a string[20], additionalInfo a string[512]
    info = additional_info[:512] if additional_info else None
    return StatusInfoType(reason_code=reason_code[:20], additional_info=info)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


_EV_CODES = {
    ContractProblem.Expired: ev.ResponseCode.FAILED_CertificateExpired,
    ContractProblem.NotYetValid: ev.ResponseCode.FAILED_CertificateExpired,
    ContractProblem.Revoked: ev.ResponseCode.FAILED_CertificateRevoked,
    ContractProblem.Unreadable: ev.ResponseCode.FAILED_NoCertificateAvailable,
}
_V16_TO_V201 = {
    v16.AuthorizationStatus.Accepted: AuthorizationStatusEnumType.Accepted,
    v16.AuthorizationStatus.Blocked: AuthorizationStatusEnumType.Blocked,
    v16.AuthorizationStatus.Expired: AuthorizationStatusEnumType.Expired,
    v16.AuthorizationStatus.Invalid: AuthorizationStatusEnumType.Invalid,
    v16.AuthorizationStatus.ConcurrentTx: AuthorizationStatusEnumType.ConcurrentTx,
}


class PlugAndCharge:
    """The Plug&Charge side of a development Central System (`CentralSystem.pnc`)."""

    def __init__(
        self,
        csms: CentralSystem,
        pki: Pki15118 | None = None,
        settings: PncSettings | None = None,
    ) -> None:
        self.csms = csms
        self.settings = settings or PncSettings()
        self._pki = pki
        #: roots trusted for contracts besides the PKI's MO and V2G roots
        self.trusted_roots: list[x509.Certificate] = []
        #: contract certificates issued for Get15118EVCertificate, by eMAID
        self.issued_contracts: dict[str, Credential] = {}
        #: V2G certificates signed for SignCertificate, by charge point id
        self.signed_v2g: dict[str, Credential] = {}
        #: (charge point id, CertificateSigned status) of the chains sent back
        self.certificate_signed_results: list[tuple[str, str]] = []
        #: (action, why) of every PnC DataTransfer refused for its content
        self.refusals: list[tuple[str, str]] = []
        csms.on_data_transfer(VENDOR_ID, None, self.data_transfer)

    @property
    def pki(self) -> Pki15118:
        """The test PKI (made on first use, its time the Central System's clock)."""
        if self._pki is None:
            self._pki = Pki15118.create(clock=self.csms.clock)
        return self._pki

    def _now(self) -> datetime:
        return self.csms.clock()

    # -- receiving ----------------------------------------------------------------------------

    async def data_transfer(
        self, session: Session, request: v16.DataTransferRequest
    ) -> tuple[str, str | None]:
        """Answer a charge point's PnC DataTransfer: (DataTransferStatus, data)."""
        if not self.settings.enabled:
            return DataTransferStatus.UnknownVendorId, None
        spec = pnc.PNC_ACTIONS.get(request.message_id or "")
        if spec is None or spec.initiator is not Initiator.ChargePoint:
            return DataTransferStatus.UnknownMessageId, None
        try:
            message = pnc.from_data_transfer(request)
        except NotImplementedAction:
            return DataTransferStatus.UnknownMessageId, None
        except OcppError as e:
            # the DataTransfer is fine, what it carries is not: refused, said in one line
            log.warning("%s sent a bad PnC %s: %s", session.charge_point_id, spec.action, e)
            self.refusals.append((spec.action, e.description))
            return DataTransferStatus.Rejected, None
        handler = {
            "Authorize": self.authorize,
            "Get15118EVCertificate": self.get_15118_ev_certificate,
            "GetCertificateStatus": self.get_certificate_status,
            "SignCertificate": self.sign_certificate,
        }[spec.action]
        response = handler(session, message)
        return DataTransferStatus.Accepted, pnc.response_to_data(response)

    # -- Authorize -------------------------------------------------------------------------------

    def contract_roots(self) -> list[x509.Certificate]:
        return [self.pki.mo_root.certificate, self.pki.v2g_root.certificate, *self.trusted_roots]

    def _status(self, cert: x509.Certificate, issuer: x509.Certificate) -> CertStatus | None:
        return self.pki.statuses.status(CertId.of(cert, issuer))

    def validate(
        self, chain: str | Sequence[x509.Certificate], emaid: str | None = None
    ) -> ContractValidation:
        """A contract chain as this Central System sees it (its roots, its status list)."""
        return validate_contract(
            chain, self.contract_roots(), self._now(), emaid=emaid, status=self._status
        )

    def authorize(self, session: Session, request: AuthorizeRequest) -> AuthorizeResponse:
        token = request.id_token
        certificate_status: AuthorizeCertificateStatusEnumType | None = None
        if request.certificate is not None:
            verdict = self.validate(request.certificate, token.id_token)
            log.info("Authorize %s: %s", token.id_token, verdict.reason)
            if not verdict.ok:
                return self._refused(verdict.authorization_status, verdict.certificate_status)
            certificate_status = AuthorizeCertificateStatusEnumType.Accepted
        elif request.iso15118_certificate_hash_data:
            refused = self._check_hash_data(token, request.iso15118_certificate_hash_data)
            if refused is not None:
                return refused
            certificate_status = AuthorizeCertificateStatusEnumType.Accepted
        info = self._token_info(session, token)
        return AuthorizeResponse(id_token_info=info, certificate_status=certificate_status)

    @staticmethod
    def _refused(
        status: AuthorizationStatusEnumType, certificate: AuthorizeCertificateStatusEnumType
    ) -> AuthorizeResponse:
        return AuthorizeResponse(
            id_token_info=IdTokenInfoType(status=status), certificate_status=certificate
        )

    def _check_hash_data(
        self, token: IdTokenType, entries: tuple[Any, ...]
    ) -> AuthorizeResponse | None:
        """The refusal the OCSP data of a contract chain calls for, or None when it is good."""
        chain_error = AuthorizeCertificateStatusEnumType.CertChainError
        invalid = AuthorizationStatusEnumType.Invalid
        leaf: x509.Certificate | None = None
        for data in entries:
            try:
                cert_id = CertId.from_wire(data)
                status = self.pki.statuses.status(cert_id)
            except ValueError as e:
                log.info("Authorize %s: bad OCSP data: %s", token.id_token, e)
                return self._refused(invalid, chain_error)
            if status is None:
                log.info(
                    "Authorize %s: serial %s of an unknown issuer",
                    token.id_token,
                    data.serial_number,
                )
                return self._refused(invalid, chain_error)
            if status is CertStatus.revoked:
                return self._refused(invalid, AuthorizeCertificateStatusEnumType.CertificateRevoked)
            entry = self.pki.statuses.find(cert_id)
            if status is CertStatus.unknown or entry is None:
                log.info("Authorize %s: serial %s is unknown", token.id_token, data.serial_number)
                return self._refused(invalid, chain_error)
            now = self._now()
            cert = entry.certificate
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                return self._refused(
                    AuthorizationStatusEnumType.Expired,
                    AuthorizeCertificateStatusEnumType.CertificateExpired,
                )
            basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            if not basic.ca:
                leaf = cert
        if leaf is None or not same_emaid(token.id_token, _common_name(leaf)):
            log.info("Authorize %s: the OCSP data names no contract of that eMAID", token.id_token)
            return self._refused(invalid, chain_error)
        return None

    def _token_info(self, session: Session, token: IdTokenType) -> IdTokenInfoType:
        """The eMAID (or any idToken) authorized by the idTag rules of CsmsSettings."""
        s = self.csms.settings

        def listed(tags: frozenset[str] | dict[str, str]) -> str | None:
            return next((t for t in tags if same_emaid(t, token.id_token)), None)

        if listed(s.blocked_id_tags):
            status = v16.AuthorizationStatus.Blocked
        elif s.authorize_all or listed(s.accepted_id_tags):
            status = v16.AuthorizationStatus.Accepted
        else:
            status = v16.AuthorizationStatus.Invalid
        parent_key = listed(s.parent_id_tags)
        group = (
            IdTokenType(id_token=s.parent_id_tags[parent_key], type=IdTokenEnumType.Central)
            if parent_key is not None
            else None
        )
        return IdTokenInfoType(status=_V16_TO_V201[status], group_id_token=group)

    # -- Get15118EVCertificate ----------------------------------------------------------------

    def emaid_for(self, pcid: str) -> str:
        """The eMAID issued to the EV with this PCID: `PncSettings.contracts`, or one made
        from the PCID (country of the PKI, `provider_id`, 9 characters of its hash)."""
        if pcid in self.settings.contracts:
            return self.settings.contracts[pcid]
        digest = base64.b32encode(hashlib.sha256(pcid.encode()).digest()).decode()
        return f"{self.pki.country}{self.settings.provider_id}{digest[:9]}"

    def get_15118_ev_certificate(
        self, session: Session, request: Get15118EVCertificateRequest
    ) -> Get15118EVCertificateResponse:
        try:
            wanted = ev.read_request(request.exi_request)
        except ev.ExchangeError as e:
            log.warning("Get15118EVCertificate from %s: %s", session.charge_point_id, e)
            return Get15118EVCertificateResponse(
                status=Iso15118EVCertificateStatusEnumType.Failed,
                exi_response="",
                status_info=_status_info("InvalidExiRequest", str(e)),
            )
        if wanted.action != str(request.action):
            why = f"action {request.action} but the exiRequest is a {wanted.message}"
            return Get15118EVCertificateResponse(
                status=Iso15118EVCertificateStatusEnumType.Failed,
                exi_response="",
                status_info=_status_info("ActionMismatch", why),
            )
        now = self._now()
        if wanted.message == ev.INSTALLATION_REQ:
            verdict = validate_chain(
                wanted.chain,
                [self.pki.oem_root.certificate],
                now,
                status=self._status,
                what="OEM provisioning certificate",
            )
            emaid = self.emaid_for(_common_name(wanted.chain[0]))
        else:
            verdict = self.validate(wanted.chain, wanted.emaid)
            emaid = verdict.emaid or ""
        log.info("Get15118EVCertificate %s: %s", wanted.action, verdict.reason)
        if not verdict.ok:
            code = _EV_CODES.get(verdict.problem, ev.ResponseCode.FAILED_CertChainError)
            return Get15118EVCertificateResponse(
                status=Iso15118EVCertificateStatusEnumType.Accepted,
                exi_response=ev.failed_response(wanted.message, code),
                status_info=_status_info(str(verdict.problem), verdict.reason),
            )
        lifetime = self.settings.contract_validity
        contract = self.pki.issue_contract(
            emaid, not_after=now + lifetime if lifetime is not None else None
        )
        assert contract.key is not None
        self.issued_contracts[emaid] = contract
        return Get15118EVCertificateResponse(
            status=Iso15118EVCertificateStatusEnumType.Accepted,
            exi_response=ev.certificate_response(wanted, contract.chain, contract.key, emaid),
        )

    # -- GetCertificateStatus -------------------------------------------------------------------

    def get_certificate_status(
        self, session: Session, request: GetCertificateStatusRequest
    ) -> GetCertificateStatusResponse:
        try:
            cert_id = CertId.from_wire(request.ocsp_request_data)
            der = self.pki.statuses.response(cert_id, self._now())
        except ValueError as e:
            return GetCertificateStatusResponse(
                status=GetCertificateStatusEnumType.Failed,
                status_info=_status_info("InvalidRequest", str(e)),
            )
        if der is None:
            return GetCertificateStatusResponse(
                status=GetCertificateStatusEnumType.Failed,
                status_info=_status_info(
                    "UnknownIssuer", "no responder here answers for that certificate's issuer"
                ),
            )
        return GetCertificateStatusResponse(
            status=GetCertificateStatusEnumType.Accepted,
            ocsp_result=base64.b64encode(der).decode(),
        )

    # -- SignCertificate and CertificateSigned ----------------------------------------------------

    def sign_certificate(
        self, session: Session, request: SignCertificateRequest
    ) -> SignCertificateResponse:
        if request.certificate_type != CertificateSigningUseEnumType.V2GCertificate:
            return SignCertificateResponse(
                status=GenericStatusEnumType.Rejected,
                status_info=_status_info(
                    "UnsupportedType",
                    "Plug&Charge signs V2GCertificate requests; the charge point certificate "
                    "goes through the 1.6 SignCertificate",
                ),
            )
        if self.settings.sign_status != GenericStatusEnumType.Accepted:
            return SignCertificateResponse(status=GenericStatusEnumType(self.settings.sign_status))
        try:
            signed = self.pki.sign_secc_csr(request.csr)
        except CsrRefused as e:
            log.warning("SignCertificate V2GCertificate from %s: %s", session.charge_point_id, e)
            return SignCertificateResponse(
                status=GenericStatusEnumType.Rejected,
                status_info=_status_info("InvalidCSR", str(e)),
            )
        self.signed_v2g[session.charge_point_id] = signed
        if self.settings.send_certificate_signed:
            session.start_soon(self._send_signed, session, signed)
        return SignCertificateResponse(status=GenericStatusEnumType.Accepted)

    async def _send_signed(self, session: Session, signed: Credential) -> None:
        """CertificateSigned (V2GCertificate). Started by the SignCertificate handler, it
        sends after the handler's answer: that answer holds the session's send lock first."""
        response = await self.certificate_signed(session, signed.chain_pem)
        self.certificate_signed_results.append((session.charge_point_id, str(response.status)))
        self.csms._changed()

    # -- sending ----------------------------------------------------------------------------------

    async def call(self, session: Session, message: Any, timeout: float = 30.0) -> Any:
        """Send a CSMS-initiated PnC request in a DataTransfer; the 2.0.1 response.

        Raises PncRefused when the DataTransfer is not Accepted (a station without
        Plug&Charge says UnknownVendorId), ValidationError when the data is not a valid
        2.0.1 response, and what `Session.call` raises.
        """
        action = pnc.ACTION_OF[type(message)]
        answer = await session.call(pnc.to_data_transfer(message), timeout=timeout)
        if answer.status != DataTransferStatus.Accepted:
            raise PncRefused(action, str(answer.status), answer.data)
        return pnc.response_from_data(action, answer.data)

    async def install_certificate(
        self, session: Session, use: InstallCertificateUseEnumType | str, pem: str
    ) -> Any:
        request = InstallCertificateRequest(
            certificate_type=InstallCertificateUseEnumType(use), certificate=pem
        )
        return await self.call(session, request)

    async def delete_certificate(self, session: Session, hash_data: Any) -> Any:
        return await self.call(session, DeleteCertificateRequest(certificate_hash_data=hash_data))

    async def get_installed_certificate_ids(
        self, session: Session, *uses: GetCertificateIdUseEnumType | str
    ) -> Any:
        types = tuple(GetCertificateIdUseEnumType(u) for u in uses) or None
        return await self.call(session, GetInstalledCertificateIdsRequest(certificate_type=types))

    async def trigger_sign_v2g_certificate(self, session: Session) -> Any:
        return await self.call(
            session,
            TriggerMessageRequest(requested_message=MessageTriggerEnumType.SignV2GCertificate),
        )

    async def certificate_signed(self, session: Session, chain_pem: str) -> Any:
        return await self.call(
            session,
            CertificateSignedRequest(
                certificate_chain=chain_pem,
                certificate_type=CertificateSigningUseEnumType.V2GCertificate,
            ),
        )

    def expand(self, message: Any) -> Any:
        """InstallCertificate with `@v2g-root` or `@mo-root` as its certificate: the PEM of
        this Central System's root (what the console lets an operator type)."""
        if (
            isinstance(message, InstallCertificateRequest)
            and message.certificate in ROOT_REFERENCES
        ):
            root = getattr(self.pki, ROOT_REFERENCES[message.certificate])
            return attrs.evolve(message, certificate=root.pem)
        return message
