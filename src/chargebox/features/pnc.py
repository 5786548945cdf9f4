"""Plug&Charge: the Central System's ISO 15118 certificate messages in DataTransfer.

As the OCA application note "Using ISO 15118 Plug & Charge with OCPP 1.6" has
it (and libocpp), the Central System sends OCPP 2.0.1 messages in DataTransfer
with vendorId org.openchargealliance.iso15118pnc, the action as messageId and
the 2.0.1 payload as JSON text in `data`; the answer is DataTransfer Accepted
with the 2.0.1 response in `data`. This module translates them for the
certificate store and the charts:

- They are served while the configuration has a PnC section with
  ISO15118CertificateManagementEnabled true and the host's store serves
  Plug&Charge (an Iso15118CertificateStore). Otherwise the DataTransfer goes to
  the host's DataTransfer port like any other (libocpp's general callback),
  which without one answers UnknownVendorId. A messageId the Central System
  does not send gets UnknownMessageId; `data` that is not JSON or breaks the
  2.0.1 schema gets Rejected (libocpp's answers).
- InstallCertificate, DeleteCertificate: the CA rules of the security profile
  (chargebox.features.security: CertificateStoreMaxLength,
  AdditionalRootCertificateCheck, the CentralSystemRootCertificate in use),
  for the V2G and MO roots too.
- GetInstalledCertificateIds: the store's roots and V2G chain
  (`installed_certificate_chains`), NotFound when there are none.
- CertificateSigned: Rejected for another certificateType than
  V2GCertificate, a chain longer than CertificateSignedMaxChainSize, or one the
  store refuses (with an InvalidChargePointCertificate security event);
  Accepted ends the V2G signing procedure, fetches the new chain's OCSP
  answers at once (a round of statecharts/v2g.yaml) and tells the ISO 15118
  stack.
- TriggerMessage SignV2GCertificate: Accepted when an organization for the
  CSR is configured (SeccLeafSubjectOrganization or CpoName), then the V2G
  signing procedure starts (statecharts/signing.yaml at v2g-signing); without
  one, Rejected (libocpp answers the DataTransfer itself Rejected, with a text
  that is not a 2.0.1 response; here the 2.0.1 TriggerMessageResponse says it).
  Any other requestedMessage: NotImplemented.

The V2G certificate's rounds (its OCSP answers and its renewal,
statecharts/v2g.yaml) run while certificate management is on and the
registration is Accepted.
"""

from __future__ import annotations

import logging
from typing import Any

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.actors.iso15118 import certificate_management_enabled, iso15118_store
from chargebox.charts.addresses import Address
from chargebox.charts.events import signing as signing_events
from chargebox.charts.events import v2g as v2g_events
from chargebox.config.spec import Effect
from chargebox.features.security import Certificates
from chargebox.host import (
    CertificateHashData,
    CertificateIdUse,
    CertificateUse,
    HashAlgorithm,
    InvalidCertificate,
    Iso15118CertificateStore,
)
from chargebox.ocpp import pnc, v16
from chargebox.ocpp.errors import NotImplementedAction, OcppError
from chargebox.ocpp.pnc import (
    CertificateHashDataChainType,
    CertificateHashDataType,
    CertificateSignedRequest,
    CertificateSignedResponse,
    CertificateSignedStatusEnumType,
    CertificateSigningUseEnumType,
    DeleteCertificateRequest,
    DeleteCertificateResponse,
    DeleteCertificateStatusEnumType,
    GetInstalledCertificateIdsRequest,
    GetInstalledCertificateIdsResponse,
    GetInstalledCertificateStatusEnumType,
    InstallCertificateRequest,
    InstallCertificateResponse,
    InstallCertificateStatusEnumType,
    MessageTriggerEnumType,
    StatusInfoType,
    TriggerMessageRequest,
    TriggerMessageResponse,
    TriggerMessageStatusEnumType,
)
from chargebox.ocpp.v16 import DataTransferStatus, Initiator

log = logging.getLogger(__name__)


def _info(reason_code: str, additional_info: str = "") -> StatusInfoType:
    # reasonCode is a string[20], additionalInfo a string[512]
    return StatusInfoType(
        reason_code=reason_code[:20], additional_info=additional_info[:512] or None
    )


def _wire_hash(data: CertificateHashData) -> CertificateHashDataType:
    return CertificateHashDataType(
        hash_algorithm=str(data.hash_algorithm),
        issuer_name_hash=data.issuer_name_hash,
        issuer_key_hash=data.issuer_key_hash,
        serial_number=data.serial_number,
    )


class PlugAndCharge:
    """The Central System's Plug&Charge messages; `security` applies the CA rules."""

    def __init__(self, ctx: StationContext, actors: Actors, *, security: Certificates) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.actors = actors
        self.security = security
        #: certificate management runs (the v2g chart was told to start)
        self._running = False
        actors.link.observers.append(self._link_changed)
        actors.v2g_signing.ended_observers.append(self._signing_ended)

    def serves(self, vendor_id: str) -> bool:
        """The vendorId is Plug&Charge's (a CiString: compared case-insensitively)."""
        return vendor_id.casefold() == pnc.VENDOR_ID.casefold()

    # -- the DataTransfer ---------------------------------------------------------------------

    async def data_transfer(self, req: v16.DataTransferRequest) -> v16.DataTransferResponse | None:
        """The answer to a Plug&Charge DataTransfer; None when it is not one this station
        serves (another vendor, or certificate management off): the host's port answers."""
        if not self.serves(req.vendor_id) or not certificate_management_enabled(self.ctx):
            return None
        spec = pnc.PNC_ACTIONS.get(req.message_id or "")
        if spec is None or spec.initiator is not Initiator.CentralSystem:
            log.warning(
                "Plug&Charge DataTransfer %r: not a message a station takes", req.message_id
            )
            return v16.DataTransferResponse(status=DataTransferStatus.UnknownMessageId)
        try:
            message = pnc.from_data_transfer(req)
        except NotImplementedAction:
            return v16.DataTransferResponse(status=DataTransferStatus.UnknownMessageId)
        except OcppError as e:
            log.warning("Plug&Charge %s refused: %s", spec.action, e.description)
            return v16.DataTransferResponse(status=DataTransferStatus.Rejected)
        store = iso15118_store(self.ctx)
        assert store is not None  # certificate_management_enabled says so
        handler = {
            "InstallCertificate": self.install_certificate,
            "DeleteCertificate": self.delete_certificate,
            "GetInstalledCertificateIds": self.get_installed_certificate_ids,
            "CertificateSigned": self.certificate_signed,
            "TriggerMessage": self.trigger_message,
        }[spec.action]
        response = await handler(store, message)
        return v16.DataTransferResponse(
            status=DataTransferStatus.Accepted, data=pnc.response_to_data(response)
        )

    # -- the roots ------------------------------------------------------------------------------

    async def install_certificate(
        self, store: Iso15118CertificateStore, req: InstallCertificateRequest
    ) -> Any:
        use = CertificateUse.parse(str(req.certificate_type))
        status, why = await self.security.install_ca(store, use, req.certificate)
        if str(status) == "Accepted":
            self.ctx.security_event("ReconfigurationOfSecurityParameters", f"{use} installed")
            return InstallCertificateResponse(status=InstallCertificateStatusEnumType.Accepted)
        log.warning("Plug&Charge InstallCertificate %s: %s (%s)", use, status, why)
        code = "InvalidCertificate" if str(status) == "Rejected" else "InternalError"
        return InstallCertificateResponse(
            status=InstallCertificateStatusEnumType(str(status)), status_info=_info(code, why)
        )

    async def delete_certificate(
        self, store: Iso15118CertificateStore, req: DeleteCertificateRequest
    ) -> Any:
        wanted = req.certificate_hash_data
        data = CertificateHashData(
            hash_algorithm=HashAlgorithm(str(wanted.hash_algorithm)),
            issuer_name_hash=wanted.issuer_name_hash,
            issuer_key_hash=wanted.issuer_key_hash,
            serial_number=wanted.serial_number,
        )
        status, why = await self.security.delete_ca(store, data)
        if str(status) == "Accepted":
            self.ctx.security_event(
                "ReconfigurationOfSecurityParameters", f"certificate {data.serial_number} deleted"
            )
            return DeleteCertificateResponse(status=DeleteCertificateStatusEnumType.Accepted)
        log.warning(
            "Plug&Charge DeleteCertificate serial %s: %s (%s)", data.serial_number, status, why
        )
        code = "NotFound" if str(status) == "NotFound" else "InternalError"
        return DeleteCertificateResponse(
            status=DeleteCertificateStatusEnumType(str(status)), status_info=_info(code, why)
        )

    async def get_installed_certificate_ids(
        self, store: Iso15118CertificateStore, req: GetInstalledCertificateIdsRequest
    ) -> Any:
        uses = [CertificateIdUse(str(u)) for u in req.certificate_type or ()]
        chains = await self.ctx.call_host(
            "list the installed certificates", store.installed_certificate_chains(uses)
        )
        if not chains:
            return GetInstalledCertificateIdsResponse(
                status=GetInstalledCertificateStatusEnumType.NotFound
            )
        return GetInstalledCertificateIdsResponse(
            status=GetInstalledCertificateStatusEnumType.Accepted,
            certificate_hash_data_chain=[
                CertificateHashDataChainType(
                    certificate_type=str(chain.certificate_type),
                    certificate_hash_data=_wire_hash(chain.certificate_hash_data),
                    child_certificate_hash_data=[
                        _wire_hash(child) for child in chain.child_certificate_hash_data
                    ]
                    or None,
                )
                for chain in chains
            ],
        )

    # -- the V2G certificate --------------------------------------------------------------------

    async def certificate_signed(
        self, store: Iso15118CertificateStore, req: CertificateSignedRequest
    ) -> Any:
        chain = req.certificate_chain
        most = self.cfg.get("CertificateSignedMaxChainSize")
        code, why = "", ""
        if (
            req.certificate_type is not None
            and req.certificate_type != CertificateSigningUseEnumType.V2GCertificate
        ):
            code = "UnsupportedType"
            why = (
                f"certificateType {req.certificate_type}: Plug&Charge installs the V2GCertificate; "
                "the charge point certificate comes with the 1.6 CertificateSigned"
            )
        elif most is not None and len(chain) > most:
            code = "ChainTooLong"
            why = f"{len(chain)} characters, CertificateSignedMaxChainSize is {most}"
        else:
            try:
                await store.install_v2g_certificate(chain)
            except InvalidCertificate as e:
                code, why = "InvalidCertificate", str(e)
            except Exception as e:
                log.exception("the certificate store failed to install the V2G certificate")
                code, why = "InternalError", f"the certificate store failed: {e}"
        if why:
            log.warning("Plug&Charge CertificateSigned: Rejected (%s)", why)
            self.ctx.security_event("InvalidChargePointCertificate", why)
            return CertificateSignedResponse(
                status=CertificateSignedStatusEnumType.Rejected, status_info=_info(code, why)
            )
        log.info("Plug&Charge CertificateSigned: the new V2G certificate is installed")
        # no more SignCertificate; the new chain's OCSP answers are fetched at once
        await self.actors.ask(Address.v2g_signing(), signing_events.CertificateAccepted())
        await self.actors.deliver(Address.v2g(), v2g_events.CertificateInstalled())
        self._tell_v2g_certificate(store)
        return CertificateSignedResponse(status=CertificateSignedStatusEnumType.Accepted)

    def _tell_v2g_certificate(self, store: Iso15118CertificateStore) -> None:
        tell = getattr(self.ctx.host.iso15118, "v2g_certificate_changed", None)
        files = store.v2g_certificate_files()
        if tell is None or files is None:
            return
        chain, key = files
        self.ctx.host_later(
            "tell the ISO 15118 stack its new V2G certificate", lambda: tell(chain, key)
        )

    async def trigger_message(
        self, store: Iso15118CertificateStore, req: TriggerMessageRequest
    ) -> Any:
        if req.requested_message != MessageTriggerEnumType.SignV2GCertificate:
            log.info("Plug&Charge TriggerMessage %s: NotImplemented", req.requested_message)
            return TriggerMessageResponse(
                status=TriggerMessageStatusEnumType.NotImplemented,
                status_info=_info(
                    "UnsupportedMessage", "Plug&Charge triggers only SignV2GCertificate"
                ),
            )
        if not (self.cfg.get("SeccLeafSubjectOrganization") or self.cfg.get("CpoName")):
            log.warning(
                "Plug&Charge TriggerMessage SignV2GCertificate: Rejected (neither "
                "SeccLeafSubjectOrganization nor CpoName is set)"
            )
            return TriggerMessageResponse(
                status=TriggerMessageStatusEnumType.Rejected,
                status_info=_info(
                    "NoOrganization",
                    "neither SeccLeafSubjectOrganization nor CpoName is set for the CSR",
                ),
            )
        self.start_signing()
        return TriggerMessageResponse(status=TriggerMessageStatusEnumType.Accepted)

    def start_signing(self) -> None:
        """Start the V2G certificate's signing procedure (a new one replaces one under way)."""
        self.actors.v2g_signing.start(
            wait=self.cfg.get("CertSigningWaitMinimum"),
            repeats=self.cfg.get("CertSigningRepeatTimes"),
        )

    def _signing_ended(self, effect: Any) -> None:
        if effect.gave_up:
            log.warning(
                "SignCertificate (V2G certificate): no certificate after %d requests; given up",
                effect.requests,
            )

    # -- the V2G timers (statecharts/v2g.yaml) ---------------------------------------------

    def _link_changed(self, actor: Any, outcome: Any) -> None:
        self.update_timers()

    def update_timers(self) -> None:
        """Start or stop certificate management as the registration and the keys say."""
        running = self.actors.link.model.accepted and certificate_management_enabled(self.ctx)
        if running == self._running:
            return
        self._running = running
        inbox = self.actors.v2g.inbox
        inbox.send_nowait(v2g_events.Start() if running else v2g_events.Stop())

    async def configuration_changed(self, effect: Effect) -> None:
        """ChangeConfiguration of ISO15118CertificateManagementEnabled starts or stops the
        rounds; a new OcspRequestInterval decides what is due from the next round on (the
        rounds read it), so it needs nothing more."""
        if effect is Effect.ISO15118_CERTIFICATE_MANAGEMENT:
            self.update_timers()
