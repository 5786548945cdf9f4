"""Security whitepaper certificate operations and ExtendedTriggerMessage.

The Central System manages the station's certificates through the host's
certificate store (`Host.certificates`, a CertificateStore); the engine
applies the whitepaper's rules around it:

- InstallCertificate (M05): Rejected for a certificate the store refuses
  (bad PEM, expired, not a CA) and when CertificateStoreMaxLength CA
  certificates are installed already (M05.FR.03); with
  AdditionalRootCertificateCheck a new CentralSystemRootCertificate must be
  signed by an installed one (M05.FR.10). Failed when the store itself fails.
- DeleteCertificate (M04): NotFound, or Failed when the store fails or the
  certificate is the CentralSystemRootCertificate the connection relies on
  (M04.FR.06): with SecurityProfile 2 or 3, the last one installed.
- GetInstalledCertificateIds (M03): Accepted with the hash data, or NotFound.
- ExtendedTriggerMessage: BootNotification, Heartbeat, MeterValues and
  StatusNotification as TriggerMessage does; FirmwareStatusNotification as a
  SignedFirmwareStatusNotification with the firmware update's last status (Idle
  after Installed, L01.FR.28/29) and LogStatusNotification with the GetLog
  upload's status (Uploading and its requestId, or Idle); SignChargePointCertificate
  (A02): Rejected without CpoName, then a new key and a SignCertificate with
  its CSR (CN: ChargePointId, O: CpoName, A02.FR.13) after the answer. As with
  TriggerMessage, an unknown connectorId is Rejected for StatusNotification and
  MeterValues only; the other messages ignore the connectorId.
- CertificateSigned (A02/A03): Rejected when longer than
  CertificateSignedMaxChainSize or refused by the store (validity, key of the
  last CSR, chain to an installed CentralSystemRootCertificate), with an
  InvalidChargePointCertificate security event (A02.FR.07).
- A03, renewal by the station: once the registration is Accepted and the charge
  point certificate the link presents expires within RENEWAL_WINDOW, the
  station starts a SignCertificate on its own (a service on the station clock).
- Every SignCertificate (triggered or the station's own) is repeated while no
  CertificateSigned is Accepted: CertSigningWaitMinimum seconds after the
  first, the wait doubling each time, at most CertSigningRepeatTimes times.
  The procedure is statecharts/signing.yaml, run by chargebox.actors.signing
  (which makes the CSR and sends SignCertificate); this module starts it and
  notes its end for A03.

Without a certificate store the certificate calls are answered with a
NotSupported CALLERROR, and SignChargePointCertificate is NotImplemented.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Gate, Offline
from chargebox.actors.timers import Alarm
from chargebox.certstore import issued_by, load_pem_chain
from chargebox.charts.addresses import Address
from chargebox.charts.events.signing import CertificateAccepted
from chargebox.charts.models.signing import SigningEnded
from chargebox.features import Handler, Service
from chargebox.features.firmware import Firmware
from chargebox.features.logs import Logs
from chargebox.features.trigger import RemoteTrigger
from chargebox.host import (
    CertificateHashData,
    CertificateStore,
    CertificateUse,
    HashAlgorithm,
    InvalidCertificate,
)
from chargebox.ocpp import v16
from chargebox.ocpp.errors import ErrorCode, OcppError
from chargebox.ocpp.v16 import (
    CertificateSignedStatusEnumType,
    DeleteCertificateStatusEnumType,
    GetInstalledCertificateStatusEnumType,
    InstallCertificateStatusEnumType,
    TriggerMessageStatusEnumType,
)

log = logging.getLogger(__name__)

#: A03.FR.02: the station renews its certificate when it "will expire in one month";
#: libocpp renews below 30 days left (checked 60 s after Accepted, then every 12 hours)
RENEWAL_WINDOW = timedelta(days=30)
#: after a renewal that got no certificate, the next attempt (libocpp's check interval)
RENEWAL_RETRY = timedelta(hours=12)

#: ExtendedTriggerMessage requests that TriggerMessage answers the same way
_LIKE_TRIGGER_MESSAGE = frozenset(
    {"BootNotification", "Heartbeat", "MeterValues", "StatusNotification"}
)


def wire_hash_data(data: CertificateHashData) -> v16.CertificateHashDataType:
    return v16.CertificateHashDataType(
        hash_algorithm=str(data.hash_algorithm),
        issuer_name_hash=data.issuer_name_hash,
        issuer_key_hash=data.issuer_key_hash,
        serial_number=data.serial_number,
    )


class Certificates:
    """The security whitepaper's certificate operations. ExtendedTriggerMessage asks
    `remote_trigger`, `firmware` and `logs` for what they report."""

    def __init__(
        self,
        ctx: StationContext,
        actors: Actors,
        *,
        remote_trigger: RemoteTrigger,
        firmware: Firmware,
        logs: Logs,
    ) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.actors = actors
        self.remote_trigger = remote_trigger
        self.firmware = firmware
        self.logs = logs
        #: the signing procedure (statecharts/signing.yaml)
        self.signing_actor = actors.signing
        self.signing_actor.ended_observers.append(self.signing_ended)
        #: when the last signing procedure ended without a certificate
        self._unsigned_at: datetime | None = None
        self._accepted = False
        #: starts the renewal when it is due (an alarm of the station's timers)
        self._renewal = Alarm(self._renew, name="certificate renewal")
        actors.link.observers.append(self._link_changed)
        ctx.clock.observers.append(self.rearm)

    def handlers(self) -> dict[str, Handler]:
        return {
            "InstallCertificate": self.install_certificate,
            "DeleteCertificate": self.delete_certificate,
            "GetInstalledCertificateIds": self.get_installed_certificate_ids,
            "CertificateSigned": self.certificate_signed,
            "ExtendedTriggerMessage": self.extended_trigger_message,
        }

    def services(self) -> list[Service]:
        return [self.run]

    def store(self, action: str) -> CertificateStore:
        store = self.ctx.host.certificates
        if store is None:
            raise OcppError(
                ErrorCode.NotSupported, f"{action}: this charge point has no certificate store"
            )
        return store

    # -- InstallCertificate (M05) ------------------------------------------------------------

    async def install_certificate(self, req: v16.InstallCertificateRequest) -> Any:
        store = self.store("InstallCertificate")
        use = CertificateUse(str(req.certificate_type))
        status, why = await self.install_ca(store, use, req.certificate)
        if status == InstallCertificateStatusEnumType.Accepted:
            self.ctx.security_event("ReconfigurationOfSecurityParameters", f"{use} installed")
        else:
            log.warning("InstallCertificate %s: %s (%s)", use, status, why)
        return v16.InstallCertificateResponse(status=status)

    async def install_ca(
        self, store: CertificateStore, use: CertificateUse, pem: str
    ) -> tuple[InstallCertificateStatusEnumType, str]:
        """Install a CA certificate with the whitepaper's rules (CertificateStoreMaxLength,
        AdditionalRootCertificateCheck): the status and why (empty when Accepted). Plug&Charge's
        InstallCertificate uses it too (chargebox.features.pnc)."""
        most = self.cfg.get("CertificateStoreMaxLength")
        try:
            if most is not None:
                count = 0
                for u in CertificateUse:
                    count += len(await store.installed_certificates(u))
                if count >= most:
                    return (
                        InstallCertificateStatusEnumType.Rejected,
                        f"{count} CA certificates installed, CertificateStoreMaxLength is {most}",
                    )
            if use is CertificateUse.CentralSystemRootCertificate and self.cfg.get(
                "AdditionalRootCertificateCheck", False
            ):
                why = await self._signed_by_installed_root(store, pem)
                if why:
                    return InstallCertificateStatusEnumType.Rejected, why
            await store.install_ca_certificate(use, pem)
        except InvalidCertificate as e:
            return InstallCertificateStatusEnumType.Rejected, str(e)
        except Exception as e:
            log.exception("the certificate store failed to install a %s", use)
            return InstallCertificateStatusEnumType.Failed, f"the certificate store failed: {e}"
        return InstallCertificateStatusEnumType.Accepted, ""

    async def _signed_by_installed_root(self, store: CertificateStore, pem: str) -> str | None:
        """Why a new CentralSystemRootCertificate may not replace the installed one
        (M05.FR.09/10), or None. Needs a store that can show its certificates."""
        roots = getattr(store, "ca_certificates", None)
        if roots is None:
            return None  # a host store applies the rule itself
        installed = [cert for _, cert in roots(CertificateUse.CentralSystemRootCertificate)]
        if not installed:
            return None
        new = load_pem_chain(pem, "CentralSystemRootCertificate")[0]
        if any(issued_by(new, old) for old in installed):
            return None
        return (
            "AdditionalRootCertificateCheck: the new CentralSystemRootCertificate is not "
            "signed by the installed one"
        )

    # -- DeleteCertificate (M04) ---------------------------------------------------------------

    async def delete_certificate(self, req: v16.DeleteCertificateRequest) -> Any:
        store = self.store("DeleteCertificate")
        wanted = req.certificate_hash_data
        data = CertificateHashData(
            hash_algorithm=HashAlgorithm(str(wanted.hash_algorithm)),
            issuer_name_hash=wanted.issuer_name_hash,
            issuer_key_hash=wanted.issuer_key_hash,
            serial_number=wanted.serial_number,
        )
        status, why = await self.delete_ca(store, data)
        if status == DeleteCertificateStatusEnumType.Accepted:
            self.ctx.security_event(
                "ReconfigurationOfSecurityParameters", f"certificate {data.serial_number} deleted"
            )
        else:
            log.warning("DeleteCertificate serial %s: %s (%s)", data.serial_number, status, why)
        return v16.DeleteCertificateResponse(status=status)

    async def delete_ca(
        self, store: CertificateStore, data: CertificateHashData
    ) -> tuple[DeleteCertificateStatusEnumType, str]:
        """Delete a CA certificate unless the connection relies on it (M04.FR.06): the status
        and why. Plug&Charge's DeleteCertificate uses it too."""
        try:
            # compared in the request's own hash algorithm
            roots = await store.installed_certificates(
                CertificateUse.CentralSystemRootCertificate, HashAlgorithm(data.hash_algorithm)
            )
            if (
                self.cfg.security_profile >= 2
                and len(roots) == 1
                and _same_certificate(roots[0], data)
            ):
                return (
                    DeleteCertificateStatusEnumType.Failed,
                    "the last CentralSystemRootCertificate validates the connection "
                    f"(SecurityProfile {self.cfg.security_profile}, M04.FR.06)",
                )
            use = await store.delete_certificate(data)
        except Exception as e:
            log.exception("the certificate store failed to delete a certificate")
            return DeleteCertificateStatusEnumType.Failed, f"the certificate store failed: {e}"
        if use is None:
            return DeleteCertificateStatusEnumType.NotFound, "no installed CA certificate has it"
        return DeleteCertificateStatusEnumType.Accepted, ""

    # -- GetInstalledCertificateIds (M03) -----------------------------------------------------

    async def get_installed_certificate_ids(
        self, req: v16.GetInstalledCertificateIdsRequest
    ) -> Any:
        store = self.store("GetInstalledCertificateIds")
        use = CertificateUse(str(req.certificate_type))
        found = await self.ctx.call_host(
            f"list the installed {use}s", store.installed_certificates(use)
        )
        if not found:
            return v16.GetInstalledCertificateIdsResponse(
                status=GetInstalledCertificateStatusEnumType.NotFound
            )
        return v16.GetInstalledCertificateIdsResponse(
            status=GetInstalledCertificateStatusEnumType.Accepted,
            certificate_hash_data=[wire_hash_data(d) for d in found],
        )

    # -- CertificateSigned (A02/A03) ----------------------------------------------------------

    async def certificate_signed(self, req: v16.CertificateSignedRequest) -> Any:
        store = self.store("CertificateSigned")
        chain = req.certificate_chain
        most = self.cfg.get("CertificateSignedMaxChainSize")
        why = ""
        if most is not None and len(chain) > most:
            why = f"{len(chain)} characters, CertificateSignedMaxChainSize is {most}"
        else:
            try:
                await store.install_charge_point_certificate(chain)
            except InvalidCertificate as e:
                why = str(e)
            except Exception as e:
                log.exception(
                    "the certificate store failed to install the charge point certificate"
                )
                why = f"the certificate store failed: {e}"
        if why:
            log.warning("CertificateSigned: Rejected (%s)", why)
            self.ctx.security_event("InvalidChargePointCertificate", why)
            return v16.CertificateSignedResponse(status=CertificateSignedStatusEnumType.Rejected)
        log.info("CertificateSigned: the new charge point certificate is installed")
        # ends the signing procedure: no more SignCertificate
        await self.actors.ask(Address.signing(), CertificateAccepted())
        self._unsigned_at = None
        self.rearm()
        self.ctx.security_event(
            "ReconfigurationOfSecurityParameters", "charge point certificate installed"
        )
        return v16.CertificateSignedResponse(status=CertificateSignedStatusEnumType.Accepted)

    # -- ExtendedTriggerMessage ---------------------------------------------------------------

    async def extended_trigger_message(self, req: v16.ExtendedTriggerMessageRequest) -> Any:
        what = str(req.requested_message)
        c = req.connector_id
        status = await self._trigger(what, c)
        if status != TriggerMessageStatusEnumType.Accepted:
            log.info("ExtendedTriggerMessage %s (connector %s): %s", what, c, status)
        return v16.ExtendedTriggerMessageResponse(status=status)

    async def _trigger(self, what: str, c: int | None) -> TriggerMessageStatusEnumType:
        # the connectorId matters to StatusNotification and MeterValues only, and
        # TriggerMessage checks it for them; the others ignore it (as spec 5.17 says)
        if what in _LIKE_TRIGGER_MESSAGE:
            answer = await self.remote_trigger.trigger_message(
                v16.TriggerMessageRequest(requested_message=what, connector_id=c)
            )
            return TriggerMessageStatusEnumType(str(answer.status))
        if what == "FirmwareStatusNotification":
            # the last status of the firmware update, Idle after Installed (L01.FR.28, 29)
            status, request_id = self.firmware.signed_status()
            self._later(
                v16.SignedFirmwareStatusNotificationRequest(status=status, request_id=request_id)
            )
            return TriggerMessageStatusEnumType.Accepted
        if what == "LogStatusNotification":
            # the GetLog upload's status: Uploading with its requestId, or Idle (features.logs)
            status, request_id = self.logs.status()
            self._later(v16.LogStatusNotificationRequest(status=status, request_id=request_id))
            return TriggerMessageStatusEnumType.Accepted
        if what == "SignChargePointCertificate":
            return self.sign_charge_point_certificate()
        return TriggerMessageStatusEnumType.NotImplemented

    def sign_charge_point_certificate(self) -> TriggerMessageStatusEnumType:
        """Start A02: after the answer, a new key and SignCertificate with its CSR."""
        store = self.ctx.host.certificates
        if store is None:
            return TriggerMessageStatusEnumType.NotImplemented
        organization = self.cfg.get("CpoName")
        if not organization:
            log.warning("SignChargePointCertificate: CpoName is not set (A02 needs it)")
            return TriggerMessageStatusEnumType.Rejected
        self.start_signing()
        return TriggerMessageStatusEnumType.Accepted

    # -- the signing procedure (A02/A03, CertSigningWaitMinimum, CertSigningRepeatTimes) ------

    def start_signing(self) -> None:
        """Start a signing procedure, in place of one under way (its key is dropped)."""
        self.signing_actor.start(
            wait=self.cfg.get("CertSigningWaitMinimum"),
            repeats=self.cfg.get("CertSigningRepeatTimes"),
        )

    @property
    def signing(self) -> bool:
        """A signing procedure is under way (or about to start)."""
        return self.signing_actor.busy

    def signing_ended(self, effect: SigningEnded) -> None:
        """The signing procedure ended; without a certificate the renewal tries again later."""
        if effect.gave_up:
            log.warning(
                "SignCertificate: no certificate after %d requests; given up", effect.requests
            )
        if not effect.signed:
            self._unsigned_at = self.ctx.clock.now()
        self.rearm()

    # -- A03: renewal by the station ----------------------------------------------------------

    def charge_point_certificate_expiry(self) -> datetime | None:
        """The end of validity of the charge point certificate the link presents, or None."""
        store = self.ctx.host.certificates
        if store is None:
            return None
        try:
            path = store.tls_files().client_cert
            if path is None:
                return None
            return x509.load_pem_x509_certificates(path.read_bytes())[0].not_valid_after_utc
        except Exception:
            log.exception("the charge point certificate could not be read")
            return None

    def renewal_due(self) -> datetime | None:
        """When the station starts renewing its certificate (A03), or None (nothing to do)."""
        if not self._accepted or self.signing or not self.cfg.get("CpoName"):
            return None
        expiry = self.charge_point_certificate_expiry()
        if expiry is None:
            return None
        due = expiry - RENEWAL_WINDOW
        if self._unsigned_at is not None:
            due = max(due, self._unsigned_at + RENEWAL_RETRY)
        return due

    def rearm(self) -> None:
        """Something the renewal moment depends on changed (clock, link, certificate)."""
        if self._renewal.attached:
            due = self.renewal_due()
            self._renewal.at(None if due is None else self.ctx.clock.deadline(due))

    def _link_changed(self, actor: Any, outcome: Any) -> None:
        accepted = actor.model.accepted
        if accepted != self._accepted:
            self._accepted = accepted
            self.rearm()

    async def run(self) -> None:
        """Start the renewal when it is due (on the station clock); again after it."""
        assert self.actors.group is not None
        self._renewal.attach(self.ctx.nursery, self.actors.group.timers)
        self.rearm()

    async def _renew(self) -> None:
        log.info(
            "the charge point certificate expires at %s: renewing it (A03)",
            self.charge_point_certificate_expiry(),
        )
        self.start_signing()
        self.rearm()

    def _later(self, request: Any) -> None:
        # a CALL of ours waits until the answer to the Central System's CALL has gone
        self.ctx.spawn(self._call, request, name=f"triggered {type(request).__name__}")

    async def _call(self, request: Any) -> Any:
        try:
            return await self.ctx.endpoint.call(request, gate=Gate.CONNECTED)
        except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
            log.info("%s not delivered: %s", type(request).__name__, e)
            return None


def _same_certificate(data: CertificateHashData, wanted: CertificateHashData) -> bool:
    """The same certificate (both hash data in one algorithm)."""
    return data.hash_algorithm == wanted.hash_algorithm and data.matches(wanted)
