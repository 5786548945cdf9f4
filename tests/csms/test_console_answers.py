"""An operation typed at `chargebox csms`: its answer is printed once, readably."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from chargebox.csms import CentralSystem
from chargebox.csms.console import ExchangePrinter, run_commands
from tests.support import running

MOMENT = datetime(2025, 1, 1, tzinfo=UTC)
LINES = ['GetConfiguration key=["MeterValueSampleInterval"]', "Frobnicate", "quit", "ClearCache"]


async def typed(tmp_path, *, payloads: bool) -> tuple[bool, list[str]]:
    out = io.StringIO()
    csms = CentralSystem()
    printer = ExchangePrinter(out, lambda: MOMENT, payloads=payloads)
    csms.on_exchange = printer
    async with running(tmp_path, csms=csms, Core={"MeterValueSampleInterval": 77}):
        quit_asked = await run_commands(csms, printer, LINES)
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    return quit_asked, lines


async def test_the_answer_is_the_callresult_line_alone(tmp_path, autojump_clock):
    quit_asked, lines = await typed(tmp_path, payloads=True)
    assert quit_asked  # and ClearCache after quit did not run
    answers = [line for line in lines if "MeterValueSampleInterval" in line]
    # the request and its answer: one line each, JSON, no second rendering of the answer
    assert [a.split(" {")[0] for a in answers] == [
        "CP-1 <- CALL GetConfiguration",
        "CP-1 -> CALLRESULT GetConfiguration",
    ]
    answer = json.loads(answers[1].split(" ", 4)[4])
    assert answer["configurationKey"][0]["value"] == "77"
    assert "error: unknown operation 'Frobnicate' (try: help)" in lines
    assert not any("ClearCache" in line for line in lines)


async def test_without_payloads_the_answer_gets_one_readable_line(tmp_path, autojump_clock):
    _, lines = await typed(tmp_path, payloads=False)
    answers = [line for line in lines if "MeterValueSampleInterval" in line]
    assert len(answers) == 1
    prefix = "CP-1 answered GetConfiguration: "
    assert answers[0].startswith(prefix)
    answer = json.loads(answers[0][len(prefix) :])
    assert answer["configurationKey"] == [
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "77"}
    ]
