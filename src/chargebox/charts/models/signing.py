"""Model of statecharts/signing.yaml: the charge point certificate signing procedure (A02/A03).

SignCertificate with a new key and CSR, repeated while no CertificateSigned is
Accepted: CertSigningWaitMinimum seconds after the first, the wait doubling
each time, at most CertSigningRepeatTimes times. Requests are numbered
(`request`) so that the outcome of one abandoned or finished, which may still
come back, is told apart from the one in flight (`in_flight`). The actor
(chargebox.actors.signing) performs the effects defined here.
"""

from __future__ import annotations

from typing import Any, Self

import attrs

from chargebox.charts.effects import CancelTimer, Effect, StartTimer
from chargebox.charts.model import ChartModel

WAIT = "wait_over"


@attrs.frozen
class RequestCertificate(Effect):
    """Have the host make a new key and CSR, and send SignCertificate with it.

    The outcome comes back as `request_sent` or `csr_failed` with `request`.
    `repeat` counts the repeats (0 for the first request) of `repeats` allowed;
    `waited` is how long the procedure waited for a certificate before this repeat.
    """

    request: int
    repeat: int = 0
    repeats: int = 0
    waited: float = 0


@attrs.frozen
class AbandonRequest(Effect):
    """Stop making the CSR (or sending SignCertificate) of request number `request`."""

    request: int


@attrs.frozen
class SigningEnded(Effect):
    """The procedure ended: with a certificate (`signed`) or without one after `requests`
    requests; `gave_up` when it ended because its repeats ran out."""

    signed: bool
    requests: int
    gave_up: bool = False


class SigningModel(ChartModel):
    """The station's one signing procedure."""

    __slots__ = ("in_flight", "repeat", "repeats", "request", "wait")
    chart_name = "signing"

    def __init__(self, *, state: str | None = None) -> None:
        super().__init__(state=state)
        #: CertSigningWaitMinimum (seconds; 0: nothing is repeated)
        self.wait: float = 0
        #: how many repeats this procedure may make (0 without both keys or without a wait)
        self.repeats = 0
        #: repeats made so far (the first request is repeat 0)
        self.repeat = 0
        #: the number of the last request made (requests are counted from 1)
        self.request = 0
        #: the number of the request whose CSR and SignCertificate are under way, if any
        self.in_flight: int | None = None

    @classmethod
    def example(cls) -> Self:
        return cls()

    @property
    def idle(self) -> bool:
        """No procedure is under way (Idle)."""
        return self.state == "Idle"

    # -- guards ---------------------------------------------------------------------------

    def current_request(self, *, request: int, **_event: Any) -> bool:
        """The outcome belongs to the request in flight, not to an abandoned or finished one."""
        return self.in_flight is not None and request == self.in_flight

    def waits(self, **_event: Any) -> bool:
        """A wait for the certificate follows the request (CertSigningWaitMinimum > 0)."""
        return self.wait > 0

    def repeats_left(self, **_event: Any) -> bool:
        """Another repeat is allowed: at most CertSigningRepeatTimes."""
        return self.repeat < self.repeats

    # -- actions --------------------------------------------------------------------------

    def begin(
        self, *, wait: float | None = None, repeats: int | None = None, **_event: Any
    ) -> None:
        self.wait = max(wait or 0, 0)
        # without both keys (or with no wait) nothing is repeated, as libocpp does
        self.repeats = max(repeats, 0) if self.wait and repeats is not None else 0
        self.repeat = 0

    def abandon(self, **_event: Any) -> None:
        """Drop the procedure under way: its request in flight and its wait."""
        self.record(CancelTimer(WAIT))
        if self.in_flight is not None:
            self.record(AbandonRequest(self.in_flight))
            self.in_flight = None

    def send_request(self, **_event: Any) -> None:
        self._request(waited=0)

    def repeat_request(self, **_event: Any) -> None:
        waited = self._current_wait()
        self.repeat += 1
        self._request(waited=waited)

    def _request(self, *, waited: float) -> None:
        self.request += 1
        self.in_flight = self.request
        self.record(RequestCertificate(self.request, self.repeat, self.repeats, waited))

    def _current_wait(self) -> float:
        return self.wait * 2**self.repeat

    def arm_wait(self, **_event: Any) -> None:
        self.in_flight = None
        self.record(StartTimer(WAIT, seconds=self._current_wait()))

    def end_unsigned(self, **_event: Any) -> None:
        self.in_flight = None
        self.record(SigningEnded(signed=False, requests=self.repeat + 1))

    def give_up(self, **_event: Any) -> None:
        self.record(SigningEnded(signed=False, requests=self.repeat + 1, gave_up=True))

    def end_signed(self, **_event: Any) -> None:
        self.record(CancelTimer(WAIT))
        if self.in_flight is not None:
            self.record(AbandonRequest(self.in_flight))
            self.in_flight = None
        self.record(SigningEnded(signed=True, requests=self.repeat + 1))
