"""What the message log writes: the LogMessages* and LogRotation* keys as one value.

The keys are libocpp's (Internal section). `LogSettings.from_config` reads them
from a `ChargePointConfig`; tests and hosts may also build a `LogSettings`
directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from chargebox.config import ChargePointConfig

# The message log's folder inside a charge point's data directory, when the host
# gives no MessageLogPath of its own.
DEFAULT_DIRECTORY_NAME = "message-log"


def default_message_log_path(data_dir: Path) -> Path:
    """Where the message log goes when the host does not say: `<data_dir>/message-log`."""
    return Path(data_dir) / DEFAULT_DIRECTORY_NAME


class LogFormat(StrEnum):
    """One value of LogMessagesFormat: a sink of the message log."""

    CONSOLE = "console"  # one line per frame (type and action) through Python logging
    CONSOLE_DETAILED = "console_detailed"  # one line per frame with the whole JSON
    LOG = "log"  # <prefix>.log, a text file
    HTML = "html"  # <prefix>.html, one self-contained page
    SESSION_LOGGING = "session_logging"  # a page per charging session, in the host's folder
    SECURITY = "security"  # <prefix>-security.log, one line per security event
    CALLBACK = "callback"  # every entry handed to the host's callback


DEFAULT_FORMATS = frozenset(
    {LogFormat.LOG, LogFormat.HTML, LogFormat.SESSION_LOGGING, LogFormat.SECURITY}
)


def _formats(value: Iterable[str] | str) -> frozenset[LogFormat]:
    # The config gives a list; a comma-separated string (GetConfiguration's spelling) is
    # accepted too, so that a value copied from a CSMS screen works.
    items = value.split(",") if isinstance(value, str) else value
    result = set()
    for item in items:
        name = str(item).strip()
        if not name:
            continue
        try:
            result.add(LogFormat(name))
        except ValueError:
            allowed = ", ".join(f.value for f in LogFormat)
            raise ValueError(
                f"LogMessagesFormat: {name!r} is not a message-log format (allowed: {allowed})"
            ) from None
    return frozenset(result)


def _non_negative(name: str) -> Any:
    def check(_instance: Any, _attribute: Any, value: int) -> None:
        if type(value) is not int or value < 0:
            raise ValueError(f"{name}: {value!r} is not a non-negative integer")

    return check


@attrs.frozen(slots=True)
class Rotation:
    """LogRotation*: when a log file is full, it is renamed and a new one begun.

    `maximum_file_size` is in bytes; 0 means the files are never rotated.
    `maximum_file_count` counts the files of one log, the one being written
    included; 0 means no limit. libocpp reads the count the same way.
    """

    enabled: bool = False
    date_suffix: bool = False
    maximum_file_size: int = attrs.field(
        default=0, validator=_non_negative("LogRotationMaximumFileSize")
    )
    maximum_file_count: int = attrs.field(
        default=0, validator=_non_negative("LogRotationMaximumFileCount")
    )

    @property
    def active(self) -> bool:
        """Whether files are ever rotated (LogRotation on and a size limit set)."""
        return self.enabled and self.maximum_file_size > 0


@attrs.frozen(slots=True)
class LogSettings:
    """LogMessages, LogMessagesFormat, LogMessagesRaw and the rotation keys."""

    enabled: bool = True
    formats: frozenset[LogFormat] = attrs.field(default=DEFAULT_FORMATS, converter=_formats)
    raw: bool = False
    rotation: Rotation = Rotation()

    @classmethod
    def from_config(cls, cfg: ChargePointConfig) -> LogSettings:
        """The settings in a charge point's configuration (libocpp's defaults where unset)."""
        return cls(
            enabled=bool(cfg.get("LogMessages", True)),
            formats=cfg.get("LogMessagesFormat", sorted(DEFAULT_FORMATS)),
            raw=bool(cfg.get("LogMessagesRaw", False)),
            rotation=Rotation(
                enabled=bool(cfg.get("LogRotation", False)),
                date_suffix=bool(cfg.get("LogRotationDateSuffix", False)),
                maximum_file_size=cfg.get("LogRotationMaximumFileSize", 0),
                maximum_file_count=cfg.get("LogRotationMaximumFileCount", 0),
            ),
        )

    def has(self, fmt: LogFormat) -> bool:
        """Whether the log is on and `fmt` is one of its formats."""
        return self.enabled and fmt in self.formats
