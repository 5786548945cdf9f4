"""The actor: a trio task that owns one chart model and is reached only through its inbox.

Its loop takes one message at a time from the inbox, a typed event of its
chart (chargebox.charts.events), fires it on the model's chart, and then
performs the effects the transition's actions recorded: arming and cancelling
its timers, sending events to other actors, and handing everything else to its
outlet (the way out towards the link, the queue or the host). Because the
actions only record, a transition is never interrupted half-way by I/O, and
the same chart runs without trio in tests. A timer that expires comes back
through the inbox as the event of its timer trigger.

An event the chart does not allow is logged and counted, and the loop goes on.
An effect that cannot be performed for a reason the event's sender must hear
(a record that cannot be written) raises `Rejected`: the transition is undone
(the model and its timers go back to what they were before the event) and the
loop goes on. So that nothing else has seen the transition by then, an action
records the effect that may be rejected before the effects that reach others.
Anything else that goes wrong (an action raising, an effect nobody can perform,
an event of another chart) ends the actor with the exception, which its group
reports and propagates.

A sender that must know what became of its event (the host's handle, a
feature answering the Central System) sends an `Ask`: it learns the outcome
(taken, or refused by the chart), the transition's `Reply` if it recorded one,
or the rejection.

A chart that declares `reports` (its file's `reports`: the station's chart
mirrors it) has its actor, when built with `report=True`, send the model's
`report()` to that chart after every event that changed it, once the
transition's effects are performed (an undone transition tells nothing).

A station's actor subclasses Actor, usually overriding `perform` (effects it
handles itself), and is bound to a chart by its address and the model it is
given: `Actor(Address.connector(1), ConnectorModel(1), outlet=...)`; the
address must name the model's chart.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import trio

from chargebox.actors.clock import StationClock
from chargebox.actors.messages import Ask, SetInputs, Sync, TimerExpired
from chargebox.charts.addresses import Address
from chargebox.charts.effects import CancelTimer, Effect, Reply, Send, StartTimer
from chargebox.charts.events import ChartEvent, events_of, params_of
from chargebox.charts.machine import NotAllowed, Outcome
from chargebox.charts.model import ChartModel
from chargebox.charts.spec import ChartError

if TYPE_CHECKING:
    from chargebox.actors.supervision import ActorGroup

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=ChartModel)


class UnhandledEffect(RuntimeError):
    """An effect the actor cannot perform: no outlet, or a Send without a group."""


class Rejected(Exception):
    """Raised while performing an effect: the event cannot be taken in (its record
    cannot be written, say). The actor undoes the transition and goes on; `error`
    is the reason, handed to the sender of an `Ask`."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@attrs.frozen
class ArmedTimer:
    """A timer waiting on trio's clock."""

    deadline: float
    generation: int
    at: datetime | None = attrs.field(default=None, kw_only=True)
    cancel_scope: trio.CancelScope = attrs.field(eq=False, repr=False)


class Actor(Generic[ModelT]):
    """A trio task with an inbox and a chart model.

    `address` names the actor for other actors' `Send` effects, and the events it
    takes (those of the model's chart); `outlet` receives the effects this actor
    does not perform itself; `clock` maps `StartTimer(at=...)` deadlines onto trio's
    clock (created at start when not given).
    """

    def __init__(
        self,
        address: Address[Any],
        model: ModelT,
        *,
        clock: StationClock | None = None,
        outlet: trio.MemorySendChannel[Effect] | None = None,
        inbox_size: int = 256,
        report: bool = False,
    ) -> None:
        if address.events.chart != model.chart_name:
            raise ValueError(
                f"{address} takes the events of chart {address.events.chart}, but its model "
                f"{type(model).__name__} runs chart {model.chart_name}"
            )
        self.address = address
        #: the base class of the events this actor takes
        self.events: type[ChartEvent] = address.events
        self.model = model
        self.chart = type(model).chart()
        self.clock = clock
        self.outlet = outlet
        self.inbox: trio.MemorySendChannel[Any]
        self.inbox, self._receive = trio.open_memory_channel(inbox_size)
        self.group: ActorGroup | None = None
        #: Events refused by the chart since start (each one is also logged).
        self.refused = 0
        self.last_refused: NotAllowed | None = None
        self._timers: dict[str, ArmedTimer] = {}
        #: called after every handled message (status displays, tests waiting for a state)
        self.observers: list[Callable[[Actor[Any], Outcome | None], None]] = []
        self._generations = itertools.count(1)
        self._nursery: trio.Nursery | None = None
        #: the Ask being handled (its Reply goes there)
        self._asking: Ask | None = None
        reports = self.chart.spec.reports
        if report and reports is None:
            raise ValueError(f"{address}: chart {self.chart.name} declares no reports")
        #: where the chart's report goes (None: not reported), and the last one sent
        self._report_to: Address[Any] | None = (
            Address.parse(reports.to) if report and reports else None
        )
        self._reported = model.report() if self._report_to is not None else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.address} in {self.model.state}>"

    @property
    def armed_timers(self) -> Mapping[str, float]:
        """Timer name -> trio deadline of every armed timer."""
        return {name: timer.deadline for name, timer in self._timers.items()}

    # -- the loop -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the inbox until cancelled (or until every sender closed the inbox)."""
        if self.clock is None:
            self.clock = StationClock()
        self.clock.observers.append(self._clock_jumped)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                async with self._receive:
                    async for message in self._receive:
                        outcome = await self._take(message)
                        for observer in self.observers:
                            observer(self, outcome)
                # The inbox is closed: nothing can fire the timers any more.
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as failure:
            # Timer tasks only sleep and send; an error here is the loop's own, and the
            # actor fails with it rather than with a group of one.
            if len(failure.exceptions) != 1:
                raise
            (error,) = failure.exceptions
            raise error from error.__cause__
        finally:
            if self._clock_jumped in self.clock.observers:
                self.clock.observers.remove(self._clock_jumped)

    def stop(self) -> None:
        """End `run` (timers included) at the next checkpoint."""
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _take(self, message: Any) -> Outcome | None:
        """Handle one message from the inbox; an `Ask` hears the outcome, a rejection is undone."""
        if not isinstance(message, Ask):
            try:
                return await self.handle(message)
            except Rejected as rejected:
                # nobody waits for this event (a timer's, another actor's): the transition
                # stands, and the reason is logged
                log.error("%s: %r could not be completed: %s", self.address, message, rejected)
                return None
        # what to go back to if the event is rejected (the effects not yet performed go too)
        before, timers = self.model.clone(), dict(self._timers)
        self._asking = message
        try:
            message.outcome = await self.handle(message.event)
            return message.outcome
        except Rejected as rejected:
            self.model = before
            self._restore_timers(timers)
            message.reply = None
            log.warning("%s: %r not taken in: %s", self.address, message.event, rejected)
            message.error = rejected.error
            return None
        except BaseException as error:
            message.error = error
            raise
        finally:
            self._asking = None
            if not self.keeps(message):
                message.done.set()

    def keeps(self, ask: Ask) -> bool:
        """The ask is answered later, by a Reply naming its request (the station's actor);
        here every ask is answered once its event is handled."""
        return False

    def _restore_timers(self, before: dict[str, ArmedTimer]) -> None:
        """The timers as they were before an undone transition (re-armed for their deadline)."""
        for name in set(self._timers) | set(before):
            old, now = before.get(name), self._timers.get(name)
            if old is now:
                continue
            self._disarm(name)
            if old is not None:
                timer = ArmedTimer(
                    old.deadline, next(self._generations), trio.CancelScope(), at=old.at
                )
                self._timers[name] = timer
                assert self._nursery is not None
                self._nursery.start_soon(self._expire, name, timer, name=f"{self.address} timer")

    async def handle(self, message: Any) -> Outcome | None:
        """Handle one message: fire its event and perform the effects. Returns the outcome."""
        if isinstance(message, TimerExpired):
            timer = self._timers.get(message.name)
            if timer is None or timer.generation != message.generation:
                return None  # cancelled or re-armed after it had already expired
            del self._timers[message.name]
            message = self._timer_event(message.name)
        elif not isinstance(message, self.events):
            if isinstance(message, Sync):
                message.done.set()
            elif isinstance(message, SetInputs):
                self._set_inputs(message.values)
            elif isinstance(message, ChartEvent):
                self.address.check(message)  # an event of another chart: a programming error
            else:
                log.warning(
                    "%s: no trigger for message %r (not an event of its chart); ignored",
                    self.address,
                    message,
                )
            return None
        outcome = self.chart.fire(self.model, message.trigger, params_of(message))
        if not outcome.allowed:
            self.on_refused(outcome)
        for effect in self.model.drain_effects():
            await self.perform(effect)
        if self._report_to is not None and outcome.allowed:
            await self._report()
        return outcome

    async def _report(self) -> None:
        """Tell the chart's `reports` address what changed (nothing when nothing did)."""
        report = self.model.report()
        if report == self._reported:
            return
        self._reported = report
        if self.group is None:
            raise UnhandledEffect(f"{self.address}: a report for {self._report_to} but no group")
        assert self._report_to is not None
        await self.group.deliver(self._report_to, report)

    def _timer_event(self, name: str) -> ChartEvent:
        """The event of the timer trigger `name` (a timer is named after its trigger)."""
        event_class = events_of(self.events).get(name)
        if event_class is None:
            raise ChartError(
                f"{self.address}: timer {name!r} is not a trigger of {self.chart.name}"
            )
        return event_class()

    def on_refused(self, outcome: NotAllowed) -> None:
        """An event the chart does not allow: nothing changed; it is counted and logged."""
        self.refused += 1
        self.last_refused = outcome
        log.warning("%s: %s", self.address, outcome)

    def _set_inputs(self, values: Mapping[str, Any]) -> None:
        unknown = sorted(set(values) - set(self.chart.spec.inputs))
        if unknown:
            raise ValueError(f"{self.address}: {unknown} are not inputs of chart {self.chart.name}")
        for name, value in values.items():
            setattr(self.model, name, value)

    # -- effects --------------------------------------------------------------------------

    async def perform(self, effect: Effect) -> None:
        """Perform one effect; subclasses handle their own kinds first and defer to this."""
        if isinstance(effect, StartTimer):
            self._arm(effect)
        elif isinstance(effect, CancelTimer):
            self._disarm(effect.name)
        elif isinstance(effect, Send):
            if self.group is None:
                raise UnhandledEffect(f"{self.address}: {effect} but the actor is in no group")
            if effect.wait:
                await self.group.ask(effect.to, effect.event)
            else:
                await self.group.deliver(effect.to, effect.event)
        elif isinstance(effect, Reply):
            self.reply(effect)
        elif self.outlet is not None:
            await self.outlet.send(effect)
        else:
            raise UnhandledEffect(f"{self.address}: nobody performs {effect}")

    def reply(self, effect: Reply) -> None:
        """The transition's answer goes to the ask being handled (nobody hears it when the
        event was only delivered)."""
        if self._asking is not None:
            self._asking.reply = effect.value

    def _arm(self, effect: StartTimer) -> None:
        if self._nursery is None or self.clock is None:
            raise UnhandledEffect(f"{self.address}: {effect} before the actor runs")
        self._disarm(effect.name)
        if effect.at is not None:
            deadline = self.clock.deadline(effect.at)
        else:
            deadline = trio.current_time() + (effect.seconds or 0.0)
        timer = ArmedTimer(deadline, next(self._generations), trio.CancelScope(), at=effect.at)
        self._timers[effect.name] = timer
        self._nursery.start_soon(self._expire, effect.name, timer, name=f"{self.address} timer")

    def _clock_jumped(self) -> None:
        """The station clock was set: timers due at a calendar time are due at a new trio time."""
        for name, timer in list(self._timers.items()):
            if timer.at is not None:
                self._arm(StartTimer(name, at=timer.at))

    def _disarm(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel_scope.cancel()

    async def _expire(self, name: str, timer: ArmedTimer) -> None:
        with timer.cancel_scope:
            await trio.sleep_until(timer.deadline)
            # Through the inbox, so the expiry is handled in order with everything else.
            await self.inbox.send(TimerExpired(name, timer.generation))
