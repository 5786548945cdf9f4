"""The plain-text forms of an entry: the .log file, the console lines, the raw and security lines.

Text that comes from outside is written so that it cannot forge log lines or
drive a terminal: in one-line forms every control character is escaped (`\\n`,
`\\x1b`), in the .log file's message block all but newline and tab.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from chargebox.ocpp.timestamps import format_datetime

from .entry import Direction, Entry, MessageType

_ESCAPES = {**{c: f"\\x{c:02x}" for c in range(32)}, 0x7F: "\\x7f"}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})
_BLOCK_ESCAPES = {c: e for c, e in _ESCAPES.items() if c not in (0x09, 0x0A)}


# str.translate walks the whole text in Python-level steps; most texts (JSON from
# orjson escapes its control characters) have nothing to escape, which a search finds fast.
_CONTROL = re.compile("[\x00-\x1f\x7f\u2028\u2029]")
_BLOCK_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with every control character escaped: it cannot end the line."""
    return text.translate(_ESCAPES) if _CONTROL.search(text) else text


def block(text: str) -> str:
    """`text` with control characters but newline and tab escaped."""
    return text.translate(_BLOCK_ESCAPES) if _BLOCK_CONTROL.search(text) else text


def title(entry: Entry) -> str:
    """`CP->CSMS CALL BootNotification` / `SYS connected: <reason>`: the console line."""
    if entry.direction is Direction.SYS:
        line = f"SYS {entry.action}: {entry.body}" if entry.body else f"SYS {entry.action}"
        return one_line(line)
    parts = [entry.direction.arrow, entry.message_type.value]
    if entry.message_type is not MessageType.INVALID:
        parts.append(entry.action or "?")
    if entry.detail:
        parts.append(f"({entry.detail})")
    return one_line(" ".join(parts))


def detailed(entry: Entry) -> str:
    """The console_detailed line: the title and the whole frame as received (redacted)."""
    if entry.direction is Direction.SYS:
        return title(entry)
    return f"{title(entry)} {one_line(entry.raw)}"


def log_entry(entry: Entry) -> str:
    """An entry of the .log file: a heading line, the pretty JSON, a blank line.

        2024-05-01T12:00:00.123Z CP->CSMS CALL BootNotification id=19223201
        [
          2,
          ...
        ]

    An event is one line.
    """
    time = format_datetime(entry.time)
    if entry.direction is Direction.SYS:
        return f"{time} {title(entry)}\n\n"
    heading = title(entry)
    if entry.message_id:
        heading += f" id={one_line(entry.message_id)}"
    return f"{time} {heading}\n{block(entry.body)}\n\n"


def raw_line(entry: Entry) -> str:
    """A line of the raw log (JSON Lines): the text exactly as received, redacted."""
    record: dict[str, Any] = {
        "time": format_datetime(entry.time),
        "direction": entry.direction.value,
    }
    if entry.direction is Direction.SYS:
        record["event"] = entry.action
        record["reason"] = entry.body
    else:
        record["text"] = entry.raw
    return orjson.dumps(record).decode() + "\n"


def security_line(type_: str, timestamp: datetime, tech_info: str | None) -> str:
    """A line of the security log: the SecurityEventNotification.req payload as JSON."""
    record: dict[str, Any] = {"type": type_, "timestamp": format_datetime(timestamp)}
    if tech_info is not None:
        record["techInfo"] = tech_info
    return orjson.dumps(record).decode() + "\n"
