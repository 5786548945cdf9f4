"""Shared pieces of the message-log tests: a clock, a charging session with planted secrets,
and a reader of the HTML page built on html.parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import attrs
import orjson

from chargebox.messagelog import MessageLog

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


class TickingClock:
    """Each call returns a time `step` later than the previous one (UTC, aware)."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(milliseconds=250)):
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


# Secrets planted in the sample session; none may appear in any file the log writes.
AUTHORIZATION_KEY = "5365637265744b6579466f7254657374"  # hex of "SecretKeyForTest"
FTP_PASSWORD = "Ftp-Pa55word-xyz"
BASIC_CREDENTIALS = "Q1AtMTpTZWNyZXRLZXlGb3JUZXN0"  # base64 of "CP-1:SecretKeyForTest"
VENDOR_PASSWORD = "hunter2-vendor"
PRIVATE_KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    f"{PRIVATE_KEY_BODY}\nMrsAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij\n"
    "-----END PRIVATE KEY-----\n"
)
SECRETS = (AUTHORIZATION_KEY, FTP_PASSWORD, BASIC_CREDENTIALS, VENDOR_PASSWORD, PRIVATE_KEY_BODY)

XSS = "<script>alert(1)</script></td></tr></table><img src=x onerror=alert(2)>"


def call(message_id: str, action: str, payload: dict) -> str:
    return orjson.dumps([2, message_id, action, payload]).decode()


def result(message_id: str, payload: dict) -> str:
    return orjson.dumps([3, message_id, payload]).decode()


def error(message_id: str, code: str, description: str) -> str:
    return orjson.dumps([4, message_id, code, description, {}]).decode()


@attrs.frozen
class Expected:
    """What a row of the log must show: direction, message type, action, message id."""

    direction: str
    type: str
    action: str
    message_id: str = ""


# A charging session as the link would see it: (direction, text, what the row must show).
SESSION: tuple[tuple[str, str, Expected], ...] = (
    (
        "out",
        call("b1", "BootNotification", {"chargePointVendor": "Pionix", "chargePointModel": "Yeti"}),
        Expected("out", "CALL", "BootNotification", "b1"),
    ),
    (
        "in",
        result("b1", {"status": "Accepted", "currentTime": START.isoformat(), "interval": 300}),
        Expected("in", "CALLRESULT", "BootNotification", "b1"),
    ),
    (
        "in",
        call("c1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": AUTHORIZATION_KEY}),
        Expected("in", "CALL", "ChangeConfiguration", "c1"),
    ),
    (
        "out",
        result("c1", {"status": "Accepted"}),
        Expected("out", "CALLRESULT", "ChangeConfiguration", "c1"),
    ),
    (
        "out",
        call(
            "s1",
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"},
        ),
        Expected("out", "CALL", "StatusNotification", "s1"),
    ),
    ("in", result("s1", {}), Expected("in", "CALLRESULT", "StatusNotification", "s1")),
    (
        "out",
        call(
            "t1",
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "ABC123",
                "meterStart": 0,
                "timestamp": "2024-05-01T12:00:05Z",
            },
        ),
        Expected("out", "CALL", "StartTransaction", "t1"),
    ),
    (
        "in",
        result("t1", {"idTagInfo": {"status": "Accepted"}, "transactionId": 42}),
        Expected("in", "CALLRESULT", "StartTransaction", "t1"),
    ),
    (
        "in",
        call("d1", "DataTransfer", {"vendorId": "com.example", "messageId": "Show", "data": XSS}),
        Expected("in", "CALL", "DataTransfer", "d1"),
    ),
    (
        "out",
        result("d1", {"status": "UnknownVendorId"}),
        Expected("out", "CALLRESULT", "DataTransfer", "d1"),
    ),
    (
        "in",
        call(
            "d2",
            "DataTransfer",
            {
                "vendorId": "com.example",
                "data": orjson.dumps({"user": "op", "password": VENDOR_PASSWORD}).decode(),
            },
        ),
        Expected("in", "CALL", "DataTransfer", "d2"),
    ),
    (
        "out",
        error("d2", "NotSupported", "DataTransfer com.example is not supported"),
        Expected("out", "CALLERROR", "DataTransfer", "d2"),
    ),
    (
        "in",
        call(
            "u1",
            "UpdateFirmware",
            {
                "location": f"ftp://firmware:{FTP_PASSWORD}@fw.example.com/yeti-1.2.bin",
                "retrieveDate": "2024-05-01T13:00:00Z",
            },
        ),
        Expected("in", "CALL", "UpdateFirmware", "u1"),
    ),
    ("out", result("u1", {}), Expected("out", "CALLRESULT", "UpdateFirmware", "u1")),
    (
        "in",
        call("k1", "DataTransfer", {"vendorId": "com.example", "data": PRIVATE_KEY}),
        Expected("in", "CALL", "DataTransfer", "k1"),
    ),
    (
        "out",
        result("k1", {"status": "Rejected"}),
        Expected("out", "CALLRESULT", "DataTransfer", "k1"),
    ),
    ("in", "this is not JSON <b>bold</b>", Expected("in", "invalid", "")),
    (
        "out",
        call(
            "m1",
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 42,
                "meterValue": [
                    {"timestamp": "2024-05-01T12:01:00Z", "sampledValue": [{"value": "1234"}]}
                ],
            },
        ),
        Expected("out", "CALL", "MeterValues", "m1"),
    ),
    ("in", result("m1", {}), Expected("in", "CALLRESULT", "MeterValues", "m1")),
    (
        "out",
        call(
            "t2",
            "StopTransaction",
            {"transactionId": 42, "meterStop": 5400, "timestamp": "2024-05-01T12:30:00Z"},
        ),
        Expected("out", "CALL", "StopTransaction", "t2"),
    ),
    (
        "in",
        result("t2", {"idTagInfo": {"status": "Accepted"}}),
        Expected("in", "CALLRESULT", "StopTransaction", "t2"),
    ),
)


def run_session(log: MessageLog, session_folder: Path | None = None) -> list[Expected]:
    """Drive `log` through a connection and SESSION; the rows expected, in order.

    With `session_folder`, a charging session is started after the BootNotification
    and stopped after the last frame.
    """
    expected = [Expected("sys", "event", "log opened")]

    def connection(kind: str, reason: str) -> None:
        log.connection(kind, reason)
        expected.append(Expected("sys", "event", kind))

    connection(
        "connecting",
        f"wss://CP-1:{FTP_PASSWORD}@127.0.0.1:8443/ocpp/CP-1, security profile 2, "
        f"Authorization: Basic {BASIC_CREDENTIALS}",
    )
    connection("connected", "subprotocol ocpp1.6, TLSv1.3")
    for index, (direction, text, row) in enumerate(SESSION):
        log.frame(direction, text)
        expected.append(row)
        if index == 1 and session_folder is not None:
            log.session_started("session-1", session_folder)
            expected.append(Expected("sys", "event", "session started"))
    log.security_event(
        "InvalidCentralSystemCertificate",
        f"handshake with Authorization: Basic {BASIC_CREDENTIALS}\nsecond line",
        START,
    )
    if session_folder is not None:
        log.session_stopped("session-1")
        expected.append(Expected("sys", "event", "session stopped"))
    connection("disconnected", "close code 1006, no reason")
    return expected


@attrs.define
class Row:
    direction: str
    type: str
    action: str
    cells: list[str]

    @property
    def message_id(self) -> str:
        return self.cells[4]

    @property
    def message(self) -> str:
        return self.cells[5]

    def expected(self) -> Expected:
        return Expected(self.direction, self.type, self.action, self.message_id)


class PageReader(HTMLParser):
    """The rows of a message-log page (as html.parser sees them), and its scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[Row] = []
        self.scripts = 0
        self.doctypes = 0
        self.footers = 0
        self.title = ""
        self._in_tbody = False
        self._cell: list[str] | None = None
        self._in_title = False

    def handle_decl(self, decl: str) -> None:
        if decl.lower() == "doctype html":
            self.doctypes += 1

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        a = dict(attrs_)
        if tag == "script":
            self.scripts += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "footer":
            self.footers += 1
        elif tag == "tr" and self._in_tbody:
            self.rows.append(
                Row(
                    a.get("data-dir") or "",
                    a.get("data-type") or "",
                    a.get("data-action") or "",
                    [],
                )
            )
        elif tag == "td" and self._in_tbody and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].cells.append("".join(self._cell))
            self._cell = None
        elif tag == "tbody":
            self._in_tbody = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_title:
            self.title += data


def read_page(path: Path) -> PageReader:
    reader = PageReader()
    reader.feed(path.read_text(encoding="utf-8"))
    reader.close()
    return reader
