"""What the charts of a transfer the host performs share (firmware.yaml, diagnostics.yaml,
log.yaml): one attempt plus `retries` more, `retry_interval` seconds apart, with the
defaults DEFAULT_RETRIES and DEFAULT_RETRY_INTERVAL when the Central System leaves
them out."""

from __future__ import annotations

from typing import Any, ClassVar

from chargebox.charts.effects import CancelTimer, StartTimer
from chargebox.charts.model import ChartModel

#: Retries of a failed transfer when the request (UpdateFirmware, GetDiagnostics, GetLog)
#: gives none.
DEFAULT_RETRIES = 1
#: Seconds between transfer attempts when the request gives none.
DEFAULT_RETRY_INTERVAL = 60

RETRY = "retry_due"


class TransferModel(ChartModel):
    """What the transfer procedures share: the location and the attempts at the transfer."""

    __slots__ = ("attempt", "location", "retries", "retry_interval")

    #: State -> the status a triggered notification reports (spec 4.4, 4.5).
    REPORTED: ClassVar[dict[str, str]]

    def __init__(self, *, state: str | None = None) -> None:
        super().__init__(state=state)
        self.location: str | None = None
        self.retries = DEFAULT_RETRIES
        self.retry_interval = DEFAULT_RETRY_INTERVAL
        #: Attempts made at the current transfer (the first is 1).
        self.attempt = 0

    @property
    def idle(self) -> bool:
        """No procedure is under way (Idle)."""
        return self.state == "Idle"

    def reported_status(self) -> str:
        """The status a TriggerMessage for this procedure's notification reports now."""
        return self.REPORTED[self.state]

    def _remember_attempts(self, retries: int | None, retry_interval: int | None) -> None:
        self.retries = DEFAULT_RETRIES if retries is None else max(retries, 0)
        self.retry_interval = (
            DEFAULT_RETRY_INTERVAL if retry_interval is None else max(retry_interval, 0)
        )
        self.attempt = 0

    # -- guards ---------------------------------------------------------------------------

    def attempts_left(self, **_event: Any) -> bool:
        """Another attempt is allowed: one plus `retries` in all."""
        return self.attempt < 1 + self.retries

    # -- actions --------------------------------------------------------------------------

    def arm_retry(self, **_event: Any) -> None:
        self.record(StartTimer(RETRY, seconds=self.retry_interval))

    def disarm_retry(self, **_event: Any) -> None:
        self.record(CancelTimer(RETRY))
