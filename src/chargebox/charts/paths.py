"""Event paths derived from a chart that, together, run every declared transition.

The generator explores the chart by executing it: breadth first from the
model's seeds (`ChartModel.seeds()`: a fresh model, or for a chart whose
situations lie far apart, such as the station's, several models in those
situations), it fires every trigger the current state accepts, with each
example parameter set of the trigger and each combination of the inputs its
guards read; a timer's trigger only once the path armed that timer.
Executing (rather than walking the graph) gets the model's memory right: the
return from Faulted depends on what was remembered, a queue's retries on how
many attempts were made. Each (label, source) pair keeps the first, hence
shortest, path that ran it; paths that are prefixes of others are dropped.

A path records, per step, the event, the inputs set before it, the transition
that ran, the state after it and the effects it recorded, so it can be replayed
on a bare model or through an actor and compared step by step.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from chargebox.charts import coverage
from chargebox.charts.effects import CancelTimer, Effect, StartTimer
from chargebox.charts.machine import Chart, Outcome
from chargebox.charts.model import ChartModel
from chargebox.charts.spec import ChartError


@attrs.frozen
class Step:
    """One event of a path and what it must do."""

    trigger: str
    params: Mapping[str, Any] = attrs.field(hash=False)
    inputs: Mapping[str, bool] = attrs.field(hash=False)
    label: str
    source: str
    state: str
    effects: tuple[Effect, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.label, self.source)

    def __str__(self) -> str:
        extra = []
        if self.inputs:
            extra.append("inputs " + ", ".join(f"{k}={v}" for k, v in self.inputs.items()))
        if self.params:
            extra.append("params " + ", ".join(f"{k}={v!r}" for k, v in self.params.items()))
        tail = f" ({'; '.join(extra)})" if extra else ""
        return f"{self.source} --{self.trigger}{tail}--> {self.state} [{self.label}]"


@attrs.frozen
class Path:
    """A sequence of steps from a fresh model (`seed`, or the model class's example)."""

    chart: str
    steps: tuple[Step, ...]
    seed: ChartModel | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def covers(self) -> set[tuple[str, str]]:
        return {step.key for step in self.steps}

    def start(self, model_class: type[ChartModel]) -> ChartModel:
        """A fresh copy of the model the path starts from."""
        return self.seed.clone() if self.seed is not None else model_class.example()

    def __str__(self) -> str:
        return f"{self.chart}: " + " ; ".join(str(step) for step in self.steps)


class PathMismatch(AssertionError):
    """A replayed path did not do what the chart says it does."""


def _input_choices(chart: Chart, trigger: str, state: str) -> list[dict[str, bool]]:
    """Every combination of the inputs read by the guards of `trigger` out of `state`."""
    names: list[str] = []
    for t in chart.transitions:
        if t.trigger == trigger and state in t.sources:
            names += [g for g in t.guards if g in chart.spec.inputs and g not in names]
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product((False, True), repeat=len(names))
    ]


def generate_paths(
    chart: Chart,
    *,
    factory: Callable[[], ChartModel] | None = None,
    max_configurations: int = 50_000,
) -> list[Path]:
    """Paths from fresh models (`factory`, default the model's seeds) covering every transition.

    Raises ChartError naming the transitions no path reaches, or when the
    exploration grows beyond `max_configurations` distinct model configurations.
    """
    seeds = [factory()] if factory is not None else chart.model_class.seeds()
    declared = chart.transition_keys()
    first: dict[tuple[str, str], tuple[int, tuple[Step, ...]]] = {}
    seen: set[tuple[Any, frozenset[str]]] = set()
    queue: deque[tuple[int, ChartModel, tuple[Step, ...], frozenset[str]]] = deque()
    for number, seed in enumerate(seeds):
        if (seed.snapshot(), frozenset()) not in seen:
            seen.add((seed.snapshot(), frozenset()))
            queue.append((number, seed, (), frozenset()))
    with coverage.paused():
        while queue and len(first) < len(declared):
            number, model, steps, armed = queue.popleft()
            for trigger in chart.allowed_triggers(model.state):
                spec = chart.spec.trigger(trigger)
                if spec.is_timer and trigger not in armed:
                    continue  # a timer fires only once armed
                for params in spec.examples:
                    for inputs in _input_choices(chart, trigger, model.state):
                        twin = model.clone()
                        for name, value in inputs.items():
                            setattr(twin, name, value)
                        outcome = chart.fire(twin, trigger, dict(params))
                        if not outcome.allowed:
                            continue
                        step = Step(
                            trigger=trigger,
                            params=dict(params),
                            inputs=inputs,
                            label=outcome.label,
                            source=outcome.source,
                            state=twin.state,
                            effects=tuple(twin.drain_effects()),
                        )
                        path = (*steps, step)
                        first.setdefault(step.key, (number, path))
                        now_armed = _armed_after(armed, step, spec.is_timer)
                        key = (twin.snapshot(), now_armed)
                        if key not in seen:
                            seen.add(key)
                            queue.append((number, twin, path, now_armed))
            if len(seen) > max_configurations:
                raise ChartError(
                    f"{chart.spec.where}: path generation explored {len(seen)} configurations "
                    f"and still misses {_missing(declared, first)}"
                )
    if len(first) < len(declared):
        raise ChartError(
            f"{chart.spec.where}: no event path reaches {_missing(declared, first)} "
            "(a guard that can never hold, or a transition shadowed by an earlier one)"
        )
    chosen = sorted(set(first.values()), key=lambda found: len(found[1]))
    kept = [
        (n, p)
        for n, p in chosen
        if not any(m == n and len(q) > len(p) and q[: len(p)] == p for m, q in chosen)
    ]
    one_seed = factory is None and len(seeds) == 1
    return [Path(chart.name, p, None if one_seed else seeds[n]) for n, p in kept]


def _armed_after(armed: frozenset[str], step: Step, is_timer: bool) -> frozenset[str]:
    """The timers armed after the step: its own timer fired, then its Start/CancelTimer."""
    now = set(armed)
    if is_timer:
        now.discard(step.trigger)
    for effect in step.effects:
        if isinstance(effect, StartTimer):
            now.add(effect.name)
        elif isinstance(effect, CancelTimer):
            now.discard(effect.name)
    return frozenset(now)


def _missing(declared: list[tuple[str, str]], first: Mapping[tuple[str, str], Any]) -> str:
    return ", ".join(
        f"{label} from {source}" for label, source in declared if (label, source) not in first
    )


def replay(path: Path, model: ChartModel) -> Iterator[tuple[Step, Outcome, list[Effect]]]:
    """Fire the path's steps on `model`, yielding each step with its outcome and effects."""
    chart = type(model).chart()
    for step in path.steps:
        for name, value in step.inputs.items():
            setattr(model, name, value)
        outcome = chart.fire(model, step.trigger, dict(step.params))
        yield step, outcome, model.drain_effects()


def check_path(path: Path, model: ChartModel) -> None:
    """Replay `path` on `model` and raise PathMismatch at the first step that differs."""
    for number, (step, outcome, effects) in enumerate(replay(path, model), start=1):
        where = f"{path.chart} step {number} ({step})"
        if not outcome.allowed:
            raise PathMismatch(f"{where}: refused: {outcome}")
        if (outcome.label, outcome.source) != step.key:
            raise PathMismatch(f"{where}: ran {outcome.label} from {outcome.source} instead")
        if model.state != step.state:
            raise PathMismatch(f"{where}: ended in {model.state}")
        if tuple(effects) != step.effects:
            raise PathMismatch(f"{where}: effects {effects} instead of {list(step.effects)}")
