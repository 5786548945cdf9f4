"""The development CSMS closing a charge point's session: the closing handshake completes.

`Session.close(code, reason)` sends the close frame and returns when the charge point
has answered it: the connection keeps reading after the session stopped delivering
messages. A charge point that does not answer is dropped after CLOSE_TIMEOUT.

The first test runs on real loopback sockets and real time (every wait bounded by
`trio.fail_after`); the others on the in-process network and the MockClock.
"""

from __future__ import annotations

import re
from pathlib import Path

import trio

from chargebox.config import ChargePointConfig
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.csms.server import CLOSE_TIMEOUT
from chargebox.station import Options, open_charge_point
from tests.support import CSMS_ADDRESS, config_file, make_host, running

LIMIT = 30  # seconds the loopback test may take
REASON = "CSMS going down for maintenance"
# Internal keys: reconnect after 1 s, no doubling, no random part; a text message log
INTERNAL = {
    "LogMessagesFormat": ["log"],
    "RetryBackoffWaitMinimum": 1,
    "RetryBackoffRandomRange": 0,
    "RetryBackoffRepeatTimes": 0,
}
# "<time> SYS <event>: <detail>" in the .log file
TEXT_EVENT = re.compile(r"^\S+ SYS ([^:\n]+)(?:: (.*))?$")


def _connection_events(path: Path) -> list[tuple[str, str]]:
    events = []
    for entry in path.read_text(encoding="utf-8").split("\n\n"):
        match = TEXT_EVENT.match(entry)
        if match and not match.group(1).startswith("log "):
            events.append((match.group(1), match.group(2) or ""))
    return events


async def test_closing_a_session_over_loopback_completes_and_the_station_reconnects(tmp_path):
    csms = CentralSystem(CsmsSettings())
    logs = tmp_path / "logs"
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            path = config_file(tmp_path, csms.url(), Internal=INTERNAL)
            cfg = ChargePointConfig.load(path)
            options = Options(message_log_path=logs, jitter=lambda: 0.0)
            async with open_charge_point(cfg, make_host(), options=options) as cp:
                await csms.wait_until(lambda: cp.registered)
                first = await csms.session("CP-1")
                # prompt: the station's answer ends it, not the drop after CLOSE_TIMEOUT
                with trio.fail_after(CLOSE_TIMEOUT / 2):
                    await first.close(1001, REASON)
                assert first.closed.is_set()
                # the station's answer arrived: trio-websocket reports its echo (before it,
                # and after a drop, 1000 without a reason)
                closed = first.ws.closed
                assert (closed.code, closed.reason) == (1001, REASON)
                # the station reconnects by itself and registers again
                await cp.wait_until(lambda: len(csms.all_sessions) == 2 and cp.registered)
                second = await csms.session("CP-1")
                assert second is not first and not second.closed.is_set()
            nursery.cancel_scope.cancel()

    events = _connection_events(logs / "CP-1.log")
    assert [kind for kind, _ in events[:5]] == [
        "connecting",
        "connected",
        "disconnected",
        "connecting",
        "connected",
    ], events
    assert events[2][1] == f"code 1001, {REASON}"


async def test_aclose_of_a_session_websocket_returns_with_the_station_answer(
    tmp_path, autojump_clock
):
    async with running(tmp_path, Internal=INTERNAL) as rig:
        first = await rig.session()
        started = trio.current_time()
        # the websocket's own aclose, as a program might call it: it used to wait forever
        await first.ws.aclose(code=1001, reason=REASON)
        assert trio.current_time() - started < CLOSE_TIMEOUT
        assert (first.ws.closed.code, first.ws.closed.reason) == (1001, REASON)
        await rig.cp.wait_until(lambda: len(rig.csms.all_sessions) == 2 and rig.cp.registered)


async def test_a_charge_point_that_does_not_answer_the_close_is_dropped_after_the_timeout(
    tmp_path, autojump_clock
):
    async with running(tmp_path, Internal=INTERNAL) as rig:
        first = await rig.session()
        rig.net.freeze(*CSMS_ADDRESS)  # the station hears nothing and says nothing
        started = trio.current_time()
        await first.close(1001, REASON)
        assert trio.current_time() - started == CLOSE_TIMEOUT
        assert first.closed.is_set()
        # no answer: trio-websocket still reports its placeholder for our own close
        assert (first.ws.closed.code, first.ws.closed.reason) == (1000, None)
