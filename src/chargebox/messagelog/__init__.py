"""The OCPP message log: every frame and connection event, to console, text, HTML and per session.

Typical use (by the link)::

    settings = LogSettings.from_config(cfg)
    log = MessageLog(path, settings, charge_point_id="CP-1", clock=station_clock)
    log.connection("connecting", "ws://127.0.0.1:8180/ocpp/CP-1, security profile 0")
    log.frame("out", text)       # a websocket text the charge point sent
    log.frame("in", text)        # one it received
    log.close()

Secrets (AuthorizationKey values, private keys, passwords, Authorization headers)
are redacted before any sink sees a text; `redact` does the same for other logs.
See docs/message-log.md.
"""

from chargebox.messagelog.entry import ConnectionEvent, Direction, Entry, MessageType
from chargebox.messagelog.log import (
    SESSION_FINAL_NAME,
    SESSION_INCOMPLETE_NAME,
    MessageLog,
    file_prefix,
)
from chargebox.messagelog.redact import REDACTED, redact, redact_json
from chargebox.messagelog.settings import (
    DEFAULT_DIRECTORY_NAME,
    LogFormat,
    LogSettings,
    Rotation,
    default_message_log_path,
)

__all__ = [
    "DEFAULT_DIRECTORY_NAME",
    "REDACTED",
    "SESSION_FINAL_NAME",
    "SESSION_INCOMPLETE_NAME",
    "ConnectionEvent",
    "Direction",
    "Entry",
    "LogFormat",
    "LogSettings",
    "MessageLog",
    "MessageType",
    "Rotation",
    "default_message_log_path",
    "file_prefix",
    "redact",
    "redact_json",
]
