"""What chart actions ask for: effects, recorded during a transition and performed after it.

Actions run synchronously inside a transition and do no I/O. They describe what
must happen next with these small frozen values; the actor that owns the model
performs them once the transition is complete (chargebox.actors). A test can
drive a bare model and look at the same values.

OCPP values (statuses, error codes, action names) are the OCPP strings; a
message for another actor is a typed event (chargebox.charts.events) sent to a
typed address (chargebox.charts.addresses).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

from chargebox.charts.addresses import Address
from chargebox.charts.events.base import ChartEvent

E = TypeVar("E", bound=ChartEvent)


def _frozen_params(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


@attrs.frozen
class Effect:
    """Base class of everything an action may record."""


@attrs.frozen
class SendStatusNotification(Effect):
    """Send StatusNotification.req for one connector (0 is the Charge Point itself).

    A connector's chart records it on every status change; the status-report chart
    (statecharts/status.yaml) decides when it goes out (MinimumStatusDuration)."""

    connector_id: int
    status: str
    error_code: str = "NoError"
    info: str | None = None
    vendor_error_code: str | None = None
    vendor_id: str | None = None
    #: when the status began (the status-report chart's; a connector's chart leaves it out)
    timestamp: datetime | None = None


@attrs.frozen
class SendRequest(Effect):
    """Send an OCPP request (a CALL) to the Central System, e.g. action "BootNotification".

    `payload` uses the snake_case field names of chargebox.ocpp; the codec renames them.
    """

    action: str
    payload: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_params, hash=False)


@attrs.frozen
class SampleMeterValues(Effect):
    """Take the connector's meter values now (`context`: Sample.Periodic, ...) and send them."""

    connector_id: int
    context: str


@attrs.frozen
class Send(Effect, Generic[E]):
    """Deliver `event` to the actor at `to` (an event of the chart that address runs).

    `wait`: the sender goes on once that actor has handled the event and performed its
    effects (an ask), so what the event makes it do (a StatusNotification taking its
    place among the CALLs, say) comes before the sender's next effects."""

    to: Address[E]
    event: E
    wait: bool = False


@attrs.frozen
class Reply(Effect):
    """The answer of the transition to whoever asked for the event (an `Ask`): a verdict
    the chart decides, such as the status of a Central System's request. Nobody hears
    it when the event was only delivered.

    `request` names the ask a later transition answers: a model that must wait for
    something before it can answer (the host, an Authorize.conf) keeps the request's
    number and replies with it; the actor maps the number to the waiting ask."""

    value: Any
    request: int | None = None


@attrs.frozen
class HostCommand(Effect):
    """Ask the host (station firmware, simulator) to act: pause_charging, unlock_connector..."""

    command: str
    connector_id: int
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_params, hash=False)


def _check_deadline(instance: StartTimer, _attribute: attrs.Attribute, _value: Any) -> None:
    if (instance.seconds is None) == (instance.at is None):
        raise ValueError("StartTimer needs exactly one of seconds or at")
    if instance.seconds is not None and instance.seconds < 0:
        raise ValueError(f"StartTimer {instance.name}: seconds must not be negative")
    if instance.at is not None and instance.at.tzinfo is None:
        raise ValueError(f"StartTimer {instance.name}: at must be an aware datetime")


@attrs.frozen
class StartTimer(Effect):
    """Arm (or re-arm) the timer `name`; when it expires the chart receives the trigger `name`.

    Give either a delay in seconds or an aware UTC deadline (`at`), which the
    actor maps onto trio's clock through the station clock.
    """

    name: str
    seconds: float | None = attrs.field(default=None, validator=_check_deadline)
    at: datetime | None = None


@attrs.frozen
class CancelTimer(Effect):
    """Disarm the timer `name`; nothing happens if it is not armed."""

    name: str


@attrs.frozen
class OpenConnection(Effect):
    """Open the websocket to the Central System with the given security profile."""

    security_profile: int


@attrs.frozen
class CloseConnection(Effect):
    """Close the websocket to the Central System."""

    reason: str


@attrs.frozen
class SendQueueHead(Effect):
    """Transmit the oldest queued transaction message; `attempt` counts from 1."""

    attempt: int


@attrs.frozen
class RemoveQueueHead(Effect):
    """Remove the oldest queued transaction message: delivered, or dropped after its attempts."""

    delivered: bool


@attrs.frozen
class ThinQueue(Effect):
    """MessageQueueSizeThreshold passed: drop queued messages until `keep` remain, as far as
    they may go (never a StartTransaction or StopTransaction); the oldest message is spared
    when it is being transmitted (`spare_head`). How many went comes back to the queue's
    chart as queue_thinned."""

    keep: int
    spare_head: bool


@attrs.frozen
class HoldConnectors(Effect):
    """Take every connector out of service for a firmware installation (`held`), or give them back.

    Held: an idle connector becomes Unavailable at once, one in a session when the
    session ends (like a scheduled ChangeAvailability). Given back: each connector
    returns to the availability the Central System set with ChangeAvailability.
    """

    held: bool


@attrs.frozen
class RaiseSecurityEvent(Effect):
    """Record a security event (whitepaper section 8), e.g. InvalidFirmwareSignature."""

    kind: str
    tech_info: str | None = None
