"""Typed events match the chart files: one class per trigger, its fields the trigger's params.

A trigger added to a chart without its class, a parameter renamed in one place
and not the other, or an example the class cannot be built from fails here,
naming the chart and the trigger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import cattrs
import pytest

from chargebox.charts import chart, chart_names
from chargebox.charts.events import (
    EVENT_BASES,
    NO_PARAMS,
    ChartEvent,
    StationEvent,
    events_of,
    field_names,
    params_of,
)
from chargebox.charts.events.connector import FaultCleared, FaultDetected
from chargebox.charts.events.transaction import IdTagPresented, StopRequested


def camel(trigger: str) -> str:
    return "".join(part.capitalize() for part in trigger.split("_"))


def converter() -> cattrs.Converter:
    """cattrs as the charts' examples need it: YAML already reads timestamps as datetimes."""
    conv = cattrs.Converter(forbid_extra_keys=True)

    def moment(value: Any, _type: type) -> datetime:
        if not isinstance(value, datetime):
            raise TypeError(f"{value!r} is not a datetime")
        return value

    conv.register_structure_hook(datetime, moment)
    return conv


def test_every_chart_has_a_base_class_of_its_events():
    assert set(EVENT_BASES) == {*chart_names(), "station"}
    for name, base in EVENT_BASES.items():
        assert base.chart == name and issubclass(base, ChartEvent)


@pytest.mark.parametrize("name", chart_names())
def test_one_class_per_trigger_with_the_triggers_params(name: str):
    spec = chart(name).spec
    classes = events_of(EVENT_BASES[name])
    assert sorted(classes) == sorted(t.name for t in spec.triggers), (
        f"{spec.where}: the triggers and the classes of chargebox.charts.events differ"
    )
    for trigger in spec.triggers:
        cls = classes[trigger.name]
        where = f"{spec.where}: trigger {trigger.name} ({cls.__name__})"
        assert cls.trigger == trigger.name, where
        # the trailing underscore keeps a builtin's name free (NotImplemented_)
        assert cls.__name__.rstrip("_") == camel(trigger.name), where
        assert set(field_names(cls)) == set(trigger.params), where
        if trigger.is_timer:
            assert field_names(cls) == (), where


@pytest.mark.parametrize("name", chart_names())
def test_every_example_builds_its_class(name: str):
    spec = chart(name).spec
    conv = converter()
    for trigger in spec.triggers:
        cls = events_of(EVENT_BASES[name])[trigger.name]
        for example in trigger.examples:
            event = conv.structure(dict(example), cls)
            # what the chart receives is the example, and the defaults of what it leaves out
            defaults = {f.name: f.default for f in attrs.fields(cls)}
            assert params_of(event) == {**defaults, **example}, (spec.where, trigger.name)


def test_station_events_follow_the_same_rules():
    for trigger, cls in events_of(StationEvent).items():
        assert cls.chart == "station" and cls.__name__ == camel(trigger)


def test_an_example_with_a_wrong_field_is_refused():
    conv = converter()
    with pytest.raises(cattrs.errors.ClassValidationError):
        conv.structure({"id_tag": "T", "colour": "red"}, IdTagPresented)
    with pytest.raises(cattrs.errors.ClassValidationError):
        conv.structure({}, StopRequested)  # reason is required


def test_events_are_small_frozen_values():
    event = FaultDetected(error_code="GroundFailure")
    assert not hasattr(event, "__dict__")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.error_code = "OtherError"  # type: ignore[misc]
    assert event == FaultDetected(error_code="GroundFailure")
    with pytest.raises(TypeError):
        FaultDetected("GroundFailure")  # type: ignore[misc]  # keyword-only


def test_params_are_the_fields_in_order():
    event = IdTagPresented(id_tag="T", reservation_id=7, reservation_connector=0)
    assert params_of(event) == {"id_tag": "T", "reservation_id": 7, "reservation_connector": 0}
    assert params_of(StopRequested(reason="Local")) == {"reason": "Local"}
    assert params_of(FaultCleared()) is NO_PARAMS
