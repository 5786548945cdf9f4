"""Frames a hostile Central System sends reach every sink: deep nesting, binary messages,
invalid UTF-8, huge frames, and nothing is lost or raised on the way."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from chargebox.messagelog import Entry, LogSettings, MessageLog, Rotation
from chargebox.ocpp import v16
from tests.support import running

from .support import TickingClock, call, read_page

DEPTH = 500  # orjson writes 255 levels at most; Python's repr stops near 1000
DEEP = "[" * DEPTH + "]" * DEPTH
DEEP_CALL = f'[2,"deep-1","DataTransfer",{{"vendorId":"com.example","data":{DEEP}}}]'
# nested deeper than a walk in Python can go, with a (JSON-escaped) secret on top
DEEPER_SECRET = (
    '[2,"deep-2","DataTransfer",{"vendorId":"com.example","\\u0070assword":"hunter2-deep",'
    f'"data":{"[" * 1000}{"]" * 1000}}}]'
)
BINARY = b'[2,"bin-1","DataTransfer",{"vendorId":"\xff\xfe"}]'  # a binary message, not UTF-8
SESSION = "s-1"


def logged_everywhere(tmp_path: Path, texts: list[str | bytes], rotation: Rotation | None = None):
    """Log `texts` with every sink on; return (entries of the callback, the folder)."""
    settings = LogSettings(
        formats=["console_detailed", "log", "html", "session_logging", "callback"],
        raw=True,
        rotation=rotation or Rotation(),
    )
    entries: list[Entry] = []
    folder = tmp_path / "log"
    with MessageLog(folder, settings, "CP-1", TickingClock(), callback=entries.append) as log:
        log.session_started(SESSION, tmp_path / "session")
        for text in texts:
            log.frame("in", text)
        log.session_stopped(SESSION)
    return entries, folder


def file_texts(folder: Path, pattern: str) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob(pattern)))


def test_a_deeply_nested_frame_is_in_every_sink_without_a_traceback(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO)
    entries, folder = logged_everywhere(tmp_path, [DEEP_CALL, DEEPER_SECRET])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    frames = [e for e in entries if e.message_id]
    assert [(e.message_type, e.action, e.message_id) for e in frames] == [
        ("CALL", "DataTransfer", "deep-1"),
        ("CALL", "DataTransfer", "deep-2"),
    ]
    # too deep to indent: shown on one line, as received
    assert frames[0].body == DEEP_CALL and DEEP in frames[0].raw
    text_log = file_texts(folder, "CP-1.log")
    assert DEEP_CALL in text_log and "id=deep-2" in text_log
    for page in (folder / "CP-1.html", tmp_path / "session" / "ocpp.html"):
        rows = [r for r in read_page(page).rows if r.type == "CALL"]
        assert [r.message_id for r in rows] == ["deep-1", "deep-2"]
        assert DEEP in rows[0].message
    raw = [orjson.loads(line) for line in file_texts(folder, "CP-1_raw.jsonl").splitlines()]
    assert next(r["text"] for r in raw if "text" in r) == DEEP_CALL
    console = [r.getMessage() for r in caplog.records if r.name == "chargebox.messagelog.console"]
    assert any(DEEP_CALL in line for line in console)
    # the secret of the frame too deep to walk is redacted all the same
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert "hunter2-deep" not in path.read_text(encoding="utf-8"), path
    assert not any("hunter2-deep" in line for line in console)


def test_a_binary_message_with_invalid_utf8_is_in_every_sink(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO)
    entries, folder = logged_everywhere(tmp_path, [BINARY])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    (entry,) = [e for e in entries if e.message_id]
    assert (entry.message_type, entry.message_id) == ("invalid", "bin-1")
    assert entry.detail.startswith(f"a binary websocket message ({len(BINARY)} bytes)")
    shown = '[2,"bin-1","DataTransfer",{"vendorId":"\\xff\\xfe"}]'  # invalid bytes one by one
    assert entry.raw == shown
    assert "id=bin-1" in file_texts(folder, "CP-1.log") and shown in file_texts(folder, "*.log")
    for page in (folder / "CP-1.html", tmp_path / "session" / "ocpp.html"):
        (row,) = [r for r in read_page(page).rows if r.type == "invalid"]
        assert row.message_id == "bin-1" and shown in row.message and "binary" in row.message
    raw = [orjson.loads(line) for line in file_texts(folder, "CP-1_raw.jsonl").splitlines()]
    assert shown in [r.get("text") for r in raw]
    console = [r.getMessage() for r in caplog.records if r.name == "chargebox.messagelog.console"]
    assert any("binary websocket message" in line and shown in line for line in console)


@pytest.mark.parametrize("limit", [0, 64 * 1024], ids=["no-rotation", "rotation-64k"])
def test_a_huge_frame_is_logged_whole(tmp_path: Path, limit: int):
    """A frame as large as a websocket message may be (4 MiB) is logged whole, in every
    sink; a file too small for it under rotation gives it a file of its own."""
    payload = {"vendorId": "com.example", "data": "x" * (4 * 1024 * 1024 - 100)}
    huge = call("huge-1", "DataTransfer", payload)
    rotation = Rotation(enabled=True, maximum_file_size=limit) if limit else None
    entries, folder = logged_everywhere(tmp_path, [call("a", "Heartbeat", {}), huge], rotation)
    assert [e.message_id for e in entries if e.message_id] == ["a", "huge-1"]
    assert payload["data"] in file_texts(folder, "CP-1*.log")
    for pages in (folder.glob("CP-1*.html"), [tmp_path / "session" / "ocpp.html"]):
        rows = [r for page in pages for r in read_page(page).rows if r.message_id == "huge-1"]
        assert len(rows) == 1 and payload["data"] in rows[0].message
    raw = file_texts(folder, "CP-1_raw*.jsonl")
    assert huge in [orjson.loads(line).get("text") for line in raw.splitlines()]
    if limit:
        logs = sorted(folder.glob("CP-1*.log"))
        assert len(logs) >= 2  # the huge frame went to a file of its own
        assert all(p.stat().st_size <= limit for p in logs if "huge-1" not in p.read_text())


async def test_a_deeply_nested_call_over_the_websocket_is_logged_and_answered(
    tmp_path, autojump_clock, caplog
):
    caplog.set_level(logging.WARNING)
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        session = await rig.session()
        await session.ws.send_message(DEEP_CALL)
        await rig.csms.wait_until(
            lambda: any(
                ex.unique_id == "deep-1" and ex.direction == "in" for ex in session.exchanges
            )
        )
        answer = await session.call(v16.ClearCacheRequest())  # the link still serves
        assert isinstance(answer, v16.ClearCacheResponse)
    (reply,) = [ex for ex in session.exchanges if ex.unique_id == "deep-1" and ex.direction == "in"]
    assert (reply.kind, reply.payload) == ("CALLERROR", "TypeConstraintViolation")
    rows = read_page(data / "message-log" / "CP-1.html").rows
    logged = [(r.direction, r.type) for r in rows if r.message_id == "deep-1"]
    assert logged == [("in", "CALL"), ("out", "CALLERROR")]
    assert not [r for r in caplog.records if "could not log" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_frame_larger_than_a_websocket_message_may_be_is_a_logged_disconnect(
    tmp_path, autojump_clock
):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        session = await rig.session()
        too_big = call("big", "DataTransfer", {"vendorId": "x", "data": "x" * (4 * 1024 * 1024)})
        await session.ws.send_message(too_big)
        await rig.csms.wait_until(lambda: len(rig.csms.all_sessions) == 2)  # it reconnected
    events = [r for r in read_page(data / "message-log" / "CP-1.html").rows if r.type == "event"]
    # the first disconnect is the oversized message's (the last one the shutdown's)
    closed = next(r for r in events if r.action == "disconnected")
    assert "code 1009" in closed.message and "maximum message size" in closed.message
    assert not [
        r for r in read_page(data / "message-log" / "CP-1.html").rows if r.message_id == "big"
    ]
