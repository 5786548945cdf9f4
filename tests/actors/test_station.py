"""The station actor (statecharts/station.yaml) in a running station.

What the actor adds to its chart: an event for another actor is asked, so the
other actor's report is in the station's inbox before the station's next
event; a request that waits (for the host, for an Authorize.req) is answered
by the Reply naming its number, while the station goes on deciding others;
the parentIdTag the Authorizer knows is added to the events that need it.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
import trio
import trio.testing

from chargebox.actors import Actor
from chargebox.actors.supervision import ActorGroup, open_actor_group
from chargebox.charts.addresses import Address
from chargebox.charts.events import connector as connector_events
from chargebox.charts.events import reservation as reservation_events
from chargebox.charts.events import station as ev
from chargebox.charts.events import transaction as transaction_events
from chargebox.charts.models import (
    ConnectorModel,
    LinkModel,
    ReservationModel,
    TransactionModel,
)
from chargebox.charts.models.station import Verdict
from chargebox.csms import CsmsSettings
from chargebox.ocpp import v16
from tests.support import make_host, running

TWO = {"Core": {"NumberOfConnectors": 2}}


async def test_a_second_id_tag_finds_the_first_ones_connector_taken(tmp_path, autojump_clock):
    async with running(tmp_path, **TWO) as rig:
        cp = rig.cp
        # the station waits until the transaction took the idTag: its report comes first
        tx = cp.station.transactions[1]
        handle, gate = tx.handle, trio.Event()

        async def slowly(message: object) -> object:
            await gate.wait()
            return await handle(message)

        tx.handle = slowly
        returned: list[str] = []

        async def present(id_tag: str) -> None:
            await cp.token_presented(id_tag)
            returned.append(id_tag)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(present, "FIRST")
            await trio.testing.wait_all_tasks_blocked()
            assert returned == [] and cp.transaction_state(1) == "Idle"  # still deciding
            gate.set()
        assert cp.transaction_state(1) == "Authorizing"
        await cp.token_presented("SECOND")  # at once: the station knows connector 1 is taken
        await rig.evse.wait_for("authorize", 1, "FIRST")
        await rig.evse.wait_for("authorize", 2, "SECOND")
        assert cp.station.coordinator.model.transactions[2].id_tag == "SECOND"
        assert [tx.refused for tx in cp.station.transactions.values()] == [0, 0]


@attrs.define
class GatedReservations:
    """A reservation port that answers only when the test says so."""

    answers: dict[int, bool] = attrs.Factory(dict)
    asked: list[int] = attrs.Factory(list)
    changed: trio.Event = attrs.Factory(trio.Event)

    async def reserve(self, connector_id, reservation_id, id_tag, expiry):
        self.asked.append(reservation_id)
        while reservation_id not in self.answers:
            self.changed.set()
            self.changed = trio.Event()
            await trio.sleep(1)
        return self.answers[reservation_id]

    async def cancel(self, reservation_id):
        pass


async def test_requests_waiting_for_the_host_get_their_own_answers(tmp_path, autojump_clock):
    host = make_host()
    port = host.reservation = GatedReservations()
    async with running(tmp_path, host=host, **TWO) as rig:
        cp = rig.cp
        now = cp.clock.now()
        answers: dict[int, Verdict] = {}

        async def reserve(connector_id: int, reservation_id: int) -> None:
            event = ev.ReserveNow(
                connector_id=connector_id,
                reservation_id=reservation_id,
                id_tag=f"TAG-{reservation_id}",
                expiry_date=now + timedelta(hours=1),
                now=now,
            )
            answer = await cp.station.actors.ask(Address.station(), event)
            answers[reservation_id] = answer.reply

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reserve, 1, 71)
            nursery.start_soon(reserve, 2, 72)
            while not port.asked:
                await port.changed.wait()
            # both wait (the host's port takes one call at a time); the station decides
            # other requests meanwhile
            stop = await cp.station.actors.ask(Address.station(), ev.RemoteStop(transaction_id=5))
            assert stop.reply == Verdict("Rejected") and answers == {}
            first = port.asked[0]
            second = 143 - first
            port.answers[first] = False
            while len(port.asked) < 2:
                await port.changed.wait()
            await trio.testing.wait_all_tasks_blocked()
            assert answers == {first: Verdict("Rejected", "the host refused it")}
            port.answers[second] = True
        assert answers[second] == Verdict("Accepted")
        reserved = "Reserved" if second == 71 else "Available"
        assert cp.status(1) == reserved
        assert cp.station.coordinator._waiting == {}


async def test_an_id_tag_of_the_group_stops_the_transaction(tmp_path, autojump_clock):
    settings = CsmsSettings(parent_id_tags={"OWNER": "FAMILY", "MEMBER": "FAMILY"})
    async with running(tmp_path, csms_settings=settings) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.token_presented("OWNER", 1)
        await rig.evse.wait_for("authorize", 1, "OWNER")
        await cp.transaction_started(1, meter_start=0)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        # MEMBER's parentIdTag is not known yet: asked for, then the transaction stops
        await cp.token_presented("MEMBER")
        assert [a.id_tag for a in csms.received("CP-1", "Authorize")] == ["OWNER", "MEMBER"]
        await rig.evse.wait_for("stop_transaction", 1, "Local")
        await cp.transaction_stopped(1, meter_stop=100)
        stop = await csms.wait_for("StopTransaction")
        assert (stop.id_tag, stop.reason) == ("MEMBER", "Local")
        # the parent is known now (the cache and this run's answers): no second Authorize
        await cp.session_stopped(1)
        await cp.token_presented("OWNER", 1)
        await cp.wait_until(lambda: rig.evse.calls.count(("authorize", 1, "OWNER")) == 2)
        await cp.transaction_started(1, meter_start=200)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        authorizes = len(csms.received("CP-1", "Authorize"))
        await cp.token_presented("MEMBER")
        await cp.wait_until(lambda: rig.evse.calls.count(("stop_transaction", 1, "Local")) == 2)
        assert len(csms.received("CP-1", "Authorize")) == authorizes


async def test_a_reset_while_one_is_under_way_resets_once(tmp_path, autojump_clock):
    async with running(tmp_path, Internal={"WaitForStopTransactionsOnResetTimeout": 30}) as rig:
        cp = rig.cp
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0, id_tag="T")
        session = await rig.session()
        assert (await session.call(v16.ResetRequest(type="Soft"))).status == "Accepted"
        assert (await session.call(v16.ResetRequest(type="Hard"))).status == "Accepted"
        await rig.system.reset_done.wait()
        await trio.sleep(60)
        assert rig.system.resets == ["Soft"]


# -- reports ----------------------------------------------------------------------------


async def _station_sink(group: ActorGroup) -> trio.MemoryReceiveChannel[object]:
    send, receive = trio.open_memory_channel[object](100)
    group.register(Address.station(), send)
    return receive


def _drain(channel: trio.MemoryReceiveChannel[object]) -> list[object]:
    items = []
    while True:
        try:
            items.append(channel.receive_nowait())
        except trio.WouldBlock:
            return items


async def test_an_actor_reports_what_changed_and_nothing_else(autojump_clock):
    outlet, _effects = trio.open_memory_channel[object](100)
    async with open_actor_group() as group:
        reports = await _station_sink(group)
        connector = await group.start(
            Actor(Address.connector(1), ConnectorModel(1), report=True, outlet=outlet)
        )
        await group.ask(Address.connector(1), connector_events.UsageInitiated())
        assert _drain(reports) == [ev.ConnectorChanged(connector_id=1, status="Preparing")]
        # refused: nothing changed, nothing told
        await group.ask(Address.connector(1), connector_events.ReserveNow(reservation_id=1))
        assert connector.refused == 1 and _drain(reports) == []
        # under a fault the status changes, and a session still holds the connector
        await group.ask(Address.connector(1), connector_events.ChargingStarted())
        await group.ask(
            Address.connector(1), connector_events.FaultDetected(error_code="OtherError")
        )
        assert _drain(reports) == [
            ev.ConnectorChanged(connector_id=1, status="Charging", in_session=True),
            ev.ConnectorChanged(connector_id=1, status="Faulted", in_session=True),
        ]
        # a transition that changes nothing the station reads is not told
        idle = await group.start(
            Actor(
                Address.connector(2),
                ConnectorModel(2, state="Unavailable"),
                report=True,
                outlet=outlet,
            )
        )
        answer = await group.ask(Address.connector(2), connector_events.UsageInitiated())
        assert answer.outcome is not None and answer.outcome.label == "N7"
        assert idle.model.state == "Unavailable" and _drain(reports) == []
        await group.start(
            Actor(Address.transaction(2), TransactionModel(2), report=True, outlet=outlet)
        )
        await group.ask(Address.transaction(2), transaction_events.IdTagPresented(id_tag="A"))
        assert _drain(reports) == [
            ev.TransactionChanged(connector_id=2, state="Authorizing", id_tag="A")
        ]
        await group.start(
            Actor(Address.reservation(0), ReservationModel(0), report=True, outlet=outlet)
        )
        await group.ask(Address.reservation(0), reservation_events.CancelReservation())
        assert _drain(reports) == []


def test_only_a_chart_that_declares_reports_can_report():
    with pytest.raises(ValueError, match="link: chart link declares no reports"):
        Actor(Address.link(), LinkModel(), report=True)
