"""The command line in real processes: `chargebox demo`, and `chargebox csms` + `chargebox sim`.

Real loopback sockets, real time; every wait is bounded and every process is
stopped at the end.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

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
    html = re.search(r"HTML message log: (\S+)", output)
    assert html and Path(html.group(1)) == data / "message-log" / "cp001.html"
    page = Path(html.group(1)).read_text()
    assert "StopTransaction" in page and "DEADBEEF" not in page


def test_csms_and_sim_in_two_processes(tmp_path):
    script = tmp_path / "session.txt"
    script.write_text(SESSION)
    csms = Process([*CHARGEBOX, "csms", "--port", "0", "--interval", "30"], stdin=subprocess.PIPE)
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
    received = [m.group(1) for m in (re.search(r"CP-TWO -> CALL (\w+)", s) for s in csms.out) if m]
    expected = [
        "BootNotification",
        "StatusNotification",
        "Authorize",
        "StartTransaction",
        "MeterValues",
        "StopTransaction",
    ]
    positions = [received.index(action) for action in expected]
    assert positions[0] == 0 and positions[3] < positions[5], received
    assert received.index("Authorize") < received.index("StartTransaction")
    assert "CP-TWO connected" in csms.output()
    # 90 simulated seconds of charging at 11 kW, in 3 s of real time: about 276 Wh
    stop = next(s for s in csms.out if "-> CALL StopTransaction" in s)
    meter_stop = json.loads(stop.split("StopTransaction ", 1)[1])["meterStop"]
    assert 250 < meter_stop < 320, stop
    # the station's side: every status change, with the transaction id
    assert any("connector 1: transaction 1 started" in s for s in sim.out), sim.output()
    # the message log went where --message-log said (MessageLogPath)
    assert "StopTransaction" in (tmp_path / "logs" / "CP-TWO.html").read_text()
    # each printed frame carries its payload as JSON
    boot = next(s for s in csms.out if "-> CALL BootNotification" in s)
    assert json.loads(boot.split("BootNotification ", 1)[1])["chargePointVendor"] == "Pionix"


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
