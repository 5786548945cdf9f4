"""The firmware actor: statecharts/firmware.yaml, the procedure of UpdateFirmware and
SignedUpdateFirmware.

The chart decides; this actor performs: the download attempts on the host's
firmware port, the check of a signed update's signature (L01.FR.04: SHA256 of
the whole file, RSA or ECDSA), holding every connector out of service, the
installation and the reboot through the host's system port (Hard). Whether
transactions run, which the installation waits for, the station's chart tells
the firmware chart (transactions_changed). Every step's notification is sent
in order (chargebox.actors.transfer). A transfer or check under way is
cancelled when a new update replaces the procedure (L01.FR.26).

The procedure is kept in the store after every step, so that it survives the
reboot and a power loss: the actor starts from what the store holds.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import trio
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from chargebox.actors.context import StationContext
from chargebox.actors.transfer import TransferActor
from chargebox.charts.addresses import Address
from chargebox.charts.effects import (
    Effect,
    HoldConnectors,
    HostCommand,
    RaiseSecurityEvent,
    SendRequest,
)
from chargebox.charts.events import firmware as events
from chargebox.charts.events.connector import BecomeInoperative, BecomeOperative, ConnectorEvent
from chargebox.charts.events.station import FirmwareHold
from chargebox.charts.machine import Outcome
from chargebox.charts.models import FirmwareModel
from chargebox.charts.models.firmware import (
    CancelFirmwareTransfer,
    VerifyFirmwareSignature,
)
from chargebox.host import ResetKind
from chargebox.ocpp.timestamps import format_datetime, parse_datetime

log = logging.getLogger(__name__)

_DATES = ("retrieve_date", "install_date")


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


# -- the actor -----------------------------------------------------------------------------


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
    if model.idle:
        return None
    data = {}
    for name in FirmwareModel.PERSISTED:
        value = getattr(model, name)
        data[name] = format_datetime(value) if isinstance(value, datetime) else value
    return data


class FirmwareActor(TransferActor[FirmwareModel]):
    """Runs statecharts/firmware.yaml."""

    def __init__(self, ctx: StationContext) -> None:
        port = ctx.host.firmware
        has_port = port is not None and hasattr(port, "download_firmware")
        stored = ctx.store.firmware_procedure()
        super().__init__(ctx, Address.firmware(), _restore(stored, has_port))
        self._saved = stored
        #: the transfer or signature check under way (cancelled with the update)
        self._scopes: set[trio.CancelScope] = set()
        if not self.model.idle:
            log.info("firmware update restored from the store in %s", self.model.state)

    async def handle(self, message: Any) -> Outcome | None:
        outcome = await super().handle(message)
        self._save()
        return outcome

    def _save(self) -> None:
        """The procedure on disk (only when it changed): it must outlive a reboot."""
        data = _persisted(self.model)
        if data != self._saved:
            self.ctx.store.save_firmware_procedure(data)
            self._saved = data

    async def perform(self, effect: Effect) -> None:
        port = self.ctx.host.firmware
        if isinstance(effect, SendRequest):
            self.notify(effect)
        elif isinstance(effect, HostCommand) and effect.command == "download_firmware":
            assert port is not None
            location = effect.params["location"]
            self._cancellable(
                self.run_attempt,
                "download the firmware",
                lambda: port.download_firmware(location),
                events.DownloadSucceeded(),
                events.DownloadFailed(),
            )
        elif isinstance(effect, HostCommand) and effect.command == "install_firmware":
            assert port is not None
            self._cancellable(
                self.run_attempt,
                "install the firmware",
                port.install_firmware,
                events.InstallSucceeded(),
                events.InstallFailed(),
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
        port = self.ctx.host.firmware
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
            await self.inbox.send(events.SignatureVerified(now=self.ctx.clock.now()))
        else:
            log.warning("firmware signature not verified: %s", problem)
            await self.inbox.send(events.SignatureInvalid(reason=problem))

    async def _restart(self) -> None:
        system = self.ctx.host.system
        if system is None or not hasattr(system, "reset"):
            log.error("firmware installed, but the host has no system port to restart the station")
            return
        log.info("firmware installed: restarting the station")
        await self.ctx.call_host("restart after the firmware update", system.reset(ResetKind.Hard))

    async def _hold(self, held: bool) -> None:
        """Every connector out of service (held) or back to the availability the CSMS set
        (the station's chart keeps a ChangeAvailability to Operative for then)."""
        assert self.ctx.deliver is not None
        await self.ctx.deliver(Address.station(), FirmwareHold(holding=held))
        chosen = self.ctx.store.inoperative_connectors()
        for c in range(1, self.ctx.cfg.number_of_connectors + 1):
            event: ConnectorEvent
            if held:
                event = BecomeInoperative()
            elif c in chosen or 0 in chosen:
                continue  # ChangeAvailability made it Inoperative: it stays so
            else:
                event = BecomeOperative()
            await self.ctx.deliver(Address.connector(c), event)
