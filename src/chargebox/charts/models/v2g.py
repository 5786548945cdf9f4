"""Model of statecharts/v2g.yaml: the V2G certificate's OCSP answers and its renewal.

One timer while certificate management runs: `round_due`, a minute after the
start, then every 12 hours (libocpp's V2G certificate and OCSP timers). A
round looks at the V2G certificate and refreshes the OCSP answers that are
due; its end says what it found, and the chart decides on a renewal. Rounds
are numbered (`round`) so that the end of one abandoned by a stop, which may
still come back, is told apart from the one under way. The actor
(chargebox.actors.v2g) performs the effects defined here.
"""

from __future__ import annotations

from typing import Any, Self

import attrs

from chargebox.charts.effects import CancelTimer, Effect, StartTimer
from chargebox.charts.model import ChartModel

ROUND = "round_due"
#: libocpp's INITIAL_CERTIFICATE_REQUESTS_DELAY: the first round, a minute after the start
FIRST_DELAY = 60.0
#: libocpp's V2G_CERTIFICATE_TIMER_INTERVAL and OCSP_REQUEST_TIMER_INTERVAL: 12 hours
ROUND_INTERVAL = 12 * 3600.0
#: a V2G certificate that expires within this many days is renewed (as the charge point
#: certificate is, security whitepaper A03; libocpp: fewer than 30 days)
RENEWAL_DAYS = 30.0


@attrs.frozen
class RunRound(Effect):
    """Look at the V2G certificate in use and send GetCertificateStatus for each
    certificate of the V2G chain whose cached OCSP answer is due (OcspRequestInterval);
    the end comes back as `round_done` with `round`."""

    round: int


@attrs.frozen
class AbandonRound(Effect):
    """Stop the requests of round number `round`."""

    round: int


@attrs.frozen
class RenewV2gCertificate(Effect):
    """Start the V2G certificate's signing procedure (SignCertificate V2GCertificate);
    `days_left` is how long the one in use still lasts (None: there is none)."""

    days_left: float | None


class V2gModel(ChartModel):
    """The station's ISO 15118 certificate management."""

    __slots__ = ("again", "in_flight", "round")
    chart_name = "v2g"

    def __init__(self, *, state: str | None = None) -> None:
        super().__init__(state=state)
        #: the number of the last round started (counted from 1)
        self.round = 0
        #: the number of the round under way, if any
        self.in_flight: int | None = None
        #: the V2G chain changed during the round under way: another one follows it
        self.again = False

    @classmethod
    def example(cls) -> Self:
        return cls()

    @property
    def running(self) -> bool:
        """Certificate management runs (Idle or Working)."""
        return self.state != "Inactive"

    # -- guards ---------------------------------------------------------------------------

    def current_round(self, *, round: int, **_event: Any) -> bool:
        """The end belongs to the round under way, not to one a stop abandoned."""
        return self.in_flight is not None and round == self.in_flight

    def renewal_due(
        self, *, days_left: float | None = None, signing: bool = False, **_event: Any
    ) -> bool:
        """No V2G certificate, or one that expires within RENEWAL_DAYS, and no signing under way."""
        return not signing and (days_left is None or days_left < RENEWAL_DAYS)

    # -- actions --------------------------------------------------------------------------

    def begin(self, **_event: Any) -> None:
        self.again = False
        self.record(StartTimer(ROUND, seconds=FIRST_DELAY))

    def halt(self, **_event: Any) -> None:
        self.record(CancelTimer(ROUND))
        if self.in_flight is not None:
            self.record(AbandonRound(self.in_flight))
            self.in_flight = None
        self.again = False

    def disarm(self, **_event: Any) -> None:
        self.record(CancelTimer(ROUND))

    def start_round(self, **_event: Any) -> None:
        self.round += 1
        self.in_flight = self.round
        self.again = False
        self.record(RunRound(self.round))

    def note_again(self, **_event: Any) -> None:
        self.again = True

    def renew(self, *, days_left: float | None = None, **_event: Any) -> None:
        self.record(RenewV2gCertificate(days_left))

    def arm_round(self, **_event: Any) -> None:
        self.in_flight = None
        self.record(StartTimer(ROUND, seconds=ROUND_INTERVAL))
