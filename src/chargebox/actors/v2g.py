"""The v2g actor: statecharts/v2g.yaml, the V2G certificate's OCSP answers and its renewal.

The chart decides when; this actor performs:

- a round: the days until the V2G certificate in use (`v2g_certificate_files`)
  expires, whether its signing procedure is under way, and for each certificate
  of the V2G chain (the certificate store's `v2g_ocsp_request_data`) whose
  cached OCSP answer is missing or older than OcspRequestInterval (less
  OCSP_DUE_MARGIN, so that an answer fetched a whole interval ago is not left
  for one more round), GetCertificateStatus in DataTransfer; each Accepted
  `ocspResult` (base64 DER) goes to the store's cache. The requests run one
  after the other in a task of their own, abandoned when the chart stops.
- a renewal: the V2G signing procedure starts (chargebox.actors.signing, with
  CertSigningWaitMinimum and CertSigningRepeatTimes).
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import timedelta

import trio
from cryptography import x509

from chargebox.actors.actor import Actor
from chargebox.actors.context import StationContext
from chargebox.actors.iso15118 import PncCallFailed, iso15118_store, pnc_call, wire_ocsp
from chargebox.actors.signing import V2gSigningActor
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect
from chargebox.charts.events.v2g import RoundDone
from chargebox.charts.models.v2g import AbandonRound, RenewV2gCertificate, RunRound, V2gModel
from chargebox.ocpp.pnc import GetCertificateStatusRequest

log = logging.getLogger(__name__)

#: an answer fetched this much less than OcspRequestInterval ago is due already: the
#: store's clock and the rounds' may differ a little, and the round that comes a whole
#: interval after the fetch must not leave it for the next one, 12 hours later
OCSP_DUE_MARGIN = timedelta(hours=1)


class V2gActor(Actor[V2gModel]):
    """Runs statecharts/v2g.yaml; `signing` is the V2G certificate's signing procedure."""

    def __init__(self, ctx: StationContext, signing: V2gSigningActor) -> None:
        super().__init__(Address.v2g(), V2gModel(), clock=ctx.clock)
        self.ctx = ctx
        self.signing = signing
        #: round number -> the cancel scope of its requests
        self._rounds: dict[int, trio.CancelScope] = {}

    async def perform(self, effect: Effect) -> None:
        if isinstance(effect, RunRound):
            self._start_round(effect.round)
        elif isinstance(effect, AbandonRound):
            scope = self._rounds.pop(effect.round, None)
            if scope is not None:
                log.info("V2G certificate round %d abandoned", effect.round)
                scope.cancel()
        elif isinstance(effect, RenewV2gCertificate):
            if effect.days_left is None:
                log.info("the station has no V2G certificate: asking for one")
            else:
                log.info("the V2G certificate expires in %.1f days: renewing it", effect.days_left)
            cfg = self.ctx.cfg
            self.signing.start(
                wait=cfg.get("CertSigningWaitMinimum"), repeats=cfg.get("CertSigningRepeatTimes")
            )
        else:
            await super().perform(effect)

    def _start_round(self, number: int) -> None:
        scope = trio.CancelScope()
        self._rounds[number] = scope

        async def run() -> None:
            with scope:
                try:
                    unanswered = await self.refresh()
                except Exception:
                    log.exception("the OCSP refresh of round %d failed", number)
                    unanswered = 1
                done = RoundDone(
                    round=number,
                    days_left=self.days_left(),
                    signing=self.signing.busy,
                    unanswered=unanswered,
                )
                await self.inbox.send(done)
            if self._rounds.get(number) is scope:
                del self._rounds[number]

        assert self._nursery is not None
        self._nursery.start_soon(run, name=f"V2G certificate round {number}")

    def days_left(self) -> float | None:
        """Days until the V2G certificate in use expires; None when there is none."""
        store = iso15118_store(self.ctx)
        if store is None:
            return None
        try:
            files = store.v2g_certificate_files()
            if files is None:
                return None
            leaf = x509.load_pem_x509_certificates(files[0].read_bytes())[0]
        except Exception:
            log.exception("the V2G certificate could not be read")
            return None
        left = leaf.not_valid_after_utc - self.ctx.clock.now()
        return left.total_seconds() / 86400

    async def refresh(self) -> int:
        """GetCertificateStatus for each certificate of the V2G chain whose OCSP answer is
        due; the number of requests that got no OCSP answer."""
        store = iso15118_store(self.ctx)
        if store is None:
            return 0
        interval = timedelta(seconds=self.ctx.cfg.get("OcspRequestInterval") or 604800)
        requests = await store.v2g_ocsp_request_data()
        now = self.ctx.clock.now()
        unanswered = 0
        for request in requests:
            cached = await store.ocsp_cache(request.hash_data)
            if cached is not None and now - cached.fetched_at < interval - OCSP_DUE_MARGIN:
                continue
            try:
                answer = await pnc_call(
                    self.ctx, GetCertificateStatusRequest(ocsp_request_data=wire_ocsp(request))
                )
            except PncCallFailed as e:
                log.info(
                    "GetCertificateStatus of serial %s: %s", request.hash_data.serial_number, e
                )
                unanswered += 1
                continue
            if str(answer.status) != "Accepted" or not answer.ocsp_result:
                info = answer.status_info
                log.warning(
                    "GetCertificateStatus of serial %s: %s%s",
                    request.hash_data.serial_number,
                    answer.status,
                    f" ({info.reason_code})" if info is not None else "",
                )
                unanswered += 1
                continue
            try:
                der = base64.b64decode(answer.ocsp_result, validate=True)
            except (binascii.Error, ValueError):
                log.warning(
                    "GetCertificateStatus of serial %s: the ocspResult is not base64",
                    request.hash_data.serial_number,
                )
                unanswered += 1
                continue
            await store.update_ocsp_cache(request.hash_data, der)
            log.info("OCSP answer of serial %s cached", request.hash_data.serial_number)
        return unanswered
