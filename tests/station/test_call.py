"""ChargePoint.call: any 1.6 CALL a charge point sends, its typed answer, and its errors."""

from __future__ import annotations

import pytest
import trio

from chargebox.csms import CsmsSettings
from chargebox.ocpp.v16 import (
    DataTransferRequest,
    DataTransferResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    ResetRequest,
    StatusNotificationRequest,
)
from chargebox.station import CallFailed, CallTimeout, ConnectionLost, Offline, StateError
from tests.support import running


async def test_a_call_returns_the_response_of_its_action(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        answer = await rig.cp.call(HeartbeatRequest())
        assert type(answer) is HeartbeatResponse
        assert len(rig.csms.received("CP-1", "Heartbeat")) == 1
        data = await rig.cp.call(DataTransferRequest(vendor_id="nobody"))
        assert type(data) is DataTransferResponse and data.status == "UnknownVendorId"


async def test_a_call_takes_its_place_after_the_engines_own(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        await rig.cp.drain(60)
        before = len(rig.csms.actions("CP-1"))
        # the engine decided a StatusNotification when error_raised returned: it goes first
        await rig.cp.error_raised(1, "GroundFailure")
        await rig.cp.call(HeartbeatRequest())
        await rig.cp.drain(60)
        assert rig.csms.actions("CP-1")[before:] == ["StatusNotification", "Heartbeat"]


async def test_a_callerror_is_call_failed(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        rig.csms.on("Heartbeat", lambda session, request: (_ for _ in ()).throw(ValueError()))
        with pytest.raises(CallFailed) as failed:
            await rig.cp.call(HeartbeatRequest())
        assert failed.value.code == "InternalError"
        assert (await rig.cp.call(DataTransferRequest(vendor_id="x"))).status


async def test_no_answer_is_call_timeout_and_the_next_call_goes(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        rig.csms.on("Heartbeat", lambda session, request: None)
        with pytest.raises(CallTimeout):
            await rig.cp.call(HeartbeatRequest(), timeout=5)
        assert type(await rig.cp.call(DataTransferRequest(vendor_id="x"))) is DataTransferResponse


async def test_offline_at_once_or_after_waiting(tmp_path, autojump_clock):
    settings = CsmsSettings(boot_status="Rejected")
    async with running(tmp_path, csms_settings=settings, wait_registered=False) as rig:
        with pytest.raises(Offline, match="Heartbeat: the link is not accepted"):
            await rig.cp.call(HeartbeatRequest())
        start = trio.current_time()
        with pytest.raises(Offline, match="within 30 s"):
            await rig.cp.call(HeartbeatRequest(), wait=30)
        assert trio.current_time() - start == pytest.approx(30)
        assert rig.csms.received("CP-1", "Heartbeat") == []


async def test_a_lost_connection_is_connection_lost(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:

        async def cut_instead(session, request):
            await rig.cut()

        rig.csms.on("Heartbeat", cut_instead)
        with pytest.raises(ConnectionLost):
            await rig.cp.call(HeartbeatRequest())


async def test_requests_a_charge_point_does_not_send_are_refused(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        with pytest.raises(StateError, match="Reset is sent by the Central System") as refused:
            await rig.cp.call(ResetRequest(type="Soft"))
        assert "Heartbeat" in str(refused.value) and "\n" not in str(refused.value)
        with pytest.raises(TypeError, match=r"dict is not an OCPP 1\.6 request class"):
            await rig.cp.call({"action": "Heartbeat"})  # type: ignore[call-overload]
        assert rig.csms.received("CP-1", "Reset") == []
        # an invalid request breaks its schema before it goes: nothing sent, nothing held
        with pytest.raises(ValueError, match="status"):
            await rig.cp.call(
                StatusNotificationRequest(  # type: ignore[arg-type]
                    connector_id=1, error_code="NoError", status="Broken"
                )
            )
        assert type(await rig.cp.call(HeartbeatRequest())) is HeartbeatResponse
