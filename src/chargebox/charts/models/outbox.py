"""Model of statecharts/outbox.yaml: the queue of transaction messages towards the Central System.

The messages themselves are stored elsewhere (persisted, in order); the model
counts them and decides when the oldest is transmitted, retried after
TransactionMessageRetryInterval x attempts, or dropped after
TransactionMessageAttempts failures (spec 3.7.1). Past MessageQueueSizeThreshold
the queue is thinned as a message comes in, and the count follows what was dropped.
"""

from __future__ import annotations

from typing import Any, Self

from chargebox.charts.effects import (
    CancelTimer,
    RemoveQueueHead,
    SendQueueHead,
    StartTimer,
    ThinQueue,
)
from chargebox.charts.model import ChartModel

RETRY = "retry_due"

_IN_FLIGHT = frozenset({"Sending", "AwaitingAnswer", "RetryWait"})


class OutboxModel(ChartModel):
    """The transaction-message queue (StartTransaction, StopTransaction, MeterValues of a
    transaction)."""

    __slots__ = (
        "attempts",
        "message_queue_size_threshold",
        "queued",
        "taken_back",
        "thinning",
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
        message_queue_size_threshold: int | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(state=state)
        self.transaction_message_attempts = transaction_message_attempts
        self.transaction_message_retry_interval = transaction_message_retry_interval
        #: MessageQueueSizeThreshold: the longest the queue may grow (None or 0: no limit).
        self.message_queue_size_threshold = message_queue_size_threshold
        #: Messages waiting, the one in flight included (restored from storage at start).
        self.queued = queued
        #: Transmissions of the oldest message so far.
        self.attempts = 0
        #: The link dropped while the oldest message awaited its answer (which may still come).
        self.taken_back = False
        #: The queue was told to thin itself; how many went is still to come.
        self.thinning = False

    @classmethod
    def example(cls) -> Self:
        return cls(
            transaction_message_attempts=2,
            transaction_message_retry_interval=10,
            message_queue_size_threshold=2,
        )

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

    def over_threshold(self, **_event: Any) -> bool:
        """With the message coming in, the queue is longer than MessageQueueSizeThreshold."""
        threshold = self.message_queue_size_threshold
        return threshold is not None and threshold > 0 and self.queued + 1 > threshold

    def thinned(self, *, removed: int, **_event: Any) -> bool:
        """The queue was told to thin itself, and kept MessageQueueSizeThreshold messages at
        least."""
        threshold = self.message_queue_size_threshold or 0
        return self.thinning and 0 < removed <= self.queued - threshold

    def was_taken_back(self, **_event: Any) -> bool:
        """The oldest message was on the wire when the link dropped."""
        return self.taken_back

    # -- actions --------------------------------------------------------------------------

    def count_in(self, **_event: Any) -> None:
        self.queued += 1

    def thin_queue(self, **_event: Any) -> None:
        """Down to MessageQueueSizeThreshold, as far as the messages may go; the oldest
        stays while it is being transmitted (or waits for its retry)."""
        assert self.message_queue_size_threshold
        self.thinning = True
        self.record(ThinQueue(self.message_queue_size_threshold, spare_head=self.in_flight))

    def count_out(self, *, removed: int, **_event: Any) -> None:
        self.thinning = False
        self.queued -= removed

    def remember_retry_settings(self, *, attempts: int, retry_interval: int, **_event: Any) -> None:
        self.transaction_message_attempts = attempts
        self.transaction_message_retry_interval = retry_interval

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
