"""`chargebox sim` and `chargebox demo` with bad input: the problem names the user's file or
option, the key, the value and what is allowed; never the file the simulator generates.

Real processes; each stops by itself (a bad start ends at once, with status 2).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from chargebox.config import ConfigError
from chargebox.sim import SimSettings, Simulator
from tests.interop.processes import CHARGEBOX

from .support import SEED


def chargebox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHARGEBOX, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_a_bad_value_names_the_users_file_not_the_generated_one(tmp_path):
    bad = tmp_path / "station.json"
    document = json.loads(SEED.read_text())
    document["Core"]["HeartbeatInterval"] = -5
    bad.write_text(json.dumps(document))
    data = tmp_path / "data"
    run = chargebox("sim", "--config", str(bad), "--data-dir", str(data))
    assert run.returncode == 2
    problems = [line.strip() for line in run.stdout.splitlines()[1:]]
    assert problems == [f"{bad}: Core.HeartbeatInterval = -5: must be an integer >= 0"], run.stdout
    assert "sim-config.json" not in run.stdout + run.stderr


def test_a_bad_override_names_the_option(tmp_path):
    run = chargebox("sim", "--config", str(SEED), "--csms", "ws://127.0.0.1:99999/ocpp/")
    assert run.returncode == 2
    [problem] = run.stdout.splitlines()[1:]
    assert problem.strip().startswith(
        '--csms: Internal.CentralSystemURI = "ws://127.0.0.1:99999/ocpp/": '
    ), run.stdout
    assert "sim-config.json" not in run.stdout + run.stderr


def test_json_that_does_not_parse_names_the_users_file_and_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "Core": {\n    "HeartbeatInterval": ,\n')
    run = chargebox("sim", "--config", str(broken))
    assert run.returncode == 2
    [problem] = run.stdout.splitlines()[1:]
    assert problem.strip().startswith(f"{broken}:3:26: not valid JSON"), run.stdout
    assert "Traceback" not in run.stderr


def test_a_key_written_twice_is_reported_not_dropped(tmp_path):
    text = SEED.read_text().replace(
        '"HeartbeatInterval": ', '"HeartbeatInterval": 60, "HeartbeatInterval": ', 1
    )
    twice = tmp_path / "twice.json"
    twice.write_text(text)
    run = chargebox("sim", "--config", str(twice))
    assert run.returncode == 2
    assert f"{twice}: Core.HeartbeatInterval: key appears more than once" in run.stdout


@pytest.mark.parametrize("command", ["sim", "demo"])
def test_a_data_dir_that_is_a_file_is_named_in_one_line(tmp_path, command):
    occupied = tmp_path / "data"
    occupied.write_text("not a directory")
    args = ["--config", str(SEED)] if command == "sim" else []
    run = chargebox(command, *args, "--data-dir", str(occupied))
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"chargebox {command}: --data-dir {occupied}: this is a file, not a directory"
    ]
    assert occupied.read_text() == "not a directory"


@pytest.mark.parametrize("url", ["ws://127.0.0.1:0/ocpp/", "127.0.0.1:65536/ocpp/"])
def test_a_csms_port_outside_1_to_65535_is_refused(tmp_path, url):
    # port 0 would become the default port 80 without a word
    with pytest.raises(ConfigError) as refused:
        Simulator(SimSettings(config=SEED, csms_url=url, data_dir=tmp_path / "data"))
    [problem] = refused.value.problems
    assert (problem.file, problem.key) == ("--csms", "CentralSystemURI")
    assert str(problem).endswith("has an invalid port (allowed: 1..65535)")
