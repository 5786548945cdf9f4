"""The command line in real processes: `chargebox demo`, and `chargebox csms` + `chargebox sim`.

Real loopback sockets, real time; every wait is bounded and every process is
stopped at the end.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.interop.processes import CHARGEBOX, Process

from .support import SEED

# run with --speed 30: times are simulated seconds (600 s: 20 s of real time)
SESSION = """\
wait-online 600
plug 1
rfid TAG-1 1
wait 1 Charging 600
sleep 90
rfid TAG-1 1
wait 1 Finishing 600
unplug 1
wait 1 Available 600
quit
"""


def test_demo_runs_a_whole_session_and_exits_0(tmp_path):
    data = tmp_path / "demo"
    with Process([*CHARGEBOX, "demo", "--data-dir", str(data)]) as demo:
        status = demo.wait_exit(60)
    output = demo.output()
    assert status == 0, output
    assert "Summary" in output
    assert re.search(r"station -> CSMS: \d+ messages: .*BootNotification 1", output), output
    for action in ("Authorize 1", "StartTransaction 1", "StopTransaction 1", "MeterValues"):
        assert action in output
    energy = re.search(r"energy (\d+\.\d+) kWh in 1 h 00 min", output)
    assert energy and 10.5 < float(energy.group(1)) < 11.5, output  # 11 kW for an hour
    # the session's lines and the summary give the same energy (what the CSMS received)
    told = re.findall(r"(\d+\.\d+) kWh", output)
    assert told.count(energy.group(1)) == len(told) == 2, output
    html = re.search(r"HTML message log: (\S+)", output)
    assert html and Path(html.group(1)) == data / "message-log" / "cp001.html"
    page = Path(html.group(1)).read_text()
    assert "StopTransaction" in page and "DEADBEEF" not in page


@attrs.frozen
class Printed:
    """One frame as `chargebox csms` printed it: `<time> <id> -> CALL Authorize {...}`."""

    line: int  # its place in the output
    sender: str  # "station" (->) or "csms" (<-)
    kind: str  # CALL, CALLRESULT, CALLERROR
    action: str  # for an answer, the action of the CALL it answers
    payload: Any


PRINTED = re.compile(r"^\S+ (\S+) (->|<-) (CALL|CALLRESULT|CALLERROR) (\S+)(?: (.*))?$")


def printed_frames(lines: list[str], charge_point_id: str) -> list[Printed]:
    frames = []
    for number, line in enumerate(lines):
        match = PRINTED.match(line)
        if match and match.group(1) == charge_point_id:
            _, arrow, kind, action, payload = match.groups()
            body = json.loads(payload) if payload and kind != "CALLERROR" else payload
            sender = "station" if arrow == "->" else "csms"
            frames.append(Printed(number, sender, kind, action, body))
    return frames


def assert_every_call_answered(frames: list[Printed]) -> None:
    """Each CALL is answered (same action, from the other side) before its sender's next CALL:
    OCPP-J allows one CALL in flight per direction, and the CSMS prints every frame."""
    waiting: dict[str, Printed | None] = {"station": None, "csms": None}
    for frame in frames:
        if frame.kind == "CALL":
            assert waiting[frame.sender] is None, f"{waiting[frame.sender]} unanswered at {frame}"
            waiting[frame.sender] = frame
        else:
            caller = "csms" if frame.sender == "station" else "station"
            call = waiting[caller]
            assert call is not None and call.action == frame.action, f"{frame} answers nothing"
            waiting[caller] = None
    assert waiting == {"station": None, "csms": None}, waiting


def test_csms_and_sim_in_two_processes(tmp_path):
    script = tmp_path / "session.txt"
    script.write_text(SESSION)
    csms_args = ["csms", "--port", "0", "--interval", "30", "--first-transaction-id", "41"]
    csms = Process([*CHARGEBOX, *csms_args], stdin=subprocess.PIPE)
    with csms:
        line = csms.wait_line(lambda s: "listening on" in s, 20)
        port = int(re.search(r"ws://127\.0\.0\.1:(\d+)", line).group(1))
        sim = Process(
            [
                *CHARGEBOX,
                "sim",
                "--config",
                str(SEED),
                "--csms",
                f"127.0.0.1:{port}/steve/websocket/CentralSystemService/",
                "--id",
                "CP-TWO",
                "--script",
                str(script),
                "--speed",
                "30",
                "--message-log",
                str(tmp_path / "logs"),
            ]
        )
        with sim:
            csms.wait_line(lambda s: "CP-TWO -> CALL Heartbeat" in s, 20)
            # an operation typed at the CSMS goes to the station and is answered
            assert csms.proc.stdin is not None
            csms.proc.stdin.write('GetConfiguration key=["HeartbeatInterval"]\n')
            csms.proc.stdin.write("Frobnicate CP-TWO\n")
            csms.proc.stdin.flush()
            answer = csms.wait_line(lambda s: "CP-TWO -> CALLRESULT GetConfiguration" in s, 20)
            assert '"key":"HeartbeatInterval"' in answer and '"value":"30"' in answer
            csms.wait_line(lambda s: "error: unknown operation 'Frobnicate'" in s, 20)
            assert sim.wait_exit(40) == 0, sim.output()
        csms.wait_line(lambda s: "CP-TWO disconnected" in s, 20)
    output = csms.output()
    frames = printed_frames(csms.out, "CP-TWO")
    # the connection opens before the first frame and ends after the last
    connected = csms.out.index(next(s for s in csms.out if s.endswith(" CP-TWO connected")))
    disconnected = csms.out.index(next(s for s in csms.out if s.endswith(" CP-TWO disconnected")))
    assert connected < frames[0].line and frames[-1].line < disconnected, output
    # every CALL printed has its answer printed, right after (one CALL in flight per side)
    assert_every_call_answered(frames)
    assert [f.action for f in frames if f.sender == "csms" and f.kind == "CALL"] == [
        "GetConfiguration"
    ]

    # the session, in order: each step's CALL and the CSMS's answer to it
    calls = [f for f in frames if f.sender == "station" and f.kind == "CALL"]

    def answer(call: Printed) -> Any:
        # the CSMS's next answer (a CALL of its own may come in between)
        reply = next(
            f for f in frames if f.line > call.line and f.sender == "csms" and f.kind != "CALL"
        )
        assert reply.kind == "CALLRESULT", (call, reply)
        return reply.payload

    def status(connector: int, value: str) -> Any:
        return lambda c: (
            c.action == "StatusNotification"
            and c.payload["connectorId"] == connector
            and c.payload["status"] == value
        )

    steps = [
        ("BootNotification", lambda c: c.action == "BootNotification"),
        ("connector 0 Available", status(0, "Available")),
        ("connector 1 Available", status(1, "Available")),
        ("Preparing", status(1, "Preparing")),
        ("Authorize", lambda c: c.action == "Authorize" and c.payload["idTag"] == "TAG-1"),
        ("StartTransaction", lambda c: c.action == "StartTransaction"),
        ("Charging", status(1, "Charging")),
        ("MeterValues", lambda c: c.action == "MeterValues"),
        # the connector's Finishing is decided before the StopTransaction goes (as in the
        # demo's traffic, tests/sim/data/demo-traffic.txt)
        ("Finishing", status(1, "Finishing")),
        ("StopTransaction", lambda c: c.action == "StopTransaction"),
        # the script ends with `quit` right after `wait 1 Available`: the station delivers
        # what it decided before it stops
        ("Available again", status(1, "Available")),
    ]
    found: dict[str, Printed] = {}
    rest = iter(calls)
    for name, matches in steps:
        found[name] = next((c for c in rest if matches(c)), None)
        assert found[name] is not None, f"no {name} after {list(found)} in:\n{output}"
    assert calls[0] is found["BootNotification"]
    boot = answer(found["BootNotification"])
    assert boot["status"] == "Accepted" and boot["interval"] == 30
    assert found["BootNotification"].payload["chargePointVendor"] == "Pionix"
    assert answer(found["Authorize"]) == {"idTagInfo": {"status": "Accepted"}}
    start = found["StartTransaction"].payload
    assert (start["connectorId"], start["idTag"], start["meterStart"]) == (1, "TAG-1", 0)
    started = answer(found["StartTransaction"])
    assert started == {"idTagInfo": {"status": "Accepted"}, "transactionId": 41}
    # the transaction id the CSMS gave is the one every later message carries
    meter_values = [
        c for c in calls if c.action == "MeterValues" and c.line > found["StartTransaction"].line
    ]
    assert meter_values and all(c.payload["transactionId"] == 41 for c in meter_values)
    assert all(c.line < found["StopTransaction"].line for c in meter_values), output
    stop = found["StopTransaction"].payload
    assert (stop["transactionId"], stop["idTag"], stop["reason"]) == (41, "TAG-1", "Local")
    assert answer(found["StopTransaction"]) == {"idTagInfo": {"status": "Accepted"}}
    # nothing of the transaction after its StopTransaction, nothing before its start
    assert not any(
        c.action in ("StartTransaction", "StopTransaction", "MeterValues")
        for c in calls
        if c.line > found["StopTransaction"].line
    )
    assert not any(
        c.action in ("MeterValues", "StopTransaction")
        for c in calls
        if c.line < found["StartTransaction"].line
    )
    # 90 simulated seconds of charging at 11 kW, in 3 s of real time: about 276 Wh
    assert 250 < stop["meterStop"] < 320, stop
    # the station's side: every status change, with the transaction id
    assert any("connector 1: transaction 41 started" in s for s in sim.out), sim.output()
    # the message log went where --message-log said (MessageLogPath)
    assert "StopTransaction" in (tmp_path / "logs" / "CP-TWO.html").read_text()


def test_the_pairing_check_sees_a_call_without_its_answer():
    def frames(*lines: str) -> list[Printed]:
        return printed_frames([f"12:00:00.000 CP {line}" for line in lines], "CP")

    answered = frames(
        "-> CALL Heartbeat {}",
        "<- CALL Reset {}",  # the CSMS's own CALL may come before its answer
        '<- CALLRESULT Heartbeat {"currentTime":"2024-05-01T12:00:00Z"}',
        '-> CALLRESULT Reset {"status":"Accepted"}',
    )
    assert_every_call_answered(answered)
    for broken in (
        frames("-> CALL Heartbeat {}", "-> CALL Authorize {}", "<- CALLRESULT Authorize {}"),
        frames("-> CALL Heartbeat {}"),
        frames("<- CALLRESULT Heartbeat {}"),
        frames("-> CALL Heartbeat {}", "<- CALLRESULT Authorize {}"),
    ):
        with pytest.raises(AssertionError):
            assert_every_call_answered(broken)


def test_sim_reports_a_bad_configuration_and_a_bad_script(tmp_path):
    bad = tmp_path / "bad.json"
    document = json.loads(SEED.read_text())
    document["Core"]["HeartbeatInterval"] = -5
    bad.write_text(json.dumps(document))
    run = subprocess.run(
        [*CHARGEBOX, "sim", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2
    assert "Core.HeartbeatInterval = -5" in run.stdout
    missing = subprocess.run(
        [*CHARGEBOX, "sim", "--config", str(SEED), "--script", str(tmp_path / "none.txt")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert missing.returncode == 2 and "cannot read the script" in missing.stderr


def test_security_profile_3_between_the_two_commands(tmp_path):
    """The tutorial's TLS example: client certificates, wss://, with the development PKI."""
    from chargebox import pki

    certs = pki.DevelopmentPki.create(tmp_path / "pki", "cp001")
    config = tmp_path / "station.json"
    document = json.loads(SEED.read_text())
    document["Security"]["SecurityProfile"] = 3
    config.write_text(json.dumps(document))
    script = tmp_path / "boot.txt"
    script.write_text("wait-online 20\nquit\n")
    csms_args = ["--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key)]
    csms_args += ["--client-ca", str(certs.ca_file)]
    with Process([*CHARGEBOX, "csms", "--port", "0", *csms_args]) as csms:
        line = csms.wait_line(lambda s: "listening on" in s, 20)
        port = int(re.search(r"wss://127\.0\.0\.1:(\d+)", line).group(1))
        url = f"127.0.0.1:{port}/steve/websocket/CentralSystemService/"
        tls = ["--ca", str(certs.ca_file), "--client-cert", str(certs.client_cert)]
        tls += ["--client-key", str(certs.client_key)]
        sim_args = ["sim", "--config", str(config), "--csms", url, "--script", str(script)]
        with Process([*CHARGEBOX, *sim_args, *tls]) as sim:
            assert sim.wait_exit(40) == 0, sim.output()
        csms.wait_line(lambda s: "cp001 <- CALLRESULT BootNotification" in s, 20)
        assert "connecting to wss://127.0.0.1" in sim.output()
