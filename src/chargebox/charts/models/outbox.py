"""Model of statecharts/outbox.yaml: the queue of transaction messages towards the Central System.

The messages themselves are stored elsewhere (persisted, in order); the model
counts them and decides when the oldest is transmitted, retried after
TransactionMessageRetryInterval x attempts, or dropped after
TransactionMessageAttempts failures (spec 3.7.1).
"""

from __future__ import annotations

from typing import Any, Self

from chargebox.charts.effects import CancelTimer, RemoveQueueHead, SendQueueHead, StartTimer
from chargebox.charts.model import ChartModel

RETRY = "retry_due"

_IN_FLIGHT = frozenset({"Sending", "AwaitingAnswer", "RetryWait"})


class OutboxModel(ChartModel):
    """The transaction-message queue (StartTransaction, StopTransaction, MeterValues of a
    transaction)."""

    __slots__ = (
        "attempts",
        "queued",
        "taken_back",
        "transaction_message_attempts",
        "transaction_message_retry_interval",
    )
    chart_name = "outbox"

    def __init__(
        self,
        *,
        transaction_message_attempts: int = 3,
        transaction_message_retry_interval: int = 60,
        queued: int = 0,
        state: str | None = None,
    ) -> None:
        super().__init__(state=state)
        self.transaction_message_attempts = transaction_message_attempts
        self.transaction_message_retry_interval = transaction_message_retry_interval
        #: Messages waiting, the one in flight included (restored from storage at start).
        self.queued = queued
        #: Transmissions of the oldest message so far.
        self.attempts = 0
        #: The link dropped while the oldest message awaited its answer (which may still come).
        self.taken_back = False

    @classmethod
    def example(cls) -> Self:
        return cls(transaction_message_attempts=2, transaction_message_retry_interval=10)

    @property
    def in_flight(self) -> bool:
        """The oldest message is being transmitted, awaits its answer or waits for a retry."""
        return self.state in _IN_FLIGHT

    # -- guards ---------------------------------------------------------------------------

    def has_messages(self, **_event: Any) -> bool:
        return self.queued > 0

    def has_more(self, **_event: Any) -> bool:
        """Another message waits behind the oldest one."""
        return self.queued > 1

    def attempts_left(self, **_event: Any) -> bool:
        """Fewer failures so far than TransactionMessageAttempts."""
        return self.attempts < self.transaction_message_attempts

    def was_taken_back(self, **_event: Any) -> bool:
        """The oldest message was on the wire when the link dropped."""
        return self.taken_back

    # -- actions --------------------------------------------------------------------------

    def count_in(self, **_event: Any) -> None:
        self.queued += 1

    def send_head(self, **_event: Any) -> None:
        self.attempts += 1
        self.taken_back = False
        self.record(SendQueueHead(self.attempts))

    def take_back_head(self, **_event: Any) -> None:
        """The link dropped before an answer: no failure to process, so no attempt used."""
        self.attempts -= 1
        self.taken_back = True

    def deliver_head(self, **_event: Any) -> None:
        self._remove_head(delivered=True)

    def drop_head(self, **_event: Any) -> None:
        """TransactionMessageAttempts failures: skip the message, go on with the next (3.7.1)."""
        self._remove_head(delivered=False)

    def _remove_head(self, *, delivered: bool) -> None:
        self.queued -= 1
        self.attempts = 0
        self.taken_back = False
        self.record(RemoveQueueHead(delivered))

    def arm_retry(self, **_event: Any) -> None:
        """Wait TransactionMessageRetryInterval times the transmissions so far."""
        self.record(
            StartTimer(RETRY, seconds=self.transaction_message_retry_interval * self.attempts)
        )

    def disarm_retry(self, **_event: Any) -> None:
        self.record(CancelTimer(RETRY))
