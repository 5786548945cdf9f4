"""Model of statecharts/link.yaml: the websocket to the Central System and the registration on it.

It decides when to (re)connect and with which security profile, when to send
BootNotification and Heartbeat, when to ping and when a missing pong drops the
connection, and tells the station and the transaction-message queue when the
Central System accepts the Charge Point or the link is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Self

import attrs

from chargebox.charts.addresses import Address
from chargebox.charts.effects import (
    CancelTimer,
    CloseConnection,
    Effect,
    OpenConnection,
    Send,
    SendRequest,
    StartTimer,
)
from chargebox.charts.events.outbox import LinkAccepted, LinkLost
from chargebox.charts.events.station import (
    Reconnected,
    RegistrationAccepted,
    SecurityProfileConfirmed,
    SecurityProfileReverted,
)
from chargebox.charts.model import ChartModel

BACKOFF = "backoff_elapsed"
BOOT_RETRY = "boot_retry_due"
HEARTBEAT = "heartbeat_due"
PING = "ping_due"
PONG_TIMEOUT = "pong_timeout"


@attrs.frozen
class SendPing(Effect):
    """Send websocket ping number `number` (its payload carries the number, so that every
    ping has its own); its pong comes back as pong_received."""

    number: int


@attrs.frozen
class DropUnresponsiveConnection(Effect):
    """No pong within `pong_timeout` seconds: drop the websocket without the closing
    handshake (the Central System does not answer). The chart already counts the link
    as lost: the connection's end is not reported as connection_lost."""

    pong_timeout: int


class LinkModel(ChartModel):
    """The Charge Point's one link to its Central System."""

    __slots__ = (
        "awaiting_pong",
        "backoff_attempt",
        "boot_due",
        "boot_retry_interval",
        "heartbeat_interval",
        "jitter",
        "ping_count",
        "ping_interval",
        "pong_timeout",
        "previous_security_profile",
        "registered",
        "retry_backoff_random_range",
        "retry_backoff_repeat_times",
        "retry_backoff_wait_minimum",
        "security_profile",
        "waiting_after",
    )
    chart_name = "link"

    def __init__(
        self,
        *,
        security_profile: int = 0,
        heartbeat_interval: int = 86400,
        retry_backoff_wait_minimum: int = 3,
        retry_backoff_random_range: int = 10,
        retry_backoff_repeat_times: int = 3,
        boot_retry_interval: int = 60,
        ping_interval: int = 0,
        pong_timeout: int = 5,
        jitter: Callable[[], float] | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(state=state)
        self.security_profile = security_profile
        #: While a new SecurityProfile makes its one attempt: the profile to fall back to.
        self.previous_security_profile: int | None = None
        #: BootNotification was Accepted since this boot: a reconnect sends no new one.
        self.registered = False
        self.heartbeat_interval = heartbeat_interval
        self.retry_backoff_wait_minimum = retry_backoff_wait_minimum
        self.retry_backoff_random_range = retry_backoff_random_range
        self.retry_backoff_repeat_times = retry_backoff_repeat_times
        #: Wait before resending BootNotification when the Central System gives no interval.
        self.boot_retry_interval = boot_retry_interval
        #: The answer (Pending or Rejected) whose interval the next BootNotification waits out,
        #: and when that interval ends (station clock). A lost connection stops the timer but
        #: not the interval (spec 4.2; the Central System may close the connection while it
        #: runs): a reconnect before `boot_due` waits out the rest. None: no such interval
        #: (our own retry after a failed BootNotification is not one).
        self.waiting_after: str | None = None
        self.boot_due: datetime | None = None
        self.backoff_attempt = 0
        #: WebSocketPingInterval: seconds from the connection or the last pong to the next
        #: ping (0: no pings).
        self.ping_interval = ping_interval
        #: WebsocketPongTimeout: seconds a ping waits for its pong.
        self.pong_timeout = pong_timeout
        #: Pings sent since start (each ping's payload carries its number).
        self.ping_count = 0
        #: The last ping waits for its pong.
        self.awaiting_pong = False
        #: A number in [0, 1) for the random part of the reconnect backoff.
        self.jitter = jitter if jitter is not None else _random

    @classmethod
    def example(cls) -> Self:
        return cls(security_profile=1, heartbeat_interval=300, jitter=lambda: 0.5)

    # -- what the state says (read by the station, the features and the endpoint) --------

    @property
    def accepted(self) -> bool:
        """The Central System accepted the registration and the link is up (Accepted)."""
        return self.state == "Accepted"

    @property
    def rejected(self) -> bool:
        """The Central System rejected the registration (Rejected): the Charge Point does not
        answer it (spec 4.2.1)."""
        return self.state == "Rejected"

    @property
    def boot_triggerable(self) -> bool:
        """A TriggerMessage(BootNotification) is taken now: the chart has a transition for
        boot_triggered out of this state (connected, and not Rejected)."""
        return "boot_triggered" in type(self).chart().allowed_triggers(self.state)

    # -- guards ---------------------------------------------------------------------------

    def trying_new_profile(self, **_event: Any) -> bool:
        """A new SecurityProfile is making its single connection attempt."""
        return self.previous_security_profile is not None

    def raises_security_profile(self, *, security_profile: int, **_event: Any) -> bool:
        """A SecurityProfile may only be raised, never lowered (whitepaper A05.FR.01)."""
        return security_profile > self.security_profile

    def pinging(self, **_event: Any) -> bool:
        """A ping is due: WebSocketPingInterval is set and no ping waits for its pong."""
        return self.ping_interval > 0 and not self.awaiting_pong

    def pong_awaited(self, *, number: int, **_event: Any) -> bool:
        """The pong answers the last ping, which still waits for it."""
        return self.awaiting_pong and number == self.ping_count

    def waiting_out_interval(self, *, now: datetime, **_event: Any) -> bool:
        """The interval of a Pending or Rejected answer has not passed yet."""
        return self.boot_due is not None and now < self.boot_due

    def waiting_after_pending(self, *, now: datetime, **_event: Any) -> bool:
        """The interval of a Pending answer has not passed yet."""
        return self.waiting_after == "Pending" and self.waiting_out_interval(now=now)

    def waiting_after_rejected(self, *, now: datetime, **_event: Any) -> bool:
        """The interval of a Rejected answer has not passed yet."""
        return self.waiting_after == "Rejected" and self.waiting_out_interval(now=now)

    # -- actions --------------------------------------------------------------------------

    def open_connection(self, **_event: Any) -> None:
        self.record(OpenConnection(self.security_profile))

    def close_connection(self, **_event: Any) -> None:
        """Stop: an unproven SecurityProfile is abandoned for the one that worked."""
        if self.previous_security_profile is not None:
            self._revert_security_profile()
        self.record(CancelTimer(HEARTBEAT))
        self.record(CancelTimer(BOOT_RETRY))
        self.record(CancelTimer(BACKOFF))
        self.record(CloseConnection("stopping"))

    def drop_connection(self, **_event: Any) -> None:
        self.record(CloseConnection("reconnecting with new credentials"))

    def connection_up(self, **_event: Any) -> None:
        """Connected: the backoff starts over, a new SecurityProfile has proven itself, and
        the pings begin."""
        self.backoff_attempt = 0
        self._arm_ping()
        if self.previous_security_profile is not None:
            self.previous_security_profile = None
            confirmed = SecurityProfileConfirmed(security_profile=self.security_profile)
            self.record(Send(Address.station(), confirmed))

    def send_boot_notification(self, **_event: Any) -> None:
        self._interval_over()
        self.record(SendRequest("BootNotification"))

    def send_triggered_boot_notification(self, **_event: Any) -> None:
        """TriggerMessage(BootNotification): send it now instead of after the retry wait (the
        Central System that asks for it ends the interval it gave)."""
        self._interval_over()
        self.record(CancelTimer(BOOT_RETRY))
        self.record(SendRequest("BootNotification"))

    def _interval_over(self) -> None:
        self.waiting_after = None
        self.boot_due = None

    def arm_backoff(self, **_event: Any) -> None:
        """RetryBackoffWaitMinimum doubled RetryBackoffRepeatTimes times, plus a random part."""
        doublings = min(self.backoff_attempt, self.retry_backoff_repeat_times)
        delay = self.retry_backoff_wait_minimum * 2**doublings
        delay += self.jitter() * self.retry_backoff_random_range
        self.backoff_attempt += 1
        self.record(StartTimer(BACKOFF, seconds=delay))

    def arm_boot_retry(self, **_event: Any) -> None:
        """No usable answer: BootNotification again after our own wait."""
        self.record(StartTimer(BOOT_RETRY, seconds=self.boot_retry_interval))

    def wait_after_pending(self, *, interval: int, now: datetime, **_event: Any) -> None:
        """Pending: BootNotification again once `interval` has passed (ours if it is 0),
        whatever becomes of the connection meanwhile."""
        self._wait_after("Pending", interval, now)

    def wait_after_rejected(self, *, interval: int, now: datetime, **_event: Any) -> None:
        """Rejected: silence, and BootNotification again once `interval` has passed (ours if
        it is 0), whatever becomes of the connection meanwhile."""
        self._wait_after("Rejected", interval, now)

    def _wait_after(self, answer: str, interval: int, now: datetime) -> None:
        seconds = interval if interval > 0 else self.boot_retry_interval
        self.waiting_after = answer
        self.boot_due = now + timedelta(seconds=seconds)
        self.record(StartTimer(BOOT_RETRY, seconds=seconds))

    def resume_boot_wait(self, *, now: datetime, **_event: Any) -> None:
        """Reconnected within the interval: BootNotification once the rest of it has passed."""
        assert self.boot_due is not None  # the guard saw it
        self.record(StartTimer(BOOT_RETRY, seconds=(self.boot_due - now).total_seconds()))

    def registration_accepted(self, *, interval: int = 0, **_event: Any) -> None:
        """Accepted: heartbeat at the given interval; the station reports every connector."""
        self.registered = True
        self._interval_over()
        if interval > 0:
            self.heartbeat_interval = interval
        self.record(CancelTimer(BOOT_RETRY))
        self._online(RegistrationAccepted)

    def registration_renewed(self, *, interval: int = 0, **_event: Any) -> None:
        """A triggered BootNotification is Accepted while registered: nothing is sent again,
        and the heartbeat interval of the answer (ours if it is 0) applies from now."""
        if interval > 0:
            self.heartbeat_interval = interval
        if self.heartbeat_interval > 0:
            self.record(StartTimer(HEARTBEAT, seconds=self.heartbeat_interval))

    def registration_withdrawn(self, **_event: Any) -> None:
        """A triggered BootNotification is answered Pending or Rejected: no longer registered.

        Heartbeats stop, the transaction-message queue holds its messages until the next
        Accepted, and a reconnect registers with BootNotification again.
        """
        self.registered = False
        self.record(CancelTimer(HEARTBEAT))
        self.record(Send(Address.outbox(), LinkLost()))

    def registration_resumed(self, **_event: Any) -> None:
        """Reconnected while Accepted: no new BootNotification, statuses are sent again."""
        self._online(Reconnected)

    def _online(self, news: type[RegistrationAccepted | Reconnected]) -> None:
        if self.heartbeat_interval > 0:
            self.record(StartTimer(HEARTBEAT, seconds=self.heartbeat_interval))
        self.record(Send(Address.station(), news(heartbeat_interval=self.heartbeat_interval)))
        self.record(Send(Address.outbox(), LinkAccepted()))

    def remember_heartbeat_interval(self, *, interval: int, **_event: Any) -> None:
        self.heartbeat_interval = interval

    def rearm_heartbeat(self, *, interval: int, **_event: Any) -> None:
        """A changed HeartbeatInterval applies at once (0: no heartbeats)."""
        self.heartbeat_interval = interval
        if interval > 0:
            self.record(StartTimer(HEARTBEAT, seconds=interval))
        else:
            self.record(CancelTimer(HEARTBEAT))

    def send_heartbeat(self, **_event: Any) -> None:
        self.record(SendRequest("Heartbeat"))
        if self.heartbeat_interval > 0:
            self.record(StartTimer(HEARTBEAT, seconds=self.heartbeat_interval))

    def link_lost(self, **_event: Any) -> None:
        self._stop_timers()
        self.record(Send(Address.outbox(), LinkLost()))

    def station_ends(self, **_event: Any) -> None:
        self._interval_over()
        self._stop_timers()

    def _stop_timers(self) -> None:
        self.record(CancelTimer(HEARTBEAT))
        self.record(CancelTimer(BOOT_RETRY))
        self._stop_pings()

    # -- websocket pings ------------------------------------------------------------------

    def _arm_ping(self) -> None:
        if self.ping_interval > 0:
            self.record(StartTimer(PING, seconds=self.ping_interval))

    def _stop_pings(self) -> None:
        self.awaiting_pong = False
        self.record(CancelTimer(PING))
        self.record(CancelTimer(PONG_TIMEOUT))

    def send_ping(self, **_event: Any) -> None:
        """WebSocketPingInterval passed: ping, and wait WebsocketPongTimeout for the pong."""
        self.ping_count += 1
        self.awaiting_pong = True
        self.record(SendPing(self.ping_count))
        self.record(StartTimer(PONG_TIMEOUT, seconds=self.pong_timeout))

    def pong_arrived(self, **_event: Any) -> None:
        self.awaiting_pong = False
        self.record(CancelTimer(PONG_TIMEOUT))
        self._arm_ping()

    def drop_unresponsive_connection(self, **_event: Any) -> None:
        """No pong in time: the connection is dropped without the closing handshake."""
        self.record(DropUnresponsiveConnection(self.pong_timeout))

    def rearm_ping(self, *, interval: int, **_event: Any) -> None:
        """A changed WebSocketPingInterval: the next ping one new interval from now."""
        self.ping_interval = interval
        if interval > 0:
            self.record(StartTimer(PING, seconds=interval))
        else:
            self.record(CancelTimer(PING))

    def remember_ping_interval(self, *, interval: int, **_event: Any) -> None:
        self.ping_interval = interval

    def remember_backoff_settings(
        self, *, wait_minimum: int, random_range: int, repeat_times: int, **_event: Any
    ) -> None:
        self.retry_backoff_wait_minimum = wait_minimum
        self.retry_backoff_random_range = random_range
        self.retry_backoff_repeat_times = repeat_times

    def switch_security_profile(self, *, security_profile: int, **_event: Any) -> None:
        """Disconnect and make one attempt with the new profile, keeping the old one."""
        self.previous_security_profile = self.security_profile
        self.security_profile = security_profile
        self.record(CloseConnection(f"SecurityProfile changed to {security_profile}"))
        self.record(OpenConnection(self.security_profile))

    def fall_back_security_profile(self, **_event: Any) -> None:
        """The new profile failed its attempt: go back to the previous one (A05.FR.08)."""
        if self.previous_security_profile is not None:
            self._revert_security_profile()
        self.record(OpenConnection(self.security_profile))

    def _revert_security_profile(self) -> None:
        previous, self.previous_security_profile = self.previous_security_profile, None
        if previous is None:
            return
        failed, self.security_profile = self.security_profile, previous
        reverted = SecurityProfileReverted(failed=failed, security_profile=self.security_profile)
        self.record(Send(Address.station(), reverted))


def _random() -> float:
    import random

    return random.random()
