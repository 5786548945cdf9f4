"""`chargebox fleet`: what it prints, its JSON summary, its shard processes, and one clear line
(with a non-zero status) for each thing it cannot do."""

from __future__ import annotations

import json
import re
import socket

import pytest

from chargebox.cli import main
from chargebox.fleet import Summary
from tests.fleet.support import template


def fleet(*args: str) -> int:
    return main(["fleet", *args])


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            ["--count", "0"],
            "chargebox fleet: --count 0: a fleet needs at least 1 station",
        ),
        (
            ["--count", "10", "--id-pattern", "station"],
            "chargebox fleet: --id-pattern 'station' has no placeholder for the station number: "
            "write one, for example cp{:05d} or CP-{}",
        ),
        (
            ["--count", "10", "--shard", "2/2"],
            "chargebox fleet: --shard 2/2: the shard must be i/n with n >= 1 and 0 <= i < n "
            "(for example 0/4 ... 3/4)",
        ),
        (
            ["--count", "10", "--shard", "half"],
            "chargebox fleet: --shard 'half' is not a shard: give i/n with 0 <= i < n "
            "(for example 0/4)",
        ),
        (
            ["--count", "10", "--virtual-time"],
            "chargebox fleet: --virtual-time needs --csms dev: a Central System in another "
            "process runs on real time (use --speed X to run the stations' clock faster)",
        ),
        (
            ["--count", "10", "--profile", "rush-hour"],
            "chargebox fleet: --profile 'rush-hour' is not a profile (known: idle, light, busy)",
        ),
        (
            ["--count", "10", "--ramp", "-5"],
            "chargebox fleet: --ramp -5.0: give stations per second, 0 or more (0: all at once)",
        ),
        (
            ["--count", "10", "--arrivals-per-hour", "-1"],
            "chargebox fleet: --arrivals-per-hour -1.0: allowed is 0 or more",
        ),
        (
            ["--count", "10", "--processes", "0"],
            "chargebox fleet: --processes 0: allowed is 1 or more",
        ),
        (
            ["--count", "10", "--processes", "2", "--shared-db", "fleet.db"],
            "chargebox fleet: --shared-db with --processes: processes cannot share one SQLite "
            "file; run each shard with --shard I/N and a file of its own, or use --data-dir",
        ),
        (
            ["--count", "10", "--durability", "off"],
            "chargebox fleet: --durability 'off' is not a durability "
            "(known: power-safe, crash-safe)",
        ),
    ],
    ids=[
        "no-stations",
        "no-placeholder",
        "shard-index",
        "shard-text",
        "virtual-time",
        "profile",
        "ramp",
        "arrivals",
        "processes",
        "shared-db-processes",
        "durability",
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, options, line):
    status = fleet("--config", str(template(tmp_path)), *options)
    out, err = capsys.readouterr()
    assert status == 2
    assert err.splitlines() == [line]
    assert out == ""


def test_a_template_that_does_not_load_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nowhere.json"
    assert fleet("--config", str(missing), "--count", "3") == 2
    [line] = capsys.readouterr().err.splitlines()
    assert (
        line == f"chargebox fleet: the template {missing} does not load: {missing}: file not found"
    )


def test_an_unreachable_central_system_is_one_line(tmp_path, capsys):
    port = free_port()
    url = f"ws://127.0.0.1:{port}/steve/websocket/CentralSystemService/"
    # (bounded: were it not found out, the fleet would end after its duration, with status 0)
    status = fleet(
        "--config", str(template(tmp_path)), "--count", "20", "--csms", url, "--duration", "60"
    )
    out, err = capsys.readouterr()
    assert status == 1
    [line] = err.splitlines()
    assert re.fullmatch(
        f"chargebox fleet: no station could connect to {re.escape(url)}: cannot reach the "
        rf"Central System at 127\.0\.0\.1:{port}: .+ \(\d+ attempts failed\)",
        line,
    ), line
    assert "Traceback" not in out + err


def test_a_fleet_against_the_development_csms(tmp_path, capsys):
    out_json = tmp_path / "summary.json"
    status = fleet(
        "--config",
        str(template(tmp_path)),
        "--count",
        "30",
        "--csms",
        "dev",
        "--virtual-time",
        "--duration",
        "1800",
        "--profile",
        "busy",
        "--progress",
        "none",
        "--json",
        str(out_json),
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    summary = Summary.from_json(json.loads(out_json.read_text()))
    assert (summary.stations, summary.started, summary.ever_accepted) == (30, 30, 30)
    assert summary.transactions.started == summary.transactions.stop_confirmed > 0
    assert summary.simulated_s >= 1800
    lines = out.splitlines()
    assert lines[0].startswith("chargebox fleet: 30 stations (fleet), 30m")
    assert "  stations      30 started, 30 connected and 30 Accepted at the end" in lines[1]
    assert lines[-1] == "  errors        none"


def test_processes_run_shards_and_merge_their_summaries(tmp_path, capsys):
    out_json = tmp_path / "summary.json"
    status = fleet(
        "--config",
        str(template(tmp_path)),
        "--count",
        "21",
        "--csms",
        "dev",
        "--virtual-time",
        "--duration",
        "600",
        "--profile",
        "busy",
        "--processes",
        "2",
        "--progress",
        "none",
        "--json",
        str(out_json),
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    summary = Summary.from_json(json.loads(out_json.read_text()))
    assert summary.shard == "all" and summary.shards == ["0/2", "1/2"]
    assert (summary.stations, summary.started, summary.ever_accepted) == (21, 21, 21)
    assert summary.transactions.started == summary.transactions.stop_confirmed
    assert out.splitlines()[0].startswith("chargebox fleet: 21 stations (2 shards)")


def test_a_shard_process_that_fails_is_one_line(tmp_path, capsys):
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ocpp/"
    status = fleet(
        "--config", str(template(tmp_path)), "--count", "20", "--csms", url, "--processes", "2"
    )
    err = capsys.readouterr().err
    assert status == 1
    [line] = err.splitlines()
    assert line.startswith("chargebox fleet: shard ")
    assert f"no station could connect to {url}: cannot reach the Central System" in line


def test_json_to_standard_output(tmp_path, capsys):
    options = ["--count", "3", "--csms", "dev", "--virtual-time", "--duration", "60"]
    status = fleet("--config", str(template(tmp_path)), *options, "--json", "-")
    out, err = capsys.readouterr()
    assert status == 0, err
    summary = Summary.from_json(json.loads(out))  # standard output holds the JSON alone
    assert summary.ever_accepted == 3
    assert err.splitlines()[-1] == "  errors        none"  # the text went to standard error
