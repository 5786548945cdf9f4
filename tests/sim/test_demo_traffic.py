"""The demo's OCPP traffic is the recorded one (tests/sim/data/demo-traffic.txt).

A change of the engine that changes what the demo sends (a StatusNotification
more or less, a field, an order, a moment) fails here with the difference. How
the run is made repeatable, and what the record leaves open, is explained in
tests/sim/demo_traffic.py.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime

import pytest

from chargebox.csms.server import Exchange
from tests.sim.demo_traffic import GOLDEN, canonical, golden, record


def _difference(expected: list[str], actual: list[str]) -> str:
    return "\n".join(
        difflib.unified_diff(expected, actual, GOLDEN.name, "this run", lineterm="", n=2)
    )


def test_the_demo_sends_the_recorded_traffic():
    actual = canonical(record())
    expected = golden()
    if actual != expected:
        pytest.fail(
            f"the demo's OCPP traffic is not the one recorded in {GOLDEN}:\n"
            f"{_difference(expected, actual)}\n(if the change is intended: "
            "python -m tests.sim.demo_traffic > tests/sim/data/demo-traffic.txt)",
            pytrace=False,
        )


# -- what the record keeps and what it leaves open --------------------------------------

_T = datetime(2025, 3, 14, tzinfo=UTC)


def _call(uid: str, action: str, payload: dict) -> Exchange:
    return Exchange(_T, "in", "CALL", action, uid, payload, "")


def _result(uid: str, payload: dict | None = None) -> Exchange:
    return Exchange(_T, "out", "CALLRESULT", None, uid, payload or {}, "")


def _status(uid: str, status: str) -> list[Exchange]:
    payload = {"connectorId": 1, "errorCode": "NoError", "status": status}
    return [_call(uid, "StatusNotification", payload), _result(uid)]


def _meter_values(uid: str, context: str, wh: str) -> list[Exchange]:
    sampled = {"context": context, "measurand": "Energy.Active.Import.Register", "value": wh}
    payload = {"connectorId": 1, "meterValue": [{"timestamp": "t", "sampledValue": [sampled]}]}
    return [_call(uid, "MeterValues", payload), _result(uid)]


def _heartbeat(uid: str) -> list[Exchange]:
    return [_call(uid, "Heartbeat", {}), _result(uid, {"currentTime": "t"})]


def _at(when: float, exchanges: list[Exchange]) -> list[tuple[float, Exchange]]:
    return [(when, ex) for ex in exchanges]


def _session(*parts: list[tuple[float, Exchange]]) -> list[str]:
    return canonical([frame for part in parts for frame in part])


def test_the_record_changes_with_a_frame_more_a_field_or_the_order():
    plain = _session(
        _at(0, _status("a", "Preparing")),
        _at(0, _status("b", "Charging")),
        _at(300, _heartbeat("c")),
    )
    one_more = _session(
        _at(0, _status("a", "Preparing")),
        _at(0, _status("x", "Preparing")),
        _at(0, _status("b", "Charging")),
        _at(300, _heartbeat("c")),
    )
    other_field = _session(
        _at(0, _status("a", "Preparing")),
        _at(0, _status("b", "Finishing")),
        _at(300, _heartbeat("c")),
    )
    other_order = _session(
        _at(0, _status("b", "Charging")),
        _at(0, _status("a", "Preparing")),
        _at(300, _heartbeat("c")),
    )
    later = _session(
        _at(0, _status("a", "Preparing")),
        _at(0, _status("b", "Charging")),
        _at(301, _heartbeat("c")),
    )
    assert len({tuple(v) for v in (plain, one_more, other_field, other_order, later)}) == 5


def test_the_record_leaves_open_what_chance_decides():
    # two timers due at one instant, and a reading before or after the simulator's tick
    first = _session(
        _at(900, _heartbeat("a")), _at(900, _meter_values("b", "Sample.Periodic", "2760"))
    )
    second = _session(
        _at(900, _meter_values("x", "Sample.Periodic", "2714")), _at(900, _heartbeat("y"))
    )
    assert first == second
    assert any('"value":"<value>"' in line for line in first)
