"""The base class of chart models: the per-instance data a statechart runs on.

A model holds its current state, the memory its guards read, and the effects its
actions recorded since they were last drained. The chart itself (states,
transitions, the transitions Machine) is shared by every model of a class, so a
model is small: subclasses declare `__slots__` and must not grow a `__dict__`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from chargebox.charts.effects import Effect
from chargebox.charts.events.base import ChartEvent

if TYPE_CHECKING:
    from chargebox.charts.machine import Chart, Outcome


class ChartModel:
    """Base of every model. A subclass names its chart file and defines the guards and actions.

    Guards and actions are methods taking the event's parameters as keyword
    arguments (`def guard(self, **event) -> bool`); a guard may also be the name
    of a plain attribute (for instance an input such as a configuration key).
    """

    __slots__ = ("_effects", "state")

    #: The chart this model runs: statecharts/<chart_name>.yaml.
    chart_name: ClassVar[str]

    def __init__(self, *, state: str | None = None) -> None:
        chart = type(self).chart()
        if state is not None and state not in chart.states:
            raise ValueError(f"{chart.name}: {state!r} is not a state of the chart")
        self.state = state if state is not None else chart.initial
        # None until the first effect: most models sit idle with nothing recorded.
        self._effects: list[Effect] | None = None

    @classmethod
    def chart(cls) -> Chart:
        """The loaded chart of this model class (loaded and checked once, then shared)."""
        from chargebox.charts.machine import Chart

        return Chart.for_model(cls)

    @classmethod
    def example(cls) -> Self:
        """A model configured for generated tests and benchmarks (subclasses override)."""
        return cls()

    @classmethod
    def seeds(cls) -> list[Self]:
        """The models generated paths start from (chargebox.charts.paths): the example,
        unless a chart's situations are better reached from several starting points."""
        return [cls.example()]

    def report(self) -> ChartEvent | None:
        """The event a chart that declares `reports` sends after every change (the view
        another chart mirrors); charts that declare it override this."""
        return None

    def fire(self, trigger: str, **params: Any) -> Outcome:
        """Fire `trigger` on this model; an event the chart does not allow changes nothing."""
        return type(self).chart().fire(self, trigger, params)

    def record(self, effect: Effect) -> None:
        """Called by actions: remember an effect for the owner to perform after the transition."""
        if self._effects is None:
            self._effects = [effect]
        else:
            self._effects.append(effect)

    def drain_effects(self) -> list[Effect]:
        """The effects recorded so far, in order; the model forgets them."""
        effects, self._effects = self._effects, None
        return effects or []

    @property
    def pending_effects(self) -> tuple[Effect, ...]:
        """The effects recorded and not yet drained (for inspection)."""
        return tuple(self._effects or ())

    @classmethod
    def _data_slots(cls) -> tuple[str, ...]:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            for name in klass.__dict__.get("__slots__", ()):
                if name != "_effects" and name not in names:
                    names.append(name)
        return tuple(names)

    def snapshot(self) -> tuple[Any, ...]:
        """Everything that decides the model's future behaviour, as a hashable tuple."""
        return tuple(getattr(self, name) for name in self._data_slots())

    def clone(self) -> Self:
        """A copy with the same data and no recorded effects."""
        twin = object.__new__(type(self))
        for name in self._data_slots():
            object.__setattr__(twin, name, getattr(self, name))
        twin._effects = None
        return twin

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._data_slots())
        return f"{type(self).__name__}({fields})"
