"""FirmwareManagement profile, firmware half: UpdateFirmware and SignedUpdateFirmware, run by
statecharts/firmware.yaml.

UpdateFirmware is answered at once (its answer has no status); SignedUpdateFirmware
(security whitepaper, L01) first has its signing certificate checked against the
installed ManufacturerRootCertificates (InvalidCertificate and the
InvalidFirmwareSigningCertificate security event otherwise) and is answered with
what the chart did with it: Accepted, AcceptedCanceled (it replaced an update under
way) or Rejected (an installation cannot be cancelled). The actor then runs the
procedure of the chart: the retrieve date, the download attempts on the host's
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

import base64
import binascii
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from chargebox.charts.effects import (
    AwaitNoTransactions,
    Effect,
    HoldConnectors,
    HostCommand,
    SendRequest,
    Trigger,
)
from chargebox.charts.machine import Outcome
from chargebox.charts.models import FirmwareModel
from chargebox.charts.models.firmware import (
    CancelFirmwareTransfer,
    RaiseSecurityEvent,
    VerifyFirmwareSignature,
)
from chargebox.features.transfer import TransferActor
from chargebox.ocpp import v16
from chargebox.ocpp.timestamps import format_datetime, parse_datetime
from chargebox.station.host import CertificateUse, InvalidCertificate, ResetKind
from chargebox.station.rpc import Gate

if TYPE_CHECKING:
    from chargebox.station.station import Station

log = logging.getLogger(__name__)

_DATES = ("retrieve_date", "install_date")


def install(station: Station) -> None:
    firmware = Firmware(station)
    station.firmware = firmware  # type: ignore[attr-defined]
    station.handlers["UpdateFirmware"] = firmware.update_firmware
    station.handlers["SignedUpdateFirmware"] = firmware.signed_update_firmware
    station.services.append(firmware.watch_registration)


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


def verify_firmware_signature(path: Path, certificate_pem: str, signature_b64: str) -> str | None:
    """Check the file's signature (base64) with the signing certificate's key, over SHA256 of
    the whole file (L01.FR.04): RSA (PSS or PKCS#1 v1.5) or ECDSA. None when it is valid,
    else what is wrong."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return "the signature is not base64"
    if not signature:
        return "the signature is missing"
    try:
        key = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
    except (ValueError, UnsupportedAlgorithm) as e:
        return f"the signing certificate cannot be read: {e}"
    digest = hashes.Hash(hashes.SHA256())
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    hashed = digest.finalize()
    prehashed = utils.Prehashed(hashes.SHA256())
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, hashed, ec.ECDSA(prehashed))
            return None
        if isinstance(key, rsa.RSAPublicKey):
            schemes = (
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                padding.PKCS1v15(),
            )
            for scheme in schemes:
                try:
                    key.verify(signature, hashed, scheme, prehashed)
                    return None
                except InvalidSignature:
                    continue
            return "the signature does not match the file"
    except InvalidSignature:
        return "the signature does not match the file"
    return f"the signing certificate's key ({type(key).__name__}) is not RSA or ECDSA"


# -- the actor --------------------------------------------------------------------------------


def _restore(data: dict[str, Any] | None, firmware_port: bool) -> FirmwareModel:
    model = FirmwareModel(firmware_port=firmware_port)
    if not data:
        return model
    try:
        restored = FirmwareModel(firmware_port=firmware_port, state=data["state"])
        for name in FirmwareModel.PERSISTED:
            if name == "state" or name not in data:
                continue
            value = data[name]
            if name in _DATES and value is not None:
                value = parse_datetime(value)
            setattr(restored, name, value)
    except (KeyError, ValueError, TypeError) as e:
        log.error("the stored firmware update cannot be restored (%s); forgotten", e)
        return model
    return restored


def _persisted(model: FirmwareModel) -> dict[str, Any] | None:
    if model.state == "Idle":
        return None
    data = {}
    for name in FirmwareModel.PERSISTED:
        value = getattr(model, name)
        data[name] = format_datetime(value) if isinstance(value, datetime) else value
    return data


class FirmwareActor(TransferActor[FirmwareModel]):
    def __init__(self, station: Station) -> None:
        port = station.host.firmware
        has_port = port is not None and hasattr(port, "download_firmware")
        stored = station.ctx.store.firmware_procedure()
        super().__init__(station, "firmware", _restore(stored, has_port))
        self._saved = stored
        #: the transfer, signature check or wait under way (cancelled with the update)
        self._scopes: set[trio.CancelScope] = set()
        #: the outcome of the last update_requested (how SignedUpdateFirmware is answered)
        self.last_update: Outcome | None = None
        if self.model.state != "Idle":
            log.info("firmware update restored from the store in %s", self.model.state)

    def busy(self) -> bool:
        """A transaction runs, or an authorized idTag waits to start one, on some connector."""
        return any(tx.active or tx.pending for tx in self.station.transactions.values())

    async def handle(self, message: Any) -> Outcome | None:
        # the chart's input, kept current: it decides whether the installation must wait
        self.model.transactions_running = self.busy()
        outcome = await super().handle(message)
        if isinstance(message, Trigger) and message.name == "update_requested":
            self.last_update = outcome
        self._save()
        return outcome

    def _save(self) -> None:
        """The procedure on disk (only when it changed): it must outlive a reboot."""
        data = _persisted(self.model)
        if data != self._saved:
            self.ctx.store.save_firmware_procedure(data)
            self._saved = data

    async def perform(self, effect: Effect) -> None:
        st = self.station
        port = st.host.firmware
        if isinstance(effect, SendRequest):
            self.notify(effect)
        elif isinstance(effect, HostCommand) and effect.command == "download_firmware":
            assert port is not None
            location = effect.params["location"]
            self._cancellable(
                self.run_attempt,
                "download the firmware",
                lambda: port.download_firmware(location),
                "download_succeeded",
                "download_failed",
            )
        elif isinstance(effect, HostCommand) and effect.command == "install_firmware":
            assert port is not None
            self._cancellable(
                self.run_attempt,
                "install the firmware",
                port.install_firmware,
                "install_succeeded",
                "install_failed",
            )
        elif isinstance(effect, HostCommand) and effect.command == "reset":
            self._save()  # the reboot finds the procedure in the store
            # after the notifications before it went out
            self.in_order(self._restart)
        elif isinstance(effect, VerifyFirmwareSignature):
            self._cancellable(self._verify, effect)
        elif isinstance(effect, CancelFirmwareTransfer):
            for scope in self._scopes:
                scope.cancel()
            self._scopes.clear()
        elif isinstance(effect, RaiseSecurityEvent):
            self.ctx.security_event(effect.kind, effect.tech_info)
        elif isinstance(effect, HoldConnectors):
            await self._hold(effect.held)
        elif isinstance(effect, AwaitNoTransactions):
            self._cancellable(self._await_idle, effect.then)
        else:
            await super().perform(effect)

    def _cancellable(self, run: Any, *args: Any) -> None:
        """Run `run(*args)` in a task of its own that a new update cancels (L01.FR.26)."""
        scope = trio.CancelScope()
        self._scopes.add(scope)

        async def guarded() -> None:
            try:
                with scope:
                    await run(*args)
            finally:
                self._scopes.discard(scope)

        assert self._nursery is not None
        self._nursery.start_soon(guarded)

    async def _verify(self, effect: VerifyFirmwareSignature) -> None:
        port = self.station.host.firmware
        locate = getattr(port, "firmware_file", None)
        path = await self.ctx.call_host("name the firmware file", locate()) if locate else None
        if path is None:
            problem: str | None = "the host cannot show the downloaded file (firmware_file)"
        else:
            try:
                problem = await self.ctx.options.run_blocking(
                    verify_firmware_signature,
                    Path(path),
                    effect.signing_certificate,
                    effect.signature,
                )
            except OSError as e:
                problem = f"the firmware file cannot be read: {e}"
        if problem is None:
            await self.inbox.send(Trigger("signature_verified"))
        else:
            log.warning("firmware signature not verified: %s", problem)
            await self.inbox.send(Trigger("signature_invalid", {"reason": problem}))

    async def _restart(self) -> None:
        system = self.station.host.system
        if system is None or not hasattr(system, "reset"):
            log.error("firmware installed, but the host has no system port to restart the station")
            return
        log.info("firmware installed: restarting the station")
        await self.ctx.call_host("restart after the firmware update", system.reset(ResetKind.Hard))

    async def _hold(self, held: bool) -> None:
        """Every connector out of service (held) or back to the availability the CSMS set."""
        st = self.station
        chosen = st.ctx.store.inoperative_connectors()
        for c in st.connectors:
            if held:
                trigger = "become_inoperative"
            elif c in chosen or 0 in chosen:
                continue  # ChangeAvailability made it Inoperative: it stays so
            else:
                trigger = "become_operative"
            await st.deliver(f"connector/{c}", Trigger(trigger))

    async def _await_idle(self, then: str) -> None:
        await self.station.wait_until(lambda: not self.busy())
        await self.inbox.send(Trigger(then))


class Firmware:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.actor = FirmwareActor(station)
        station.extra_actors.append(self.actor)

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
        restored = self.actor.model.state
        if restored == "Idle":
            return
        await self.station.endpoint.wait_open(Gate.ACCEPTED)
        await self.station.deliver(self.actor.address, Trigger("restarted"))
        if restored == "Rebooting":
            await self.station.deliver(self.actor.address, Trigger("registration_accepted"))

    async def _request(self, params: dict[str, Any]) -> Outcome | None:
        if not self.actor.model.firmware_port:
            log.warning(
                "firmware update, but the host has no firmware port: DownloadFailed will be "
                "reported at the retrieve date"
            )
        self.actor.last_update = None
        await self.station.deliver(self.actor.address, Trigger("update_requested", params))
        await self.station.settle(self.actor.address)
        return self.actor.last_update

    async def update_firmware(self, req: v16.UpdateFirmwareRequest) -> Any:
        await self._request(
            {
                "location": req.location,
                "retrieve_date": req.retrieve_date,
                "retries": req.retries,
                "retry_interval": req.retry_interval,
            }
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
            self.station.security_event("InvalidFirmwareSigningCertificate", str(e))
            return v16.SignedUpdateFirmwareResponse(status="InvalidCertificate")
        before = self.actor.model.state
        outcome = await self._request(
            {
                "location": fw.location,
                "retrieve_date": fw.retrieve_date_time,
                "retries": req.retries,
                "retry_interval": req.retry_interval,
                "scheduled": fw.retrieve_date_time > self._now(),
                "signed": True,
                "request_id": req.request_id,
                "install_date": fw.install_date_time,
                "signing_certificate": fw.signing_certificate,
                "signature": fw.signature,
            }
        )
        if outcome is None or not outcome.allowed:
            status = "Rejected"  # installing, or rebooting into new firmware (L01.FR.27)
        elif before == "Idle":
            status = "Accepted"
        else:
            status = "AcceptedCanceled"  # the update under way was cancelled (L01.FR.26)
        return v16.SignedUpdateFirmwareResponse(status=status)

    def _now(self) -> datetime:
        return self.station.ctx.clock.now()

    async def _manufacturer_roots(self) -> list[x509.Certificate]:
        """The installed ManufacturerRootCertificates (a store that lists its certificates,
        such as chargebox.station.certstore.FileCertificateStore)."""
        store = self.station.host.certificates
        listing = getattr(store, "ca_certificates", None)
        if listing is None:
            log.warning("the certificate store cannot show its ManufacturerRootCertificates")
            return []
        found = listing(CertificateUse.ManufacturerRootCertificate)
        return [cert for _, cert in found]
