"""How a chart runs an event: the transitions of a trigger out of a state, written once as
one function when the chart is bound, keep the transitions way of running them.

Guards in order (each must equal its target, the first that does not ends that
transition's turn), `before`, the source's exit and the destination's entry actions
around the state change, `after`; every guard and action gets the event's parameters as
keyword arguments, whether the parameters come as a mapping (`fire`) or as an event's
fields (`fire_event`).
"""

from __future__ import annotations

import textwrap
import traceback
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import attrs
import pytest

from chargebox.charts import Chart, ChartError, ChartModel, coverage
from chargebox.charts.events import EVENT_BASES, ChartEvent, events_of, params_of
from chargebox.charts.machine import NotAllowed
from chargebox.charts.paths import Path as EventPath

DOOR = """
name: door
description: A door.
model: DoorModel
initial: Shut
inputs:
  unlocked: The lock is open.
states:
  Shut:
    description: Shut.
    on_exit: leave_shut
  Open:
    description: Open.
    on_enter: enter_open
triggers:
  push:
    from: host
    description: Pushed.
    params:
      force: how hard
      who: by whom
    examples: [{force: 2, who: ann}]
  knock:
    from: host
    description: A knock.
transitions:
  - label: D1
    trigger: push
    source: Shut
    dest: Open
    conditions: [unlocked, strong]
    unless: jammed
    before: [brace, lean]
    after: greet
  - label: D2
    trigger: push
    source: Shut
    dest: null
    conditions: strong
    after: creak
  - label: D3
    trigger: knock
    source: [Shut, Open]
    dest: null
    after: creak
"""


class DoorModel(ChartModel):
    """Records every guard and action it runs, with the parameters it got."""

    __slots__ = ("calls", "jam", "unlocked")
    chart_name = "door"

    def __init__(self) -> None:
        self.state = "Shut"
        self._effects = None
        self.unlocked: Any = True
        #: what `jammed` answers (an `unless` guard: it must equal False)
        self.jam: Any = False
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _called(self, name: str, event: dict[str, Any]) -> None:
        self.calls.append((name, event))

    def strong(self, **event: Any) -> bool:
        self._called("strong", event)
        return bool(event.get("force", 0) > 1)

    def jammed(self, **event: Any) -> Any:
        self._called("jammed", event)
        return self.jam

    def brace(self, **event: Any) -> None:
        self._called("brace", event)

    def lean(self, **event: Any) -> None:
        self._called("lean", event)

    def leave_shut(self, **event: Any) -> None:
        self._called("leave_shut", event)

    def enter_open(self, **event: Any) -> None:
        self._called("enter_open", event)

    def greet(self, **event: Any) -> None:
        self._called("greet", event)

    def creak(self, **event: Any) -> None:
        self._called("creak", event)


@attrs.frozen
class DoorEvent(ChartEvent):
    chart: ClassVar[str] = "door"


@attrs.frozen
class Push(DoorEvent):
    trigger: ClassVar[str] = "push"
    force: int
    who: str


@attrs.frozen
class Knock(DoorEvent):
    trigger: ClassVar[str] = "knock"


@attrs.frozen
class Slam(DoorEvent):
    trigger: ClassVar[str] = "slam"


@pytest.fixture
def door(tmp_path: Path) -> Chart:
    path = tmp_path / "door.yaml"
    path.write_text(textwrap.dedent(DOOR), encoding="utf-8")
    return Chart.load(path, DoorModel)


def fire(chart: Chart, model: ChartModel, event: ChartEvent, way: str) -> Any:
    if way == "mapping":
        return chart.fire(model, event.trigger, dict(params_of(event)))
    return chart.fire_event(model, event)


WAYS = ["mapping", "event"]


@pytest.mark.parametrize("way", WAYS)
def test_guards_and_actions_run_in_the_charts_order_with_the_parameters(
    door: Chart, way: str
) -> None:
    model = DoorModel()
    outcome = fire(door, model, Push(force=2, who="ann"), way)
    assert (outcome.label, outcome.source, outcome.state) == ("D1", "Shut", "Open")
    assert model.state == "Open"
    params = {"force": 2, "who": "ann"}
    names = ["strong", "jammed", "brace", "lean", "leave_shut", "enter_open", "greet"]
    assert model.calls == [(name, params) for name in names]


@pytest.mark.parametrize("way", WAYS)
def test_the_first_failing_guard_ends_a_transitions_turn(door: Chart, way: str) -> None:
    model = DoorModel()
    model.jam = True  # D1's last guard fails: D2 runs, its guard asked again
    outcome = fire(door, model, Push(force=2, who="bo"), way)
    assert (outcome.label, model.state) == ("D2", "Shut")
    assert [name for name, _ in model.calls] == ["strong", "jammed", "strong", "creak"]

    model = DoorModel()
    model.unlocked = False  # D1's first guard (an input) fails: nothing else of D1 runs
    assert fire(door, model, Push(force=2, who="bo"), way).label == "D2"
    assert [name for name, _ in model.calls] == ["strong", "creak"]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("jam", "passes"), [(False, True), (0, True), (None, False), ("", False)])
def test_a_guard_must_equal_its_target(door: Chart, way: str, jam: Any, passes: bool) -> None:
    """As transitions compares them: 0 is False, but None and "" are not."""
    model = DoorModel()
    model.jam = jam
    assert fire(door, model, Push(force=2, who="cy"), way).label == ("D1" if passes else "D2")


@pytest.mark.parametrize("way", WAYS)
def test_an_input_holding_a_callable_is_called_with_the_parameters(door: Chart, way: str) -> None:
    model = DoorModel()
    seen: list[dict[str, Any]] = []

    def unlocked(**event: Any) -> bool:
        seen.append(event)
        return False

    model.unlocked = unlocked
    assert fire(door, model, Push(force=3, who="di"), way).label == "D2"
    assert seen == [{"force": 3, "who": "di"}]


def test_an_event_without_parameters_however_it_comes(door: Chart) -> None:
    for fired in (
        lambda model: door.fire(model, "knock", {}),
        lambda model: door.fire(model, "knock", MappingProxyType({})),
        lambda model: door.fire_event(model, Knock()),
    ):
        model = DoorModel()
        assert fired(model).label == "D3"
        assert model.calls == [("creak", {})]


def test_refusals_and_unknown_triggers_of_an_event(door: Chart) -> None:
    model = DoorModel()
    model.state = "Open"
    refused = door.fire_event(model, Push(force=2, who="ed"))
    assert refused == NotAllowed("door", "push", "Open", "no transition from this state")
    model.state = "Shut"
    refused = door.fire_event(model, Push(force=1, who="ed"))
    assert refused == NotAllowed("door", "push", "Shut", "guards not satisfied")
    assert model.state == "Shut" and [name for name, _ in model.calls] == ["strong", "strong"]
    with pytest.raises(ChartError, match="unknown trigger 'slam'"):
        door.fire_event(model, Slam())
    with pytest.raises(ChartError, match="unknown trigger 'slam'"):
        door.fire(model, "slam", {})


def test_an_event_is_counted_by_coverage(door: Chart) -> None:
    saved = coverage.stop()
    try:
        recorder = coverage.start()
        door.fire_event(DoorModel(), Push(force=2, who="fay"))
        door.fire(DoorModel(), "knock", {})
        assert recorder.ran == {("door", "D1", "Shut"), ("door", "D3", "Shut")}
    finally:
        coverage.stop()
        coverage.recorder = saved


def test_a_traceback_through_a_transition_shows_its_code(door: Chart) -> None:
    model = DoorModel()
    model.unlocked = False
    model.calls = None  # type: ignore[assignment]  # the guard `strong` fails on it
    with pytest.raises(AttributeError) as raised:
        door.fire_event(model, Push(force=2, who="gus"))
    text = "".join(traceback.format_exception(raised.value))
    assert "<chart door: push from Shut" in text
    assert "model.strong(force=_p_force, who=_p_who)" in text


def test_every_shipped_chart_runs_its_paths_alike_both_ways(
    chart_paths: dict[str, list[EventPath]],
) -> None:
    """Each generated path replayed with the events' fields gives what the path says."""
    from chargebox.charts import chart

    for name, paths in chart_paths.items():
        loaded = chart(name)
        classes = events_of(EVENT_BASES[name])
        for path in paths:
            model = path.start(loaded.model_class)
            for number, step in enumerate(path.steps, start=1):
                where = f"{path} step {number}"
                for input_name, value in step.inputs.items():
                    setattr(model, input_name, value)
                outcome = loaded.fire_event(model, classes[step.trigger](**step.params))
                assert (outcome.label, outcome.source) == step.key, where
                assert model.state == step.state, where
                assert tuple(model.drain_effects()) == step.effects, where
