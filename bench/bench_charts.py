"""Cost of the statecharts: memory per connector model and time per trigger.

Run: python bench/bench_charts.py [--models 10000] [--cycles 20000]

Prints, measured in the same run:
- bytes per ConnectorModel when 10,000 exist (tracemalloc, before and after a
  charging session on each), against the same chart run the usual transitions
  way (each model added to a Machine, with its bound trigger methods);
- microseconds per trigger on a connector session, per refused event, per
  trigger of plain transitions on a 3-state machine, and per message through a
  trio actor (a typed event: its fields become the trigger's parameters, which
  is measured on its own too); with a calibration line (one empty Python call)
  so figures from machines of different speed compare.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc
from collections.abc import Callable

import trio
from transitions import Machine

from chargebox.actors import Actor, Sync, open_actor_group
from chargebox.charts.addresses import Address
from chargebox.charts.events import connector as events
from chargebox.charts.events import params_of
from chargebox.charts.events.transaction import IdTagPresented
from chargebox.charts.models import ConnectorModel

SESSION = (
    "usage_initiated",
    "charging_started",
    "suspended_by_ev",
    "resumed_by_ev",
    "transaction_stopped",
    "usage_ended",
)
SESSION_EVENTS = (
    events.UsageInitiated(),
    events.ChargingStarted(),
    events.SuspendedByEv(),
    events.ResumedByEv(),
    events.TransactionStopped(),
    events.UsageEnded(),
)


def bytes_per(make: Callable[[int], object], count: int) -> tuple[float, list[object]]:
    """Traced bytes per object while `count` of them are alive."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    objects = [make(i) for i in range(count)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # The list holding them costs 8 bytes a slot; it is not part of a model.
    return (after - before) / count - 8, objects


def run_session(model: ConnectorModel) -> None:
    for trigger in SESSION:
        model.fire(trigger)
    model.drain_effects()


class _BoundConnector:
    """A plain object for transitions' usual per-model binding (no slots: it needs a dict)."""


def bound_machine(models: list[object]) -> Machine:
    """The connector chart's states and transitions, with every model added the usual way."""
    chart = ConnectorModel.chart()
    return Machine(
        model=models,
        states=sorted(chart.states),
        initial=chart.initial,
        auto_transitions=False,
        transitions=[
            {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
            for t in chart.transitions
        ],
    )


def per_call_us(fn: Callable[[], None], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e6


def calibration_ns() -> float:
    def empty() -> None:
        pass

    return per_call_us(empty, 1_000_000) * 1000


async def actor_us_per_message(messages: int) -> float:
    send, receive = trio.open_memory_channel[object](math.inf)
    async with open_actor_group() as group:
        actor = await group.start(Actor(Address.connector(1), ConnectorModel(1), outlet=send))
        start = time.perf_counter()
        for number in range(messages):
            await actor.inbox.send(SESSION_EVENTS[number % len(SESSION_EVENTS)])
            if number % 100 == 99:
                sync = Sync()
                await actor.inbox.send(sync)
                await sync.done.wait()
                while True:
                    try:
                        receive.receive_nowait()
                    except trio.WouldBlock:
                        break
        sync = Sync()
        await actor.inbox.send(sync)
        await sync.done.wait()
        return (time.perf_counter() - start) / messages * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=20_000)
    args = parser.parse_args()

    ConnectorModel.chart()  # load the chart and build its machine before measuring
    print(f"calibration: one empty Python call = {calibration_ns():.0f} ns on this machine")

    per_model, models = bytes_per(ConnectorModel, args.models)
    del models

    def after_session(connector_id: int) -> ConnectorModel:
        model = ConnectorModel(connector_id)
        run_session(model)
        return model

    per_used_model, models = bytes_per(after_session, args.models)
    del models
    print(
        f"memory: {per_model:.0f} bytes per ConnectorModel at {args.models} models "
        f"({per_used_model:.0f} when each has run a charging session); goal < 1024"
    )

    plain, plain_models = bytes_per(lambda _i: _BoundConnector(), args.models)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    machine = bound_machine(plain_models)
    bound = (tracemalloc.get_traced_memory()[0] - base) / args.models + plain
    tracemalloc.stop()
    del machine, plain_models
    print(
        f"memory: {bound:.0f} bytes per model the usual transitions way (add_model, bound "
        f"triggers) = {bound / per_model:.1f}x ours"
    )

    model = ConnectorModel(1)
    session_us = per_call_us(lambda: run_session(model), args.cycles) / len(SESSION)
    refused_us = per_call_us(lambda: model.fire("resumed_by_evse"), args.cycles * 3)
    print(
        f"time: {session_us:.1f} us per trigger (connector session, StatusNotification "
        f"recorded on each); {refused_us:.1f} us per refused event"
    )

    class Plain:
        pass

    plain_model = Plain()
    Machine(
        model=plain_model,
        states=["A", "B", "C"],
        initial="A",
        auto_transitions=False,
        transitions=[["go", "A", "B"], ["go", "B", "C"], ["go", "C", "A"]],
    )
    plain_us = per_call_us(plain_model.go, args.cycles * 3)  # type: ignore[attr-defined]
    print(
        f"time: {plain_us:.1f} us per trigger of plain transitions (3 states, bound method, "
        f"no guards or callbacks); ours costs {session_us / plain_us:.2f}x that"
    )

    event = IdTagPresented(id_tag="04A2B3C4", reservation_id=7, reservation_connector=1)
    empty = events.ChargingStarted()
    params_ns = per_call_us(lambda: params_of(event), args.cycles * 10) * 1000
    empty_ns = per_call_us(lambda: params_of(empty), args.cycles * 10) * 1000
    print(
        f"time: {params_ns:.0f} ns per event with 3 fields to its trigger's parameters "
        f"({empty_ns:.0f} ns without fields) = {params_ns / 1000 / session_us:.1%} of a trigger"
    )

    actor_us = trio.run(actor_us_per_message, args.cycles)
    print(
        f"time: {actor_us:.1f} us per message through a trio actor (inbox, fire, effects "
        f"to the outlet) = {actor_us / session_us:.1f}x a bare trigger"
    )


if __name__ == "__main__":
    main()
