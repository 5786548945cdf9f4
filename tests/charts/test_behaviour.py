"""The OCPP rules each chart carries, driven on bare models (no trio)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chargebox.charts import ChartModel
from chargebox.charts.addresses import Address
from chargebox.charts.effects import (
    CancelTimer,
    CloseConnection,
    HostCommand,
    OpenConnection,
    RemoveQueueHead,
    Send,
    SendQueueHead,
    SendRequest,
    SendStatusNotification,
    StartTimer,
)
from chargebox.charts.events import connector as connector_events
from chargebox.charts.events import outbox as outbox_events
from chargebox.charts.events import station as station_events
from chargebox.charts.models import (
    ConnectorModel,
    LinkModel,
    OutboxModel,
    ReservationModel,
    TransactionModel,
)


def run(model: ChartModel, *events: str | tuple[str, dict[str, Any]]) -> list[str]:
    """Fire the events in order (each must be allowed); return the labels that ran."""
    labels = []
    for event in events:
        trigger, params = (event, {}) if isinstance(event, str) else event
        outcome = model.fire(trigger, **params)
        assert outcome.allowed, outcome
        labels.append(outcome.label)
    return labels


def statuses(model: ConnectorModel) -> list[str]:
    return [e.status for e in model.drain_effects() if isinstance(e, SendStatusNotification)]


# -- connector ----------------------------------------------------------------------------


def test_suspended_evse_wins_over_suspended_ev() -> None:
    c = ConnectorModel(1)
    run(c, "usage_initiated", "charging_started", "suspended_by_ev", "suspended_by_evse")
    assert c.state == "SuspendedEVSE"
    assert run(c, "resumed_by_evse") == ["E4"] and c.state == "SuspendedEV"
    c = ConnectorModel(1)
    run(c, "usage_initiated", "charging_started", "suspended_by_evse")
    assert run(c, "suspended_by_ev") == ["N1"] and c.state == "SuspendedEVSE"
    statuses(c)
    assert run(c, "resumed_by_ev", "suspended_by_ev", "resumed_by_evse") == ["N2", "N1", "E4"]
    assert statuses(c) == ["SuspendedEV"]
    c = ConnectorModel(1)
    run(c, "usage_initiated", "charging_started", "suspended_by_evse", "resumed_by_evse")
    assert c.state == "Charging"


def test_availability_change_during_a_session_waits_for_its_end() -> None:
    c = ConnectorModel(2)
    run(c, "usage_initiated", "charging_started")
    statuses(c)
    assert run(c, "become_inoperative") == ["N3"] and statuses(c) == []
    assert run(c, "transaction_stopped", "usage_ended") == ["C6", "F8"]
    assert statuses(c) == ["Finishing", "Unavailable"]
    assert run(c, "become_operative") == ["H1"] and c.state == "Available"
    c = ConnectorModel(2)
    run(c, "usage_initiated", "charging_started", "become_inoperative", "become_operative")
    assert run(c, "usage_ended") == ["C1"]
    # Preparing has no transaction and the table has no B8: the change is refused.
    c = ConnectorModel(2)
    run(c, "usage_initiated")
    assert not c.fire("become_inoperative").allowed and not c.inoperative_scheduled


def test_faulted_returns_to_the_status_before_the_fault() -> None:
    c = ConnectorModel(1)
    run(c, "usage_initiated", "charging_started", "suspended_by_evse")
    statuses(c)
    run(c, ("fault_detected", {"error_code": "GroundFailure", "vendor_error_code": "G1"}))
    run(c, ("fault_detected", {"error_code": "HighTemperature"}))
    effects = c.drain_effects()
    assert [(e.status, e.error_code, e.vendor_error_code) for e in effects] == [
        ("Faulted", "GroundFailure", "G1"),
        ("Faulted", "HighTemperature", None),
    ]
    assert not c.fire("usage_ended").allowed  # events under the fault change nothing
    assert run(c, "fault_cleared") == ["I5"] and c.state == "SuspendedEVSE"
    assert c.drain_effects() == [SendStatusNotification(1, "SuspendedEVSE")]


def test_availability_change_under_a_fault() -> None:
    c = ConnectorModel(1)
    run(c, ("fault_detected", {"error_code": "PowerSwitchFailure"}), "become_inoperative")
    assert run(c, "fault_cleared") == ["I8"]
    run(c, "usage_initiated")  # remembered while Unavailable
    run(c, ("fault_detected", {"error_code": "OverVoltage"}), "become_operative")
    assert run(c, "fault_cleared") == ["I2"] and c.state == "Preparing"


def test_a_reservation_ending_under_a_fault_returns_to_available() -> None:
    c = ConnectorModel(1)
    run(c, ("reserve_now", {"reservation_id": 5}), ("fault_detected", {"error_code": "OtherError"}))
    assert run(c, "reservation_ended", "fault_cleared") == ["N17", "I1"]
    assert c.reservation_id is None


def test_only_the_reserved_identity_leaves_reserved() -> None:
    c = ConnectorModel(1)
    run(c, ("reserve_now", {"reservation_id": 5}))
    c.drain_effects()
    # a plug, or another identity, leaves it Reserved (N20)
    assert run(c, "usage_initiated", ("usage_initiated", {"reservation_id": 6})) == ["N20", "N20"]
    assert c.state == "Reserved" and c.drain_effects() == []
    assert run(c, ("usage_initiated", {"reservation_id": 5})) == ["G2"]


def test_unavailable_remembers_what_happens_underneath() -> None:
    c = ConnectorModel(1, state="Unavailable")
    assert run(c, "usage_initiated", "charging_started", "suspended_by_evse") == ["N7", "N9", "N11"]
    assert c.drain_effects() == []
    assert run(c, "become_operative") == ["H5"] and c.state == "SuspendedEVSE"


# -- transaction --------------------------------------------------------------------------


def started(**inputs: bool) -> TransactionModel:
    t = TransactionModel(1, **inputs)
    run(t, ("id_tag_presented", {"id_tag": "TAG"}), "authorization_accepted")
    run(t, ("transaction_started", {"meter_start": 10, "timestamp": "T0"}))
    run(t, ("start_accepted", {"transaction_id": 42}))
    t.drain_effects()
    return t


def test_ev_side_disconnect_stops_and_unlocks_when_configured() -> None:
    t = started()
    assert run(t, "ev_side_disconnected") == ["T13"] and t.state == "Stopping"
    assert t.drain_effects() == [
        HostCommand("stop_transaction", 1, {"reason": "EVDisconnected"}),
        Send(
            Address.connector(1),
            connector_events.TransactionStopped(info="EV side disconnected"),
        ),
        HostCommand("unlock_connector", 1),
    ]
    run(t, ("transaction_finished", {"meter_stop": 99, "timestamp": "T1"}))
    assert t.drain_effects() == [
        CancelTimer("sample_due"),
        SendRequest(
            "StopTransaction",
            {
                "transaction_id": 42,
                "id_tag": "TAG",
                "meter_stop": 99,
                "timestamp": "T1",
                "reason": "EVDisconnected",
            },
        ),
    ]


def test_ev_side_disconnect_keeps_the_cable_locked_without_unlock() -> None:
    t = started(unlock_connector_on_ev_side_disconnect=False)
    assert run(t, "ev_side_disconnected") == ["T14"]
    assert not any(
        isinstance(e, HostCommand) and e.command == "unlock_connector" for e in t.drain_effects()
    )


def test_ev_side_disconnect_suspends_when_not_stopping() -> None:
    t = started(stop_transaction_on_ev_side_disconnect=False)
    assert run(t, "ev_side_disconnected") == ["T15"] and t.state == "Suspended"
    assert t.drain_effects() == [
        Send(Address.connector(1), connector_events.SuspendedByEv(info="EV side disconnected"))
    ]
    assert run(t, "ev_reconnected") == ["T16"] and t.state == "Active"


def test_invalid_id_stops_or_suspends_by_configuration() -> None:
    t = TransactionModel(1)
    run(t, ("transaction_started", {"id_tag": "X", "meter_start": 0}))
    assert run(t, ("start_rejected", {"transaction_id": 7, "status": "Blocked"})) == ["T11"]
    assert HostCommand("stop_transaction", 1, {"reason": "DeAuthorized"}) in t.drain_effects()
    t = TransactionModel(1, stop_transaction_on_invalid_id=False)
    run(t, ("transaction_started", {"id_tag": "X", "meter_start": 0}))
    assert run(t, ("start_rejected", {"transaction_id": 7, "status": "Blocked"})) == ["T12"]
    assert Send(Address.connector(1), connector_events.SuspendedByEvse()) in t.drain_effects()
    assert not t.fire("ev_reconnected").allowed  # suspended for the id, not for the EV


def test_started_offline_waits_for_its_transaction_id() -> None:
    t = TransactionModel(2, online=False)
    run(t, ("id_tag_presented", {"id_tag": "TAG", "reservation_id": 3}), "authorization_accepted")
    run(t, ("transaction_started", {"meter_start": 5, "timestamp": "T0"}))
    assert t.state == "StartedOffline"
    start = [
        e
        for e in t.drain_effects()
        if isinstance(e, SendRequest) and e.action == "StartTransaction"
    ]
    assert start == [
        SendRequest(
            "StartTransaction",
            {
                "connector_id": 2,
                "id_tag": "TAG",
                "meter_start": 5,
                "timestamp": "T0",
                "reservation_id": 3,
            },
        )
    ]
    run(t, ("stop_requested", {"reason": "Remote"}), ("start_accepted", {"transaction_id": 8}))
    assert t.transaction_id == 8 and t.state == "Stopping"


def test_remote_start_without_authorization_and_connection_timeout() -> None:
    t = TransactionModel(1, authorize_remote_tx_requests=False, connection_timeout=30)
    assert run(t, ("remote_start", {"id_tag": "R"})) == ["T3"]
    assert StartTimer("connection_timeout", seconds=30) in t.drain_effects()
    assert run(t, "connection_timeout") == ["T7"] and t.state == "Idle"
    assert (
        Send(Address.connector(1), connector_events.UsageEnded(info="ConnectionTimeout"))
        in t.drain_effects()
    )


# -- reservation --------------------------------------------------------------------------


EXPIRY = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def reserve(reservation_id: int = 7) -> tuple[str, dict[str, Any]]:
    return ("reserve", {"reservation_id": reservation_id, "id_tag": "TAG", "expiry_date": EXPIRY})


def test_reservation_expires_at_its_expiry_date_and_frees_the_connector() -> None:
    r = ReservationModel(2)
    run(r, reserve())
    assert r.drain_effects() == [
        StartTimer("expiry_reached", at=EXPIRY),
        Send(Address.connector(2), connector_events.ReserveNow(reservation_id=7)),
    ]
    assert run(r, "expiry_reached") == ["R7"]
    assert r.state == "Idle" and r.reservation_id is None
    assert r.drain_effects() == [
        Send(Address.connector(2), connector_events.ReservationEnded()),
        HostCommand("cancel_reservation", 2, {"reservation_id": 7}),
    ]


def test_reservation_used_or_cancelled_disarms_the_expiry() -> None:
    r = ReservationModel.example()
    run(r, reserve(), ("claimed", {"reservation_id": 7}))
    assert r.state == "Claimed"
    assert run(r, ("transaction_started", {"reservation_id": 7})) == ["R6"]
    assert r.drain_effects()[-2] == CancelTimer("expiry_reached") and r.state == "Idle"
    r = ReservationModel.example()
    run(r, reserve(), "connector_lost")
    assert r.state == "Idle"
    assert Send(Address.connector(1), connector_events.ReservationEnded()) in r.drain_effects()


def test_a_dropped_claim_reserves_the_connector_again_and_stale_ids_are_refused() -> None:
    r = ReservationModel(3)
    run(r, reserve(5), ("claimed", {"reservation_id": 5}))
    r.drain_effects()
    assert not r.fire("claim_dropped", reservation_id=4).allowed
    assert run(r, ("claim_dropped", {"reservation_id": 5})) == ["R5"] and r.state == "Reserved"
    assert (
        Send(Address.connector(3), connector_events.ReserveNow(reservation_id=5))
        in r.drain_effects()
    )


def test_the_reservation_for_any_connector_reserves_no_particular_one() -> None:
    r = ReservationModel(0)
    run(r, reserve(9))
    assert r.drain_effects() == [StartTimer("expiry_reached", at=EXPIRY)]
    run(r, "expiry_reached")
    assert r.drain_effects() == [HostCommand("cancel_reservation", 0, {"reservation_id": 9})]


# -- link ---------------------------------------------------------------------------------


def test_reconnect_backoff_doubles_then_stays() -> None:
    link = LinkModel(jitter=lambda: 0.5)  # RetryBackoffWaitMinimum 3, range 10, repeat 3
    run(link, "connect")
    delays = []
    for _ in range(6):
        run(link, "connection_failed")
        delays += [e.seconds for e in link.drain_effects() if isinstance(e, StartTimer)]
        run(link, "backoff_elapsed")
    assert delays == [8.0, 11.0, 17.0, 29.0, 29.0, 29.0]
    run(link, "connection_opened", "connection_lost")
    assert [e.seconds for e in link.drain_effects() if isinstance(e, StartTimer)][-1] == 8.0


def test_registration_and_reconnect_without_new_boot() -> None:
    link = LinkModel.example()
    run(link, "connect", "connection_opened")
    assert SendRequest("BootNotification") in link.drain_effects()
    run(link, ("boot_pending", {"interval": 0}))
    assert StartTimer("boot_retry_due", seconds=60) in link.drain_effects()
    run(link, "boot_retry_due")
    assert link.drain_effects() == [SendRequest("BootNotification")]
    run(link, ("boot_accepted", {"interval": 600}))
    assert link.drain_effects() == [
        CancelTimer("boot_retry_due"),
        StartTimer("heartbeat_due", seconds=600),
        Send(Address.station(), station_events.RegistrationAccepted(heartbeat_interval=600)),
        Send(Address.outbox(), outbox_events.LinkAccepted()),
    ]
    assert run(link, "connection_lost", "backoff_elapsed", "connection_opened")[-1] == "L3"
    assert SendRequest("BootNotification") not in link.drain_effects()


def test_security_profile_switch_falls_back_after_one_failed_attempt() -> None:
    link = LinkModel.example()  # profile 1
    run(link, "connect", "connection_opened", ("boot_accepted", {"interval": 60}))
    link.drain_effects()
    assert not link.fire("security_profile_changed", security_profile=1).allowed
    run(link, ("security_profile_changed", {"security_profile": 2}))
    effects = link.drain_effects()
    assert effects[-2:] == [CloseConnection("SecurityProfile changed to 2"), OpenConnection(2)]
    assert run(link, "connection_failed") == ["L4"] and link.state == "Connecting"
    assert link.drain_effects() == [
        Send(
            Address.station(),
            station_events.SecurityProfileReverted(failed=2, security_profile=1),
        ),
        OpenConnection(1),
    ]
    assert run(link, "connection_failed") == ["L5"]  # the old profile gets the usual backoff
    run(
        link,
        "backoff_elapsed",
        "connection_opened",
        ("security_profile_changed", {"security_profile": 3}),
    )
    link.drain_effects()
    assert run(link, "connection_opened") == ["L3"] and link.security_profile == 3
    assert (
        Send(Address.station(), station_events.SecurityProfileConfirmed(security_profile=3))
        in link.drain_effects()
    )


# -- outbox -------------------------------------------------------------------------------


def test_outbox_retries_with_growing_waits_then_drops_and_goes_on() -> None:
    q = OutboxModel(transaction_message_attempts=3, transaction_message_retry_interval=60)
    run(q, "enqueued", "enqueued", "link_accepted", "sent")
    assert q.drain_effects() == [SendQueueHead(1)]
    waits = []
    for _ in range(2):
        run(q, "failed")
        waits += [e.seconds for e in q.drain_effects() if isinstance(e, StartTimer)]
        run(q, "retry_due", "sent")
        assert q.drain_effects() == [SendQueueHead(len(waits) + 1)]
    assert waits == [60, 120]
    assert run(q, "failed") == ["Q9"]  # third failure: dropped, the next message goes
    assert q.drain_effects() == [RemoveQueueHead(False), SendQueueHead(1)]
    run(q, "sent", "answered")
    assert q.drain_effects() == [RemoveQueueHead(True)] and q.state == "Idle" and q.queued == 0


def test_outbox_holds_messages_while_offline_and_keeps_order() -> None:
    q = OutboxModel.example()
    run(q, "enqueued", "link_accepted", "link_lost")
    assert q.drain_effects() == [SendQueueHead(1)] and q.attempts == 0  # it never left
    run(q, "enqueued", "link_accepted", "sent", "answered")
    assert q.drain_effects() == [SendQueueHead(1), RemoveQueueHead(True), SendQueueHead(1)]
    assert q.state == "Sending" and q.queued == 1
