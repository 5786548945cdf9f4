"""The text sinks: the .log file, console and console_detailed, the raw log, the security log,
the callback; and LogMessages false."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import orjson
import pytest

from chargebox.messagelog import ConnectionEvent, Entry, LogSettings, MessageLog, MessageType
from chargebox.messagelog.text import one_line

from .support import START, TickingClock, call, error, read_page, result, run_session


def test_the_text_log_has_a_heading_and_the_indented_json_per_frame(tmp_path: Path):
    with MessageLog(tmp_path, LogSettings(formats=["log"]), "CP-1", TickingClock()) as log:
        log.connection("connected", "ws://127.0.0.1:8180/ocpp/CP-1")
        log.frame("in", "[]")
        log.frame("out", call("b1", "BootNotification", {"chargePointVendor": "V"}))
        log.frame("in", result("b1", {"status": "Accepted"}))
        log.frame("in", call("r1", "Reset", {"type": "Soft"}))
        log.frame("out", error("r1", "InternalError", "reset\nrefused"))
        log.frame("in", result("zz", {}))  # answers nothing we sent
        log.frame("in", "oops\x1b[2J\nsecond line")
    written = (tmp_path / "CP-1.log").read_text(encoding="utf-8")
    # the JSON parser's words for what is wrong with text that is not JSON
    written, n = re.subn(r"\(not JSON: [^\n]+\)\n", "(not JSON: ...)\n", written)
    assert n == 1
    assert written == (
        "2024-05-01T12:00:00.250Z SYS log opened: message log of CP-1\n\n"
        "2024-05-01T12:00:00.500Z SYS connected: ws://127.0.0.1:8180/ocpp/CP-1\n\n"
        "2024-05-01T12:00:00.750Z CSMS->CP invalid (an array of 0 element(s) is not an OCPP-J "
        "message)\n[]\n\n"
        "2024-05-01T12:00:01.000Z CP->CSMS CALL BootNotification id=b1\n"
        '[\n  2,\n  "b1",\n  "BootNotification",\n  {\n    "chargePointVendor": "V"\n  }\n]\n\n'
        "2024-05-01T12:00:01.250Z CSMS->CP CALLRESULT BootNotification id=b1\n"
        '[\n  3,\n  "b1",\n  {\n    "status": "Accepted"\n  }\n]\n\n'
        "2024-05-01T12:00:01.500Z CSMS->CP CALL Reset id=r1\n"
        '[\n  2,\n  "r1",\n  "Reset",\n  {\n    "type": "Soft"\n  }\n]\n\n'
        "2024-05-01T12:00:01.750Z CP->CSMS CALLERROR Reset (InternalError: reset\\nrefused) id=r1\n"
        '[\n  4,\n  "r1",\n  "InternalError",\n  "reset\\nrefused",\n  {}\n]\n\n'
        "2024-05-01T12:00:02.000Z CSMS->CP CALLRESULT ? id=zz\n"
        '[\n  3,\n  "zz",\n  {}\n]\n\n'
        "2024-05-01T12:00:02.250Z CSMS->CP invalid (not JSON: ...)\n"
        "oops\\x1b[2J\nsecond line\n\n"
        "2024-05-01T12:00:02.500Z SYS log closed\n\n"
    )


def test_console_logs_type_and_action_one_line_each(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="chargebox.messagelog.console")
    with MessageLog(tmp_path, LogSettings(formats=["console"]), "CP-1", TickingClock()) as log:
        log.frame("out", call("b1", "BootNotification", {"chargePointVendor": "V"}))
        log.frame("in", result("b1", {"status": "Accepted"}))
        log.frame("in", "not\nJSON")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:3] + lines[4:] == [
        "SYS log opened: message log of CP-1",
        "CP->CSMS CALL BootNotification",
        "CSMS->CP CALLRESULT BootNotification",
        "SYS log closed",
    ]
    # what is wrong, in the JSON parser's words, on the same line
    assert re.fullmatch(r"CSMS->CP invalid \(not JSON: [^\n]+\)", lines[3])
    assert list(tmp_path.iterdir()) == []  # console only: no file


def test_console_detailed_adds_the_whole_frame(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="chargebox.messagelog.console")
    settings = LogSettings(formats=["console", "console_detailed"])
    text = call("b1", "BootNotification", {"chargePointVendor": "V"})
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        log.frame("out", text)
    assert caplog.records[1].getMessage() == f"CP->CSMS CALL BootNotification {text}"
    assert len(caplog.records) == 3  # detailed wins: one line per frame, not two


def test_the_raw_log_keeps_each_text_exactly_as_sent(tmp_path: Path):
    settings = LogSettings(formats=[], raw=True)
    texts = [
        '[2, "b1", "BootNotification",   {"chargePointVendor":"V"} ]',
        '[3,"b1",{"status":"Accepted","currentTime":"2024-05-01T12:00:00Z","interval":300}]',
        "not JSON at all\n\twith lines",
    ]
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        log.frame("out", texts[0])
        log.frame("in", texts[1])
        log.frame("in", texts[2])
    lines = (tmp_path / "CP-1_raw.jsonl").read_text(encoding="utf-8").splitlines()
    records = [orjson.loads(line) for line in lines]
    assert [r.get("text") for r in records[1:4]] == texts
    assert [r["direction"] for r in records] == ["sys", "out", "in", "in", "sys"]
    assert records[1]["time"] == "2024-05-01T12:00:00.500Z"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CP-1_raw.jsonl"]


def test_the_security_log_has_one_json_line_per_event(tmp_path: Path):
    settings = LogSettings(formats=["security"])
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        log.frame("out", call("h", "Heartbeat", {}))  # not a security event: not in this log
        log.security_event("SettingSystemTime", "from 2024-05-01T11:00:00Z\nto 12:00", START)
        log.security_event("StartupOfTheDevice")
    lines = (tmp_path / "CP-1-security.log").read_text(encoding="utf-8").splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {
            "type": "SettingSystemTime",
            "timestamp": "2024-05-01T12:00:00.000Z",
            "techInfo": "from 2024-05-01T11:00:00Z\nto 12:00",
        },
        {"type": "StartupOfTheDevice", "timestamp": "2024-05-01T12:00:00.750Z"},
    ]


def test_the_callback_gets_every_entry_and_cannot_break_the_log(tmp_path: Path, caplog):
    seen: list[Entry] = []

    def callback(entry: Entry) -> None:
        seen.append(entry)
        raise RuntimeError("host bug")

    settings = LogSettings(formats=["callback", "log"])
    with MessageLog(tmp_path, settings, "CP-1", TickingClock(), callback=callback) as log:
        log.frame("out", call("b1", "BootNotification", {}))
        log.frame("in", result("b1", {"status": "Accepted"}))
    assert [(e.message_type, e.action) for e in seen[1:3]] == [
        (MessageType.CALL, "BootNotification"),
        (MessageType.CALLRESULT, "BootNotification"),
    ]
    assert "BootNotification" in (tmp_path / "CP-1.log").read_text(encoding="utf-8")
    assert "the callback failed" in caplog.text


def test_a_callback_without_the_callback_format_is_not_called(tmp_path: Path):
    seen: list[Entry] = []
    with MessageLog(tmp_path, LogSettings(formats=["log"]), "CP-1", callback=seen.append) as log:
        log.frame("out", call("b1", "BootNotification", {}))
    assert seen == []


def test_log_messages_false_writes_nothing_at_all(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = LogSettings(
        enabled=False,
        formats=["console", "log", "html", "session_logging", "security"],
        raw=True,
    )
    log = MessageLog(tmp_path / "log", settings, "CP-1", TickingClock())
    run_session(log, session_folder=tmp_path / "session")
    log.close()
    assert list(tmp_path.iterdir()) == []
    assert caplog.records == []
    assert log.paths == {}


def test_paths_and_file_names(tmp_path: Path):
    settings = LogSettings(formats=["log", "html", "security", "session_logging"], raw=True)
    with MessageLog(tmp_path, settings, "../CP 1/x", TickingClock()) as log:
        assert {k: p.name for k, p in log.paths.items()} == {
            "log": "___CP_1_x.log",
            "html": "___CP_1_x.html",
            "raw": "___CP_1_x_raw.jsonl",
            "security": "___CP_1_x-security.log",
        }
    with MessageLog(tmp_path, settings, "CP-1", TickingClock(), prefix="station") as log:
        assert log.paths["html"] == tmp_path / "station.html"
    assert all(p.parent == tmp_path for p in tmp_path.iterdir())


def test_a_bad_direction_is_a_programming_error(tmp_path: Path):
    log = MessageLog(tmp_path, LogSettings(formats=["log"]), "CP-1")
    with pytest.raises(ValueError, match="direction must be 'out' or 'in'"):
        log.frame("sideways", "[]")
    log.close()


def test_every_connection_event_is_logged_with_its_reason(tmp_path: Path):
    settings = LogSettings(formats=["log", "html"])
    kinds = [*(e.value for e in ConnectionEvent), "some_new_event\n"]
    with MessageLog(tmp_path, settings, "CP-1", TickingClock()) as log:
        for kind in kinds:
            log.connection(kind, f"because of {kind}")
    lines = (tmp_path / "CP-1.log").read_text(encoding="utf-8").split("\n\n")[1:-2]
    assert [line.split(" ", 2)[2] for line in lines] == [
        f"{one_line(k)}: because of {one_line(k)}" for k in kinds
    ]
    rows = read_page(tmp_path / "CP-1.html").rows[1:-1]
    assert [(r.direction, r.action, r.message) for r in rows] == [
        ("sys", one_line(k), f"because of {k}") for k in kinds
    ]


def test_after_close_nothing_is_written(tmp_path: Path):
    log = MessageLog(tmp_path, LogSettings(formats=["log"]), "CP-1", TickingClock())
    log.close()
    before = (tmp_path / "CP-1.log").read_bytes()
    log.frame("out", call("h", "Heartbeat", {}))
    log.connection("connected", "")
    log.security_event("StartupOfTheDevice")
    log.close()
    assert (tmp_path / "CP-1.log").read_bytes() == before
    assert log.closed


def test_a_write_error_is_reported_not_raised(tmp_path: Path, caplog):
    log = MessageLog(tmp_path, LogSettings(formats=["log"]), "CP-1", TickingClock())
    log._text._file.close()  # as if the disk went away
    log._text._file = open("/dev/full", "ab")  # noqa: SIM115
    log.frame("out", call("h1", "Heartbeat", {}))
    log.frame("out", call("h2", "Heartbeat", {}))
    assert caplog.text.count("cannot write") == 1  # reported once, not per frame
    log.close()


def test_a_broken_clock_falls_back_to_the_system_clock(tmp_path: Path, caplog):
    def clock():
        raise RuntimeError("clock gone")

    with MessageLog(tmp_path, LogSettings(formats=["log"]), "CP-1", clock) as log:
        log.frame("out", call("h1", "Heartbeat", {}))
    text = (tmp_path / "CP-1.log").read_text(encoding="utf-8")
    assert re.search(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z CP->CSMS CALL Heartbeat id=h1$", text, re.M
    )
    assert "the clock failed" in caplog.text
