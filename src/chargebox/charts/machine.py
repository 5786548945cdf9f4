"""Bind a chart to its model class: one shared `transitions` Machine and the `fire` entry point.

The Machine is built once per chart and never learns about individual models:
models are not added to it (no bound trigger methods, no `is_<state>` helpers,
no strong reference kept by the machine), which keeps a model down to its own
slots. Events are fired through the machine's Event objects with the model as
argument.

An event the current state does not accept, or whose guards all fail, is "not
allowed": it changes nothing and `fire` says so in its result rather than
raising, so an actor loop survives a peer's stray message.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from transitions import Event, EventData, Machine, State, Transition

from chargebox import _resources
from chargebox.charts import coverage
from chargebox.charts.spec import ChartError, ChartSpec, TransitionSpec, load_spec

if TYPE_CHECKING:
    from chargebox.charts.model import ChartModel

# transitions logs every callback at INFO; with thousands of connectors that would
# drown an application's INFO log, so only its warnings and errors pass.
logging.getLogger("transitions.core").setLevel(logging.WARNING)


@attrs.frozen
class Fired:
    """The event ran transition `label` from `source`; `dest` is None for an internal one."""

    chart: str
    label: str
    trigger: str
    source: str
    dest: str | None

    allowed: ClassVar[bool] = True

    @property
    def state(self) -> str:
        """The state after the transition."""
        return self.source if self.dest is None else self.dest


@attrs.frozen
class NotAllowed:
    """The event was refused in `state`; nothing changed. `reason` says why, for the log."""

    chart: str
    trigger: str
    state: str
    reason: str

    allowed: ClassVar[bool] = False

    def __str__(self) -> str:
        return f"{self.chart}: {self.trigger} not allowed in {self.state} ({self.reason})"


Outcome = Fired | NotAllowed


class _ChartTransition(Transition):
    """A transitions Transition that knows its label and its precomputed outcome."""

    def __init__(self, *args: Any, spec: TransitionSpec, outcome: Fired, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.outcome = outcome


class _ChartEvent(Event):
    """A transitions Event that reports which transition ran, not only whether one did."""

    def fire(self, model: ChartModel, params: Mapping[str, Any]) -> EventData:
        data = EventData(None, self, self.machine, model, (), params)
        # Machine._process only adds queueing, which a chart machine does not use.
        self._trigger(data)
        return data


class _ChartMachine(Machine):
    transition_cls = _ChartTransition
    event_cls = _ChartEvent


class Chart:
    """A chart bound to its model class, with the one Machine every model of the class shares."""

    _by_model: ClassVar[dict[type, Chart]] = {}

    def __init__(self, spec: ChartSpec, model_class: type[ChartModel]) -> None:
        check_model(spec, model_class)
        self.spec = spec
        self.name = spec.name
        self.model_class = model_class
        self.initial = spec.initial
        self.states = frozenset(spec.state_names)
        self.transitions = spec.transitions
        self.machine = self._build_machine(spec)
        self._events: dict[str, _ChartEvent] = dict(self.machine.events)
        self._allowed: dict[str, tuple[str, ...]] = {
            state: tuple(
                name for name, event in self._events.items() if event.transitions.get(state)
            )
            for state in spec.state_names
        }

    @classmethod
    def load(cls, path: Path, model_class: type[ChartModel]) -> Chart:
        """Read, check and bind the chart file at `path` (not cached)."""
        return cls(load_spec(path), model_class)

    @classmethod
    def for_model(cls, model_class: type[ChartModel]) -> Chart:
        """The chart of `model_class`, loaded from statecharts/ once and then shared."""
        chart = cls._by_model.get(model_class)
        if chart is None:
            name = getattr(model_class, "chart_name", None)
            if not name:
                raise ChartError(f"{model_class.__name__} does not name its chart (chart_name)")
            path = _resources.data_dir("statecharts") / f"{name}.yaml"
            chart = cls._by_model[model_class] = cls.load(path, model_class)
        return chart

    def _build_machine(self, spec: ChartSpec) -> _ChartMachine:
        states = [
            State(
                s.name,
                on_enter=list(spec.on_enter + s.on_enter),
                on_exit=list(s.on_exit),
            )
            for s in spec.states
        ]
        machine = _ChartMachine(
            model=None,
            states=states,
            initial=spec.initial,
            auto_transitions=False,
            send_event=False,
            ignore_invalid_triggers=False,
            name=spec.name,
        )
        for t in spec.transitions:
            for source in t.sources:
                machine.add_transition(
                    t.trigger,
                    source,
                    t.dest,
                    conditions=list(t.conditions) or None,
                    unless=list(t.unless) or None,
                    before=list(t.before) or None,
                    after=list(t.after) or None,
                    spec=t,
                    outcome=Fired(spec.name, t.label, t.trigger, source, t.dest),
                )
        return machine

    def allowed_triggers(self, state: str) -> tuple[str, ...]:
        """The triggers with at least one transition out of `state` (guards not evaluated)."""
        return self._allowed[state]

    def fire(self, model: ChartModel, trigger: str, params: Mapping[str, Any]) -> Outcome:
        """Run `trigger` on `model`: the first transition whose guards pass, or nothing."""
        event = self._events.get(trigger)
        if event is None:
            # A trigger the chart does not know is a programming error, not a stray event.
            raise ChartError(f"{self.spec.where}: unknown trigger {trigger!r}")
        source = model.state
        if not event.transitions.get(source):
            return NotAllowed(self.name, trigger, source, "no transition from this state")
        data = event.fire(model, params)
        if not data.result:
            return NotAllowed(self.name, trigger, source, "guards not satisfied")
        outcome: Fired = data.transition.outcome
        if coverage.recorder is not None:
            coverage.recorder.record(self.name, outcome.label, source)
        return outcome

    def transition_keys(self) -> list[tuple[str, str]]:
        """Every (label, source) pair: the units that coverage counts."""
        return [(t.label, source) for t in self.transitions for source in t.sources]

    def __repr__(self) -> str:
        owner = self.model_class.__name__
        return f"<Chart {self.name} ({owner}, {len(self.transitions)} transitions)>"


def check_model(spec: ChartSpec, model_class: type[ChartModel]) -> None:
    """Every guard, action and input the chart names must be defined by the model class."""
    where = spec.where
    owner = model_class.__name__
    if spec.model != owner:
        raise ChartError(f"{where}: the chart is for model {spec.model}, not {owner}")
    # One class without __slots__ anywhere in the hierarchy gives every model a dict.
    if hasattr(object.__new__(model_class), "__dict__"):
        raise ChartError(f"{where}: {owner} must declare __slots__ (models are kept small)")
    for name in spec.inputs:
        if not hasattr(model_class, name):
            raise ChartError(f"{where}: input {name!r} is not an attribute of {owner}")
    for name in spec.on_enter:
        _check_action(model_class, name, f"{where}: on_enter: action {name!r}")
    from chargebox.charts.model import ChartModel

    if spec.reports is not None and model_class.report is ChartModel.report:
        raise ChartError(
            f"{where}: reports: {owner} must define report() (the {spec.reports.trigger} "
            f"event for {spec.reports.to})"
        )
    for state in spec.states:
        for name in state.on_enter + state.on_exit:
            _check_action(model_class, name, f"{where}: state {state.name}: action {name!r}")
    for t in spec.transitions:
        for name in t.guards:
            if not hasattr(model_class, name):
                raise ChartError(
                    f"{where}: {t.describe()}: guard {name!r} is not defined by {owner}"
                )
            if callable(getattr(model_class, name)):
                _check_signature(model_class, name, f"{where}: {t.describe()}: guard {name!r}")
        for name in t.actions:
            _check_action(model_class, name, f"{where}: {t.describe()}: action {name!r}")


def _check_action(model_class: type, name: str, what: str) -> None:
    member = getattr(model_class, name, None)
    if member is None:
        raise ChartError(f"{what} is not defined by {model_class.__name__}")
    if not callable(member):
        raise ChartError(f"{what} of {model_class.__name__} is not a method")
    _check_signature(model_class, name, what)


def _check_signature(model_class: type, name: str, what: str) -> None:
    """Guards and actions receive the event's parameters as keyword arguments."""
    params = inspect.signature(getattr(model_class, name)).parameters.values()
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        raise ChartError(
            f"{what} of {model_class.__name__} must accept the event's parameters (**event)"
        )
