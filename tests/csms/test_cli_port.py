"""`chargebox csms` with a port it cannot use: one line naming the port, no traceback."""

from __future__ import annotations

import socket
import subprocess

import pytest

from chargebox.csms import CentralSystem
from tests.interop.processes import CHARGEBOX


def csms(*args: str) -> subprocess.CompletedProcess[str]:
    # a CSMS that does start serves until it is stopped: the timeout fails the test then
    return subprocess.run(
        [*CHARGEBOX, "csms", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("port", ["-1", "99999", "65536", "eighty"])
def test_a_port_outside_0_to_65535_is_refused_in_one_line(port):
    run = csms("--port", port)
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith(f"chargebox csms: --port {port}") or f"'{port}'" in line, line
    assert "allowed: 0..65535; 0: any free port" in line


def test_a_port_in_use_is_named_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = csms("--port", str(port))
    assert run.returncode == 1, run.stderr
    [line] = run.stderr.splitlines()
    assert line == f"chargebox csms: cannot listen on 127.0.0.1:{port}: Address already in use"


async def test_serve_refuses_a_port_the_system_would_wrap():
    with pytest.raises(ValueError, match=r"port 99999 is outside 0\.\.65535"):
        await CentralSystem().serve("127.0.0.1", 99999)
