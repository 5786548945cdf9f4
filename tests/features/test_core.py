"""Every Core operation from the Central System, with every answer status."""

from __future__ import annotations

import attrs
import pytest
import trio

from chargebox.csms import CsmsSettings
from chargebox.csms.server import send_text
from chargebox.ocpp import v16
from chargebox.ocpp.frames import CallError, CallResult
from chargebox.station import Host, UnlockResult
from tests.support import CSMS_ADDRESS, RecordingEvse, RecordingSystem, make_host, running

TWO = {"Core": {"NumberOfConnectors": 2}}


async def charging(rig, connector=1, tag="TAG-1"):
    cp = rig.cp
    await cp.session_started(connector)
    await cp.token_presented(tag, connector)
    await rig.evse.wait_for("authorize", connector, tag)
    await cp.transaction_started(connector, meter_start=0)
    await cp.resumed(connector)
    await rig.csms.wait_until(lambda: cp.transaction_id(connector) is not None)
    return cp.transaction_id(connector)


# -- ChangeAvailability ---------------------------------------------------------------


async def test_change_availability_accepted_and_persisted(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data, **TWO) as rig:
        session = await rig.session()
        answer = await session.call(
            v16.ChangeAvailabilityRequest(connector_id=2, type="Inoperative")
        )
        assert answer.status == "Accepted"
        assert rig.cp.status(2) == "Unavailable" and rig.cp.status(1) == "Available"
        bad = await session.call(v16.ChangeAvailabilityRequest(connector_id=7, type="Inoperative"))
        assert bad.status == "Rejected"
    # Unavailable survives a restart
    async with running(tmp_path, data_dir=data, **TWO) as rig:
        assert rig.cp.status(2) == "Unavailable"
        await rig.csms.wait_for("StatusNotification", lambda s: s.connector_id == 2)
        reported = [
            s for s in rig.csms.received("CP-1", "StatusNotification") if s.connector_id == 2
        ]
        assert reported[0].status == "Unavailable"
        session = await rig.session()
        back = await session.call(v16.ChangeAvailabilityRequest(connector_id=2, type="Operative"))
        assert back.status == "Accepted" and rig.cp.status(2) == "Available"


async def test_change_availability_scheduled_during_a_transaction(tmp_path, autojump_clock):
    async with running(tmp_path, **TWO) as rig:
        await charging(rig)
        session = await rig.session()
        answer = await session.call(
            v16.ChangeAvailabilityRequest(connector_id=0, type="Inoperative")
        )
        assert answer.status == "Scheduled"
        assert rig.cp.status(1) == "Charging"
        assert rig.cp.status(2) == "Unavailable" and rig.cp.status(0) == "Unavailable"
        await rig.cp.token_presented("TAG-1")
        await rig.cp.transaction_stopped(1, meter_stop=100, reason="Local")
        await rig.cp.session_stopped(1)
        assert rig.cp.status(1) == "Unavailable"


async def test_change_availability_while_preparing_is_rejected(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        await rig.cp.session_started(1)
        session = await rig.session()
        answer = await session.call(
            v16.ChangeAvailabilityRequest(connector_id=1, type="Inoperative")
        )
        assert answer.status == "Rejected" and rig.cp.status(1) == "Preparing"


# -- configuration ----------------------------------------------------------------------


async def test_get_and_change_configuration_for_every_access_class(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        session = await rig.session()
        everything = await session.call(v16.GetConfigurationRequest())
        keys = {kv.key: kv for kv in everything.configuration_key}
        assert keys["NumberOfConnectors"].readonly and keys["NumberOfConnectors"].value == "1"
        assert not keys["HeartbeatInterval"].readonly
        assert "AuthorizationKey" not in keys  # write-only: never reported
        some = await session.call(
            v16.GetConfigurationRequest(key=["MeterValueSampleInterval", "Nope"])
        )
        assert [kv.key for kv in some.configuration_key] == ["MeterValueSampleInterval"]
        assert some.unknown_key == ("Nope",)
        cases = [
            ("NumberOfConnectors", "3", "Rejected"),  # read-only
            ("MeterValueSampleInterval", "30", "Accepted"),  # read-write
            ("AuthorizationKey", "0123456789abcdef0123456789abcdef", "Accepted"),  # write-only
            ("NoSuchKey", "1", "NotSupported"),  # unknown
            ("HeartbeatInterval", "often", "Rejected"),  # bad value
            ("HeartbeatInterval", "-5", "Rejected"),  # out of range
            ("LocalAuthorizeOffline", "maybe", "Rejected"),  # not a boolean
        ]
        for key, value, status in cases:
            answer = await session.call(v16.ChangeConfigurationRequest(key=key, value=value))
            assert answer.status == status, key
    async with running(tmp_path, data_dir=data) as rig:
        session = await rig.session()
        again = await session.call(v16.GetConfigurationRequest(key=["MeterValueSampleInterval"]))
        assert again.configuration_key[0].value == "30"


# -- cache, DataTransfer ---------------------------------------------------------------


async def test_clear_cache(tmp_path, autojump_clock):
    async with running(
        tmp_path, Core={"AuthorizationCacheEnabled": True, "LocalPreAuthorize": True}
    ) as rig:
        await rig.cp.token_presented("TAG-9", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-9")
        assert rig.cp.station.ctx.store.cache_get("TAG-9")["status"] == "Accepted"
        session = await rig.session()
        answer = await session.call(v16.ClearCacheRequest())
        assert answer.status == "Accepted"
        assert rig.cp.station.ctx.store.cache_get("TAG-9") is None
    async with running(tmp_path, Core={"AuthorizationCacheEnabled": False}) as rig:
        session = await rig.session()
        assert (await session.call(v16.ClearCacheRequest())).status == "Rejected"


@attrs.define
class VendorPort:
    async def data_transfer(self, vendor_id, message_id, data):
        if vendor_id != "com.example":
            return ("UnknownVendorId", None)
        if message_id == "deny":
            return ("Rejected", None)
        if message_id == "crash":
            raise RuntimeError("the vendor code failed")
        if message_id != "echo":
            return ("UnknownMessageId", None)
        return ("Accepted", (data or "")[::-1])


async def test_data_transfer_both_ways(tmp_path, autojump_clock):
    host = make_host()
    host.data_transfer = VendorPort()
    async with running(tmp_path, host=host) as rig:
        session = await rig.session()
        ok = await session.call(
            v16.DataTransferRequest(vendor_id="com.example", message_id="echo", data="abc")
        )
        assert (ok.status, ok.data) == ("Accepted", "cba")
        who = await session.call(v16.DataTransferRequest(vendor_id="org.other"))
        assert who.status == "UnknownVendorId"
        what = await session.call(v16.DataTransferRequest(vendor_id="com.example", message_id="x"))
        assert what.status == "UnknownMessageId"
        for message_id in ("deny", "crash"):  # refused, or the host's handler failed
            no = await session.call(
                v16.DataTransferRequest(vendor_id="com.example", message_id=message_id)
            )
            assert no.status == "Rejected"
        # and from the charge point: the CSMS does not know the vendor
        assert await rig.cp.data_transfer("com.example", "hello", "{}") == ("UnknownVendorId", None)
    async with running(tmp_path) as rig:  # a host without a DataTransfer port
        session = await rig.session()
        none = await session.call(v16.DataTransferRequest(vendor_id="com.example"))
        assert none.status == "UnknownVendorId"


# -- remote start refusals ---------------------------------------------------------------


async def test_remote_start_refused_when_unavailable_faulted_or_occupied(tmp_path, autojump_clock):
    async with running(tmp_path, **TWO) as rig:
        session = await rig.session()
        await session.call(v16.ChangeAvailabilityRequest(connector_id=1, type="Inoperative"))
        await rig.cp.error_raised(2, "GroundFailure")
        assert rig.cp.status(2) == "Faulted"
        for connector in (1, 2, None):
            answer = await session.call(
                v16.RemoteStartTransactionRequest(id_tag="X", connector_id=connector)
            )
            assert answer.status == "Rejected", connector
        await rig.cp.error_cleared(2)
        await session.call(v16.ChangeAvailabilityRequest(connector_id=1, type="Operative"))
        await charging(rig, 1)
        busy = await session.call(v16.RemoteStartTransactionRequest(id_tag="X", connector_id=1))
        assert busy.status == "Rejected"
        free = await session.call(v16.RemoteStartTransactionRequest(id_tag="X"))
        assert free.status == "Accepted"
        await rig.evse.wait_for("authorize", 2, "X")  # the free connector was chosen


# -- reset --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Soft", "Hard"])
async def test_reset_stops_transactions_then_resets(tmp_path, autojump_clock, kind):
    async with running(tmp_path) as rig:
        await charging(rig)
        session = await rig.session()
        answer = await session.call(v16.ResetRequest(type=kind))
        assert answer.status == "Accepted"
        reason = f"{kind}Reset"
        await rig.evse.wait_for("stop_transaction", 1, reason)
        assert rig.system.resets == []  # not before the transaction is over
        await rig.cp.transaction_stopped(1, meter_stop=10, reason=reason)
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.reason == reason
        with trio.fail_after(5):
            await rig.system.reset_done.wait()
        assert rig.system.resets == [kind]


async def test_no_transaction_begins_while_a_reset_waits_for_the_others(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"NumberOfConnectors": 2}) as rig:
        cp = rig.cp
        await charging(rig)
        session = await rig.session()
        assert (await session.call(v16.ResetRequest(type="Soft"))).status == "Accepted"
        await rig.evse.wait_for("stop_transaction", 1, "SoftReset")
        # connector 1 is stopping: connector 2 takes no new transaction until the reset
        remote = v16.RemoteStartTransactionRequest(id_tag="B", connector_id=2)
        assert (await session.call(remote)).status == "Rejected"
        await cp.session_started(2)
        await cp.token_presented("C", 2)
        await cp.settled("transaction/2")
        assert ("authorize", 2, "C") not in rig.evse.calls
        assert "C" not in [a.id_tag for a in rig.csms.received("CP-1", "Authorize")]
        assert cp.transaction_state(2) == "Idle"
        await cp.transaction_stopped(1, meter_stop=10, reason="SoftReset")
        with trio.fail_after(5):
            await rig.system.reset_done.wait()
        assert [s.reason for s in rig.csms.received("CP-1", "StopTransaction")] == ["SoftReset"]


@pytest.mark.parametrize("how", ["authorized_before", "host_started"])
async def test_a_transaction_that_begins_while_a_reset_waits_is_stopped_too(
    tmp_path, autojump_clock, how
):
    async with running(tmp_path, Core={"NumberOfConnectors": 2}) as rig:
        cp = rig.cp
        await charging(rig)
        if how == "authorized_before":
            await cp.session_started(2)
            await cp.token_presented("TAG-2", 2)
            await rig.evse.wait_for("authorize", 2, "TAG-2")
        session = await rig.session()
        assert (await session.call(v16.ResetRequest(type="Soft"))).status == "Accepted"
        await rig.evse.wait_for("stop_transaction", 1, "SoftReset")
        # connector 2's transaction begins while the Reset waits for connector 1's
        if how == "authorized_before":
            await cp.transaction_started(2, meter_start=0)
        else:
            await cp.transaction_started(2, meter_start=0, id_tag="TAG-2")
        await rig.evse.wait_for("stop_transaction", 2, "SoftReset")
        await cp.transaction_stopped(1, meter_stop=10, reason="SoftReset")
        await cp.transaction_stopped(2, meter_stop=0, reason="SoftReset")
        with trio.fail_after(5):
            await rig.system.reset_done.wait()
        stops = rig.csms.received("CP-1", "StopTransaction")
        assert [s.reason for s in stops] == ["SoftReset", "SoftReset"]


async def test_reset_waits_at_most_the_configured_time(tmp_path, autojump_clock):
    async with running(tmp_path, Internal={"WaitForStopTransactionsOnResetTimeout": 30}) as rig:
        await charging(rig)
        session = await rig.session()
        started = trio.current_time()
        await session.call(v16.ResetRequest(type="Soft"))
        await rig.system.reset_done.wait()  # the host never stopped the transaction
        assert trio.current_time() - started == pytest.approx(30)


async def test_reset_rejected_without_a_system_port(tmp_path, autojump_clock):
    async with running(tmp_path, host=Host(evse=RecordingEvse())) as rig:
        session = await rig.session()
        assert (await session.call(v16.ResetRequest(type="Hard"))).status == "Rejected"


# -- unlock ----------------------------------------------------------------------------


async def test_unlock_connector_statuses(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        session = await rig.session()
        ok = await session.call(v16.UnlockConnectorRequest(connector_id=1))
        assert ok.status == "Unlocked"
        rig.evse.unlock_result = UnlockResult.UnlockFailed
        failed = await session.call(v16.UnlockConnectorRequest(connector_id=1))
        assert failed.status == "UnlockFailed"
        unknown = await session.call(v16.UnlockConnectorRequest(connector_id=5))
        assert unknown.status == "NotSupported"


async def test_unlock_during_a_transaction_stops_it_first(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        await charging(rig)
        session = await rig.session()
        await session.call(v16.UnlockConnectorRequest(connector_id=1))
        await rig.evse.wait_for("stop_transaction", 1, "UnlockCommand")
        stops = [c for c in rig.evse.calls if c[0] in ("stop_transaction", "unlock")]
        assert stops[0] == ("stop_transaction", 1, "UnlockCommand")


class NoUnlock:
    """An EVSE without a motorised lock."""

    async def authorize(self, connector_id, id_tag): ...

    async def stop_transaction(self, connector_id, reason): ...


async def test_unlock_not_supported_without_an_unlock_port(tmp_path, autojump_clock):
    async with running(tmp_path, host=Host(evse=NoUnlock(), system=RecordingSystem())) as rig:
        session = await rig.session()
        answer = await session.call(v16.UnlockConnectorRequest(connector_id=1))
        assert answer.status == "NotSupported"


# -- RPC-level answers -------------------------------------------------------------------


async def test_unknown_action_and_unsupported_profile_and_bad_payload(tmp_path, autojump_clock):
    profiles = {"Core": {"SupportedFeatureProfiles": "Core,FirmwareManagement"}}
    async with running(tmp_path, **profiles) as rig:
        session = await rig.session()
        unknown = await session.call_raw("MakeCoffee", {})
        assert isinstance(unknown, CallError) and unknown.error_code == "NotImplemented"
        reserve = await session.call_raw(
            "ReserveNow",
            {
                "connectorId": 1,
                "expiryDate": "2030-01-01T00:00:00Z",
                "idTag": "X",
                "reservationId": 1,
            },
        )
        assert isinstance(reserve, CallError) and reserve.error_code == "NotSupported"
        bad = await session.call_raw("Reset", {"type": "Sideways"})
        assert isinstance(bad, CallError) and bad.error_code == "PropertyConstraintViolation"
        missing = await session.call_raw("ChangeAvailability", {"connectorId": 1})
        assert missing.error_code == "OccurenceConstraintViolation"
        typed = await session.call_raw("UnlockConnector", {"connectorId": "1"})
        assert typed.error_code == "TypeConstraintViolation"
        fine = await session.call_raw("GetConfiguration", {"key": ["HeartbeatInterval"]})
        assert isinstance(fine, CallResult)


# -- invalid idTag at StartTransaction -----------------------------------------------------


async def test_start_transaction_not_accepted_stops_with_deauthorized(tmp_path, autojump_clock):
    settings = CsmsSettings(blocked_id_tags=frozenset({"BAD"}))
    async with running(
        tmp_path,
        csms_settings=settings,
        Core={"StopTransactionOnInvalidId": True, "AllowOfflineTxForUnknownId": True},
    ) as rig:
        cp = rig.cp
        await cp.session_started(1)
        # a free-vend start with an idTag the CSMS blocks
        await cp.transaction_started(1, meter_start=0, id_tag="BAD")
        await rig.evse.wait_for("stop_transaction", 1, "DeAuthorized")
        assert ("pause_charging", 1) in rig.evse.calls
        await cp.transaction_stopped(1, meter_stop=0, reason="DeAuthorized")
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.reason == "DeAuthorized"


async def test_start_transaction_not_accepted_suspends_without_stop(tmp_path, autojump_clock):
    settings = CsmsSettings(blocked_id_tags=frozenset({"BAD"}))
    async with running(
        tmp_path, csms_settings=settings, Core={"StopTransactionOnInvalidId": False}
    ) as rig:
        cp = rig.cp
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0, id_tag="BAD")
        await cp.resumed(1)
        await rig.evse.wait_for("pause_charging", 1)
        await rig.csms.wait_until(lambda: cp.status(1) == "SuspendedEVSE")
        assert not any(c[0] == "stop_transaction" for c in rig.evse.calls)


@pytest.mark.parametrize("host_says", ["ev_disconnected", "session_stopped"])
async def test_a_transaction_held_back_for_its_idtag_stops_when_the_ev_leaves(
    tmp_path, autojump_clock, host_says
):
    settings = CsmsSettings(blocked_id_tags=frozenset({"BAD"}))
    core = {"StopTransactionOnInvalidId": False, "StopTransactionOnEVSideDisconnect": True}
    async with running(tmp_path, csms_settings=settings, Core=core) as rig:
        cp = rig.cp
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0, id_tag="BAD")
        await cp.resumed(1)
        await rig.csms.wait_until(lambda: cp.status(1) == "SuspendedEVSE")
        # the cable goes: StopTransactionOnEVSideDisconnect stops it like any other
        if host_says == "ev_disconnected":
            await cp.ev_disconnected(1)
        else:
            await cp.session_stopped(1)  # (the host says only that the session is over)
        await rig.evse.wait_for("stop_transaction", 1, "EVDisconnected")
        await cp.transaction_stopped(1, meter_stop=0, reason="EVDisconnected")
        if host_says == "ev_disconnected":
            await cp.session_stopped(1)
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.reason == "EVDisconnected"
        await rig.csms.wait_until(lambda: cp.status(1) == "Available")
        # the connector serves the next user
        await cp.session_started(1)
        await cp.token_presented("TAG-2", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-2")


async def test_the_ev_leaving_before_the_transaction_id_came_holds_the_transaction_back(
    tmp_path, autojump_clock
):
    core = {"StopTransactionOnEVSideDisconnect": False, "MeterValueSampleInterval": 0}
    async with running(tmp_path, Core=core) as rig:
        cp = rig.cp
        rig.net.unlisten(*CSMS_ADDRESS)
        await rig.cut()
        await cp.wait_until(lambda: not cp.registered)
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0, id_tag="T")
        await cp.resumed(1)
        assert cp.transaction_state(1) == "StartedOffline"
        # StopTransactionOnEVSideDisconnect false: the transaction goes on, SuspendedEV
        await cp.ev_disconnected(1)
        assert (cp.transaction_state(1), cp.status(1)) == ("StartedOffline", "SuspendedEV")
        assert ("stop_transaction", 1, "EVDisconnected") not in rig.evse.calls
        # the id comes: the transaction is held back, as one that was Active would be
        rig.net.listen(*CSMS_ADDRESS, rig.csms)
        await cp.wait_until(lambda: cp.transaction_id(1) is not None)
        assert cp.transaction_state(1) == "Suspended"
        await cp.ev_reconnected(1)
        assert cp.transaction_state(1) == "Active"
        await cp.transaction_stopped(1, meter_stop=10)
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.meter_stop == 10


async def test_the_host_hears_when_a_connector_goes_out_of_service(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        session = await rig.session()
        await session.call(v16.ChangeAvailabilityRequest(connector_id=1, type="Inoperative"))
        await rig.evse.wait_for("set_enabled", 1, False)
        # an idTag on an Unavailable connector is refused without asking anyone
        await rig.cp.token_presented("TAG-1", 1)
        assert not any(call[0] == "authorize" for call in rig.evse.calls)
        assert rig.csms.received("CP-1", "Authorize") == []
    async with running(tmp_path, data_dir=data) as rig:
        # restored Unavailable after a restart: the host is told again
        await rig.evse.wait_for("set_enabled", 1, False)
        session = await rig.session()
        await session.call(v16.ChangeAvailabilityRequest(connector_id=1, type="Operative"))
        await rig.evse.wait_for("set_enabled", 1, True)


async def test_no_answer_while_the_registration_is_rejected(tmp_path, autojump_clock):
    from chargebox.csms import CentralSystem, NoAnswer

    csms = CentralSystem(CsmsSettings(boot_status="Rejected", heartbeat_interval=3600))
    async with running(tmp_path, csms=csms, wait_registered=False) as rig:
        await csms.wait_for("BootNotification")
        await rig.cp.wait_until(lambda: rig.cp.link_state == "Rejected")
        session = await rig.session()
        with pytest.raises(NoAnswer):
            await session.call(v16.GetConfigurationRequest(), timeout=30)
        # nothing at all: not even a CALLERROR for an unknown action or a malformed payload
        for action, payload in (
            ("NoSuchAction", {}),
            ("GetConfiguration", {"key": 5}),
            ("Reset", {"type": "Bogus"}),
        ):
            with pytest.raises(NoAnswer):
                await session.call_raw(action, payload, timeout=30)
        # nor for a frame that is not a well-formed CALL at all
        before = rig.cp.station.endpoint.stats["broken"]
        for text in ('[2,"broken-1","Reset"]', '[2,"broken-2","Reset",[]]'):
            await send_text(session.ws, text)
        await trio.sleep(30)
        assert rig.cp.station.endpoint.stats["broken"] == before + 2
        assert not [
            ex for ex in session.exchanges if ex.kind == "CALLERROR" and ex.direction == "in"
        ]
