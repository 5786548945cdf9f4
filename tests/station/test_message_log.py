"""The engine's message log: every frame of a session in the HTML log, in order, no secrets."""

from __future__ import annotations

from chargebox.ocpp import v16
from tests.messagelog.support import read_page

from .support import running

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
