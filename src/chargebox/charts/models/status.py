"""Model of statecharts/status.yaml: when one connector's StatusNotification goes out.

The connector's own chart says what its status is; this one says when the
Central System hears it: once a status held for MinimumStatusDuration, the last
of quick changes only, nothing when it came back to the status last reported,
and every status again after a registration or a reconnect. The status to send
is the recorded SendStatusNotification; its owner takes the status's place
among our CALLs when it performs it.
"""

from __future__ import annotations

from typing import Any, Self

import attrs

from chargebox.charts.effects import CancelTimer, SendStatusNotification, StartTimer
from chargebox.charts.model import ChartModel

HELD = "held"


class StatusModel(ChartModel):
    """The StatusNotifications of connector `connector_id` (0: the Charge Point)."""

    __slots__ = ("connector_id", "latest", "reported")
    chart_name = "status"

    def __init__(self, connector_id: int = 1, *, state: str | None = None) -> None:
        super().__init__(state=state)
        self.connector_id = connector_id
        #: The newest status given (while Holding: the one waiting to hold).
        self.latest: SendStatusNotification | None = None
        #: The status last reported to the Central System (None before the first).
        self.reported: SendStatusNotification | None = None

    @classmethod
    def example(cls) -> Self:
        return cls(1)

    # -- what the state says --------------------------------------------------------------

    @property
    def holding(self) -> bool:
        """A new status waits to hold for MinimumStatusDuration."""
        return self.state == "Holding"

    # -- guards ---------------------------------------------------------------------------

    def debounced(self, *, minimum_duration: float = 0, **_event: Any) -> bool:
        """MinimumStatusDuration is set: a status must hold that long before it goes out."""
        return minimum_duration > 0

    def differs_from_reported(self, **_event: Any) -> bool:
        """The status that held is not the one last reported (the time it began aside)."""
        if self.reported is None or self.latest is None:
            return True
        return _unstamped(self.latest) != _unstamped(self.reported)

    # -- actions --------------------------------------------------------------------------

    def _status(self, event: dict[str, Any]) -> SendStatusNotification:
        return SendStatusNotification(
            connector_id=self.connector_id,
            status=event["status"],
            error_code=event.get("error_code") or "NoError",
            info=event.get("info"),
            vendor_error_code=event.get("vendor_error_code"),
            vendor_id=event.get("vendor_id"),
            timestamp=event.get("timestamp"),
        )

    def report(self, **event: Any) -> None:
        """The status goes out now."""
        self.latest = self.reported = self._status(event)
        self.record(self.reported)

    def hold(self, *, minimum_duration: float, **event: Any) -> None:
        """The status waits MinimumStatusDuration (again, if another was waiting)."""
        self.latest = self._status(event)
        self.record(StartTimer(HELD, seconds=minimum_duration))

    def stop_holding(self, **_event: Any) -> None:
        self.record(CancelTimer(HELD))

    def report_held(self, **_event: Any) -> None:
        """The status held: it goes out, with the time it began."""
        self.reported = self.latest
        assert self.reported is not None
        self.record(self.reported)

    def forget_held(self, **_event: Any) -> None:
        """Back to the status last reported: it stays the one the Central System knows."""
        self.latest = self.reported


def _unstamped(status: SendStatusNotification) -> SendStatusNotification:
    return attrs.evolve(status, timestamp=None)
