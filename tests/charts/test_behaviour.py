"""The OCPP rules each chart carries, driven on bare models (no trio)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

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
    ThinQueue,
)
from chargebox.charts.events import connector as connector_events
from chargebox.charts.events import outbox as outbox_events
from chargebox.charts.events import station as station_events
from chargebox.charts.models import (
    CallsModel,
    ConnectorModel,
    LinkModel,
    OutboxModel,
    ReservationModel,
    StatusModel,
    TransactionModel,
)
from chargebox.charts.models.calls import CallLost, RefuseCall, TransmitCall
from chargebox.charts.models.link import DropUnresponsiveConnection, SendPing
from chargebox.charts.models.transaction import AuthorizeContract, NewTransaction


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
    assert not c.fire("charging_started").allowed  # the session's moves wait for its end
    assert run(c, "fault_cleared") == ["I5"] and c.state == "SuspendedEVSE"
    assert c.drain_effects() == [SendStatusNotification(1, "SuspendedEVSE")]


@pytest.mark.parametrize(
    "before", [("usage_initiated",), ("usage_initiated", "charging_started", "transaction_stopped")]
)
def test_a_usage_that_ends_under_a_fault_returns_it_to_available(before) -> None:
    c = ConnectorModel(1)
    run(c, *before)  # Preparing, Finishing
    user_status = c.state
    run(c, ("fault_detected", {"error_code": "GroundFailure"}))
    assert run(c, "usage_ended") == ["N21"]  # the user left while Faulted
    c.drain_effects()
    assert run(c, "fault_cleared") == ["I1"] and c.state == "Available" != user_status
    assert c.drain_effects() == [SendStatusNotification(1, "Available")]


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
    t = TransactionModel(
        1, stop_transaction_on_invalid_id=False, stop_transaction_on_ev_side_disconnect=False
    )
    run(t, ("transaction_started", {"id_tag": "X", "meter_start": 0}))
    assert run(t, ("start_rejected", {"transaction_id": 7, "status": "Blocked"})) == ["T12"]
    assert Send(Address.connector(1), connector_events.SuspendedByEvse()) in t.drain_effects()
    # suspended for the id, not for the EV: the cable going and coming back changes nothing
    # (StopTransactionOnEVSideDisconnect false), energy stays held back
    assert run(t, "ev_side_disconnected", "ev_reconnected") == ["T43", "T44"]
    assert (t.state, t.drain_effects()) == ("Suspended", [])
    # with StopTransactionOnEVSideDisconnect the cable going stops it (EVDisconnected)
    t.stop_transaction_on_ev_side_disconnect = True
    assert run(t, "ev_side_disconnected") == ["T13"]
    assert HostCommand("stop_transaction", 1, {"reason": "EVDisconnected"}) in t.drain_effects()


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


def test_the_next_transaction_begins_from_stopped_with_a_clean_memory() -> None:
    t = started()
    run(t, ("session_started", {"session_id": "S-7"}))
    run(t, ("stop_presented", {"id_tag": "TAG"}))
    run(t, ("transaction_finished", {"meter_stop": 99, "timestamp": "T1"}))
    assert t.stopped and t.stop_id_tag == "TAG" and t.transaction_id == 42
    t.drain_effects()
    # a host that starts the next one itself must name its idTag: none is authorized here
    assert not t.fire("transaction_started", meter_start=100).allowed
    assert run(t, ("id_tag_presented", {"id_tag": "NEXT"})) == ["T33"]
    assert t.drain_effects() == [NewTransaction(), SendRequest("Authorize", {"id_tag": "NEXT"})]
    assert (t.id_tag, t.transaction_id, t.stop_id_tag, t.stop_reason) == ("NEXT", None, None, None)
    assert t.session_id == "S-7"  # the session outlives its transactions
    run(t, "authorization_accepted", ("transaction_started", {"meter_start": 100}))
    run(t, ("start_accepted", {"transaction_id": 43}), ("stop_requested", {"reason": "Remote"}))
    t.drain_effects()
    run(t, ("transaction_finished", {"meter_stop": 150, "timestamp": "T2"}))
    (stop,) = [e for e in t.drain_effects() if isinstance(e, SendRequest)]
    assert "stop_id_tag" not in stop.payload  # the last transaction's stopper is forgotten
    assert run(t, ("transaction_started", {"meter_start": 0, "id_tag": "FREE"})) == ["T37"]
    assert t.drain_effects()[0] == NewTransaction() and t.id_tag == "FREE"
    # an EV's contract (Plug&Charge) begins the next one as an idTag does
    run(t, ("transaction_finished", {"meter_stop": 10, "timestamp": "T3"}))
    t.drain_effects()
    assert run(t, ("contract_presented", {"id_tag": "DEFRAC1"})) == ["T34"]
    assert t.drain_effects() == [NewTransaction(), AuthorizeContract(1, "DEFRAC1")]
    assert (t.id_tag, t.transaction_id) == ("DEFRAC1", None)


def test_the_stop_id_tag_goes_with_stop_transaction() -> None:
    t = started()
    run(t, ("stop_presented", {"id_tag": "CARD"}))
    run(t, ("transaction_finished", {"meter_stop": 99, "timestamp": "T1"}))
    (stop,) = [e for e in t.drain_effects() if isinstance(e, SendRequest)]
    assert stop.payload["stop_id_tag"] == "CARD" and stop.payload["reason"] == "Local"
    t = started()  # the host names the idTag that ended it
    run(t, ("transaction_finished", {"meter_stop": 99, "timestamp": "T1", "id_tag": "APP"}))
    (stop,) = [e for e in t.drain_effects() if isinstance(e, SendRequest)]
    assert stop.payload["stop_id_tag"] == "APP"


def test_a_new_sample_interval_rearms_only_a_running_transaction() -> None:
    t = TransactionModel(1, meter_value_sample_interval=60)
    assert run(t, ("sample_interval_changed", {"interval": 30})) == ["T41"]
    assert t.drain_effects() == [] and t.meter_value_sample_interval == 30
    run(t, ("transaction_started", {"meter_start": 0, "id_tag": "X"}))
    assert StartTimer("sample_due", seconds=30) in t.drain_effects()
    assert run(t, ("sample_interval_changed", {"interval": 15})) == ["T40"]
    assert t.drain_effects() == [StartTimer("sample_due", seconds=15)]
    run(t, ("sample_interval_changed", {"interval": 0}))
    assert t.drain_effects() == [CancelTimer("sample_due")]


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

#: the station clock's time of the link's first events
LINK_T0 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


def opened(after: float = 0) -> tuple[str, dict[str, Any]]:
    """connection_opened, `after` seconds past LINK_T0."""
    return ("connection_opened", {"now": LINK_T0 + timedelta(seconds=after)})


def answered(trigger: str, interval: int, after: float = 0) -> tuple[str, dict[str, Any]]:
    """boot_pending or boot_rejected with `interval`, `after` seconds past LINK_T0."""
    return (trigger, {"interval": interval, "now": LINK_T0 + timedelta(seconds=after)})


def test_reconnect_backoff_doubles_then_stays() -> None:
    link = LinkModel(jitter=lambda: 0.5)  # RetryBackoffWaitMinimum 3, range 10, repeat 3
    run(link, "connect")
    delays = []
    for _ in range(6):
        run(link, "connection_failed")
        delays += [e.seconds for e in link.drain_effects() if isinstance(e, StartTimer)]
        run(link, "backoff_elapsed")
    assert delays == [8.0, 11.0, 17.0, 29.0, 29.0, 29.0]
    run(link, opened(), "connection_lost")
    assert [e.seconds for e in link.drain_effects() if isinstance(e, StartTimer)][-1] == 8.0


def test_registration_and_reconnect_without_new_boot() -> None:
    link = LinkModel.example()
    run(link, "connect", opened())
    assert SendRequest("BootNotification") in link.drain_effects()
    run(link, answered("boot_pending", 0))
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
    assert run(link, "connection_lost", "backoff_elapsed", opened())[-1] == "L3"
    assert SendRequest("BootNotification") not in link.drain_effects()


def test_the_interval_of_a_pending_or_rejected_answer_outlives_a_lost_connection() -> None:
    """Spec 4.2: no BootNotification before the interval has passed; the Central System may
    close the connection meanwhile, and the reconnect waits out the rest in the same state."""
    for answer, label, state in [
        ("boot_pending", "L35", "Pending"),
        ("boot_rejected", "L36", "Rejected"),
    ]:
        link = LinkModel.example()
        run(link, "connect", opened(), answered(answer, 300))
        assert StartTimer("boot_retry_due", seconds=300) in link.drain_effects()
        run(link, "connection_lost", "backoff_elapsed")
        assert run(link, opened(after=20)) == [label] and link.state == state
        effects = link.drain_effects()
        assert SendRequest("BootNotification") not in effects
        assert StartTimer("boot_retry_due", seconds=280) in effects  # the rest of the 300 s
        assert run(link, "boot_retry_due") == ["L11"]
        assert link.drain_effects() == [SendRequest("BootNotification")]
        # answered again, the new interval counts from the new answer
        run(link, answered(answer, 60, after=300), "connection_lost", "backoff_elapsed")
        assert run(link, opened(after=359)) == [label]


def test_a_reconnect_after_the_interval_registers_at_once() -> None:
    link = LinkModel.example()
    run(link, "connect", opened(), answered("boot_rejected", 300), "connection_lost")
    run(link, "backoff_elapsed")
    assert run(link, opened(after=300)) == ["L2"] and link.state == "Registering"
    assert SendRequest("BootNotification") in link.drain_effects()


def test_a_triggered_boot_notification_ends_the_interval_and_a_withdrawal_starts_one() -> None:
    link = LinkModel.example()
    run(link, "connect", opened(), answered("boot_pending", 300), "boot_triggered")
    run(link, "connection_lost", "backoff_elapsed")
    assert run(link, opened(after=10)) == ["L2"]  # the Central System asked for it
    run(link, ("boot_accepted", {"interval": 600}), "boot_triggered")
    run(link, answered("boot_rejected", 300, after=20))  # the registration withdrawn (L24)
    run(link, "connection_lost", "backoff_elapsed")
    assert run(link, opened(after=30)) == ["L36"]


def test_our_own_retry_after_a_failed_boot_ends_with_the_connection() -> None:
    """Only the Central System's interval outlives the connection: after a BootNotification
    that failed (CALLERROR, no answer), the next connection registers at once."""
    link = LinkModel.example()
    run(link, "connect", opened(), "boot_failed", "connection_lost", "backoff_elapsed")
    assert run(link, opened(after=5)) == ["L2"]
    assert SendRequest("BootNotification") in link.drain_effects()


def test_security_profile_switch_falls_back_after_one_failed_attempt() -> None:
    link = LinkModel.example()  # profile 1
    run(link, "connect", opened(), ("boot_accepted", {"interval": 60}))
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
        opened(),
        ("security_profile_changed", {"security_profile": 3}),
    )
    link.drain_effects()
    assert run(link, opened()) == ["L3"] and link.security_profile == 3
    assert (
        Send(Address.station(), station_events.SecurityProfileConfirmed(security_profile=3))
        in link.drain_effects()
    )


def test_pings_while_connected_and_a_missing_pong_loses_the_link() -> None:
    link = LinkModel(ping_interval=30, pong_timeout=5, jitter=lambda: 0.5)
    run(link, "connect", opened())
    assert StartTimer("ping_due", seconds=30) in link.drain_effects()
    assert run(link, "ping_due") == ["L26"]
    assert link.drain_effects() == [SendPing(1), StartTimer("pong_timeout", seconds=5)]
    # a new interval while the ping waits counts from its pong
    assert run(link, ("ping_interval_changed", {"interval": 20})) == ["L31"]
    assert link.drain_effects() == []
    assert run(link, ("pong_received", {"number": 1})) == ["L27"]
    assert link.drain_effects() == [
        CancelTimer("pong_timeout"),
        StartTimer("ping_due", seconds=20),
    ]
    assert run(link, ("pong_received", {"number": 1})) == ["L28"]  # twice: nothing
    run(link, "ping_due")
    link.drain_effects()
    assert run(link, ("pong_received", {"number": 1})) == ["L28"]  # not the last ping's
    assert run(link, "pong_timeout") == ["L29"] and link.state == "Backoff"
    effects = link.drain_effects()
    assert DropUnresponsiveConnection(5) in effects
    assert {CancelTimer("ping_due"), CancelTimer("pong_timeout")} <= set(effects)
    assert isinstance(effects[-1], StartTimer) and effects[-1].name == "backoff_elapsed"
    assert not link.fire("ping_due").allowed  # no pings until connected again
    assert run(link, "backoff_elapsed", opened())[-1] == "L2"
    assert StartTimer("ping_due", seconds=20) in link.drain_effects()


def test_a_ping_interval_of_zero_stops_the_pings() -> None:
    link = LinkModel(ping_interval=0)
    run(link, "connect", opened())
    assert not any(isinstance(e, StartTimer) for e in link.drain_effects())
    assert not link.fire("ping_due").allowed
    assert run(link, ("ping_interval_changed", {"interval": 10})) == ["L30"]
    assert link.drain_effects() == [StartTimer("ping_due", seconds=10)]
    run(link, ("ping_interval_changed", {"interval": 0}))
    assert link.drain_effects() == [CancelTimer("ping_due")]


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


def test_the_queue_is_thinned_past_its_threshold_and_counts_what_went() -> None:
    q = OutboxModel(message_queue_size_threshold=3)
    assert run(q, "enqueued", "enqueued", "enqueued") == ["Q1", "Q1", "Q1"]
    assert run(q, "enqueued") == ["Q21"] and q.queued == 4
    assert q.drain_effects() == [ThinQueue(3, spare_head=False)]  # offline: nothing in flight
    assert not q.fire("queue_thinned", removed=2).allowed  # it keeps the threshold at least
    assert run(q, ("queue_thinned", {"removed": 1})) == ["Q22"] and q.queued == 3
    assert not q.fire("queue_thinned", removed=1).allowed  # only after a thinning
    run(q, "link_accepted", "sent", "enqueued")
    assert q.drain_effects() == [SendQueueHead(1), ThinQueue(3, spare_head=True)]
    run(q, ("queue_thinned", {"removed": 1}), "answered")
    assert q.queued == 2 and q.drain_effects() == [RemoveQueueHead(True), SendQueueHead(1)]
    unlimited = OutboxModel()
    assert run(unlimited, *["enqueued"] * 50)[-1] == "Q1" and unlimited.queued == 50


def test_retry_settings_apply_from_the_next_failure() -> None:
    q = OutboxModel(transaction_message_attempts=1, transaction_message_retry_interval=60)
    run(q, "enqueued", "link_accepted", "sent")
    assert run(q, ("retry_settings_changed", {"attempts": 3, "retry_interval": 10})) == ["Q23"]
    assert run(q, "failed") == ["Q8"]  # one attempt would have dropped it
    assert StartTimer("retry_due", seconds=10) in q.drain_effects()


# -- status -------------------------------------------------------------------------------


T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def changed(status: str, duration: float = 5, **fields: Any) -> tuple[str, dict[str, Any]]:
    return ("status_changed", {"status": status, "minimum_duration": duration, **fields})


def test_a_status_goes_out_once_it_held_and_only_the_last_of_quick_changes() -> None:
    s = StatusModel(1)
    assert run(s, changed("Preparing", timestamp=T0)) == ["S2"] and s.holding
    assert s.drain_effects() == [StartTimer("held", seconds=5)]
    assert run(s, changed("Charging", timestamp=T0)) == ["S3"]
    assert s.drain_effects() == [StartTimer("held", seconds=5)]  # the wait starts over
    assert run(s, "held") == ["S5"] and not s.holding
    assert s.drain_effects() == [SendStatusNotification(1, "Charging", timestamp=T0)]


def test_a_status_back_to_the_one_reported_is_not_sent_again() -> None:
    s = StatusModel(2)
    run(s, changed("Available", 0))
    assert s.drain_effects() == [SendStatusNotification(2, "Available")]
    run(s, changed("Preparing"), changed("Available", timestamp=T0))
    assert run(s, "held") == ["S6"]
    assert [e for e in s.drain_effects() if isinstance(e, SendStatusNotification)] == []
    # the same status with another error is a change
    run(s, changed("Available", error_code="OtherError"), "held")
    assert s.drain_effects()[-1] == SendStatusNotification(2, "Available", "OtherError")


def test_without_minimum_status_duration_every_status_goes_out_at_once() -> None:
    s = StatusModel(0)
    assert run(s, changed("Available", 0), changed("Available", 0)) == ["S1", "S1"]
    assert s.drain_effects() == [SendStatusNotification(0, "Available")] * 2
    run(s, changed("Unavailable"))
    assert run(s, changed("Available", 0)) == ["S4"]  # set to 0 while one waited
    assert s.drain_effects() == [
        StartTimer("held", seconds=5),
        CancelTimer("held"),
        SendStatusNotification(0, "Available"),
    ]


def test_every_status_goes_out_again_after_a_registration() -> None:
    s = StatusModel(1)
    run(s, changed("Charging", 0), changed("SuspendedEV"))
    s.drain_effects()
    assert run(s, ("registered", {"status": "Charging", "timestamp": T0})) == ["S7"]
    assert s.drain_effects() == [
        CancelTimer("held"),
        SendStatusNotification(1, "Charging", timestamp=T0),
    ]
    assert not s.holding


# -- calls --------------------------------------------------------------------------------


def ready(place: int, timeout: float = 30) -> tuple[str, dict[str, Any]]:
    return ("ready", {"place": place, "timeout": timeout})


def sent(model: CallsModel) -> list[int]:
    return [e.place for e in model.drain_effects() if isinstance(e, TransmitCall)]


def test_our_calls_go_one_at_a_time_in_the_order_their_places_were_taken() -> None:
    c = CallsModel()
    run(c, "opened", "place_taken", "place_taken", "place_taken")
    # the third and the second are ready before the first: they wait for it
    assert run(c, ready(2), ready(1)) == ["R2", "R2"] and sent(c) == []
    assert run(c, ready(0)) == ["R1"] and c.drain_effects() == [
        TransmitCall(0),
        StartTimer("answer_timeout", seconds=30),
    ]
    assert run(c, "answered") == ["A2"] and sent(c) == [1]
    assert run(c, "answered") == ["A2"] and sent(c) == [2]
    assert run(c, "answered") == ["A3"] and c.state == "Idle" and c.idle


def test_a_call_of_the_central_system_being_answered_holds_our_next_call() -> None:
    c = CallsModel()
    run(c, "opened", "call_received", "place_taken")
    assert run(c, ready(0)) == ["R3"] and sent(c) == []
    run(c, "call_received")
    assert run(c, "call_answered") == ["D3"] and sent(c) == []  # one more to answer
    assert run(c, "call_answered") == ["D1"] and sent(c) == [0]
    # answered while ours awaits its own answer: ours is not held back by that
    run(c, "call_received", "call_answered", "place_taken", ready(1))
    assert run(c, "answered") == ["A2"] and sent(c) == [1]


def test_a_timeout_frees_the_line_and_a_sender_that_gives_up_too() -> None:
    c = CallsModel()
    run(c, "opened", "place_taken", "place_taken", "place_taken", ready(0), ready(1))
    c.drain_effects()
    assert run(c, "answer_timeout") == ["N2"] and sent(c) == [1]
    assert not c.fire("given_back", place=0).allowed  # done already
    run(c, ready(2))
    assert run(c, ("given_back", {"place": 1})) == ["G2"] and sent(c) == [2]
    assert run(c, ("given_back", {"place": 2})) == ["G3"] and c.idle


def test_a_place_given_back_before_its_turn_is_skipped() -> None:
    c = CallsModel()
    run(c, "opened", "place_taken", "place_taken", "place_taken", ready(2))
    assert run(c, ("given_back", {"place": 1})) == ["G6"] and sent(c) == []
    assert run(c, ("given_back", {"place": 0})) == ["G5"] and sent(c) == [2]  # 1 skipped
    run(c, "answered")
    assert c.idle and c.returned == frozenset()


def test_a_lost_connection_fails_what_waits_and_later_places_keep_their_order() -> None:
    c = CallsModel()
    run(c, "opened", "place_taken", "place_taken", "place_taken", ready(0), ready(1))
    c.drain_effects()
    assert run(c, "closed") == ["K3"] and c.state == "Closed"
    assert c.drain_effects() == [CancelTimer("answer_timeout"), CallLost(), RefuseCall(1)]
    assert not c.idle  # place 2 was taken and is not ready yet
    run(c, "opened", "place_taken")
    assert run(c, ready(3)) == ["R2"] and sent(c) == []  # 2 goes first
    assert run(c, ready(2)) == ["R1"] and sent(c) == [2]
    run(c, "closed")
    assert c.drain_effects()[-1] == RefuseCall(3)
    run(c, "place_taken")
    assert run(c, ready(4)) == ["R4"]  # no connection: it fails at once
    assert c.drain_effects() == [RefuseCall(4)] and c.idle
