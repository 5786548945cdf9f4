"""`chargebox sim` on a terminal draws a live status line per connector; through a pipe it
prints plain lines.

Both run the same scripted session against `chargebox csms` on an ephemeral loopback
port: on a pseudo-terminal (the `pty` module) the output must hold the status line
(status, power, energy, transaction id) redrawn in place; through a pipe, plain
event lines with no terminal control sequence at all. Real processes, real time;
every wait is bounded and every process is stopped at the end.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from tests.interop.processes import CHARGEBOX, Process

from .support import SEED

# --speed 30: simulated seconds (600: 20 s of real time at most)
SESSION = """\
wait-online 600
plug 1
rfid TAG-1 1
wait 1 Charging 600
sleep 45
rfid TAG-1 1
wait 1 Finishing 600
unplug 1
wait 1 Available 600
quit
"""
TRANSACTION_ID = 41  # --first-transaction-id of the CSMS: not a number a default would give

# one drawn status line: reverse video around what `describe` says of the connector
DRAWN = re.compile(r"\x1b\[7m (.*?) \x1b\[0m")
CHARGING = re.compile(
    r"1 Charging +(?P<kw>\d+\.\d) kW +(?P<kwh>\d+\.\d\d) kWh \(session (?P<session>\d+\.\d\d) kWh\)"
    rf"  tx {TRANSACTION_ID}  SoC \d+%"
)
PLAIN = re.compile(r"\d\d:\d\d:\d\d\.\d{3} \S.*")  # `HH:MM:SS.mmm <event>`


@pytest.fixture
def csms_url():
    """`chargebox csms` on an ephemeral port; the URL a station connects to (no scheme)."""
    args = ["csms", "--port", "0", "--first-transaction-id", str(TRANSACTION_ID), "--quiet"]
    with Process([*CHARGEBOX, *args]) as csms:
        line = csms.wait_line(lambda s: "listening on" in s, 20)
        port = int(re.search(r"ws://127\.0\.0\.1:(\d+)", line).group(1))
        yield f"127.0.0.1:{port}/steve/websocket/CentralSystemService/"


def _sim_args(tmp_path: Path, csms_url: str) -> list[str]:
    script = tmp_path / "session.txt"
    script.write_text(SESSION)
    return [
        *CHARGEBOX,
        "sim",
        "--config",
        str(SEED),
        "--csms",
        csms_url,
        "--id",
        "CP-TTY",
        "--script",
        str(script),
        "--speed",
        "30",
        "--data-dir",
        str(tmp_path / "data"),
    ]


def run_on_terminal(args: list[str], stderr: Path, timeout: float) -> tuple[int, str]:
    """Run `args` with a pseudo-terminal as its stdout; its exit status and all it wrote."""
    master, slave = pty.openpty()
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "TERM": "xterm"},
        )
    os.close(slave)  # the child holds the only copy: its exit ends the output
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                so_far = b"".join(chunks).decode(errors="replace")
                raise AssertionError(f"no end within {timeout} s; so far:\n{so_far}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not data:
                break
            chunks.append(data)
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    # the terminal's line discipline writes each newline as \r\n
    return status, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_on_a_terminal_each_connector_has_a_live_status_line(tmp_path, csms_url):
    status, text = run_on_terminal(_sim_args(tmp_path, csms_url), tmp_path / "stderr", 60)
    assert status == 0, text + (tmp_path / "stderr").read_text()
    drawn = DRAWN.findall(text)
    # the line follows the connector through the session
    assert any(re.fullmatch(r"1 Available +0\.0 kW +0\.00 kWh  unplugged", d) for d in drawn)
    assert any(d.startswith("1 Preparing ") for d in drawn), drawn
    charging = [m for m in map(CHARGING.fullmatch, drawn) if m]
    assert len(charging) >= 2, drawn  # redrawn while charging, not drawn once
    # power drawn by the EV (11 kW, three phases at 16 A), energy counting up
    assert all(10.0 <= float(m["kw"]) <= 12.0 for m in charging), drawn
    energies = [float(m["kwh"]) for m in charging]
    assert energies == sorted(energies) and energies[-1] > energies[0], energies
    assert float(charging[-1]["session"]) > 0
    # redrawn in place: one connector's block is erased (cursor up 1, clear) before the
    # next drawing, and events scroll above it
    assert text.count("\x1b[1F\x1b[J") >= len(drawn) - 1
    assert re.search(r"\x1b\[1F\x1b\[J\d\d:\d\d:\d\d\.\d{3} connector 1: Charging\n", text)
    # at the end the block is gone: the terminal is left clean
    assert text.rstrip("\n").endswith("\x1b[1F\x1b[J"), repr(text[-200:])


def test_through_a_pipe_it_prints_plain_lines(tmp_path, csms_url):
    with Process(_sim_args(tmp_path, csms_url)) as sim:
        status = sim.wait_exit(60)
    assert status == 0, sim.output()
    lines = sim.out + sim.err
    assert not [line for line in lines if "\x1b" in line or "\r" in line], sim.output()
    # one event per line, with the station's time; no status line (power, energy) in a log
    assert all(PLAIN.fullmatch(line) for line in sim.out), sim.output()
    assert not any(" kW " in line or "kWh" in line for line in lines), sim.output()
    events = [line.split(" ", 1)[1] for line in sim.out]
    for expected in (
        "connector 1: Preparing",
        "connector 1: Charging",
        f"connector 1: transaction {TRANSACTION_ID} started",
        "connector 1: Finishing",
        "connector 1: Available",
    ):
        assert expected in events, sim.output()


def test_a_command_typed_on_the_terminal_is_shown_as_it_ran(tmp_path, csms_url):
    """stdin and stdout on a terminal: each typed line comes back as an event, `> plug 1`,
    above the live block, and the line the terminal echoed under the block is erased
    with it (the block's erase goes up one line more)."""
    args = [a for a in _sim_args(tmp_path, csms_url) if a != "--script"]
    args = [a for a in args if not a.endswith("session.txt")]
    master, slave = pty.openpty()
    with (tmp_path / "stderr").open("w") as err:
        proc = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "TERM": "xterm"},
        )
    os.close(slave)
    received = bytearray()

    def read_until(marker: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while marker.encode() not in received:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([master], [], [], max(0.0, min(left, 0.5)))
            data = b""
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other end is closed
                    pass
            received.extend(data)
            if not data and (left <= 0 or proc.poll() is not None):
                so_far = received.decode(errors="replace")
                raise AssertionError(f"no {marker!r}; so far:\n{so_far}")
        return received.decode(errors="replace").replace("\r\n", "\n")

    try:
        read_until("link: registered")
        os.write(master, b"plug 1\n")
        read_until("> plug 1")
        read_until("connector 1: Preparing")
        os.write(master, b"plgu 1\n")
        read_until("error: unknown command 'plgu'")
        os.write(master, b"quit\n")
        status = proc.wait(timeout=30)
        text = read_until("> quit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    # each command, as it ran, is an event line with the station's time
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} > plug 1\n", text), text
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} > plgu 1\n.*error: unknown command 'plgu'", text, re.S)
    # the terminal echoed the typed line under the one-connector block; an erase of two
    # lines (the block and the typed line) follows it
    typed = text.index("plug 1\n")
    assert "\x1b[2F\x1b[J" in text[typed:], repr(text[typed:])
    assert status == 1  # the bad line counts as a failed command
