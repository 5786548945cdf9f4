"""The HTML page: every frame of a session in order, escaped, readable while written and after
a crash, continued by a later run, and one page per charging session."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from chargebox.messagelog import LogSettings, MessageLog

from .support import SESSION, XSS, TickingClock, call, read_page, result, run_session

HTML_ONLY = LogSettings(formats=["html"])


def test_the_page_shows_every_frame_of_a_session_in_order(tmp_path: Path):
    with MessageLog(tmp_path, HTML_ONLY, "CP-1", TickingClock()) as log:
        expected = run_session(log)
    page = read_page(tmp_path / "CP-1.html")
    rows = [row.expected() for row in page.rows]
    assert rows == [*expected, rows[-1]]
    assert page.rows[-1].action == "log closed"
    assert page.doctypes == 1 and page.footers == 1
    assert "CP-1" in page.title


def test_a_row_has_time_direction_type_action_id_and_the_json_indented(tmp_path: Path):
    clock = TickingClock(step=timedelta(0))
    with MessageLog(tmp_path, HTML_ONLY, "CP-1", clock) as log:
        clock.now = datetime(2024, 5, 1, 14, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2)))
        log.frame("out", call("b1", "BootNotification", {"chargePointVendor": "V"}))
        clock.now = datetime(2024, 5, 1, 12, 0, 0, 750999)  # naive: taken as UTC
        log.frame("in", result("b1", {"status": "Accepted", "interval": 300}))
    rows = [r for r in read_page(tmp_path / "CP-1.html").rows if r.direction != "sys"]
    assert rows[0].cells[:5] == [
        "2024-05-01T12:00:00.500Z",
        "CP→CSMS",
        "CALL",
        "BootNotification",
        "b1",
    ]
    assert rows[1].cells[:5] == [
        "2024-05-01T12:00:00.750Z",
        "CSMS→CP",
        "CALLRESULT",
        "BootNotification",
        "b1",
    ]
    assert rows[0].message == json.dumps(
        [2, "b1", "BootNotification", {"chargePointVendor": "V"}], indent=2
    )


def test_a_datatransfer_carrying_html_and_script_is_shown_as_text(tmp_path: Path):
    with MessageLog(tmp_path, HTML_ONLY, "CP-1", TickingClock()) as log:
        log.frame("in", call("d1", "DataTransfer", {"vendorId": "x", "data": XSS}))
        log.frame("in", f"not a frame {XSS}")
        log.connection("disconnected", XSS)
    source = (tmp_path / "CP-1.html").read_text(encoding="utf-8")
    assert "<script>alert" not in source and "<img" not in source
    page = read_page(tmp_path / "CP-1.html")
    assert page.scripts == 1  # the page's own filter script, nothing from a payload
    cells = [r.message for r in page.rows]
    # html.parser gives the text back unescaped: the payload is there, as text
    assert any(orjson.dumps(XSS).decode() in cell for cell in cells)
    assert any(cell.endswith(f"not a frame {XSS}") for cell in cells)
    assert any(cell == XSS for cell in cells)
    assert len(page.rows) == 5  # log opened, 3 entries, log closed: no row was split


def test_actions_and_ids_are_escaped_too(tmp_path: Path):
    with MessageLog(tmp_path, HTML_ONLY, "CP-<1>", TickingClock()) as log:
        log.frame("in", call('"><b>', '<i onclick="x">', {}))
    page = read_page(tmp_path / "CP-_1_.html")
    row = next(r for r in page.rows if r.type == "CALL")
    assert row.action == '<i onclick="x">' and row.message_id == '"><b>'
    assert "CP-<1>" in page.title


def test_control_characters_are_shown_escaped(tmp_path: Path):
    with MessageLog(tmp_path, HTML_ONLY, "CP-1", TickingClock()) as log:
        log.frame("in", "bell\x07 escape\x1b[31m nul\x00 end")
    row = read_page(tmp_path / "CP-1.html").rows[1]
    assert row.message.endswith("bell\\x07 escape\\x1b[31m nul\\x00 end")


def test_the_page_is_readable_while_it_is_written_and_after_a_crash(tmp_path: Path):
    log = MessageLog(tmp_path, HTML_ONLY, "CP-1", TickingClock())
    expected = run_session(log)
    path = tmp_path / "CP-1.html"
    # before close(): no closing tags yet, every row is there
    page = read_page(path)
    assert [r.expected() for r in page.rows] == expected
    assert page.footers == 0
    # a crash in the middle of a row: the rows before it are intact
    data = path.read_bytes()
    path.write_bytes(data[: data.rfind(b"<pre>") + 20])
    page = read_page(path)
    assert [r.expected() for r in page.rows[:-1]] == expected[:-1]
    log.close()


def test_a_later_run_continues_the_page_inside_its_table(tmp_path: Path):
    clock = TickingClock()
    with MessageLog(tmp_path, HTML_ONLY, "CP-1", clock) as log:
        log.frame("out", call("a", "Heartbeat", {}))
    crashed = MessageLog(tmp_path, HTML_ONLY, "CP-1", clock)
    crashed.frame("out", call("b", "Heartbeat", {}))  # never closed
    with MessageLog(tmp_path, HTML_ONLY, "CP-1", clock) as log:
        log.frame("out", call("c", "Heartbeat", {}))
    page = read_page(tmp_path / "CP-1.html")
    assert page.doctypes == 1 and page.footers == 1
    assert [(r.action, r.message_id) for r in page.rows] == [
        ("log opened", ""),
        ("Heartbeat", "a"),
        ("log closed", ""),
        ("log opened", ""),
        ("Heartbeat", "b"),
        ("log opened", ""),
        ("Heartbeat", "c"),
        ("log closed", ""),
    ]
    crashed.close()


def test_a_session_gets_its_own_page_renamed_when_it_ends(tmp_path: Path):
    settings = LogSettings(formats=["html", "session_logging"])
    folder = tmp_path / "sessions" / "session-1"
    log = MessageLog(tmp_path / "log", settings, "CP-1", TickingClock())
    expected = run_session(log, session_folder=None)
    started = log.session_started("session-1", folder)
    assert started == folder / "incomplete-ocpp.html"
    log.frame("out", call("h1", "Heartbeat", {}))
    # readable while the session runs
    assert [r.message_id for r in read_page(started).rows if r.type == "CALL"] == ["h1"]
    final = log.session_stopped("session-1")
    log.frame("out", call("h2", "Heartbeat", {}))  # after the session: not in its page
    log.close()
    assert final == folder / "ocpp.html"
    assert sorted(p.name for p in folder.iterdir()) == ["ocpp.html"]
    page = read_page(final)
    assert [(r.direction, r.type, r.action) for r in page.rows] == [
        ("sys", "event", "session started"),
        ("out", "CALL", "Heartbeat"),
        ("sys", "event", "session stopped"),
    ]
    assert page.footers == 1 and "session-1" in page.title
    # the charge point's page has the whole story, session events included
    main = [r.action for r in read_page(tmp_path / "log" / "CP-1.html").rows]
    assert main[: len(expected)] == [e.action for e in expected]
    assert main[len(expected) :] == [
        "session started",
        "Heartbeat",
        "session stopped",
        "Heartbeat",
        "log closed",
    ]


def test_a_session_page_is_filled_during_the_session_only(tmp_path: Path):
    settings = LogSettings(formats=["session_logging"])
    log = MessageLog(tmp_path / "log", settings, "CP-1", TickingClock())
    expected = run_session(log, session_folder=tmp_path / "s")
    log.close()
    rows = read_page(tmp_path / "s" / "ocpp.html").rows
    first = expected.index(next(e for e in expected if e.action == "session started"))
    last = expected.index(next(e for e in expected if e.action == "session stopped"))
    assert [r.expected() for r in rows] == expected[first : last + 1]
    assert len(rows) == len(SESSION) - 2 + 2  # frames after the BootNotification + 2 events
    assert not (tmp_path / "log").exists()  # no file sink but sessions: nothing else written


def test_a_session_still_open_at_close_keeps_its_incomplete_name(tmp_path: Path):
    settings = LogSettings(formats=["session_logging"])
    log = MessageLog(tmp_path, settings, "CP-1", TickingClock())
    log.session_started("s", tmp_path / "s")
    log.frame("out", call("h1", "Heartbeat", {}))
    log.close()
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["incomplete-ocpp.html"]
    assert read_page(tmp_path / "s" / "incomplete-ocpp.html").footers == 1
    assert log.session_stopped("s") is None


def test_session_calls_without_session_logging_do_nothing(tmp_path: Path):
    with MessageLog(tmp_path / "log", HTML_ONLY, "CP-1", TickingClock()) as log:
        assert log.session_started("s", tmp_path / "s") is None
        assert log.session_stopped("s") is None
        assert log.session_stopped("unknown") is None
    assert not (tmp_path / "s").exists()
