"""A session's history: every frame kept and read back as sent, at no cost to later frames.

The development CSMS keeps a record of every frame of a session by default (what
tests and the console read back). It keeps them as plain tuples of plain values,
a CALL's or CALLRESULT's payload in its frame's text, so that the cyclic garbage
collector stops walking them once it has seen them: walking a growing history at
every collection made each later frame of a long session slower. A bare
trio-websocket client on the in-process network plays the charge point (MockClock).
"""

from __future__ import annotations

import gc
import json

import trio

from chargebox.csms import CentralSystem, CsmsSettings, Exchange
from chargebox.csms.server import History
from tests.csms.test_session_reader import connect

METER_VALUES = {
    "connectorId": 1,
    "transactionId": 7,
    "meterValue": [
        {
            "timestamp": "2025-03-01T12:00:00Z",
            "sampledValue": [{"value": "1234", "measurand": "Energy.Active.Import.Register"}],
        }
    ],
}


async def exchange_frames(csms: CentralSystem, frames: list[list[object]]) -> list[str]:
    """Send `frames` one by one as the charge point CP-1; the CSMS's answers."""
    answers = []
    async with trio.open_nursery() as nursery:
        ws = await connect(nursery, csms)
        for frame in frames:
            await ws.send_message(json.dumps(frame))
            with trio.fail_after(5):
                answers.append(await ws.get_message())
        nursery.cancel_scope.cancel()
    return answers


async def test_every_frame_is_read_back_as_it_went(autojump_clock):
    csms = CentralSystem(CsmsSettings())
    frames = [
        [2, "hb-1", "Heartbeat", {}],
        [2, "mv-1", "MeterValues", METER_VALUES],
        [2, "bad-1", "Heartbeat", {"no": "such field"}],  # answered with a CALLERROR
    ]
    answers = await exchange_frames(csms, frames)
    session = csms.all_sessions[-1]
    calls = [ex for ex in session.exchanges if ex.kind == "CALL"]
    assert [(ex.unique_id, ex.action, ex.payload) for ex in calls] == [
        (f[1], f[2], f[3]) for f in frames
    ]
    answered = [ex for ex in session.exchanges if ex.direction == "out"]
    assert [ex.text for ex in answered] == answers
    result = json.loads(answers[0])
    assert answered[0].kind == "CALLRESULT" and answered[0].payload == result[2]
    assert answered[1].payload == {}  # MeterValues.conf
    assert answered[2].kind == "CALLERROR"
    assert answered[2].payload == json.loads(answers[2])[2]  # its error code
    assert all(isinstance(ex, Exchange) for ex in session.exchanges)
    assert csms.received("CP-1", "MeterValues")[0].meter_value[0].sampled_value[0].value == "1234"
    # a sequence: its length, negative indexes and slices read the same records
    exchanges = list(session.exchanges)
    assert len(session.exchanges) == len(exchanges)
    assert session.exchanges[-1] == exchanges[-1]
    assert session.exchanges[1:3] == exchanges[1:3]


async def test_the_records_are_not_walked_by_the_collector(autojump_clock):
    csms = CentralSystem(CsmsSettings())
    frames: list[list[object]] = []
    for n in range(20):
        frames.append([2, f"hb-{n}", "Heartbeat", {}])
        frames.append([2, f"mv-{n}", "MeterValues", METER_VALUES])
    await exchange_frames(csms, frames)
    session = csms.all_sessions[-1]
    assert len(session.exchanges) >= 80
    gc.collect()
    assert not [row for row in session.exchanges.rows if gc.is_tracked(row)]


def test_a_bounded_history_keeps_the_last_records():
    history = History(keep=2)
    made = [Exchange(None, "in", "CALL", "Heartbeat", str(n), {"n": n}, "") for n in range(3)]
    for exchange in made:
        history.append(exchange)
    assert list(history) == made[1:]  # appended as they are, the oldest gone
    assert history[0].payload == {"n": 1}
