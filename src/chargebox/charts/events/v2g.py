"""The events of statecharts/v2g.yaml: the V2G certificate's OCSP answers and renewal."""

from __future__ import annotations

from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class V2gEvent(ChartEvent):
    """An event of the V2G certificate management chart."""

    chart: ClassVar[str] = "v2g"


@attrs.frozen(kw_only=True)
class Start(V2gEvent):
    """Certificate management starts (registration Accepted, the key true)."""

    trigger: ClassVar[str] = "start"


@attrs.frozen(kw_only=True)
class Stop(V2gEvent):
    """Certificate management stops (the link went down, or the key became false)."""

    trigger: ClassVar[str] = "stop"


@attrs.frozen(kw_only=True)
class RoundDue(V2gEvent):
    """Timer: the next round is due."""

    trigger: ClassVar[str] = "round_due"


@attrs.frozen(kw_only=True)
class CertificateInstalled(V2gEvent):
    """A V2G certificate was installed (CertificateSigned Accepted)."""

    trigger: ClassVar[str] = "certificate_installed"


@attrs.frozen(kw_only=True)
class RoundDone(V2gEvent):
    """Round `round` is over: days until the V2G certificate in use expires (None: there
    is none), whether a signing of it is under way, how many OCSP requests got no answer."""

    trigger: ClassVar[str] = "round_done"
    round: int
    days_left: float | None = None
    signing: bool = False
    unanswered: int = 0
