"""The events of statecharts/link.yaml: the websocket to the Central System and the
registration on it."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class LinkEvent(ChartEvent):
    """An event of the link's chart."""

    chart: ClassVar[str] = "link"


@attrs.frozen(kw_only=True)
class Connect(LinkEvent):
    """The station is ready: connect to the Central System."""

    trigger: ClassVar[str] = "connect"


@attrs.frozen(kw_only=True)
class ConnectionOpened(LinkEvent):
    """The websocket is open."""

    trigger: ClassVar[str] = "connection_opened"
    #: the station clock's time when it opened
    now: datetime


@attrs.frozen(kw_only=True)
class ConnectionFailed(LinkEvent):
    """The connection attempt failed."""

    trigger: ClassVar[str] = "connection_failed"


@attrs.frozen(kw_only=True)
class ConnectionLost(LinkEvent):
    """The websocket closed without our asking."""

    trigger: ClassVar[str] = "connection_lost"


@attrs.frozen(kw_only=True)
class BackoffElapsed(LinkEvent):
    """Timer: the reconnect backoff is over."""

    trigger: ClassVar[str] = "backoff_elapsed"


@attrs.frozen(kw_only=True)
class BootAccepted(LinkEvent):
    """BootNotification.conf Accepted."""

    trigger: ClassVar[str] = "boot_accepted"
    #: the heartbeat interval in seconds
    interval: int


@attrs.frozen(kw_only=True)
class BootPending(LinkEvent):
    """BootNotification.conf Pending."""

    trigger: ClassVar[str] = "boot_pending"
    #: seconds to wait before the next BootNotification (0: our choice)
    interval: int
    #: the station clock's time when the answer came (its currentTime adopted)
    now: datetime


@attrs.frozen(kw_only=True)
class BootRejected(LinkEvent):
    """BootNotification.conf Rejected."""

    trigger: ClassVar[str] = "boot_rejected"
    #: seconds to wait before the next BootNotification (0: our choice)
    interval: int
    #: the station clock's time when the answer came (its currentTime adopted)
    now: datetime


@attrs.frozen(kw_only=True)
class BootFailed(LinkEvent):
    """BootNotification got a CALLERROR or no answer in time."""

    trigger: ClassVar[str] = "boot_failed"


@attrs.frozen(kw_only=True)
class BootRetryDue(LinkEvent):
    """Timer: time to send BootNotification again."""

    trigger: ClassVar[str] = "boot_retry_due"


@attrs.frozen(kw_only=True)
class BootTriggered(LinkEvent):
    """TriggerMessage(BootNotification)."""

    trigger: ClassVar[str] = "boot_triggered"


@attrs.frozen(kw_only=True)
class HeartbeatDue(LinkEvent):
    """Timer: HeartbeatInterval passed."""

    trigger: ClassVar[str] = "heartbeat_due"


@attrs.frozen(kw_only=True)
class SecurityProfileChanged(LinkEvent):
    """ChangeConfiguration(SecurityProfile) was accepted."""

    trigger: ClassVar[str] = "security_profile_changed"
    #: the new SecurityProfile (0..3)
    security_profile: int


@attrs.frozen(kw_only=True)
class HeartbeatIntervalChanged(LinkEvent):
    """ChangeConfiguration(HeartbeatInterval) was accepted."""

    trigger: ClassVar[str] = "heartbeat_interval_changed"
    interval: int


@attrs.frozen(kw_only=True)
class PingDue(LinkEvent):
    """Timer: WebSocketPingInterval passed."""

    trigger: ClassVar[str] = "ping_due"


@attrs.frozen(kw_only=True)
class PongReceived(LinkEvent):
    """The Central System answered ping `number`."""

    trigger: ClassVar[str] = "pong_received"
    #: the number of the ping it answers
    number: int


@attrs.frozen(kw_only=True)
class PongTimeout(LinkEvent):
    """Timer: WebsocketPongTimeout passed without the pong."""

    trigger: ClassVar[str] = "pong_timeout"


@attrs.frozen(kw_only=True)
class PingIntervalChanged(LinkEvent):
    """ChangeConfiguration(WebSocketPingInterval) was accepted."""

    trigger: ClassVar[str] = "ping_interval_changed"
    #: the new interval in seconds (0: no pings)
    interval: int


@attrs.frozen(kw_only=True)
class BackoffSettingsChanged(LinkEvent):
    """ChangeConfiguration of RetryBackoffWaitMinimum, RetryBackoffRandomRange or
    RetryBackoffRepeatTimes was accepted."""

    trigger: ClassVar[str] = "backoff_settings_changed"
    #: RetryBackoffWaitMinimum in seconds
    wait_minimum: int
    #: RetryBackoffRandomRange in seconds
    random_range: int
    #: RetryBackoffRepeatTimes
    repeat_times: int


@attrs.frozen(kw_only=True)
class Reconnect(LinkEvent):
    """Reconnect now (new credentials)."""

    trigger: ClassVar[str] = "reconnect"


@attrs.frozen(kw_only=True)
class Close(LinkEvent):
    """The station stops: close the connection."""

    trigger: ClassVar[str] = "close"
