"""The actor: one chart model, reached only through its inbox, served by a task while it has work.

An idle actor costs no task: its inbox (chargebox.actors.inbox) is a deque it
owns, and a message put into it starts a task in the nursery the actor runs in
(its group's) when none runs; that task handles the queued messages one at a
time, in the order they came, and ends when the inbox is empty. The actor's
timers are entries of its group's timer service (chargebox.actors.timers: one
heap and one task for all of a station's actors), and the tasks an actor starts
for its work (a CALL's transmission, a download) run in the same nursery under
the actor's supervision: an error in any of them fails the actor.

Each message taken from the inbox is a typed event of its
chart (chargebox.charts.events): the actor fires it on the model's chart, and then
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

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import trio

from chargebox.actors.clock import StationClock
from chargebox.actors.inbox import Inbox
from chargebox.actors.messages import Ask, SetInputs, Sync, TimerExpired
from chargebox.actors.timers import GENERATIONS, TimerService
from chargebox.charts.addresses import Address
from chargebox.charts.effects import CancelTimer, Effect, Reply, Send, StartTimer
from chargebox.charts.events import ChartEvent, events_of
from chargebox.charts.machine import NotAllowed, Outcome
from chargebox.charts.model import ChartModel
from chargebox.charts.spec import ChartError

if TYPE_CHECKING:
    from chargebox.actors.supervision import ActorGroup

log = logging.getLogger(__name__)


ModelT = TypeVar("ModelT", bound=ChartModel)


#: task -> the actor whose messages it handles (not a context variable: the tasks an
#: actor starts while handling would inherit it)
_HANDLING: dict[trio.lowlevel.Task, Actor[Any]] = {}


def handling_actor() -> Actor[Any] | None:
    """The actor whose messages the current task handles (None: not an actor's handling)."""
    return _HANDLING.get(trio.lowlevel.current_task())


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
    """A timer waiting on trio's clock (an entry of the group's timer service)."""

    deadline: float
    generation: int
    at: datetime | None = attrs.field(default=None, kw_only=True)


class ActorTasks:
    """Starts tasks for an actor, as a nursery does (`start_soon`, `start`), in the nursery the
    actor runs in: `stop()` cancels them, and an error in one fails the actor."""

    __slots__ = ("_actor",)

    def __init__(self, actor: Actor[Any]) -> None:
        self._actor = actor

    def start_soon(self, fn: Callable[..., Any], *args: Any, name: object = None) -> None:
        """Start `fn(*args)` in a task of the actor."""
        self._actor._start_soon(fn, *args, name=name)

    async def start(self, fn: Callable[..., Any], *args: Any, name: object = None) -> Any:
        """Start `fn(*args, task_status=...)` and return what it reports as started."""
        return await self._actor._start(fn, *args, name=name)


class Actor(Generic[ModelT]):
    """A chart model with an inbox, served by a task of its group while messages wait.

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
        outlet: Any = None,
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
        self.inbox = Inbox(inbox_size, owner=self)
        self.group: ActorGroup | None = None
        #: Events refused by the chart since start (each one is also logged).
        self.refused = 0
        self.last_refused: NotAllowed | None = None
        self._timers: dict[str, ArmedTimer] = {}
        #: `observers`, made when first asked for (most actors have none: a station keeps
        #: a list fewer per actor for its garbage collections to walk)
        self._observers: list[Callable[[Actor[Any], Outcome | None], None]] | None = None
        #: where its tasks run, and the timer service its timers are armed in
        self._home: trio.Nursery | None = None
        self._timer_service: TimerService | None = None
        #: it follows its clock's jumps itself (run on its own; in a group, the group does)
        self._observes_clock = False
        #: the cancel scopes of its running tasks (made when the first starts)
        self._task_scopes: set[trio.CancelScope] | None = None
        self._draining = False
        #: the task handling the inbox, and the work it runs once the inbox is empty
        self._drainer: trio.lowlevel.Task | None = None
        self._after: list[tuple[Callable[..., Any], tuple[Any, ...]]] | None = None
        self._stopped = False
        self._standalone: trio.CancelScope | None = None
        #: the actor it waits for while its handling asks one (ActorGroup.ask)
        self.waiting_on: Actor[Any] | None = None
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
    def idle(self) -> bool:
        """Nothing waits in its inbox and no message is being handled."""
        return not self._draining and not len(self.inbox)

    @property
    def observers(self) -> list[Callable[[Actor[Any], Outcome | None], None]]:
        """Called after every handled message (status displays, tests waiting for a state)."""
        if self._observers is None:
            self._observers = []
        return self._observers

    @property
    def armed_timers(self) -> Mapping[str, float]:
        """Timer name -> trio deadline of every armed timer."""
        return {name: timer.deadline for name, timer in self._timers.items()}

    # -- the loop -------------------------------------------------------------------------

    def attach(
        self, nursery: trio.Nursery, timers: TimerService, *, observe_clock: bool = True
    ) -> None:
        """Run in `nursery` (the actor's tasks start there), with its timers in `timers`;
        `observe_clock`: follow the clock's jumps itself (a group does it for all its
        actors). An error of its tasks fails it (its group's ActorFailed, when in one).
        Messages queued before are handled now."""
        if self.clock is None:
            self.clock = StationClock()
        if observe_clock:
            self.clock.observers.append(self._clock_jumped)
            self._observes_clock = True
        self._home, self._timer_service = nursery, timers
        if len(self.inbox):
            self._wake()

    @property
    def _nursery(self) -> ActorTasks | None:
        """Starts the actor's tasks once it runs (a nursery's start_soon and start)."""
        return None if self._home is None else ActorTasks(self)

    def detach(self) -> None:
        """The actor runs no more: its inbox refuses messages, its tasks are cancelled."""
        self.stop()
        if self._observes_clock and self.clock is not None:
            self.clock.observers.remove(self._clock_jumped)
            self._observes_clock = False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the actor on its own (outside a group) until cancelled or stopped."""
        try:
            async with trio.open_nursery() as nursery:
                self._standalone = nursery.cancel_scope
                self.attach(nursery, TimerService(nursery, name=f"{self.address} timers"))
                task_status.started()
                await trio.sleep_forever()
        except BaseExceptionGroup as failure:
            # an error of one of the actor's tasks: the actor fails with it rather than
            # with a group of one
            if len(failure.exceptions) != 1:
                raise
            (error,) = failure.exceptions
            raise error from error.__cause__
        finally:
            self.detach()

    def stop(self) -> None:
        """End the actor (its timers and tasks included) at the next checkpoint; it takes
        no message any more."""
        self._stopped = True
        self.inbox.close()
        self._timers.clear()
        for scope in list(self._task_scopes or ()):
            scope.cancel()
        if self._standalone is not None:
            self._standalone.cancel()

    # -- the actor's tasks ----------------------------------------------------------------

    def _wake(self) -> None:
        """A message was queued: start handling unless a task already does."""
        if not self._draining and self._home is not None:
            self._draining = True
            self._start_soon(self._drain, name=f"actor {self.address}")

    async def _drain(self) -> None:
        """Handle the queued messages one by one, then end (the inbox is empty) or go on
        with the work its handling left for it (`start_after`)."""
        task = trio.lowlevel.current_task()
        _HANDLING[task] = self
        self._drainer = task
        try:
            first = True
            while len(self.inbox):
                await trio.lowlevel.checkpoint_if_cancelled()
                message = self.inbox.take()
                if not first:
                    # a scheduling point between two messages, as a channel's receive is
                    await trio.lowlevel.cancel_shielded_checkpoint()
                first = False
                outcome = await self._take(message)
                for observer in self._observers or ():
                    observer(self, outcome)
                if self.group is not None:
                    self.group.changed()
                if self._after and len(self.inbox):
                    # more messages wait: the work does not wait for them
                    self._start_after()
        finally:
            del _HANDLING[task]
            self._draining = False
            self._drainer = None
        if self._after:
            fn, args = self._after.pop(0)
            self._start_after()
            await fn(*args)

    def start_after(self, fn: Callable[..., Any], *args: Any, name: object = None) -> None:
        """Start `fn(*args)` in a task of the actor, as `ActorTasks.start_soon`; when called
        in the task handling the inbox, that task runs it itself once the inbox is empty
        (a spawn and a scheduling step less for work decided with every message: the
        outbox's transmission). Messages still waiting start it in a task of its own."""
        if self._drainer is None or self._drainer is not trio.lowlevel.current_task():
            self._start_soon(fn, *args, name=name)
        elif self._after is None:
            self._after = [(fn, args)]  # (made when needed: most actors never have any)
        else:
            self._after.append((fn, args))

    def _start_after(self) -> None:
        after, self._after = self._after or (), None
        for fn, args in after:
            self._start_soon(fn, *args)

    async def take_here(self, message: Any) -> None:
        """Handle `message` in the calling task, one of the actor's own, when the actor is
        idle (nothing queued, no task handling); otherwise queue it behind the others.

        For an actor's task reporting back to it (a transmission's news): the same order
        and the same one-message-at-a-time handling as the inbox, without starting a
        task to take one message.
        """
        if self._draining or len(self.inbox) or self._home is None or self._stopped:
            try:
                self.inbox.send_nowait(message)
            except trio.WouldBlock:
                await self.inbox.send(message)
            return
        await trio.lowlevel.checkpoint_if_cancelled()
        task = trio.lowlevel.current_task()
        self._draining = True
        _HANDLING[task] = self
        try:
            outcome = await self._take(message)
            for observer in self._observers or ():
                observer(self, outcome)
            if self.group is not None:
                self.group.changed()
        finally:
            del _HANDLING[task]
            self._draining = False
        if len(self.inbox):  # what came meanwhile is handled by a task of its own
            self._wake()

    def _start_soon(self, fn: Callable[..., Any], *args: Any, name: object = None) -> None:
        if self._home is None:
            raise UnhandledEffect(f"{self.address}: a task for {fn} before the actor runs")
        self._home.start_soon(self._guarded, fn, args, name=name or fn)

    async def _start(self, fn: Callable[..., Any], *args: Any, name: object = None) -> Any:
        if self._home is None:
            raise UnhandledEffect(f"{self.address}: a task for {fn} before the actor runs")
        return await self._home.start(self._guarded_start, fn, args, name=name or fn)

    async def _guarded(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        await self._guarded_start(fn, args, task_status=None)

    async def _guarded_start(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        task_status: trio.TaskStatus[Any] | None = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run one of the actor's tasks: cancelled by `stop`, its error the actor's failure."""
        scope = trio.CancelScope()
        if self._stopped:
            scope.cancel()
        if self._task_scopes is None:
            self._task_scopes = set()
        self._task_scopes.add(scope)
        status = None if task_status is None else _Started(task_status)
        try:
            with scope:
                if status is None:
                    await fn(*args)
                else:
                    await fn(*args, task_status=status)
        except Exception as error:
            if self.group is None or (status is not None and not status.done):
                raise  # (before it started, the error is the starter's, as in a nursery)
            raise self.group.failed(self, error) from error
        finally:
            self._task_scopes.discard(scope)
            if not self._task_scopes:
                self._task_scopes = None

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
                timer = ArmedTimer(old.deadline, next(GENERATIONS), at=old.at)
                self._timers[name] = timer
                assert self._timer_service is not None
                self._timer_service.arm(self, name, timer.deadline, timer.generation)

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
        outcome = self.chart.fire_event(self.model, message)
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
        if self._timer_service is None or self.clock is None:
            raise UnhandledEffect(f"{self.address}: {effect} before the actor runs")
        self._disarm(effect.name)
        if effect.at is not None:
            deadline = self.clock.deadline(effect.at)
        else:
            deadline = trio.current_time() + (effect.seconds or 0.0)
        timer = ArmedTimer(deadline, next(GENERATIONS), at=effect.at)
        self._timers[effect.name] = timer
        self._timer_service.arm(self, effect.name, deadline, timer.generation)

    def _clock_jumped(self) -> None:
        """The station clock was set: timers due at a calendar time are due at a new trio time."""
        for name, timer in list(self._timers.items()):
            if timer.at is not None:
                self._arm(StartTimer(name, at=timer.at))

    def _disarm(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None and self._timer_service is not None:
            self._timer_service.disarmed(timer.deadline)

    def timer_expired(self, name: str, generation: int) -> None:
        """The timer's expiry goes into the inbox past its bound (one per armed timer), so
        the timer service never waits for the actor."""
        if not self.inbox.closed:
            self.inbox.put(TimerExpired(name, generation))

    def timer_armed(self, name: str, generation: int) -> bool:
        """The timer `name` of `generation` is still armed (not cancelled nor re-armed)."""
        timer = self._timers.get(name)
        return timer is not None and timer.generation == generation


class _Started:
    """A task's status that remembers whether the task said it started."""

    __slots__ = ("_status", "done")

    def __init__(self, status: trio.TaskStatus[Any]) -> None:
        self._status = status
        self.done = False

    def started(self, value: Any = None) -> None:
        self.done = True
        self._status.started(value)
