"""What `chargebox sim` prints: the status line of a connector, plain lines, the live block."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from chargebox.sim.console import LineOutput, TerminalOutput, describe
from chargebox.sim.simulator import StatusRow

CHARGING = StatusRow(1, "Charging", 11040.0, 2350.0, 1200.0, 7, 43.4, True)
IDLE = StatusRow(2, "Available", 0.0, 0.0, None, None, None, False)


def test_a_connector_in_one_line():
    assert describe(CHARGING) == (
        "1 Charging        11.0 kW      2.35 kWh (session 1.20 kWh)  tx 7  SoC 43%"
    )
    assert describe(IDLE) == "2 Available        0.0 kW      0.00 kWh  unplugged"


def test_plain_lines_carry_the_station_time_and_errors_go_to_stderr():
    out, err = io.StringIO(), io.StringIO()
    output = LineOutput(out, err, clock=lambda: datetime(2025, 1, 1, 12, 0, 3, 250000, UTC))
    output.event("connector 1: Charging")
    output.error("plug: connector 9 does not exist")
    output.status([CHARGING], True)  # events already say it: nothing more in a log
    assert out.getvalue() == "12:00:03.250 connector 1: Charging\n"
    assert err.getvalue() == "12:00:03.250 error: plug: connector 9 does not exist\n"


def test_the_live_block_is_redrawn_under_the_events():
    out = io.StringIO()
    output = TerminalOutput(out)
    output.status([CHARGING, IDLE], True)
    output.event("connector 2: Preparing")
    output.close()
    text = out.getvalue()
    # drawn (2 lines), erased (cursor up 2, clear), the event, drawn again, erased at the end
    assert text.count("\x1b[2F\x1b[J") == 2
    assert text.index("connector 2: Preparing") > text.index("\x1b[2F\x1b[J")
    assert text.count(describe(CHARGING)) == 2


def test_a_line_typed_under_the_block_is_erased_with_it():
    out = io.StringIO()
    output = TerminalOutput(out)
    output.status([CHARGING], True)
    output.typed_line()  # the terminal echoed `plug 1` under the block
    output.event("> plug 1")
    output.event("connector 1: Preparing")
    text = out.getvalue()
    # the first erase takes the block and the typed line; the next one the block alone
    assert text.index("\x1b[2F\x1b[J") < text.index("> plug 1") < text.index("\x1b[1F\x1b[J")
    assert text.count("\x1b[2F\x1b[J") == 1
