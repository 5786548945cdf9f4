"""Typed events: one frozen attrs class per trigger of every chart, one module per chart.

Each chart has a base class (`TransactionEvent`, `LinkEvent`, ...) and under it
one class per trigger of its file, named after the trigger in CamelCase
(`id_tag_presented` -> `IdTagPresented`), whose fields are the trigger's
params. Timer triggers have classes too: the actor runtime delivers them when
a timer expires. `chargebox.charts.addresses.Address` is generic over these
base classes, so an event sent to the wrong chart is a type error, and a
ValueError at run time.

`station` holds the events of the station's coordinator chart: what the other
actors report to it, and the requests it decides.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TypeVar

from chargebox.charts.events.base import NO_PARAMS, ChartEvent, field_names, params_of
from chargebox.charts.events.calls import CallsEvent
from chargebox.charts.events.connector import Connector0Event, ConnectorEvent
from chargebox.charts.events.diagnostics import DiagnosticsEvent
from chargebox.charts.events.firmware import FirmwareEvent
from chargebox.charts.events.link import LinkEvent
from chargebox.charts.events.log import LogEvent
from chargebox.charts.events.outbox import OutboxEvent
from chargebox.charts.events.reservation import ReservationEvent
from chargebox.charts.events.signing import SigningEvent
from chargebox.charts.events.station import StationEvent
from chargebox.charts.events.status import StatusEvent
from chargebox.charts.events.transaction import TransactionEvent
from chargebox.charts.events.v2g import V2gEvent

E = TypeVar("E", bound=ChartEvent)

#: chart name -> the base class of its events
EVENT_BASES: dict[str, type[ChartEvent]] = {
    base.chart: base
    for base in (
        ConnectorEvent,
        Connector0Event,
        TransactionEvent,
        ReservationEvent,
        LinkEvent,
        OutboxEvent,
        FirmwareEvent,
        DiagnosticsEvent,
        LogEvent,
        SigningEvent,
        V2gEvent,
        StationEvent,
        StatusEvent,
        CallsEvent,
    )
}


_BY_BASE: dict[type[Any], Mapping[str, type[Any]]] = {}


def events_of(base: type[E]) -> Mapping[str, type[E]]:
    """Trigger -> event class, for the events under `base` (the classes its module defines
    or imports: connector 0's events are defined with the connectors')."""
    known = _BY_BASE.get(base)
    if known is not None:
        return known
    found: dict[str, type[E]] = {}
    for value in vars(sys.modules[base.__module__]).values():
        if not (isinstance(value, type) and issubclass(value, base)):
            continue
        if "trigger" in vars(value) and found.setdefault(value.trigger, value) is not value:
            raise TypeError(f"two {base.__name__} classes fire {value.trigger!r}")
    _BY_BASE[base] = found
    return found


__all__ = [
    "EVENT_BASES",
    "NO_PARAMS",
    "CallsEvent",
    "ChartEvent",
    "Connector0Event",
    "ConnectorEvent",
    "DiagnosticsEvent",
    "FirmwareEvent",
    "LinkEvent",
    "LogEvent",
    "OutboxEvent",
    "ReservationEvent",
    "SigningEvent",
    "StationEvent",
    "StatusEvent",
    "TransactionEvent",
    "V2gEvent",
    "events_of",
    "field_names",
    "params_of",
]
