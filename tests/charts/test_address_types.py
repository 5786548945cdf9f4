"""A type checker catches an event sent to the wrong chart: mypy runs on a small module that
sends right and wrong events through `Send`, `ActorGroup.deliver` and `ActorGroup.ask`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

SNIPPET = """\
from chargebox.actors.supervision import ActorGroup
from chargebox.charts.addresses import Address
from chargebox.charts.effects import Send
from chargebox.charts.events.connector import FaultDetected, UsageInitiated
from chargebox.charts.events.transaction import StopRequested


async def run(group: ActorGroup) -> None:
    Send(Address.transaction(1), StopRequested(reason="Remote"))  # right
    Send(Address.transaction(1), UsageInitiated())  # wrong: a connector's event
    await group.deliver(Address.connector(1), UsageInitiated())  # right
    await group.deliver(Address.connector0(), FaultDetected(error_code="GroundFailure"))  # right
    await group.deliver(Address.any_connector(2), FaultDetected(error_code="GroundFailure"))
    await group.deliver(Address.connector0(), UsageInitiated())  # wrong: not for connector 0
    await group.ask(Address.link(), StopRequested(reason="Remote"))  # wrong: a transaction's
"""


def test_mypy_refuses_an_event_of_another_chart(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")
    module = tmp_path / "sending.py"
    module.write_text(SNIPPET, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            str(module),
            "--follow-imports=silent",
            "--ignore-missing-imports",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(SRC)},
        timeout=120,
        check=False,
    )
    flagged = sorted({int(m) for m in re.findall(r"sending\.py:(\d+): error", result.stdout)})
    wrong = [n for n, line in enumerate(SNIPPET.splitlines(), 1) if "# wrong" in line]
    assert flagged == wrong, result.stdout + result.stderr
