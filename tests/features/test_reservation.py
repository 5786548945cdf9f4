"""Reservation profile: ReserveNow and CancelReservation with every answer, and their use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
import trio
import trio.testing

from chargebox.csms import CsmsSettings
from chargebox.ocpp import v16
from chargebox.store import Store, StoredReservation
from tests.support import make_host, running

TWO = {"Core": {"NumberOfConnectors": 2}}


@attrs.define
class RecordingReservations:
    """The host's reservation port: records every call; refuses when `refuse` is set."""

    calls: list[tuple[object, ...]] = attrs.Factory(list)
    refuse: bool = False

    async def reserve(self, connector_id, reservation_id, id_tag, expiry):
        self.calls.append(("reserve", connector_id, reservation_id, id_tag))
        return not self.refuse

    async def cancel(self, reservation_id):
        self.calls.append(("cancel", reservation_id))


def host_with_port():
    host = make_host()
    host.reservation = RecordingReservations()
    return host


async def reserve(rig, connector=1, reservation_id=7, id_tag="TAG-R", minutes=30, parent=None):
    session = await rig.session()
    answer = await session.call(
        v16.ReserveNowRequest(
            connector_id=connector,
            expiry_date=rig.cp.clock.now() + timedelta(minutes=minutes),
            id_tag=id_tag,
            reservation_id=reservation_id,
            parent_id_tag=parent,
        )
    )
    return str(answer.status)


async def host_caught_up():
    """Let the host commands queued so far run (they run in a task of their own)."""
    await trio.testing.wait_all_tasks_blocked()


def statuses(rig, connector):
    return [
        str(s.status)
        for s in rig.csms.received("CP-1", "StatusNotification")
        if s.connector_id == connector
    ]


async def test_a_reservation_expires_at_exactly_its_expiry_date(tmp_path, autojump_clock):
    host = host_with_port()
    async with running(tmp_path, host=host) as rig:
        cp = rig.cp
        expiry = cp.clock.now() + timedelta(minutes=45)
        session = await rig.session()
        answer = await session.call(
            v16.ReserveNowRequest(connector_id=1, expiry_date=expiry, id_tag="T", reservation_id=3)
        )
        assert answer.status == "Accepted" and cp.status(1) == "Reserved"
        assert host.reservation.calls == [("reserve", 1, 3, "T")]
        await rig.csms.wait_until(lambda: statuses(rig, 1)[-1:] == ["Reserved"])
        deadline = cp.clock.deadline(expiry)
        await cp.wait_until(lambda: cp.status(1) == "Available")
        # the expiry fired at expiryDate on the station clock, not a moment later
        assert trio.current_time() == deadline
        assert abs(cp.clock.now() - expiry) < timedelta(microseconds=10)
        available = await rig.csms.wait_for(
            "StatusNotification", lambda s: s.connector_id == 1 and s.status == "Available", count=2
        )
        assert abs(available.timestamp - expiry) < timedelta(milliseconds=1)
        await host_caught_up()
        assert host.reservation.calls[-1] == ("cancel", 3)
        # gone: nothing left to cancel
        gone = await session.call(v16.CancelReservationRequest(reservation_id=3))
        assert gone.status == "Rejected"


async def test_reserve_now_answers_faulted_occupied_unavailable_rejected(tmp_path, autojump_clock):
    host = host_with_port()
    async with running(tmp_path, host=host, **TWO) as rig:
        cp, session = rig.cp, await rig.session()
        await cp.error_raised(1, "GroundFailure")
        assert await reserve(rig, 1, 1) == "Faulted"
        await cp.error_cleared(1)
        await session.call(v16.ChangeAvailabilityRequest(connector_id=2, type="Inoperative"))
        assert await reserve(rig, 2, 2) == "Unavailable"
        await session.call(v16.ChangeAvailabilityRequest(connector_id=2, type="Operative"))
        await cp.session_started(1)  # Preparing: occupied
        assert await reserve(rig, 1, 3) == "Occupied"
        await cp.session_stopped(1)
        assert await reserve(rig, 2, 4, "A") == "Accepted"
        assert await reserve(rig, 2, 5, "B") == "Occupied"  # reserved for another idTag
        assert await reserve(rig, 7, 6) == "Rejected"  # no such connector
        assert await reserve(rig, 0, 7) == "Rejected"  # ReserveConnectorZeroSupported is off
        assert await reserve(rig, 1, 8, minutes=-1) == "Rejected"  # expiryDate has passed
        host.reservation.refuse = True
        assert await reserve(rig, 1, 9) == "Rejected"  # the host's reservation port refuses
        assert cp.status(1) == "Available" and cp.status(2) == "Reserved"
        # a charging connector is occupied too
        host.reservation.refuse = False
        await cp.session_started(1)
        await cp.token_presented("TAG-1", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-1")
        await cp.transaction_started(1, meter_start=0)
        await cp.resumed(1)
        assert await reserve(rig, 1, 10) == "Occupied"
        # the Charge Point itself Faulted or Unavailable
        await cp.error_raised(0, "PowerSwitchFailure")
        assert await reserve(rig, 1, 11) == "Faulted"
        await cp.error_cleared(0)


async def test_the_same_reservation_id_replaces_the_reservation(tmp_path, autojump_clock):
    host = host_with_port()
    async with running(tmp_path, host=host, **TWO) as rig:
        cp = rig.cp
        start = cp.clock.now()
        assert await reserve(rig, 1, 5, "FIRST", minutes=10) == "Accepted"
        assert await reserve(rig, 1, 5, "SECOND", minutes=60) == "Accepted"
        reservations = cp.station.features.reservations
        assert reservations.model(1).id_tag == "SECOND"
        await trio.sleep(20 * 60)  # the first expiry is gone
        assert cp.status(1) == "Reserved"
        # FIRST may not use it any more, SECOND may
        await cp.token_presented("FIRST", 1)
        assert cp.status(1) == "Reserved"
        # moved to connector 2: connector 1 is free again
        assert await reserve(rig, 2, 5, "SECOND", minutes=30) == "Accepted"
        assert (cp.status(1), cp.status(2)) == ("Available", "Reserved")
        assert [c[0] for c in host.reservation.calls] == ["reserve", "reserve", "cancel", "reserve"]
        await cp.wait_until(lambda: cp.status(2) == "Available")
        assert cp.clock.now() - start == pytest.approx(
            timedelta(minutes=50), abs=timedelta(seconds=1)
        )


async def test_cancel_reservation_accepted_and_rejected(tmp_path, autojump_clock):
    host = host_with_port()
    async with running(tmp_path, host=host) as rig:
        session = await rig.session()
        assert await reserve(rig, 1, 21) == "Accepted"
        unknown = await session.call(v16.CancelReservationRequest(reservation_id=99))
        assert unknown.status == "Rejected" and rig.cp.status(1) == "Reserved"
        answer = await session.call(v16.CancelReservationRequest(reservation_id=21))
        assert answer.status == "Accepted" and rig.cp.status(1) == "Available"
        await host_caught_up()
        assert host.reservation.calls[-1] == ("cancel", 21)
        await rig.csms.wait_until(lambda: statuses(rig, 1)[-2:] == ["Reserved", "Available"])


async def test_only_the_reserved_id_tag_uses_the_connector_and_start_carries_the_id(
    tmp_path, autojump_clock
):
    host = host_with_port()
    async with running(tmp_path, host=host) as rig:
        cp, csms = rig.cp, rig.csms
        assert await reserve(rig, 1, 42, "TAG-R") == "Accepted"
        await cp.session_started(1)  # a plug does not end a reservation
        assert cp.status(1) == "Reserved"
        await cp.token_presented("INTRUDER", 1)
        await cp.token_presented("INTRUDER")  # no connector given: none is free for it
        assert cp.status(1) == "Reserved"
        assert not any(call[0] == "authorize" for call in rig.evse.calls)
        await cp.token_presented("tag-r")  # idTags are case-insensitive; finds its connector
        await rig.evse.wait_for("authorize", 1, "tag-r")
        await cp.wait_until(lambda: cp.station.features.reservations.model(1).state == "Claimed")
        assert cp.status(1) == "Preparing"
        await cp.transaction_started(1, meter_start=100)
        start = await csms.wait_for("StartTransaction")
        assert start.reservation_id == 42
        await cp.wait_until(lambda: cp.station.features.reservations.model(1).state == "Idle")
        await host_caught_up()
        assert host.reservation.calls[-1] == ("cancel", 42)
        await cp.resumed(1)
        await csms.wait_until(lambda: "Charging" in statuses(rig, 1))
        assert statuses(rig, 1)[-3:] == ["Reserved", "Preparing", "Charging"]


async def test_an_id_tag_of_the_reserved_group_uses_the_reservation(tmp_path, autojump_clock):
    settings = CsmsSettings(parent_id_tags={"MEMBER": "FAMILY", "STRANGER": "OTHERS"})
    async with running(tmp_path, csms_settings=settings) as rig:
        cp, csms = rig.cp, rig.csms
        assert await reserve(rig, 1, 8, "OWNER", parent="FAMILY") == "Accepted"
        await cp.token_presented("STRANGER", 1)
        assert cp.status(1) == "Reserved"
        # the parentIdTag was asked for with Authorize.req (spec 5.13)
        assert [a.id_tag for a in csms.received("CP-1", "Authorize")] == ["STRANGER"]
        await cp.token_presented("MEMBER", 1)
        await rig.evse.wait_for("authorize", 1, "MEMBER")
        await cp.transaction_started(1, meter_start=0)
        start = await csms.wait_for("StartTransaction")
        assert (start.id_tag, start.reservation_id) == ("MEMBER", 8)


@pytest.mark.parametrize("reserved", [1, 0], ids=["connector-1", "any-connector"])
async def test_a_transaction_the_host_starts_naming_the_reservation_ends_it(
    tmp_path, autojump_clock, reserved
):
    sections = {**TWO, "Reservation": {"ReserveConnectorZeroSupported": True}}
    async with running(tmp_path, **sections) as rig:
        cp, csms = rig.cp, rig.csms
        assert await reserve(rig, reserved, 7, "TAG-R") == "Accepted"
        # the host authorized the idTag itself and says which reservation it used
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0, id_tag="TAG-R", reservation_id=7)
        await cp.resumed(1)  # the connector left Reserved: energy may flow
        start = await csms.wait_for("StartTransaction")
        assert (start.id_tag, start.reservation_id) == ("TAG-R", 7)
        await cp.settled("transaction/1")
        reservations = cp.station.features.reservations
        assert [reservations.model(c).state for c in (0, 1, 2)] == ["Idle", "Idle", "Idle"]
        await csms.wait_until(lambda: cp.status(1) == "Charging")
        # used: nothing to cancel, and its expiry changes nothing
        session = await rig.session()
        cancel = await session.call(v16.CancelReservationRequest(reservation_id=7))
        assert cancel.status == "Rejected"
        await trio.sleep(31 * 60)
        assert (cp.status(1), cp.transaction_state(1)) == ("Charging", "Active")
        assert cp.status(2) == "Available"


@pytest.mark.parametrize("reserved", [True, False], ids=["claimed-reservation", "no-reservation"])
async def test_a_user_who_leaves_during_a_fault_leaves_the_connector_available(
    tmp_path, autojump_clock, reserved
):
    async with running(tmp_path, Core={"NumberOfConnectors": 2, "ConnectionTimeOut": 30}) as rig:
        cp = rig.cp
        if reserved:
            assert await reserve(rig, 1, 7, "TAG-R", minutes=60) == "Accepted"
        await cp.token_presented("TAG-R", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-R")
        assert cp.status(1) == "Preparing"
        await cp.error_raised(1, "GroundFailure")
        assert cp.status(1) == "Faulted"
        await trio.sleep(31)  # nobody plugs in: ConnectionTimeOut under the fault
        assert cp.transaction_state(1) == "Idle"
        await cp.error_cleared(1)
        # the user is gone: Available, not Preparing; the fault ended the reservation (5.13)
        await rig.csms.wait_until(lambda: cp.status(1) == "Available")
        assert cp.station.features.reservations.model(1).state == "Idle"
        session = await rig.session()
        cancel = await session.call(v16.CancelReservationRequest(reservation_id=7))
        assert cancel.status == "Rejected"
        # the next user is served
        await cp.token_presented("OTHER", 1)
        await rig.evse.wait_for("authorize", 1, "OTHER")


@pytest.mark.parametrize("out_of_service", ["fault", "inoperative"])
async def test_the_charge_point_out_of_service_ends_the_reservations(
    tmp_path, autojump_clock, out_of_service
):
    sections = {**TWO, "Reservation": {"ReserveConnectorZeroSupported": True}}
    async with running(tmp_path, **sections) as rig:
        cp = rig.cp
        session = await rig.session()
        assert await reserve(rig, 1, 7, "TAG-R") == "Accepted"
        assert await reserve(rig, 0, 9, "ANY") == "Accepted"
        if out_of_service == "fault":
            await cp.error_raised(0, "PowerSwitchFailure")
            await cp.error_cleared(0)
            after = "Available"
        else:
            inoperative = v16.ChangeAvailabilityRequest(connector_id=0, type="Inoperative")
            assert (await session.call(inoperative)).status in ("Accepted", "Scheduled")
            after = "Unavailable"
        # the Charge Point Faulted or Unavailable ends every reservation (spec 5.13)
        reservations = cp.station.features.reservations
        with trio.fail_after(60):
            await cp.wait_until(
                lambda: [reservations.model(c).state for c in (0, 1)] == ["Idle", "Idle"]
            )
        await rig.csms.wait_until(lambda: cp.status(1) == after)
        for reservation_id in (7, 9):
            cancel = v16.CancelReservationRequest(reservation_id=reservation_id)
            assert (await session.call(cancel)).status == "Rejected"


async def test_remote_start_on_a_reserved_connector_only_for_its_id_tag(tmp_path, autojump_clock):
    config = {"Core": {"NumberOfConnectors": 2, "AuthorizeRemoteTxRequests": False}}
    async with running(tmp_path, **config) as rig:
        cp, session = rig.cp, await rig.session()
        assert await reserve(rig, 2, 11, "TAG-R") == "Accepted"
        other = await session.call(v16.RemoteStartTransactionRequest(id_tag="X", connector_id=2))
        assert other.status == "Rejected"
        # without a connector the reserved one is chosen for its idTag
        mine = await session.call(v16.RemoteStartTransactionRequest(id_tag="TAG-R"))
        assert mine.status == "Accepted"
        await rig.evse.wait_for("authorize", 2, "TAG-R")
        await cp.transaction_started(2, meter_start=0)
        start = await rig.csms.wait_for("StartTransaction")
        assert (start.connector_id, start.reservation_id) == (2, 11)


async def test_a_reservation_of_connector_zero_keeps_one_connector_free(tmp_path, autojump_clock):
    config = {
        "Core": {"NumberOfConnectors": 2},
        "Reservation": {"ReserveConnectorZeroSupported": True},
    }
    async with running(tmp_path, **config) as rig:
        cp = rig.cp
        assert await reserve(rig, 0, 60, "ANY") == "Accepted"
        assert await reserve(rig, 0, 61, "ANOTHER") == "Occupied"  # the Charge Point is reserved
        assert (cp.status(1), cp.status(2)) == ("Available", "Available")  # no connector Reserved
        await cp.token_presented("FIRST", 1)  # one connector may still be taken
        await rig.evse.wait_for("authorize", 1, "FIRST")
        assert await reserve(rig, 2, 62, "B") == "Occupied"  # the last free connector is kept
        await cp.token_presented("SECOND", 2)
        assert cp.status(2) == "Available"  # refused
        await cp.token_presented("ANY")
        await rig.evse.wait_for("authorize", 2, "ANY")
        await cp.transaction_started(2, meter_start=0)
        start = await rig.csms.wait_for("StartTransaction", lambda s: s.connector_id == 2)
        assert start.reservation_id == 60
        await cp.wait_until(lambda: not cp.station.features.reservations.model(0).holding)


async def test_connector_zero_reservation_states_from_the_connectors(tmp_path, autojump_clock):
    config = {
        "Core": {"NumberOfConnectors": 2},
        "Reservation": {"ReserveConnectorZeroSupported": True},
    }
    async with running(tmp_path, **config) as rig:
        cp, session = rig.cp, await rig.session()
        await cp.error_raised(1, "GroundFailure")
        await cp.error_raised(2, "GroundFailure")
        assert await reserve(rig, 0, 1) == "Faulted"
        await cp.error_cleared(2)
        await session.call(v16.ChangeAvailabilityRequest(connector_id=2, type="Inoperative"))
        assert await reserve(rig, 0, 2) == "Faulted"
        await cp.error_cleared(1)
        await session.call(v16.ChangeAvailabilityRequest(connector_id=1, type="Inoperative"))
        assert await reserve(rig, 0, 3) == "Unavailable"
        await session.call(v16.ChangeAvailabilityRequest(connector_id=0, type="Operative"))
        await cp.session_started(1)
        await cp.session_started(2)
        assert await reserve(rig, 0, 4) == "Occupied"


async def test_a_fault_ends_the_reservation(tmp_path, autojump_clock):
    host = host_with_port()
    async with running(tmp_path, host=host) as rig:
        cp = rig.cp
        assert await reserve(rig, 1, 31) == "Accepted"
        await cp.error_raised(1, "HighTemperature")
        await cp.wait_until(lambda: not cp.station.features.reservations.model(1).holding)
        await host_caught_up()
        assert host.reservation.calls[-1] == ("cancel", 31)
        await cp.error_cleared(1)
        assert cp.status(1) == "Available"  # not Reserved: the fault ended it (spec 5.13)


async def test_a_lapsed_authorization_reserves_the_connector_again(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"ConnectionTimeOut": 30}) as rig:
        cp = rig.cp
        assert await reserve(rig, 1, 12, "TAG-R", minutes=60) == "Accepted"
        await cp.token_presented("TAG-R", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-R")
        assert cp.status(1) == "Preparing"
        await rig.evse.wait_for("withdraw_authorization", 1)  # ConnectionTimeOut passed
        await cp.wait_until(lambda: cp.status(1) == "Reserved")
        assert cp.station.features.reservations.model(1).state == "Reserved"
        # the user leaves before the plug: the same
        await cp.token_presented("TAG-R", 1)
        await cp.wait_until(lambda: rig.evse.calls.count(("authorize", 1, "TAG-R")) == 2)
        await cp.session_stopped(1)
        await cp.wait_until(lambda: cp.status(1) == "Reserved")
        await rig.csms.wait_until(
            lambda: (
                statuses(rig, 1)[-6:]
                == ["Preparing", "Available", "Reserved", "Preparing", "Available", "Reserved"]
            )
        )


async def test_reservations_survive_a_restart(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data, **TWO) as rig:
        expiry = rig.cp.clock.now() + timedelta(hours=2)
        assert await reserve(rig, 2, 77, "TAG-R", minutes=120) == "Accepted"
    # one that expired while the station was down (each run's calendar starts at the
    # wall clock, so it is written to the store directly)
    store = Store(data / "CP-1.db")
    store.put_reservation(
        StoredReservation(1, 78, "OLD", None, datetime.now(UTC) - timedelta(minutes=1))
    )
    store.close()
    async with running(tmp_path, data_dir=data, **TWO) as rig:
        cp = rig.cp
        assert (cp.status(1), cp.status(2)) == ("Available", "Reserved")
        assert cp.station.features.reservations.model(2).reservation_id == 77
        assert [r.reservation_id for r in cp.station.ctx.store.reservations()] == [77]
        await rig.csms.wait_until(lambda: "Reserved" in statuses(rig, 2))
        await cp.wait_until(lambda: cp.status(2) == "Available")
        assert abs(cp.clock.now() - expiry) < timedelta(seconds=1)
