"""The actor runtime: inbox, effects after the transition, timers on trio's clock, supervision."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

import pytest
import trio
import trio.testing

from chargebox.actors import (
    Actor,
    ActorFailed,
    AskFailed,
    Rejected,
    SetInputs,
    StationClock,
    Sync,
    TimerExpired,
    UnhandledEffect,
    UnknownAddress,
    open_actor_group,
)
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Effect, HostCommand, SendRequest, SendStatusNotification
from chargebox.charts.events import connector as connector_events
from chargebox.charts.events import link as link_events
from chargebox.charts.events import log as log_events
from chargebox.charts.events import reservation as reservation_events
from chargebox.charts.events import transaction as transaction_events
from chargebox.charts.machine import NotAllowed
from chargebox.charts.models import (
    ConnectorModel,
    LinkModel,
    LogModel,
    ReservationModel,
    TransactionModel,
)

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def outlet() -> tuple[trio.MemorySendChannel[Effect], trio.MemoryReceiveChannel[Effect]]:
    return trio.open_memory_channel(math.inf)


def drain(channel: trio.MemoryReceiveChannel[object]) -> list[object]:
    items = []
    while True:
        try:
            items.append(channel.receive_nowait())
        except trio.WouldBlock:
            return items


async def settle(actor: Actor) -> None:
    """Wait until the actor has handled everything sent to it so far."""
    sync = Sync()
    await actor.inbox.send(sync)
    await sync.done.wait()


async def test_an_event_fires_the_chart_and_its_effects_go_out() -> None:
    send, receive = outlet()
    async with open_actor_group() as group:
        actor = await group.start(Actor(Address.connector(1), ConnectorModel(1), outlet=send))
        await actor.inbox.send(connector_events.UsageInitiated())
        await actor.inbox.send(connector_events.ChargingStarted())
        await settle(actor)
        assert actor.model.state == "Charging"
        assert drain(receive) == [
            SendStatusNotification(1, "Preparing"),
            SendStatusNotification(1, "Charging"),
        ]


async def test_a_refused_event_is_logged_counted_and_harmless(
    caplog: pytest.LogCaptureFixture,
) -> None:
    send, receive = outlet()
    async with open_actor_group() as group:
        actor = await group.start(Actor(Address.connector(1), ConnectorModel(1), outlet=send))
        with caplog.at_level(logging.WARNING, logger="chargebox.actors.actor"):
            await actor.inbox.send(connector_events.ResumedByEvse())
            await actor.inbox.send("not a message anyone translates")
            await actor.inbox.send(connector_events.UsageInitiated())
            await settle(actor)
        assert actor.refused == 1 and actor.last_refused is not None
        assert actor.model.state == "Preparing"  # the loop went on
        assert "connector/1: connector: resumed_by_evse not allowed in Available" in caplog.text
        assert "no trigger for message" in caplog.text
        assert drain(receive) == [SendStatusNotification(1, "Preparing")]


async def test_a_day_of_heartbeats_runs_on_the_mock_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    send, receive = outlet()
    sink_send, sink_receive = trio.open_memory_channel[object](math.inf)
    async with open_actor_group() as group:
        group.register(Address.station(), sink_send)
        group.register(Address.outbox(), sink_send)
        clock = StationClock(START)
        link = await group.start(
            Actor(Address.link(), LinkModel.example(), clock=clock, outlet=send)
        )
        for event in (link_events.Connect(), link_events.ConnectionOpened(now=START)):
            await link.inbox.send(event)
        await link.inbox.send(link_events.BootAccepted(interval=300))
        await settle(link)
        drain(receive)
        await trio.sleep(86400 + 1)
        await settle(link)
        heartbeats = [e for e in drain(receive) if e == SendRequest("Heartbeat")]
        assert len(heartbeats) == 86400 // 300
        assert clock.now() - START >= timedelta(days=1)
        assert link.armed_timers.keys() == {"heartbeat_due"}
        assert [m.trigger for m in drain(sink_receive)] == [
            "registration_accepted",
            "link_accepted",
        ]


async def test_timers_rearm_cancel_and_ignore_stale_expiries(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink_send, sink_receive = trio.open_memory_channel[object](math.inf)
    host_send, host_receive = outlet()
    async with open_actor_group() as group:
        group.register(Address.connector(1), sink_send)
        clock = StationClock(START)
        actor = await group.start(
            Actor(Address.reservation(1), ReservationModel(1), clock=clock, outlet=host_send)
        )
        reservation = reservation_events.Reserve(
            reservation_id=7, id_tag="TAG", expiry_date=START + timedelta(hours=2)
        )
        await actor.inbox.send(reservation)
        await settle(actor)
        first = actor.armed_timers["expiry_reached"]
        assert first == pytest.approx(clock.deadline(START + timedelta(hours=2)))
        # ReserveNow with the same id moves the expiry: the old deadline passes quietly.
        later = START + timedelta(hours=5)
        await actor.inbox.send(reservation_events.ReserveNow(expiry_date=later, id_tag="T2"))
        await settle(actor)
        await actor.inbox.send(TimerExpired("expiry_reached", generation=1))  # stale
        await trio.sleep_until(first + 1)
        await settle(actor)
        assert actor.model.state == "Reserved"
        await clock.sleep_until(later + timedelta(seconds=1))
        await settle(actor)
        assert actor.model.state == "Idle" and actor.armed_timers == {}
        assert drain(sink_receive) == [
            connector_events.ReserveNow(reservation_id=7),
            connector_events.ReservationEnded(),
        ]
        assert drain(host_receive) == [HostCommand("cancel_reservation", 1, {"reservation_id": 7})]


async def test_actors_talk_through_their_inboxes() -> None:
    send, receive = outlet()
    host_send, _host_receive = outlet()
    async with open_actor_group() as group:
        group.register(Address.outbox(), host_send)
        connector = await group.start(Actor(Address.connector(1), ConnectorModel(1), outlet=send))
        transaction = await group.start(
            Actor(Address.transaction(1), TransactionModel(1), outlet=host_send)
        )
        for event in (connector_events.UsageInitiated(), connector_events.ChargingStarted()):
            await connector.inbox.send(event)
        await transaction.inbox.send(
            transaction_events.TransactionStarted(id_tag="T", meter_start=0)
        )
        await transaction.inbox.send(transaction_events.StartAccepted(transaction_id=1))
        await transaction.inbox.send(transaction_events.EvSideDisconnected())
        await settle(transaction)
        await settle(connector)
        assert transaction.model.state == "Stopping"
        assert connector.model.state == "Finishing"
        assert drain(receive)[-1] == SendStatusNotification(
            1, "Finishing", info="EV side disconnected"
        )


async def test_inputs_change_between_events() -> None:
    async with open_actor_group() as group:
        group.register(Address.outbox(), trio.open_memory_channel[object](math.inf)[0])
        actor = await group.start(
            Actor(Address.transaction(1), TransactionModel(1), outlet=outlet()[0])
        )
        await actor.inbox.send(SetInputs({"online": False}))
        await actor.inbox.send(transaction_events.TransactionStarted(id_tag="T", meter_start=0))
        await settle(actor)
        assert actor.model.state == "StartedOffline"


async def test_unknown_inputs_fail_the_actor() -> None:
    with pytest.RaisesGroup(pytest.RaisesExc(ActorFailed, match="'speed'.*not inputs")):
        async with open_actor_group() as group:
            actor = await group.start(Actor(Address.transaction(1), TransactionModel(1)))
            await actor.inbox.send(SetInputs({"speed": 3}))
            await trio.sleep_forever()


async def test_a_failing_actor_is_reported_and_stops_its_group() -> None:
    reported: list[tuple[Address, BaseException]] = []
    with pytest.RaisesGroup(
        pytest.RaisesExc(ActorFailed, match=r"actor connector/2 failed: ValueError: 'NoError'")
    ) as caught:
        async with open_actor_group(
            on_failure=lambda a, e: reported.append((a.address, e))
        ) as group:
            healthy = await group.start(
                Actor(Address.connector(1), ConnectorModel(1), outlet=outlet()[0])
            )
            broken = await group.start(
                Actor(Address.connector(2), ConnectorModel(2), outlet=outlet()[0])
            )
            await broken.inbox.send(connector_events.FaultDetected(error_code="NoError"))
            await trio.sleep_forever()
    assert healthy.model.state == "Available"
    assert [str(address) for address, _ in reported] == ["connector/2"]
    (failure,) = caught.value.exceptions
    assert isinstance(failure.__cause__, ValueError)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (connector_events.UsageInitiated(), UnhandledEffect),  # StatusNotification, no outlet
        (connector_events.ReserveNow(reservation_id=1), UnhandledEffect),
    ],
)
async def test_an_effect_nobody_performs_fails_loudly(
    message: connector_events.ConnectorEvent, error: type
) -> None:
    with pytest.RaisesGroup(pytest.RaisesExc(ActorFailed, match="nobody performs")):
        async with open_actor_group() as group:
            actor = await group.start(Actor(Address.connector(1), ConnectorModel(1)))
            await actor.inbox.send(message)
            await trio.sleep_forever()


async def test_sending_to_an_unknown_address_fails_loudly() -> None:
    with pytest.RaisesGroup(pytest.RaisesExc(ActorFailed, match="UnknownAddress")) as caught:
        async with open_actor_group() as group:
            actor = await group.start(Actor(Address.reservation(1), ReservationModel.example()))
            await actor.inbox.send(
                reservation_events.Reserve(reservation_id=1, id_tag="T", expiry_date=START)
            )
            await trio.sleep_forever()
    assert isinstance(caught.value.exceptions[0].__cause__, UnknownAddress)


async def test_the_group_cancels_its_actors_when_the_block_ends() -> None:
    async with open_actor_group() as group:
        actor = await group.start(
            Actor(Address.connector(1), ConnectorModel(1), outlet=outlet()[0])
        )
    with pytest.raises(trio.BrokenResourceError):
        # the actor runs no more: its inbox refuses what would never be handled
        actor.inbox.send_nowait(connector_events.UsageInitiated())


async def test_stop_ends_one_actor() -> None:
    async with trio.open_nursery() as nursery:
        actor = Actor(Address.connector(1), ConnectorModel(1), outlet=outlet()[0])
        await nursery.start(actor.run)
        actor.stop()
    assert actor.model.state == "Available"


async def test_station_clock_maps_trio_time_to_utc(autojump_clock: trio.testing.MockClock) -> None:
    clock = StationClock(START)
    await trio.sleep(90)
    assert clock.now() == START + timedelta(seconds=90)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)
    target = datetime(2030, 1, 1, 0, 10, tzinfo=UTC)
    await clock.sleep_until(target)
    assert clock.now() == target
    with pytest.raises(ValueError, match="aware"):
        StationClock(datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        clock.deadline(datetime(2025, 1, 1))


async def test_a_calendar_timer_follows_a_clock_jump(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from chargebox.charts.effects import StartTimer

    async with open_actor_group() as group:
        clock = StationClock(START)
        actor = await group.start(Actor(Address.connector(1), ConnectorModel(1), clock=clock))
        # a timer due at a calendar time (its trigger is refused in Available: counted)
        actor._arm(StartTimer("fault_cleared", at=START + timedelta(hours=1)))
        begin = trio.current_time()
        clock.set(START + timedelta(minutes=50))  # the Central System's time: 50 min later
        await trio.sleep(9 * 60)
        assert actor.refused == 0
        await trio.sleep(2 * 60)
        assert actor.refused == 1
        assert trio.current_time() - begin == pytest.approx(11 * 60)


# -- typed addresses and ask/reply ----------------------------------------------------------


def test_an_actor_runs_the_chart_its_address_names() -> None:
    with pytest.raises(
        ValueError,
        match="link takes the events of chart link, but its model ConnectorModel runs "
        "chart connector",
    ):
        Actor(Address.link(), ConnectorModel(1))


async def test_deliver_and_ask_refuse_an_event_of_another_chart() -> None:
    stop = transaction_events.StopRequested(reason="Remote")
    async with open_actor_group() as group:
        actor = await group.start(
            Actor(Address.connector(1), ConnectorModel(1), outlet=outlet()[0])
        )
        wrong = r"connector/1 takes ConnectorEvent \(connector\), but StopRequested.*transaction"
        with pytest.raises(ValueError, match=wrong):
            await group.deliver(Address.connector(1), stop)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=wrong):
            await group.ask(Address.connector(1), stop)  # type: ignore[arg-type]
        await settle(actor)
        assert actor.refused == 0 and actor.model.state == "Available"


async def test_an_event_of_another_chart_in_an_inbox_fails_the_actor() -> None:
    with pytest.RaisesGroup(
        pytest.RaisesExc(ActorFailed, match=r"connector/1 failed: ValueError: .*StopRequested")
    ):
        async with open_actor_group() as group:
            actor = await group.start(Actor(Address.connector(1), ConnectorModel(1)))
            await actor.inbox.send(transaction_events.StopRequested(reason="Remote"))
            await trio.sleep_forever()


async def test_ask_answers_with_the_outcome_and_the_reply_of_the_transition() -> None:
    send, receive = outlet()

    def request(request_id: int) -> log_events.LogRequested:
        return log_events.LogRequested(
            log_type="DiagnosticsLog",
            request_id=request_id,
            location="ftp://logs.example/in/",
            file_name=f"diag-{request_id}.zip",
        )

    async with open_actor_group() as group:
        actor = await group.start(Actor(Address.log(), LogModel(), outlet=send))
        first = await group.ask(Address.log(), request(1))
        assert first.allowed and first.outcome is not None and first.outcome.label == "L1"
        assert first.reply == "Accepted"
        second = await group.ask(Address.log(), request(2))
        assert second.outcome is not None and second.outcome.label == "L2"
        assert second.reply == "AcceptedCanceled"  # it cancelled the upload in progress
        refused = await group.ask(Address.log(), log_events.RetryDue())
        assert isinstance(refused.outcome, NotAllowed) and not refused.allowed
        assert refused.reply is None and actor.model.state == "Uploading"
        # delivered, not asked: the reply goes nowhere
        await group.deliver(Address.log(), request(3))
        await group.settle(Address.log())
        assert actor.model.upload == 3
        assert not any(type(e).__name__ == "Reply" for e in drain(receive))


async def test_an_ask_whose_effect_is_rejected_fails_and_changes_nothing() -> None:
    class Refusing(Actor[ConnectorModel]):
        async def perform(self, effect: Effect) -> None:
            if isinstance(effect, HostCommand):
                raise Rejected(OSError("no room on the disk"))
            await super().perform(effect)

    async with open_actor_group() as group:
        actor = await group.start(
            Refusing(Address.connector(1), ConnectorModel(1), outlet=outlet()[0])
        )
        with pytest.raises(
            AskFailed, match="connector/1: become_inoperative not taken in: no room on the disk"
        ) as caught:
            await group.ask(Address.connector(1), connector_events.BecomeInoperative())
        assert isinstance(caught.value.error, OSError)
        assert actor.model.state == "Available"
        # the next event that fits is taken
        answer = await group.ask(Address.connector(1), connector_events.UsageInitiated())
        assert answer.allowed and actor.model.state == "Preparing"
