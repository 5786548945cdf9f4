"""The signing actors: statecharts/signing.yaml, a certificate's signing procedure, run twice.

Every SignCertificate is repeated while no CertificateSigned is Accepted:
CertSigningWaitMinimum seconds after the first, the wait doubling each time,
at most CertSigningRepeatTimes times. The chart keeps that count; an actor
performs its effects: each request (a new key and CSR from the host's
certificate store, then SignCertificate) in a task of its own, the abandon of a
request the procedure replaced, and the end of the procedure, which its
observers hear.

- `SigningActor` (address `signing`): the charge point certificate (security
  whitepaper A02, triggered by the Central System, and A03, the station's own
  renewal): CN ChargePointId, O CpoName, the 1.6 SignCertificate. Its end
  re-arms the renewal (chargebox.features.security).
- `V2gSigningActor` (address `v2g-signing`): the V2G (SECC) certificate of
  Plug&Charge: CN SeccLeafSubjectCommonName (else ChargeBoxSerialNumber), O
  SeccLeafSubjectOrganization (else CpoName), C SeccLeafSubjectCountry (else
  DE), and SignCertificate with certificateType V2GCertificate in DataTransfer
  (chargebox.actors.iso15118).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import trio

from chargebox.actors.actor import Actor
from chargebox.actors.context import StationContext
from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Gate, Offline
from chargebox.actors.iso15118 import PncCallFailed, iso15118_store, pnc_call
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect
from chargebox.charts.events.signing import CsrFailed, RequestSent, SigningEvent, Start
from chargebox.charts.machine import Outcome
from chargebox.charts.models.signing import (
    AbandonRequest,
    RequestCertificate,
    SigningEnded,
    SigningModel,
)
from chargebox.ocpp import v16
from chargebox.ocpp.pnc import CertificateSigningUseEnumType, SignCertificateRequest

log = logging.getLogger(__name__)


class SigningActor(Actor[SigningModel]):
    """Runs statecharts/signing.yaml for the charge point certificate: each request (CSR +
    SignCertificate) in a task of its own."""

    #: what the log lines call the certificate
    certificate = "charge point certificate"

    def __init__(self, ctx: StationContext, address: Address[SigningEvent] | None = None) -> None:
        super().__init__(address or Address.signing(), SigningModel(), clock=ctx.clock)
        self.ctx = ctx
        #: called with the SigningEnded effect when a procedure ends
        self.ended_observers: list[Callable[[SigningEnded], None]] = []
        #: request number -> the cancel scope of its CSR and SignCertificate
        self._requests: dict[int, trio.CancelScope] = {}
        #: starts sent to the inbox and not handled yet
        self._starts_pending = 0

    def start(self, *, wait: float | None, repeats: int | None) -> None:
        """Queue a start of the procedure (from synchronous code: the renewal, a trigger)."""
        self._starts_pending += 1
        self.inbox.send_nowait(Start(wait=wait, repeats=repeats))

    @property
    def busy(self) -> bool:
        """A procedure is under way, or a start waits in the inbox."""
        return self._starts_pending > 0 or not self.model.idle

    async def handle(self, message: Any) -> Outcome | None:
        if isinstance(message, Start):
            self._starts_pending -= 1
        return await super().handle(message)

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, RequestCertificate):
            if effect.repeat:
                log.info(
                    "SignCertificate (%s): no certificate after %d s; repeat %d of %d",
                    self.certificate,
                    effect.waited,
                    effect.repeat,
                    effect.repeats,
                )
            self._start_request(effect.request)
        elif isinstance(effect, AbandonRequest):
            scope = self._requests.pop(effect.request, None)
            if scope is not None:
                log.info(
                    "SignCertificate (%s): request %d abandoned", self.certificate, effect.request
                )
                scope.cancel()
        elif isinstance(effect, SigningEnded):
            for observer in self.ended_observers:
                observer(effect)
        else:
            await super().perform(effect)

    def _start_request(self, request: int) -> None:
        scope = trio.CancelScope()
        self._requests[request] = scope

        async def run() -> None:
            with scope:
                try:
                    sent = await self.send_sign_certificate()
                except Exception:
                    log.exception(
                        "SignCertificate (%s): request %d failed", self.certificate, request
                    )
                    sent = False
                outcome = RequestSent(request=request) if sent else CsrFailed(request=request)
                await self.inbox.send(outcome)
            if self._requests.get(request) is scope:
                del self._requests[request]

        assert self._nursery is not None
        self._nursery.start_soon(run, name=f"SignCertificate {request}")

    async def send_sign_certificate(self) -> bool:
        """A new key, and SignCertificate with its CSR; False when no CSR could be made."""
        store = self.ctx.host.certificates
        organization = self.ctx.cfg.get("CpoName")
        if store is None or not organization:
            log.warning("SignCertificate: no certificate store or no CpoName; not sent")
            return False
        csr = await self.ctx.call_host(
            "make a certificate signing request",
            store.certificate_signing_request(self.ctx.cfg.charge_point_id, organization),
        )
        if not csr:
            return False
        try:
            answer = await self.ctx.endpoint.call(
                v16.SignCertificateRequest(csr=csr), gate=Gate.CONNECTED
            )
        except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
            log.info("SignCertificateRequest not delivered: %s", e)
            return True
        if str(answer.status) != "Accepted":
            log.warning("SignCertificate: the Central System answered %s", answer.status)
        return True


class V2gSigningActor(SigningActor):
    """Runs statecharts/signing.yaml for the V2G certificate (Plug&Charge)."""

    certificate = "V2G certificate"

    def __init__(self, ctx: StationContext) -> None:
        super().__init__(ctx, Address.v2g_signing())

    def start(self, *, wait: float | None, repeats: int | None) -> None:
        log.info("SignCertificate (V2G certificate): the signing procedure starts")
        super().start(wait=wait, repeats=repeats)

    async def send_sign_certificate(self) -> bool:
        """A new V2G key, and SignCertificate V2GCertificate with its CSR in DataTransfer;
        False when no CSR could be made."""
        cfg = self.ctx.cfg
        store = iso15118_store(self.ctx)
        organization = cfg.get("SeccLeafSubjectOrganization") or cfg.get("CpoName")
        if store is None or not organization:
            log.warning(
                "SignCertificate (V2G certificate): no ISO 15118 certificate store, or neither "
                "SeccLeafSubjectOrganization nor CpoName is set; not sent"
            )
            return False
        common_name = cfg.get("SeccLeafSubjectCommonName") or cfg.get("ChargeBoxSerialNumber")
        country = cfg.get("SeccLeafSubjectCountry") or "DE"
        csr = await self.ctx.call_host(
            "make a V2G certificate signing request",
            store.v2g_certificate_signing_request(common_name, organization, country),
        )
        if not csr:
            return False
        request = SignCertificateRequest(
            csr=csr, certificate_type=CertificateSigningUseEnumType.V2GCertificate
        )
        try:
            answer = await pnc_call(self.ctx, request)
        except PncCallFailed as e:
            log.info("SignCertificate (V2G certificate) not delivered: %s", e)
            return True
        if str(answer.status) != "Accepted":
            log.warning(
                "SignCertificate (V2G certificate): the Central System answered %s", answer.status
            )
        return True
