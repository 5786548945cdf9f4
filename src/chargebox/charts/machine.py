"""Bind a chart to its model class: one shared `transitions` Machine and the `fire` entry point.

The Machine is built once per chart and never learns about individual models:
models are not added to it (no bound trigger methods, no `is_<state>` helpers,
no strong reference kept by the machine), which keeps a model down to its own
slots. A chart uses none of what transitions offers around a transition
(prepare callbacks, machine-wide callbacks, event data passed to callbacks,
queued events), so it runs the transitions way without them: guards in order
(each must equal its target), `before`, the source state's exit and the
destination's entry callbacks around the state change, `after`. The Machine
holds the chart's transitions; the transitions of each trigger out of each
state are written once as one Python function from them (`_compile`), which
calls the guards and actions by name with the event's parameters. That costs a
fraction of transitions' general path, and a chart fires on the hot path of
every CALL (statecharts/calls.yaml) and of every message to an actor.

An event the current state does not accept, or whose guards all fail, is "not
allowed": it changes nothing and `fire` says so in its result rather than
raising, so an actor loop survives a peer's stray message.
"""

from __future__ import annotations

import inspect
import keyword
import linecache
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from transitions import Event, Machine, State, Transition

from chargebox import _resources
from chargebox.charts import coverage
from chargebox.charts.events.base import ChartEvent, field_names
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
    """A transitions Transition that knows its label, its precomputed outcome and the
    callbacks around its state change: what `_compile` writes its code from."""

    def __init__(self, *args: Any, spec: TransitionSpec, outcome: Fired, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.outcome = outcome
        #: (guard name, the value it must have), in order: conditions, then unless
        self.guards = tuple((c.func, c.target) for c in self.conditions)
        #: the callbacks of leaving the source and entering the destination (set by Chart)
        self.exit_callbacks: tuple[str, ...] = ()
        self.enter_callbacks: tuple[str, ...] = ()


class _ChartEvent(Event):
    """A transitions Event whose transitions are _ChartTransitions (compiled by Chart)."""


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
        #: trigger -> source state -> its transitions compiled into one function that takes
        #: the parameters as a mapping (`_compile`); written when the chart is bound
        self._runs: dict[str, dict[str, _Run]] = {
            name: self._compile(name, None) for name in self._events
        }
        #: the same for a trigger fired without parameters (no mapping to unpack), and for
        #: each class of event fired with `fire_event` (its fields passed one by one):
        #: written the first time each is fired
        self._bare_runs: dict[str, dict[str, _Run]] = {}
        self._event_runs: dict[type[ChartEvent], dict[str, _Run]] = {}
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
        for event in machine.events.values():
            for transitions in event.transitions.values():
                for transition in transitions:
                    if transition.dest is not None:
                        exited = machine.get_state(transition.source)
                        entered = machine.get_state(transition.dest)
                        transition.exit_callbacks = tuple(exited.on_exit)
                        transition.enter_callbacks = tuple(entered.on_enter)
        return machine

    def allowed_triggers(self, state: str) -> tuple[str, ...]:
        """The triggers with at least one transition out of `state` (guards not evaluated)."""
        return self._allowed[state]

    def fire(self, model: ChartModel, trigger: str, params: Mapping[str, Any]) -> Outcome:
        """Run `trigger` on `model`: the first transition whose guards pass, or nothing."""
        if params:
            by_source = self._runs.get(trigger)
        else:
            by_source = self._bare_runs.get(trigger)
            if by_source is None and trigger in self._events:
                by_source = self._bare_runs[trigger] = self._compile(trigger, ())
        if by_source is None:
            # A trigger the chart does not know is a programming error, not a stray event.
            raise ChartError(f"{self.spec.where}: unknown trigger {trigger!r}")
        return self._run(by_source, model, trigger, params)

    def fire_event(self, model: ChartModel, event: ChartEvent) -> Outcome:
        """`fire(model, event.trigger, params_of(event))`, with the event's fields passed to
        the guards and actions one by one rather than through a mapping (cheaper)."""
        by_source = self._event_runs.get(type(event))
        if by_source is None:
            trigger = event.trigger
            if trigger not in self._events:
                raise ChartError(f"{self.spec.where}: unknown trigger {trigger!r}")
            by_source = self._compile(trigger, field_names(type(event)))
            self._event_runs[type(event)] = by_source
        # what `_run` does, written out: this is the path of every actor's every event
        source = model.state
        run = by_source.get(source)
        if run is None:
            return NotAllowed(self.name, event.trigger, source, "no transition from this state")
        outcome = run(model, event)
        if outcome is None:
            return NotAllowed(self.name, event.trigger, source, "guards not satisfied")
        if coverage.recorder is not None:
            coverage.recorder.record(self.name, outcome.label, source)
        return outcome

    def _run(
        self, by_source: dict[str, _Run], model: ChartModel, trigger: str, args: Any
    ) -> Outcome:
        source = model.state
        run = by_source.get(source)
        if run is None:
            return NotAllowed(self.name, trigger, source, "no transition from this state")
        outcome = run(model, args)
        if outcome is None:
            return NotAllowed(self.name, trigger, source, "guards not satisfied")
        if coverage.recorder is not None:
            coverage.recorder.record(self.name, outcome.label, source)
        return outcome

    def _compile(self, trigger: str, fields: tuple[str, ...] | None) -> dict[str, _Run]:
        """Source state -> the transitions of `trigger` out of it as one function."""
        return {
            source: _compile(self.spec, self.model_class, trigger, source, transitions, fields)
            for source, transitions in self._events[trigger].transitions.items()
            if transitions
        }

    def transition_keys(self) -> list[tuple[str, str]]:
        """Every (label, source) pair: the units that coverage counts."""
        return [(t.label, source) for t in self.transitions for source in t.sources]

    def __repr__(self) -> str:
        owner = self.model_class.__name__
        return f"<Chart {self.name} ({owner}, {len(self.transitions)} transitions)>"


#: one (trigger, source) of a chart compiled: runs the first transition whose guards pass
#: and returns its outcome, or returns None (nothing done) when every guard set fails
_Run = Callable[["ChartModel", Mapping[str, Any]], Fired | None]


def _compile(
    spec: ChartSpec,
    model_class: type[ChartModel],
    trigger: str,
    source: str,
    transitions: list[_ChartTransition],
    fields: tuple[str, ...] | None,
) -> _Run:
    """The transitions of `trigger` out of `source` written as one Python function, once,
    when the chart is bound (as attrs writes a class's methods): the guards and actions
    called by name on the model, in the chart's order, with the event's parameters as
    keyword arguments. An event then costs no loop over names and no getattr by name.

    What it runs is what the transitions way runs, in the same order: the guards in order
    (each must equal its target; the first that does not ends the transition's turn),
    `before`, the source's exit and the destination's entry callbacks around the state
    change (none for an internal transition), `after`; the first transition whose guards
    all pass is the one that runs. A guard that names a plain attribute of the class (an
    input) is read, and called only if its value is callable, as transitions reads it.

    `fields` None: the function takes the parameters as a mapping (`run(model, params)`).
    Otherwise it takes an object whose attributes `fields` are the parameters (an event,
    `run(model, event)`), and passes them as keyword arguments written out, which costs a
    fraction of unpacking a mapping at every call; with no fields its second argument
    is not read.
    """
    namespace: dict[str, Any] = {"_guard": _guard_value}
    if fields is None:
        lines = ["def run(model, params):"]
        args = "**params"
        params = "params"
    else:
        # the fields read once into locals of their own (no clash with `model`)
        lines = ["def run(model, event):"]
        lines += [f"    _p_{name} = event.{name}" for name in fields]
        args = ", ".join(f"{name}=_p_{name}" for name in fields)
        params = "{" + ", ".join(f"{name!r}: _p_{name}" for name in fields) + "}"

    def member(name: str) -> str:
        """`model.<name>`, or a getattr by a constant for a name Python cannot spell."""
        if name.isidentifier() and not keyword.iskeyword(name):
            return f"model.{name}"
        constant = f"_name{len(namespace)}"
        namespace[constant] = name
        return f"getattr(model, {constant})"

    for index, transition in enumerate(transitions):
        outcome = f"_fired{index}"
        namespace[outcome] = transition.outcome
        tests = []
        for name, target in transition.guards:
            if callable(getattr(model_class, name)):
                value = f"{member(name)}({args})"
            else:  # a plain attribute (an input): its own value
                value = f"_guard({member(name)}, {params})"
            tests.append(f"{value} == {target!r}")
        body = [f"{member(name)}({args})" for name in transition.before]
        if transition.dest is not None:  # None: internal, no state change
            body += [f"{member(name)}({args})" for name in transition.exit_callbacks]
            body.append(f"model.state = {transition.dest!r}")
            body += [f"{member(name)}({args})" for name in transition.enter_callbacks]
        body += [f"{member(name)}({args})" for name in transition.after]
        body.append(f"return {outcome}")
        lines.append(f"    # {transition.spec.label}")
        indent = "    "
        if tests:
            lines.append(f"    if {' and '.join(tests)}:")
            indent = "        "
        lines += [indent + line for line in body]
        if not tests:
            break  # no guard: it always runs, the transitions after it never do
    else:
        lines.append("    return None")
    source_text = "\n".join(lines) + "\n"
    # a file name of its own, kept in linecache, so that a traceback through it shows it
    form = "mapping" if fields is None else f"fields {', '.join(fields) or 'none'}"
    filename = f"<chart {spec.name}: {trigger} from {source}, parameters as {form}>"
    exec(compile(source_text, filename, "exec"), namespace)
    linecache.cache[filename] = (len(source_text), None, source_text.splitlines(True), filename)
    run: _Run = namespace["run"]
    return run


def _guard_value(guard: Any, params: Mapping[str, Any]) -> Any:
    return guard(**params) if callable(guard) else guard


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
