"""The events of statecharts/status.yaml: when a connector's status is reported."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class StatusEvent(ChartEvent):
    """An event of the status-report chart of one connector (0 included)."""

    chart: ClassVar[str] = "status"


@attrs.frozen(kw_only=True)
class StatusChanged(StatusEvent):
    """The connector's status changed, or an error is reported with the current status."""

    trigger: ClassVar[str] = "status_changed"
    #: the ChargePointStatus
    status: str
    #: the ChargePointErrorCode
    error_code: str = "NoError"
    #: free text for the StatusNotification
    info: str | None = None
    #: the vendor of the error code
    vendor_id: str | None = None
    #: the vendor's own error code
    vendor_error_code: str | None = None
    #: when the status began
    timestamp: datetime | None = None
    #: MinimumStatusDuration in seconds when it changed (0: none)
    minimum_duration: float = 0


@attrs.frozen(kw_only=True)
class Held(StatusEvent):
    """Timer: the new status held for MinimumStatusDuration."""

    trigger: ClassVar[str] = "held"


@attrs.frozen(kw_only=True)
class Registered(StatusEvent):
    """Registered, or reconnected while registered: the current status goes out again."""

    trigger: ClassVar[str] = "registered"
    status: str
    error_code: str = "NoError"
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None
    #: when the status is reported
    timestamp: datetime | None = None
