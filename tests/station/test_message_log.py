"""The engine's message log: every frame of a session in the HTML log, in order, no secrets."""

from __future__ import annotations

from chargebox.ocpp import v16
from tests.messagelog.support import read_page
from tests.support import running

SECRET_KEY = "5ecre7" * 6  # 36 characters: text, not hex pairs


async def test_every_frame_of_a_session_is_in_the_html_log_in_order(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        cp, csms = rig.cp, rig.csms
        session = await rig.session()
        answer = await session.call(
            v16.ChangeConfigurationRequest(key="AuthorizationKey", value=SECRET_KEY)
        )
        assert answer.status == "Accepted"
        await cp.session_started(1, session_id="s-1", log_folder=tmp_path / "session")
        await cp.token_presented("TAG-1", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-1")
        await cp.transaction_started(1, meter_start=0)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        await cp.transaction_stopped(1, meter_stop=100, reason="Local")
        await csms.wait_for("StopTransaction")
        await cp.session_stopped(1)
        await csms.wait_for("StatusNotification", lambda s: s.status == "Available", count=3)
    # what the CSMS received is what we sent, and the other way round
    received = [(ex.unique_id, ex.kind) for ex in session.exchanges if ex.direction == "in"]
    sent = [(ex.unique_id, ex.kind) for ex in session.exchanges if ex.direction == "out"]
    page = read_page(data / "message-log" / "CP-1.html")
    logged_out = [(r.message_id, r.type) for r in page.rows if r.direction == "out"]
    logged_in = [(r.message_id, r.type) for r in page.rows if r.direction == "in"]
    # every frame, in order (the log may end with a frame the CSMS had no time to record)
    assert logged_out[: len(received)] == received and len(logged_out) - len(received) <= 1
    assert logged_in == sent[: len(logged_in)] and len(sent) - len(logged_in) <= 1
    assert {r.type for r in page.rows} >= {"CALL", "CALLRESULT", "event"}
    assert any(r.action == "StopTransaction" for r in page.rows)
    # the per-session page was written and renamed at the end
    assert (tmp_path / "session" / "ocpp.html").exists()
    assert not (tmp_path / "session" / "incomplete-ocpp.html").exists()
    for path in (data / "message-log").rglob("*"):
        if path.is_file():
            assert SECRET_KEY not in path.read_text(errors="replace"), path


async def test_security_events_go_to_the_security_log_and_the_csms(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        event = await rig.csms.wait_for("SecurityEventNotification")
        assert event.type == "StartupOfTheDevice"
        session = await rig.session()
        await session.call(v16.ResetRequest(type="Soft"))
        await rig.system.reset_done.wait()
        reset = await rig.csms.wait_for("SecurityEventNotification", count=2)
        assert reset.type == "ResetOrReboot"
    lines = (data / "message-log" / "CP-1-security.log").read_text().splitlines()
    assert [("StartupOfTheDevice" in line, "ResetOrReboot" in line) for line in lines] == [
        (True, False),
        (False, True),
    ]


async def test_security_events_can_be_kept_from_the_csms(tmp_path, autojump_clock):
    async with running(tmp_path, Security={"DisableSecurityEventNotifications": True}) as rig:
        await rig.csms.wait_for("StatusNotification", count=2)
        assert rig.csms.received("CP-1", "SecurityEventNotification") == []


async def test_a_csms_without_security_events_gets_no_more_after_not_implemented(
    tmp_path, autojump_clock
):
    from chargebox.csms import CentralSystem
    from chargebox.ocpp.errors import ErrorCode, OcppError

    csms = CentralSystem()

    def not_implemented(session, request):
        raise OcppError(ErrorCode.NotImplemented, "no security whitepaper here")

    csms.on("SecurityEventNotification", not_implemented)
    async with running(tmp_path, csms=csms) as rig:
        await csms.wait_for("SecurityEventNotification")
        await rig.cp.wait_until(lambda: rig.cp.station.ctx.store.queue_length() == 0)
        session = await rig.session()
        await session.call(v16.ResetRequest(type="Soft"))
        await rig.system.reset_done.wait()
        await rig.cp.token_presented("X", 1)  # something else goes on meanwhile
        await csms.wait_for("Authorize")
        assert len(csms.received("CP-1", "SecurityEventNotification")) == 1  # not retried
