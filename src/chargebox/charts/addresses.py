"""Typed addresses: where an actor is reached, and which chart's events it takes.

`Address[E]` names one actor (or the station's event stream) and is generic over
the base class of the events it takes: `Address.transaction(1)` is an
`Address[TransactionEvent]`, so `Send(Address.transaction(1), IdTagPresented(...))`
type-checks and `Send(Address.transaction(1), UsageInitiated())` does not. The
runtime (`chargebox.actors.supervision.ActorGroup.deliver`) checks the same at
run time and refuses an event of another chart with a ValueError naming both.

An address reads as before in logs and messages: "transaction/1", "link".
Two addresses are equal when they name the same actor; the constructors hand
out one shared instance per actor.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Generic, TypeVar

import attrs

from chargebox.charts.events.base import ChartEvent
from chargebox.charts.events.connector import Connector0Event, ConnectorEvent
from chargebox.charts.events.diagnostics import DiagnosticsEvent
from chargebox.charts.events.firmware import FirmwareEvent
from chargebox.charts.events.link import LinkEvent
from chargebox.charts.events.log import LogEvent
from chargebox.charts.events.outbox import OutboxEvent
from chargebox.charts.events.reservation import ReservationEvent
from chargebox.charts.events.signing import SigningEvent
from chargebox.charts.events.station import StationEvent
from chargebox.charts.events.transaction import TransactionEvent
from chargebox.charts.events.v2g import V2gEvent

E = TypeVar("E", bound=ChartEvent)


@attrs.frozen(cache_hash=True)
class Address(Generic[E]):
    """One actor: `kind` ("transaction"), `number` (the connector, or None for a single
    actor such as the link), and `events`, the base class of the events it takes."""

    kind: str
    number: int | None = None
    events: type[E] = attrs.field(kw_only=True, eq=False, repr=False)

    def __str__(self) -> str:
        return self.kind if self.number is None else f"{self.kind}/{self.number}"

    def check(self, event: Any) -> None:
        """Refuse an event this address does not take (an event of another chart)."""
        if not isinstance(event, self.events):
            chart = getattr(event, "chart", None)
            what = f"an event of chart {chart}" if chart else "not a chart event"
            raise ValueError(
                f"{self} takes {self.events.__name__} ({self.events.chart}), but "
                f"{event!r} is {what}"
            )

    # -- the station's actors -----------------------------------------------------------

    @staticmethod
    def connector(connector_id: int) -> Address[ConnectorEvent]:
        """Connector `connector_id` (1 and up): statecharts/connector.yaml."""
        if connector_id < 1:
            raise ValueError(
                f"connector {connector_id}: connectors are numbered from 1 "
                "(Address.connector0() is the Charge Point)"
            )
        return _address("connector", connector_id, ConnectorEvent)

    @staticmethod
    def connector0() -> Address[Connector0Event]:
        """The Charge Point itself (connectorId 0): statecharts/connector0.yaml."""
        return _address("connector", 0, Connector0Event)

    @staticmethod
    def any_connector(connector_id: int) -> Address[Connector0Event]:
        """Connector `connector_id`, 0 included, for the events every connector's chart takes
        (availability and faults: the events of connector0.yaml)."""
        return _address("connector", connector_id, Connector0Event)

    @staticmethod
    def transaction(connector_id: int) -> Address[TransactionEvent]:
        """The transaction chart of connector `connector_id`."""
        return _address("transaction", connector_id, TransactionEvent)

    @staticmethod
    def reservation(connector_id: int) -> Address[ReservationEvent]:
        """The reservation of connector `connector_id` (0: the one for any connector)."""
        return _address("reservation", connector_id, ReservationEvent)

    @staticmethod
    def link() -> Address[LinkEvent]:
        return _address("link", None, LinkEvent)

    @staticmethod
    def outbox() -> Address[OutboxEvent]:
        return _address("outbox", None, OutboxEvent)

    @staticmethod
    def firmware() -> Address[FirmwareEvent]:
        return _address("firmware", None, FirmwareEvent)

    @staticmethod
    def diagnostics() -> Address[DiagnosticsEvent]:
        return _address("diagnostics", None, DiagnosticsEvent)

    @staticmethod
    def log() -> Address[LogEvent]:
        return _address("log", None, LogEvent)

    @staticmethod
    def signing() -> Address[SigningEvent]:
        """The charge point certificate's signing procedure: statecharts/signing.yaml."""
        return _address("signing", None, SigningEvent)

    @staticmethod
    def v2g_signing() -> Address[SigningEvent]:
        """The V2G certificate's signing procedure (Plug&Charge): statecharts/signing.yaml too."""
        return _address("v2g-signing", None, SigningEvent)

    @staticmethod
    def v2g() -> Address[V2gEvent]:
        """The V2G certificate's OCSP refresh and renewal check: statecharts/v2g.yaml."""
        return _address("v2g", None, V2gEvent)

    @staticmethod
    def station() -> Address[StationEvent]:
        """The station's coordinator: statecharts/station.yaml."""
        return _address("station", None, StationEvent)

    @staticmethod
    def parse(text: str) -> Address[Any]:
        """The address an address's text names ("transaction/1", "link"); ValueError if none."""
        kind, slash, number = text.partition("/")
        if slash and kind in _NUMBERED and number.isdigit():
            n = int(number)
            return Address.connector0() if kind == "connector" and n == 0 else _NUMBERED[kind](n)
        if not slash and kind in _SINGLE:
            return _SINGLE[kind]()
        kinds = [f"{k}/N" for k in _NUMBERED] + list(_SINGLE)
        raise ValueError(f"{text!r} is not an address: one of {', '.join(kinds)}")


@cache
def _address(kind: str, number: int | None, events: type[E]) -> Address[E]:
    return Address(kind, number, events=events)


_NUMBERED: dict[str, Callable[[int], Address[Any]]] = {
    "connector": Address.connector,
    "transaction": Address.transaction,
    "reservation": Address.reservation,
}
_SINGLE: dict[str, Callable[[], Address[Any]]] = {
    "link": Address.link,
    "outbox": Address.outbox,
    "firmware": Address.firmware,
    "diagnostics": Address.diagnostics,
    "log": Address.log,
    "signing": Address.signing,
    "v2g-signing": Address.v2g_signing,
    "v2g": Address.v2g,
    "station": Address.station,
}
