"""MessageLog: every frame and connection event of one charge point, to every configured sink.

The link calls `frame` for each websocket text it sends or receives and
`connection` for each change of the connection; the station calls
`security_event`, `session_started` and `session_stopped`. Each call classifies
and redacts once (`entry.Entry`) and hands the result to the sinks of
LogMessagesFormat. Writes are synchronous, small and flushed at once: the log is
evidence, and a crash must not lose what came before it.

Not thread-safe: one MessageLog belongs to one link, in one trio thread.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from . import page, text
from .entry import Direction, Entry, FrameClassifier, as_text, event, utc
from .files import LogFile
from .redact import redact_text
from .settings import LogFormat, LogSettings, Rotation

log = logging.getLogger(__name__)

# The console formats go to this logger at INFO, so the host decides where they appear.
console_log = logging.getLogger("chargebox.messagelog.console")

# libocpp's names for a session's page, before and after the session's end.
SESSION_INCOMPLETE_NAME = "incomplete-ocpp.html"
SESSION_FINAL_NAME = "ocpp.html"

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_-]")


def file_prefix(charge_point_id: str) -> str:
    """The log files' base name for a charge point id: characters other than letters,
    digits, `_` and `-` become `_` (an id may hold `/` or `..`)."""
    return _UNSAFE_IN_NAME.sub("_", charge_point_id) or "chargepoint"


def _system_clock() -> datetime:
    return datetime.now(UTC)


class MessageLog:
    """The message log of one charge point.

    Files, under `path` (created if missing), named after `prefix` (by default the
    charge point id made safe for a file name):

    ============  ==========================  ==========================================
    format        file                        content
    ============  ==========================  ==========================================
    log           `<prefix>.log`              a heading line and pretty JSON per frame
    html          `<prefix>.html`             a page, a table row per frame or event
    security      `<prefix>-security.log`     a JSON line per security event
    (raw)         `<prefix>_raw.jsonl`        LogMessagesRaw: each text exactly as sent
    ============  ==========================  ==========================================

    session_logging writes `incomplete-ocpp.html` in the folder the host gives at
    session start, renamed `ocpp.html` at its end. console and console_detailed
    log through the `chargebox.messagelog.console` logger; callback hands every
    `Entry` to `callback`.

    Construction raises OSError when `path` or a file cannot be created. After
    that nothing raises for what is logged: a failing write is reported through
    Python logging.
    """

    def __init__(
        self,
        path: Path | str,
        settings: LogSettings,
        charge_point_id: str,
        clock: Callable[[], datetime] = _system_clock,
        *,
        prefix: str | None = None,
        callback: Callable[[Entry], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.settings = settings
        self.charge_point_id = charge_point_id
        self._clock = clock
        self._classifier = FrameClassifier()
        self._callback = callback if settings.has(LogFormat.CALLBACK) else None
        self._console = settings.has(LogFormat.CONSOLE) or settings.has(LogFormat.CONSOLE_DETAILED)
        self._detailed = settings.has(LogFormat.CONSOLE_DETAILED)
        self._text: LogFile | None = None
        self._html: LogFile | None = None
        self._raw: LogFile | None = None
        self._security: LogFile | None = None
        self._sessions: dict[str, LogFile] = {}
        self._closed = not settings.enabled
        if self._closed:
            return

        name = file_prefix(prefix if prefix is not None else charge_point_id)
        wanted = [settings.has(f) for f in (LogFormat.LOG, LogFormat.HTML, LogFormat.SECURITY)]
        if any(wanted) or settings.raw:
            self.path.mkdir(parents=True, exist_ok=True)
        rotation = settings.rotation
        opened: list[LogFile] = []
        try:
            if settings.has(LogFormat.LOG):
                self._text = self._open(self.path / f"{name}.log", rotation)
                opened.append(self._text)
            if settings.has(LogFormat.HTML):
                self._html = self._open_page(self.path / f"{name}.html", rotation)
                opened.append(self._html)
            if settings.raw:
                self._raw = self._open(self.path / f"{name}_raw.jsonl", rotation)
                opened.append(self._raw)
            if settings.has(LogFormat.SECURITY):
                self._security = self._open(self.path / f"{name}-security.log", rotation)
                opened.append(self._security)
        except OSError:
            for f in opened:
                f.close()
            raise
        self._emit(event(self._now(), "log opened", f"message log of {charge_point_id}"))

    # -- files --------------------------------------------------------------------

    def _open(self, path: Path, rotation: Rotation) -> LogFile:
        return LogFile(path, rotation=rotation, clock=self._now)

    def _open_page(self, path: Path, rotation: Rotation, subtitle: str = "") -> LogFile:
        return LogFile(
            path,
            rotation=rotation,
            clock=self._now,
            header=functools.partial(page.header, self.charge_point_id, subtitle=subtitle),
            footer=page.footer,
            continue_tail=page.footer_cut,
        )

    @property
    def paths(self) -> Mapping[str, Path]:
        """The files being written, by format: "log", "html", "raw", "security"."""
        files = (
            ("log", self._text),
            ("html", self._html),
            ("raw", self._raw),
            ("security", self._security),
        )
        return {name: f.path for name, f in files if f is not None}

    @property
    def closed(self) -> bool:
        return self._closed

    def _now(self) -> datetime:
        try:
            return utc(self._clock())
        except Exception:  # a broken clock must not stop the log
            log.exception("message log: the clock failed; using the system clock")
            return _system_clock()

    # -- what the link and the station call ----------------------------------------

    def frame(self, direction: str, text: str | bytes) -> None:
        """Log a websocket message: "out" one the charge point sent, "in" one it received.

        `text` may be anything (not JSON, not a frame, nested too deep to indent): it
        is logged as it is, type "invalid" when it is no frame, escaped. `bytes` are a
        binary websocket message, never read as a frame (OCPP-J is text). Raises only
        ValueError for another direction.
        """
        if direction not in (Direction.OUT, Direction.IN):
            raise ValueError(f"direction must be 'out' or 'in', not {direction!r}")
        if self._closed:
            return
        try:
            entry = self._classifier.classify(Direction(direction), text, self._now())
            self._emit(entry)
        except Exception:  # the log must never take the link down
            log.exception("message log: could not log a frame (%s)", direction)

    def connection(self, kind: str, reason: str = "") -> None:
        """Log a connection event with what the link knows about it (URL, security
        profile, HTTP status, TLS error, close code and reason).

        `kind` is one of `ConnectionEvent` (connecting, connected, tls_failure,
        http_failure, disconnected, closed, ...); another kind is logged as given, so
        that a new event in the link never costs a log line or an exception.
        """
        if self._closed:
            return
        try:
            self._emit(event(self._now(), as_text(kind), reason))
        except Exception:
            log.exception("message log: could not log a connection event")

    def security_event(
        self, type_: str, tech_info: str | None = None, timestamp: datetime | None = None
    ) -> None:
        """Log a security event (security format only): one JSON line with the
        SecurityEventNotification fields type, timestamp and techInfo."""
        if self._closed or self._security is None:
            return
        try:
            when = utc(timestamp) if timestamp is not None else self._now()
            info = redact_text(as_text(tech_info)) if tech_info is not None else None
            self._security.write(text.security_line(redact_text(as_text(type_)), when, info))
        except Exception:
            log.exception("message log: could not log a security event")

    def session_started(self, session_id: str, folder: Path | str) -> Path | None:
        """Begin the page of a charging session in `folder` (session_logging only).

        Returns the page's path (`<folder>/incomplete-ocpp.html`), None when
        session logging is off or the folder cannot be written (reported through
        logging). A session id already open is stopped first.
        """
        if self._closed or not self.settings.has(LogFormat.SESSION_LOGGING):
            return None
        if session_id in self._sessions:
            log.warning("message log: session %s started again; its page is ended", session_id)
            self.session_stopped(session_id)
        target = Path(folder) / SESSION_INCOMPLETE_NAME
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._sessions[session_id] = self._open_page(
                target, Rotation(), subtitle=f"session {as_text(session_id)}"
            )
        except OSError as e:
            log.warning("message log: cannot write the session log %s: %s", target, e)
            return None
        self._emit(event(self._now(), "session started", as_text(session_id)))
        return target

    def session_stopped(self, session_id: str) -> Path | None:
        """End a session's page and rename it `ocpp.html`; returns the new path.

        None when no such session is open (session logging off, unknown id, or the
        page could not be renamed; reported through logging).
        """
        if self._closed or session_id not in self._sessions:
            return None
        self._emit(event(self._now(), "session stopped", as_text(session_id)))
        page_file = self._sessions.pop(session_id)
        page_file.close()
        final = page_file.path.with_name(SESSION_FINAL_NAME)
        try:
            os.replace(page_file.path, final)
        except OSError as e:
            log.warning("message log: cannot rename %s to %s: %s", page_file.path, final, e)
            return None
        return final

    def close(self) -> None:
        """Log "log closed" and close every file; pages get their closing tags.

        Pages of sessions still open keep their incomplete name: those sessions did
        not end. Calling close again does nothing.
        """
        if self._closed:
            return
        try:
            self._emit(event(self._now(), "log closed", ""))
        finally:
            self._closed = True
            for f in (self._text, self._html, self._raw, self._security):
                if f is not None:
                    f.close()
            for page_file in self._sessions.values():
                page_file.close()
            self._sessions.clear()

    def __enter__(self) -> MessageLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- sinks ----------------------------------------------------------------------

    def _emit(self, entry: Entry) -> None:
        if self._console:
            console_log.info("%s", text.detailed(entry) if self._detailed else text.title(entry))
        if self._text is not None:
            self._text.write(text.log_entry(entry))
        if self._html is not None or self._sessions:
            row = page.row(entry)
            if self._html is not None:
                self._html.write(row)
            for page_file in self._sessions.values():
                page_file.write(row)
        if self._raw is not None:
            self._raw.write(text.raw_line(entry))
        if self._callback is not None:
            try:
                self._callback(entry)
            except Exception:
                log.exception("message log: the callback failed")
