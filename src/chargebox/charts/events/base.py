"""The base of every chart event, and how an event becomes the parameters of its trigger.

An event is a small frozen attrs value: its class names the chart
(`chart`) and the trigger (`trigger`) it fires, its fields are the trigger's
parameters as the chart file declares them. A reader (and a type checker)
can follow an event from the `Send` effect or the handle call that makes it
to the chart that takes it.

Firing an event on a chart needs its fields as keyword arguments for the
guards and actions. `params_of` reads them with a reader written once per
class (one dict display of its fields), so an event costs one small dict per
transition and nothing more (bench/bench_charts.py measures it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import attrs


@attrs.frozen
class ChartEvent:
    """Base of the events of every chart; each chart has its own subclass of it
    (`TransactionEvent`), and each trigger one class under that (`IdTagPresented`)."""

    #: the chart this event belongs to (statecharts/<chart>.yaml; "station" for the
    #: station's own events)
    chart: ClassVar[str]
    #: the trigger it fires on that chart
    trigger: ClassVar[str]


#: the parameters of an event without fields (shared: nobody changes them)
NO_PARAMS: Mapping[str, Any] = MappingProxyType({})

_READERS: dict[type[ChartEvent], Callable[[ChartEvent], Mapping[str, Any]]] = {}


def params_of(event: ChartEvent) -> Mapping[str, Any]:
    """The event's fields as the keyword arguments of its trigger's guards and actions."""
    cls = type(event)
    reader = _READERS.get(cls)
    if reader is None:
        reader = _READERS[cls] = _reader(cls)
    return reader(event)


def _reader(cls: type[ChartEvent]) -> Callable[[ChartEvent], Mapping[str, Any]]:
    """A function returning the event's fields as a dict, written for the class (as attrs
    writes its __init__): one dict display, no loop over the names at each event."""
    names = field_names(cls)
    if not names:
        return lambda _event: NO_PARAMS
    items = ", ".join(f"{name!r}: event.{name}" for name in names)
    namespace: dict[str, Any] = {}
    exec(f"def read(event):\n    return {{{items}}}\n", namespace)
    reader: Callable[[ChartEvent], Mapping[str, Any]] = namespace["read"]
    return reader


def field_names(cls: type[ChartEvent]) -> tuple[str, ...]:
    """The parameters an event class carries, in the order it declares them."""
    return tuple(field.name for field in attrs.fields(cls))
