"""FirmwareManagement profile, firmware half: UpdateFirmware and SignedUpdateFirmware, run by
statecharts/firmware.yaml (chargebox.actors.firmware).

UpdateFirmware is answered at once (its answer has no status); SignedUpdateFirmware
(security whitepaper, L01) first has its signing certificate checked against the
installed ManufacturerRootCertificates (InvalidCertificate and the
InvalidFirmwareSigningCertificate security event otherwise) and is answered with
what the chart did with it: Accepted, AcceptedCanceled (it replaced an update under
way) or Rejected (an installation cannot be cancelled). The firmware actor then runs
the procedure of the chart: the retrieve date, the download attempts on the host's
firmware port, the signature check of a signed update, the install date, the wait
for running transactions with every connector out of service, the installation and
the reboot through the host's system port (Hard). Every step's notification is sent
in order: FirmwareStatusNotification, or SignedFirmwareStatusNotification with the
requestId.

The procedure is kept in the store after every step, so that it survives the
reboot and a power loss: after the reboot Installed is reported once the
BootNotification is Accepted; an update the power loss interrupted is reported
failed, one still waiting for its retrieve date goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import Gate
from chargebox.actors.messages import Answer
from chargebox.charts.addresses import Address
from chargebox.charts.events.firmware import RegistrationAccepted, Restarted, UpdateRequested
from chargebox.features import Handler, Service
from chargebox.host import CertificateUse, InvalidCertificate
from chargebox.ocpp import v16

log = logging.getLogger(__name__)


# -- the signed update's checks (security whitepaper L01) ----------------------------------


def check_signing_certificate(pem: str, roots: list[x509.Certificate], now: datetime) -> None:
    """The signing certificate is valid now and issued by one of `roots` (no intermediate
    certificates: L01 remarks). Raises InvalidCertificate saying why not."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as e:
        raise InvalidCertificate(f"the signing certificate is not a PEM certificate: {e}") from None
    if not now >= cert.not_valid_before_utc:
        raise InvalidCertificate(
            f"the signing certificate is not valid before {cert.not_valid_before_utc.isoformat()}"
        )
    if now > cert.not_valid_after_utc:
        raise InvalidCertificate(
            f"the signing certificate expired on {cert.not_valid_after_utc.isoformat()}"
        )
    if not roots:
        raise InvalidCertificate("no ManufacturerRootCertificate is installed to verify it")
    for root in roots:
        try:
            cert.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        if root.not_valid_before_utc <= now <= root.not_valid_after_utc:
            return
    raise InvalidCertificate(
        f"the signing certificate {cert.subject.rfc4514_string()} is not issued by an "
        "installed, valid ManufacturerRootCertificate"
    )


class Firmware:
    def __init__(self, ctx: StationContext, actors: Actors) -> None:
        self.ctx = ctx
        self.actors = actors
        self.actor = actors.firmware

    def handlers(self) -> dict[str, Handler]:
        return {
            "UpdateFirmware": self.update_firmware,
            "SignedUpdateFirmware": self.signed_update_firmware,
        }

    def services(self) -> list[Service]:
        return [self.watch_registration]

    def status(self) -> str:
        """The FirmwareStatus a TriggerMessage(FirmwareStatusNotification) reports now."""
        return self.actor.model.reported_status()

    def signed_status(self) -> tuple[str, int | None]:
        """(status, requestId) of an ExtendedTriggerMessage(FirmwareStatusNotification)."""
        return self.actor.model.signed_status()

    async def watch_registration(self) -> None:
        """A procedure restored from the store goes on once the registration is Accepted:
        its notifications (Installed after the reboot, DownloadFailed or InstallationFailed
        after a power loss) could not be sent before."""
        model = self.actor.model
        if model.idle:
            return
        rebooting = model.rebooting
        await self.ctx.endpoint.wait_open(Gate.ACCEPTED)
        await self.actors.deliver(Address.firmware(), Restarted())
        if rebooting:
            await self.actors.deliver(Address.firmware(), RegistrationAccepted())

    async def _request(self, update: UpdateRequested) -> Answer:
        if not self.actor.model.firmware_port:
            log.warning(
                "firmware update, but the host has no firmware port: DownloadFailed will be "
                "reported at the retrieve date"
            )
        return await self.actors.ask(Address.firmware(), update)

    async def update_firmware(self, req: v16.UpdateFirmwareRequest) -> Any:
        await self._request(
            UpdateRequested(
                location=req.location,
                retrieve_date=req.retrieve_date,
                retries=req.retries,
                retry_interval=req.retry_interval,
            )
        )
        return v16.UpdateFirmwareResponse()

    async def signed_update_firmware(self, req: v16.SignedUpdateFirmwareRequest) -> Any:
        fw = req.firmware
        try:
            check_signing_certificate(
                fw.signing_certificate, await self._manufacturer_roots(), self._now()
            )
        except InvalidCertificate as e:
            log.warning("SignedUpdateFirmware %s: %s", req.request_id, e)
            self.ctx.security_event("InvalidFirmwareSigningCertificate", str(e))
            return v16.SignedUpdateFirmwareResponse(status="InvalidCertificate")
        answer = await self._request(
            UpdateRequested(
                location=fw.location,
                retrieve_date=fw.retrieve_date_time,
                retries=req.retries,
                retry_interval=req.retry_interval,
                scheduled=fw.retrieve_date_time > self._now(),
                signed=True,
                request_id=req.request_id,
                install_date=fw.install_date_time,
                signing_certificate=fw.signing_certificate,
                signature=fw.signature,
            )
        )
        # the chart's Reply: Accepted, or AcceptedCanceled when it cancelled the update under
        # way (L01.FR.26); refused while installing or rebooting into new firmware (L01.FR.27)
        status = answer.reply if answer.allowed else "Rejected"
        return v16.SignedUpdateFirmwareResponse(status=status)

    def _now(self) -> datetime:
        return self.ctx.clock.now()

    async def _manufacturer_roots(self) -> list[x509.Certificate]:
        """The installed ManufacturerRootCertificates (a store that lists its certificates,
        such as chargebox.certstore.FileCertificateStore)."""
        store = self.ctx.host.certificates
        listing = getattr(store, "ca_certificates", None)
        if listing is None:
            log.warning("the certificate store cannot show its ManufacturerRootCertificates")
            return []
        found = listing(CertificateUse.ManufacturerRootCertificate)
        return [cert for _, cert in found]
