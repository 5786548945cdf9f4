"""The events of statecharts/signing.yaml: the charge point certificate's signing procedure."""

from __future__ import annotations

from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class SigningEvent(ChartEvent):
    """An event of the signing procedure's chart."""

    chart: ClassVar[str] = "signing"


@attrs.frozen(kw_only=True)
class Start(SigningEvent):
    """A signing procedure starts (TriggerMessage, or the station's own renewal)."""

    trigger: ClassVar[str] = "start"
    #: CertSigningWaitMinimum in seconds (None when unset)
    wait: float | None = None
    #: CertSigningRepeatTimes (None when unset)
    repeats: int | None = None


@attrs.frozen(kw_only=True)
class RequestSent(SigningEvent):
    """SignCertificate of request `request` went out."""

    trigger: ClassVar[str] = "request_sent"
    request: int


@attrs.frozen(kw_only=True)
class CsrFailed(SigningEvent):
    """No CSR could be made for request `request`."""

    trigger: ClassVar[str] = "csr_failed"
    request: int


@attrs.frozen(kw_only=True)
class CertificateAccepted(SigningEvent):
    """A CertificateSigned was Accepted."""

    trigger: ClassVar[str] = "certificate_accepted"


@attrs.frozen(kw_only=True)
class WaitOver(SigningEvent):
    """Timer: the wait for a certificate is over."""

    trigger: ClassVar[str] = "wait_over"
