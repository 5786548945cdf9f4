"""The station's joint table (statecharts/station.yaml), driven on a bare model (no trio).

The model hears the other actors as they report (connector, transaction and
reservation changes, the link, the outbox) and decides from that mirror; each
test feeds it a situation and checks the row that decides and what it sends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chargebox.charts.addresses import Address
from chargebox.charts.effects import (
    CancelTimer,
    HostCommand,
    RaiseSecurityEvent,
    Reply,
    Send,
    StartTimer,
)
from chargebox.charts.events import ChartEvent, params_of
from chargebox.charts.events import connector as connector_events
from chargebox.charts.events import reservation as reservation_events
from chargebox.charts.events import station as ev
from chargebox.charts.events import transaction as transaction_events
from chargebox.charts.events.firmware import TransactionsChanged
from chargebox.charts.events.link import Connect
from chargebox.charts.models.station import (
    AskHostToReserve,
    AskToResume,
    LookUpParent,
    PersistAvailability,
    StationModel,
    StopForPowerLoss,
    Verdict,
)

NOW = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


def fire(model: StationModel, event: ChartEvent) -> tuple[str, list[Any]]:
    """Fire an event that must be allowed; its label and effects."""
    outcome = model.fire(event.trigger, **params_of(event))
    assert outcome.allowed, outcome
    return outcome.label, model.drain_effects()


def running(connectors: int = 2, **inputs: Any) -> StationModel:
    """A station past its recovery, registered."""
    model = StationModel(connectors, **inputs)
    fire(model, ev.RecoveryListed(stops_queued=0))
    fire(model, ev.LinkStateChanged(accepted=True))
    return model


def replies(effects: list[Any]) -> list[Any]:
    return [e.value for e in effects if isinstance(e, Reply)]


def sends(effects: list[Any]) -> list[Send[Any]]:
    return [e for e in effects if isinstance(e, Send)]


def charging(model: StationModel, c: int, id_tag: str, transaction_id: int, **more: Any) -> None:
    fire(model, ev.ConnectorChanged(connector_id=c, status="Charging", in_session=True))
    fire(
        model,
        ev.TransactionChanged(
            connector_id=c, state="Active", id_tag=id_tag, transaction_id=transaction_id, **more
        ),
    )


def token(model: StationModel, id_tag: str, **more: Any) -> tuple[str, list[Any]]:
    return fire(model, ev.TokenPresented(id_tag=id_tag, request=1, **more))


# -- power-loss recovery ------------------------------------------------------------------


def test_recovery_resumes_or_stops_each_interrupted_transaction_then_runs():
    model = StationModel(2, statuses={0: "Available", 2: "Unavailable"})
    found = [
        ev.OpenTransactionFound(tx_ref=3, connector_id=1, id_tag="A", transaction_id=41),
        ev.OpenTransactionFound(tx_ref=4, connector_id=2, id_tag="B", session_id="S-4"),
        ev.OpenTransactionFound(tx_ref=5, connector_id=7, id_tag="C"),  # a connector gone
    ]
    assert [fire(model, e) for e in found] == [
        ("S2", [AskToResume(3, 1, None)]),
        ("S2", [AskToResume(4, 2, "S-4")]),
        ("S1", [StopForPowerLoss(5, 7, None)]),
    ]
    assert fire(model, ev.RecoveryListed(stops_queued=2)) == ("S8", [])
    label, effects = fire(model, ev.ResumeAnswered(tx_ref=3, resumed=True))
    assert label == "S4" and effects == [
        Send(
            Address.transaction(1),
            transaction_events.Resume(tx_ref=3, id_tag="A", transaction_id=41),
        )
    ]
    assert not model.recovered
    label, effects = fire(model, ev.ResumeAnswered(tx_ref=4, resumed=False))
    assert (label, model.state, model.stops_queued) == ("S5", "Running", 4)
    # not resumed: PowerLoss; then the station runs: the host hears connector 2 is out of
    # service, the security log starts, the link connects
    assert effects == [
        StopForPowerLoss(4, 2, None),
        HostCommand("disable", 2),
        RaiseSecurityEvent("StartupOfTheDevice"),
        Send(Address.link(), Connect()),
    ]


def test_nothing_to_recover_runs_at_once_and_answers_are_not_taken_twice():
    model = StationModel(1)
    assert fire(model, ev.RecoveryListed())[0] == "S7" and model.recovered
    assert not model.fire("resume_answered", tx_ref=3, resumed=True).allowed


# -- a presented idTag ----------------------------------------------------------------------


def test_an_id_tag_stops_the_transaction_it_or_its_group_started():
    model = running()
    charging(model, 1, "OWNER", 7, parent_id_tag="FAMILY")
    label, effects = token(model, "owner")  # idTags are case-insensitive
    assert label == "P3"
    assert sends(effects) == [
        Send(Address.transaction(1), transaction_events.StopPresented(id_tag="owner"))
    ]
    assert replies(effects) == [Verdict("Stopping", None, 1)]
    label, effects = token(model, "MEMBER", parent_id_tag="family")
    assert label == "P3"
    fire(model, ev.TransactionChanged(connector_id=1, state="Stopping", id_tag="OWNER"))
    label, effects = token(model, "OWNER")
    assert label == "P2"
    assert replies(effects) == [
        Verdict("Stopping", "connector 1: the transaction is already stopping", 1)
    ]


def test_an_unknown_parent_is_looked_up_and_the_id_tag_presented_again():
    model = running()
    charging(model, 1, "OWNER", 7, parent_id_tag="FAMILY")
    label, effects = fire(model, ev.TokenPresented(id_tag="MEMBER", request=4))
    assert (label, effects) == ("P1", [LookUpParent(4, "MEMBER")])
    assert model.awaits(4)  # the ask waits for its answer
    label, effects = fire(model, ev.ParentFound(request=4, parent_id_tag="FAMILY"))
    again = ev.TokenPresented(id_tag="MEMBER", parent_id_tag="FAMILY", looked_up=True, request=4)
    assert (label, effects) == ("P11", [Send(Address.station(), again)])
    assert model.awaits(4)
    label, effects = fire(model, again)
    assert label == "P3" and effects[-1] == Reply(Verdict("Stopping", None, 1), request=4)
    assert not model.awaits(4)
    # a parent found to be none is not asked for twice: the idTag is routed on
    fire(model, ev.TokenPresented(id_tag="STRANGER", request=5))
    fire(model, ev.ParentFound(request=5))
    label, _ = fire(model, ev.TokenPresented(id_tag="STRANGER", looked_up=True, request=5))
    assert label == "P10"


def test_the_connector_for_an_id_tag_and_the_refusals():
    model = running(3)
    # no connector given: the one a user is at before a free one
    fire(model, ev.ConnectorChanged(connector_id=2, status="Preparing"))
    label, effects = token(model, "A")
    assert label == "P10" and replies(effects) == [Verdict("Accepted", None, 2)]
    assert sends(effects) == [
        Send(Address.transaction(2), transaction_events.IdTagPresented(id_tag="A"))
    ]
    fire(model, ev.TransactionChanged(connector_id=2, state="Authorizing", id_tag="A"))
    assert replies(token(model, "B", connector_id=2)[1]) == [
        Verdict("Refused", "connector 2 is busy; the idTag is ignored", 2)
    ]
    assert token(model, "B")[1][-1].value.connector_id == 1  # then the first free one
    fire(model, ev.ConnectorChanged(connector_id=3, status="Faulted"))
    assert replies(token(model, "B", connector_id=3)[1]) == [
        Verdict("Refused", "connector 3 is Faulted; the idTag is refused", 3)
    ]
    # the Charge Point itself not Available: no connector takes an idTag
    fire(model, ev.ConnectorChanged(connector_id=0, status="Unavailable"))
    assert replies(token(model, "B", connector_id=1)[1]) == [
        Verdict("Refused", "connector 1 is Available; the idTag is refused", 1)
    ]
    assert token(model, "B", connector_id=9)[0] == "P4"
    for c in (1, 2, 3):
        fire(model, ev.ConnectorChanged(connector_id=c, status="Unavailable"))
    assert replies(token(model, "B")[1]) == [
        Verdict("Refused", "an idTag was presented, but no connector is free for it")
    ]


def test_a_reserved_connector_takes_only_its_identity_and_the_last_free_one_is_kept():
    model = running(2)
    fire(model, ev.ConnectorChanged(connector_id=1, status="Reserved"))
    fire(
        model,
        ev.ReservationChanged(
            connector_id=1, state="Reserved", reservation_id=7, id_tag="OWNER", parent_id_tag="G"
        ),
    )
    # the reserved idTag goes to its connector without naming it, with the reservation
    label, effects = token(model, "owner")
    assert sends(effects) == [
        Send(
            Address.transaction(1),
            transaction_events.IdTagPresented(
                id_tag="owner", reservation_id=7, reservation_connector=1
            ),
        )
    ]
    # another idTag: its group is asked for first, then it is refused
    assert token(model, "OTHER", connector_id=1)[0] == "P8"
    label, effects = token(model, "OTHER", connector_id=1, parent_id_tag="H")
    assert label == "P9" and replies(effects) == [
        Verdict("Refused", "connector 1 is reserved for another idTag; the idTag is refused", 1)
    ]
    # a reservation for any connector keeps the last free one
    fire(
        model,
        ev.ReservationChanged(connector_id=0, state="Reserved", reservation_id=8, id_tag="ANY"),
    )
    assert token(model, "OTHER", connector_id=2, parent_id_tag="H")[0] == "P9"
    label, effects = token(model, "any")
    assert sends(effects)[0].event == transaction_events.IdTagPresented(
        id_tag="any", reservation_id=8, reservation_connector=0
    )


# -- ChangeAvailability -----------------------------------------------------------------


def availability(model: StationModel, c: int, operative: bool) -> tuple[str, list[Any]]:
    return fire(model, ev.ChangeAvailability(connector_id=c, operative=operative))


def test_change_availability_verdicts_and_what_they_send():
    model = running(2)
    assert replies(availability(model, 3, True)[1]) == [Verdict("Rejected")]
    label, effects = availability(model, 0, False)
    assert label == "A4" and effects == [
        PersistAvailability((0, 1, 2), False),  # first: a failed write undoes it all
        Send(Address.connector0(), connector_events.BecomeInoperative()),
        Send(Address.connector(1), connector_events.BecomeInoperative()),
        Send(Address.connector(2), connector_events.BecomeInoperative()),
        Reply(Verdict("Accepted")),
    ]
    fire(model, ev.ConnectorChanged(connector_id=1, status="Preparing"))
    assert availability(model, 1, False)[0] == "A2"  # no Preparing -> Unavailable in 4.9
    assert availability(model, 1, True)[0] == "A3"
    # a fault over a session: Inoperative waits for the session's end
    fire(model, ev.ConnectorChanged(connector_id=1, status="Faulted", in_session=True))
    label, effects = availability(model, 1, False)
    assert label == "A5" and effects[-1] == Reply(Verdict("Scheduled"))


# -- RemoteStartTransaction, RemoteStopTransaction ----------------------------------------


def test_remote_start_and_stop():
    model = StationModel(2)
    fire(model, ev.RecoveryListed())
    # not registered (4.2.1)
    assert fire(model, ev.RemoteStart(id_tag="X"))[0] == "R4"
    fire(model, ev.LinkStateChanged(accepted=True))
    fire(model, ev.ConnectorChanged(connector_id=2, status="Reserved"))
    fire(
        model, ev.ReservationChanged(connector_id=2, state="Reserved", reservation_id=5, id_tag="R")
    )
    # the idTag's own reservation first
    label, effects = fire(model, ev.RemoteStart(id_tag="R"))
    assert label == "R6" and sends(effects) == [
        Send(
            Address.transaction(2),
            transaction_events.RemoteStart(id_tag="R", reservation_id=5, reservation_connector=2),
        )
    ]
    assert replies(fire(model, ev.RemoteStartConnector(id_tag="X", connector_id=2))[1]) == [
        Verdict("Rejected")
    ]
    assert replies(fire(model, ev.RemoteStartConnector(id_tag="X"))[1]) == [
        Verdict("Accepted", None, 1)
    ]
    charging(model, 1, "X", 77)
    label, effects = fire(model, ev.RemoteStop(transaction_id=77))
    assert label == "R8" and sends(effects) == [
        Send(Address.transaction(1), transaction_events.StopRequested(reason="Remote"))
    ]
    assert fire(model, ev.RemoteStop(transaction_id=78))[0] == "R9"


# -- Reset ----------------------------------------------------------------------------


def test_reset_without_a_system_port_is_rejected():
    model = running(1, reset_port=False)
    assert fire(model, ev.Reset(kind="Hard")) == ("X1", [Reply(Verdict("Rejected"))])


def test_reset_stops_the_transactions_and_waits_for_their_stop_transaction():
    model = running(2, reset_wait=30)
    charging(model, 1, "A", 1)
    label, effects = fire(model, ev.Reset(kind="Soft"))
    assert (label, model.state) == ("X3", "Resetting")
    assert effects == [
        Reply(Verdict("Accepted")),
        Send(Address.transaction(1), transaction_events.StopRequested(reason="SoftReset")),
        StartTimer("reset_timeout", seconds=30),
    ]
    assert fire(model, ev.Reset(kind="Hard"))[0] == "X4"  # one is under way
    fire(model, ev.TransactionChanged(connector_id=1, state="Stopping", id_tag="A"))
    # stopped, but its StopTransaction is still queued
    assert fire(model, ev.TransactionChanged(connector_id=1, state="Stopped"))[0] == "M3"
    assert model.state == "Resetting" and model.stops_queued == 1
    label, effects = fire(model, ev.StopTransactionDone(tx_ref=1))
    assert (label, model.state) == ("M11", "Rebooting")
    assert effects == [
        CancelTimer("reset_timeout"),
        RaiseSecurityEvent("ResetOrReboot", "Soft reset requested by the Central System"),
        HostCommand("reset", 0, {"kind": "Soft"}),
    ]


def test_reset_at_the_timeout_and_at_once_when_nothing_runs():
    model = running(1)
    charging(model, 1, "A", 1)
    fire(model, ev.Reset(kind="Hard"))
    assert fire(model, ev.ResetTimeout())[0] == "X5" and model.state == "Rebooting"
    model = running(1)
    assert fire(model, ev.Reset(kind="Hard"))[0] == "X2" and model.state == "Rebooting"


# -- ReserveNow, CancelReservation ------------------------------------------------------------


def reserve(model: StationModel, c: int, rid: int, **more: Any) -> tuple[str, list[Any]]:
    event = ev.ReserveNow(
        connector_id=c,
        reservation_id=rid,
        id_tag=more.pop("id_tag", "T"),
        expiry_date=more.pop("expiry_date", NOW + timedelta(hours=1)),
        now=NOW,
        request=more.pop("request", 2),
        **more,
    )
    return fire(model, event)


def test_reserve_now_verdicts():
    model = running(2)
    assert replies(reserve(model, 0, 1)[1]) == [
        Verdict("Rejected", "reservations of connector 0 are off")
    ]
    assert replies(reserve(model, 3, 1)[1]) == [Verdict("Rejected", "no such connector")]
    assert replies(reserve(model, 1, 1, expiry_date=NOW)[1]) == [
        Verdict("Rejected", "expiryDate has passed")
    ]
    fire(model, ev.ConnectorChanged(connector_id=1, status="Faulted"))
    assert replies(reserve(model, 1, 1)[1]) == [Verdict("Faulted")]
    fire(model, ev.ConnectorChanged(connector_id=2, status="Unavailable"))
    assert replies(reserve(model, 2, 1)[1]) == [Verdict("Unavailable")]
    fire(model, ev.ConnectorChanged(connector_id=0, status="Faulted"))
    assert replies(reserve(model, 2, 1)[1]) == [Verdict("Faulted")]


def test_reserve_now_waits_for_the_host_and_a_moved_reservation_ends_first():
    model = running(2)
    label, effects = reserve(model, 1, 7, id_tag="A", request=5)
    assert (label, effects) == ("V8", [AskHostToReserve(5, 1, 7, "A", NOW + timedelta(hours=1))])
    assert model.awaits(5)
    label, effects = fire(model, ev.HostReserved(request=5, accepted=True))
    assert label == "V10" and effects[-1] == Reply(Verdict("Accepted"), request=5)
    fire(model, ev.ConnectorChanged(connector_id=1, status="Reserved"))
    fire(
        model, ev.ReservationChanged(connector_id=1, state="Reserved", reservation_id=7, id_tag="A")
    )
    assert replies(reserve(model, 1, 8)[1]) == [Verdict("Occupied")]
    # the same id on the same connector: replaced once the host agrees
    assert reserve(model, 1, 7, id_tag="B", request=6)[0] == "V4"
    label, effects = fire(model, ev.HostReserved(request=6, accepted=True))
    assert label == "V9" and sends(effects)[0].event == reservation_events.ReserveNow(
        expiry_date=NOW + timedelta(hours=1), id_tag="B"
    )
    # the same id on another connector: the old one ends before the host is asked
    label, effects = reserve(model, 2, 7, request=7)
    assert effects[0] == Send(Address.reservation(1), reservation_events.CancelReservation())
    assert fire(model, ev.HostReserved(request=7, accepted=False))[1][-1] == Reply(
        Verdict("Rejected", "the host refused it"), request=7
    )
    assert replies(fire(model, ev.CancelReservation(reservation_id=7))[1]) == [
        Verdict("Accepted", None, 1)
    ]
    assert replies(fire(model, ev.CancelReservation(reservation_id=9))[1]) == [Verdict("Rejected")]


def test_the_last_free_connector_is_kept_for_a_reservation_of_connector_zero():
    model = running(2, reserve_connector_zero_supported=True)
    reserve(model, 0, 60, request=3)
    fire(model, ev.HostReserved(request=3, accepted=True))
    fire(
        model,
        ev.ReservationChanged(connector_id=0, state="Reserved", reservation_id=60, id_tag="ANY"),
    )
    assert replies(reserve(model, 0, 61)[1]) == [Verdict("Occupied")]
    fire(model, ev.TransactionChanged(connector_id=1, state="Authorizing", id_tag="FIRST"))
    assert replies(reserve(model, 2, 62)[1]) == [Verdict("Occupied")]


# -- the mirror ------------------------------------------------------------------------


def test_the_firmware_hears_when_transactions_start_and_end():
    model = running(2)

    def told(event: ev.TransactionChanged) -> list[Any]:
        return sends(fire(model, event)[1])

    firmware = Address.firmware()
    authorizing = ev.TransactionChanged(connector_id=1, state="Authorizing", id_tag="A")
    assert told(authorizing) == [Send(firmware, TransactionsChanged(running=True))]
    assert told(ev.TransactionChanged(connector_id=2, state="Active", id_tag="B")) == []
    assert told(ev.TransactionChanged(connector_id=1, state="Idle")) == []
    assert told(ev.TransactionChanged(connector_id=2, state="Stopped", id_tag="B")) == [
        Send(firmware, TransactionsChanged(running=False))
    ]


@pytest.mark.parametrize("state", ["Recovering", "Running", "Resetting", "Rebooting"])
def test_the_mirror_follows_the_reports_in_every_state(state: str):
    model = StationModel(1, state=state)
    fire(model, ev.ConnectorChanged(connector_id=1, status="Charging", in_session=True))
    fire(model, ev.TransactionChanged(connector_id=1, state="Active", id_tag="A", transaction_id=3))
    fire(
        model, ev.ReservationChanged(connector_id=0, state="Claimed", reservation_id=4, id_tag="A")
    )
    assert model.connectors[1].in_session and model.transactions[1].transaction_id == 3
    assert model.reservations[0].claimed
