"""Read one chart file of statecharts/ into a checked, immutable description.

This module knows the YAML format and its structural rules (unknown keys,
unknown or unreachable states, duplicate labels, undeclared triggers). It knows
nothing about models: whether a guard or an action exists is checked when the
chart is bound to its model class (chargebox.charts.machine).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml


class ChartError(ValueError):
    """A chart file that cannot be used; the message names the file and the culprit."""


def display_path(path: Path) -> str:
    """The path as a person will look for it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@attrs.frozen
class StateSpec:
    """One state: its name, what it means, and the actions run on entering or leaving it."""

    name: str
    description: str
    on_enter: tuple[str, ...] = ()
    on_exit: tuple[str, ...] = ()


@attrs.frozen
class TriggerSpec:
    """One event the chart reacts to.

    `origin` says where the event comes from (host, csms, timer, or the actor that
    sends it); a trigger from "timer" is delivered by a timer the chart armed.
    `examples` are parameter sets used by the generated tests.
    """

    name: str
    origin: str
    description: str
    params: Mapping[str, str] = attrs.field(factory=dict)
    examples: tuple[Mapping[str, Any], ...] = ({},)

    @property
    def is_timer(self) -> bool:
        return self.origin == "timer"


@attrs.frozen
class TransitionSpec:
    """One declared transition. `dest` None means internal: no state change, no exit/entry."""

    label: str
    trigger: str
    sources: tuple[str, ...]
    dest: str | None
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    description: str = ""

    @property
    def internal(self) -> bool:
        return self.dest is None

    @property
    def guards(self) -> tuple[str, ...]:
        return self.conditions + self.unless

    @property
    def actions(self) -> tuple[str, ...]:
        return self.before + self.after

    def describe(self) -> str:
        """How error messages and reports name this transition."""
        return f"transition {self.label} (trigger {self.trigger})"


@attrs.frozen
class ReportSpec:
    """What the chart's actor tells another actor after every event that changed it:
    the event of `trigger` (a trigger of the chart at `to`, e.g. the station's), built
    by the model's `report()`. The station's chart mirrors the other actors this way."""

    to: str
    trigger: str
    description: str


@attrs.frozen
class ChartSpec:
    """A whole chart as read from its file."""

    name: str
    description: str
    model: str
    initial: str
    states: tuple[StateSpec, ...]
    triggers: tuple[TriggerSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    inputs: Mapping[str, str] = attrs.field(factory=dict)
    on_enter: tuple[str, ...] = ()
    reports: ReportSpec | None = None
    path: Path | None = None

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    def state(self, name: str) -> StateSpec:
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(name)

    def trigger(self, name: str) -> TriggerSpec:
        for t in self.triggers:
            if t.name == name:
                return t
        raise KeyError(name)

    def transition(self, label: str) -> TransitionSpec:
        for t in self.transitions:
            if t.label == label:
                return t
        raise KeyError(label)

    @property
    def where(self) -> str:
        return display_path(self.path) if self.path else f"chart {self.name}"


_TOP_KEYS = {
    "name",
    "description",
    "model",
    "initial",
    "inputs",
    "on_enter",
    "reports",
    "states",
    "triggers",
    "transitions",
}
_STATE_KEYS = {"description", "on_enter", "on_exit"}
_REPORT_KEYS = {"to", "trigger", "description"}
_TRIGGER_KEYS = {"from", "description", "params", "examples"}
_TRANSITION_KEYS = {
    "label",
    "trigger",
    "source",
    "dest",
    "conditions",
    "unless",
    "before",
    "after",
    "description",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# transitions uses the model attribute "state" itself; a trigger of that name would clash.
_RESERVED_TRIGGERS = {"state"}


def load_spec(path: Path) -> ChartSpec:
    """Read and structurally check one chart file; raise ChartError naming the file."""
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ChartError(f"{where}: cannot read the chart file ({exc.strerror})") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChartError(f"{where}: not valid YAML: {exc}") from exc
    return parse_spec(raw, path=path)


def parse_spec(raw: Any, *, path: Path | None = None) -> ChartSpec:
    """Build a ChartSpec from the parsed YAML document, checking its structure."""
    where = display_path(path) if path else "chart"
    if not isinstance(raw, dict):
        raise ChartError(f"{where}: a chart is a mapping with keys {sorted(_TOP_KEYS)}")
    _no_unknown_keys(raw, _TOP_KEYS, where, "the chart")
    for key in ("name", "description", "model", "initial", "states", "triggers", "transitions"):
        if key not in raw:
            raise ChartError(f"{where}: the key {key!r} is missing")
    name = _string(raw["name"], where, "name")
    if not _NAME.match(name):
        raise ChartError(f"{where}: name {name!r} must be an identifier")
    states = _parse_states(raw["states"], where)
    state_names = [s.name for s in states]
    initial = _string(raw["initial"], where, "initial")
    if initial not in state_names:
        raise ChartError(f"{where}: initial state {initial!r} is not one of the states")
    inputs = _parse_inputs(raw.get("inputs") or {}, where)
    triggers = _parse_triggers(raw["triggers"], where)
    transitions = _parse_transitions(raw["transitions"], where, set(state_names))
    spec = ChartSpec(
        name=name,
        description=_string(raw["description"], where, "description").strip(),
        model=_string(raw["model"], where, "model"),
        initial=initial,
        states=tuple(states),
        triggers=tuple(triggers),
        transitions=tuple(transitions),
        inputs=inputs,
        on_enter=_names(raw.get("on_enter"), where, "on_enter"),
        reports=_parse_reports(raw.get("reports"), where),
        path=path,
    )
    _check_triggers(spec, where)
    _check_reachable(spec, where)
    return spec


def _no_unknown_keys(raw: Mapping[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ChartError(
            f"{where}: {what} has unknown key(s) {unknown}; allowed are {sorted(allowed)}"
        )


def _string(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ChartError(f"{where}: {what} must be a non-empty string, not {value!r}")
    return value


def _names(value: Any, where: str, what: str) -> tuple[str, ...]:
    """A name or a list of names (guards, actions, states)."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ChartError(f"{where}: {what} must be a name or a list of names, not {value!r}")
    for item in items:
        if not isinstance(item, str) or not _NAME.match(item):
            raise ChartError(f"{where}: {what}: {item!r} is not a valid name")
    if len(set(items)) != len(items):
        raise ChartError(f"{where}: {what} lists a name twice: {items}")
    return tuple(items)


def _parse_states(raw: Any, where: str) -> list[StateSpec]:
    if not isinstance(raw, dict) or not raw:
        raise ChartError(f"{where}: states must be a mapping of state name to description")
    states = []
    for name, body in raw.items():
        if isinstance(name, bool):
            raise ChartError(
                f"{where}: a state is named {name!r}: YAML reads On/Off/Yes/No as booleans; "
                "quote the name"
            )
        if not isinstance(name, str) or not _NAME.match(name):
            raise ChartError(f"{where}: state name {name!r} must be an identifier")
        what = f"state {name}"
        if isinstance(body, str):
            states.append(StateSpec(name, body.strip()))
            continue
        if not isinstance(body, dict):
            raise ChartError(f"{where}: {what} must be a description or a mapping")
        _no_unknown_keys(body, _STATE_KEYS, where, what)
        states.append(
            StateSpec(
                name,
                _string(body.get("description"), where, f"{what}: description").strip(),
                on_enter=_names(body.get("on_enter"), where, f"{what}: on_enter"),
                on_exit=_names(body.get("on_exit"), where, f"{what}: on_exit"),
            )
        )
    return states


def _parse_reports(raw: Any, where: str) -> ReportSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ChartError(f"{where}: reports must be a mapping with keys {sorted(_REPORT_KEYS)}")
    _no_unknown_keys(raw, _REPORT_KEYS, where, "reports")
    to = _string(raw.get("to"), where, "reports: to")
    trigger = _string(raw.get("trigger"), where, "reports: trigger")
    for what, name in (("to", to), ("trigger", trigger)):
        if not _NAME.match(name):
            raise ChartError(f"{where}: reports: {what} {name!r} must be an identifier")
    return ReportSpec(to, trigger, _string(raw.get("description"), where, "reports: description"))


def _parse_inputs(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ChartError(f"{where}: inputs must be a mapping of input name to description")
    inputs = {}
    for name, text in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ChartError(f"{where}: input name {name!r} must be an identifier")
        inputs[name] = _string(text, where, f"input {name}").strip()
    return inputs


def _parse_triggers(raw: Any, where: str) -> list[TriggerSpec]:
    if not isinstance(raw, dict) or not raw:
        raise ChartError(f"{where}: triggers must be a mapping of trigger name to its description")
    triggers = []
    for name, body in raw.items():
        what = f"trigger {name}"
        if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED_TRIGGERS:
            raise ChartError(f"{where}: trigger name {name!r} must be an identifier (not 'state')")
        if not isinstance(body, dict):
            raise ChartError(f"{where}: {what} must be a mapping with keys {sorted(_TRIGGER_KEYS)}")
        _no_unknown_keys(body, _TRIGGER_KEYS, where, what)
        origin = _string(body.get("from"), where, f"{what}: from")
        params = body.get("params") or {}
        if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            raise ChartError(f"{where}: {what}: params must map parameter names to descriptions")
        examples = body.get("examples", [{}])
        if not isinstance(examples, list) or not examples:
            raise ChartError(f"{where}: {what}: examples must be a non-empty list of mappings")
        for example in examples:
            if not isinstance(example, dict):
                raise ChartError(f"{where}: {what}: example {example!r} is not a mapping")
            undeclared = sorted(set(example) - set(params))
            if undeclared:
                raise ChartError(
                    f"{where}: {what}: example uses parameter(s) {undeclared} not listed in params"
                )
        if origin == "timer" and (params or examples != [{}]):
            raise ChartError(f"{where}: {what}: a timer trigger carries no parameters")
        triggers.append(
            TriggerSpec(
                name=name,
                origin=origin,
                description=_string(body.get("description"), where, f"{what}: description").strip(),
                params=params,
                examples=tuple(examples),
            )
        )
    return triggers


def _parse_transitions(raw: Any, where: str, states: set[str]) -> list[TransitionSpec]:
    if not isinstance(raw, list) or not raw:
        raise ChartError(f"{where}: transitions must be a non-empty list")
    transitions = []
    labels: set[str] = set()
    for index, body in enumerate(raw, start=1):
        if not isinstance(body, dict):
            raise ChartError(f"{where}: transition #{index} must be a mapping")
        label = body.get("label")
        if not isinstance(label, str) or not _LABEL.match(label):
            raise ChartError(f"{where}: transition #{index}: label {label!r} is missing or invalid")
        trigger = body.get("trigger")
        what = f"transition {label} (trigger {trigger})"
        _no_unknown_keys(body, _TRANSITION_KEYS, where, what)
        if label in labels:
            raise ChartError(f"{where}: {what}: the label {label} is used twice")
        labels.add(label)
        if not isinstance(trigger, str) or not _NAME.match(trigger):
            raise ChartError(f"{where}: {what}: trigger must be a name")
        if "source" not in body:
            raise ChartError(f"{where}: {what}: source is missing")
        sources = _names(body["source"], where, f"{what}: source")
        if not sources:
            raise ChartError(f"{where}: {what}: source names no state")
        for source in sources:
            if source not in states:
                raise ChartError(f"{where}: {what}: unknown source state {source!r}")
        dest = body.get("dest")
        if dest is not None and dest not in states:
            raise ChartError(f"{where}: {what}: unknown dest state {dest!r}")
        transitions.append(
            TransitionSpec(
                label=label,
                trigger=trigger,
                sources=sources,
                dest=dest,
                conditions=_names(body.get("conditions"), where, f"{what}: conditions"),
                unless=_names(body.get("unless"), where, f"{what}: unless"),
                before=_names(body.get("before"), where, f"{what}: before"),
                after=_names(body.get("after"), where, f"{what}: after"),
                description=str(body.get("description") or "").strip(),
            )
        )
    return transitions


def _check_triggers(spec: ChartSpec, where: str) -> None:
    declared = {t.name for t in spec.triggers}
    used = {t.trigger for t in spec.transitions}
    for transition in spec.transitions:
        if transition.trigger not in declared:
            raise ChartError(
                f"{where}: {transition.describe()}: trigger {transition.trigger!r} "
                "is not declared under triggers"
            )
    unused = sorted(declared - used)
    if unused:
        raise ChartError(f"{where}: trigger(s) {unused} are declared but no transition uses them")


def _check_reachable(spec: ChartSpec, where: str) -> None:
    """Every state must be reachable from the initial state, guards ignored."""
    edges: dict[str, set[str]] = {}
    for t in spec.transitions:
        if t.dest is not None:
            for source in t.sources:
                edges.setdefault(source, set()).add(t.dest)
    seen = {spec.initial}
    todo = [spec.initial]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    unreachable = [s for s in spec.state_names if s not in seen]
    if unreachable:
        raise ChartError(
            f"{where}: state(s) {unreachable} cannot be reached from the initial state "
            f"{spec.initial}"
        )
