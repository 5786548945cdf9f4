"""The simulator's command language: what parses, and the one-line reason for what does not."""

from __future__ import annotations

import pytest

from chargebox.sim.commands import Command, CommandError, parse


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("plug 1", Command("plug", connector=1, text="plug 1")),
        ("  UNPLUG 2  # the cable", Command("unplug", connector=2, text="UNPLUG 2")),
        ("rfid 04A2B3C4", Command("rfid", id_tag="04A2B3C4", text="rfid 04A2B3C4")),
        ("rfid TAG 2", Command("rfid", id_tag="TAG", connector=2, text="rfid TAG 2")),
        ("draw 1 10.5 1", Command("draw", connector=1, amps=10.5, phases=1, text="draw 1 10.5 1")),
        (
            "fault 0 groundfailure",
            Command("fault", connector=0, error_code="GroundFailure", text="fault 0 groundfailure"),
        ),
        ("clear-fault 1", Command("clear-fault", connector=1, text="clear-fault 1")),
        ("sleep 0.5", Command("sleep", seconds=0.5, text="sleep 0.5")),
        (
            "wait 1 charging",
            Command("wait", connector=1, status="Charging", seconds=60.0, text="wait 1 charging"),
        ),
        (
            "wait 2 SuspendedEV 5",
            Command(
                "wait", connector=2, status="SuspendedEV", seconds=5.0, text="wait 2 SuspendedEV 5"
            ),
        ),
        ("wait-online 3", Command("wait-online", seconds=3.0, text="wait-online 3")),
        ("quit", Command("quit", text="quit")),
    ],
)
def test_valid_lines(line, expected):
    assert parse(line, connectors=2) == expected


@pytest.mark.parametrize("line", ["", "   ", "# only a comment"])
def test_blank_lines_are_nothing(line):
    assert parse(line, connectors=1) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("plugg 1", "unknown command 'plugg'"),
        ("plug", "usage: plug <c>"),
        ("plug 3", "connector 3 does not exist (allowed: 1..2)"),
        ("plug 0", "connector 0 does not exist"),
        ("plug one", "connector 'one' is not a number"),
        ("rfid ABCDEFGHIJKLMNOPQRSTU", "longer than 20 characters"),
        ("draw 1 200", "current 200 is outside 0..80"),
        ("draw 1 nan", "current nan is outside"),
        ("draw 1 16 4", "phases must be 1, 2 or 3"),
        ("fault 1 NoError", "'NoError' is not a ChargePointErrorCode"),
        ("wait 1 Charged", "'Charged' is not a ChargePointStatus"),
        ("sleep -1", "seconds -1 is outside"),
        ("quit now", "usage: quit"),
    ],
)
def test_bad_lines_say_why_in_one_line(line, reason):
    with pytest.raises(CommandError) as error:
        parse(line, connectors=2)
    assert reason in str(error.value)
    assert "\n" not in str(error.value)
