"""The events of statecharts/outbox.yaml: the queue of transaction messages."""

from __future__ import annotations

from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class OutboxEvent(ChartEvent):
    """An event of the transaction-message queue's chart."""

    chart: ClassVar[str] = "outbox"


@attrs.frozen(kw_only=True)
class Enqueued(OutboxEvent):
    """A message was stored at the end of the queue."""

    trigger: ClassVar[str] = "enqueued"


@attrs.frozen(kw_only=True)
class LinkAccepted(OutboxEvent):
    """The registration is Accepted: messages may go."""

    trigger: ClassVar[str] = "link_accepted"


@attrs.frozen(kw_only=True)
class LinkLost(OutboxEvent):
    """The link is down or no longer Accepted."""

    trigger: ClassVar[str] = "link_lost"


@attrs.frozen(kw_only=True)
class Sent(OutboxEvent):
    """The oldest message is on its way."""

    trigger: ClassVar[str] = "sent"


@attrs.frozen(kw_only=True)
class Answered(OutboxEvent):
    """The Central System answered the oldest message."""

    trigger: ClassVar[str] = "answered"


@attrs.frozen(kw_only=True)
class Failed(OutboxEvent):
    """The oldest message got a CALLERROR or no answer in time."""

    trigger: ClassVar[str] = "failed"


@attrs.frozen(kw_only=True)
class Unsendable(OutboxEvent):
    """The oldest message cannot be sent at all."""

    trigger: ClassVar[str] = "unsendable"


@attrs.frozen(kw_only=True)
class NotImplemented_(OutboxEvent):
    """The Central System does not process the oldest message's action (the trailing
    underscore keeps the builtin NotImplemented's name free)."""

    trigger: ClassVar[str] = "not_implemented"


@attrs.frozen(kw_only=True)
class RetryDue(OutboxEvent):
    """Timer: time to transmit the oldest message again."""

    trigger: ClassVar[str] = "retry_due"
