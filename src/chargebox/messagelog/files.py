"""Append-only log files that rotate by size, and that an HTML page can be written to.

A `LogFile` appends entries and flushes after each, so that what a crashed
process wrote is on disk. With rotation on, an entry that would take the file
past the maximum size first closes the file (writing its footer, so an HTML page
is complete), renames it, and starts a new one (with its header):

    numbered:  cp.log -> cp.0.log, cp.0.log -> cp.1.log, ...   (.0 is the newest)
    dated:     cp.log -> cp.20240501120000.log                 (UTC, from the log's clock)

The suffix goes before the extension so that a rotated page still opens as HTML.
At most `maximum_file_count` files of one log are kept, the current one included;
the oldest are deleted.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .settings import Rotation

log = logging.getLogger(__name__)

# Numbered suffixes have at most 9 digits so that dated ones (14) are never taken for
# numbers: switching LogRotationDateSuffix must not delete the other kind's files.
_NUMBERED = r"\.(\d{1,9})"
_DATED = r"\.(\d{14})(?:-(\d+))?"

_SAMPLE_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def _encode(text: str) -> bytes:
    # A websocket text can hold lone surrogates after a bad decode upstream; they are
    # written escaped rather than failing the write.
    return text.encode("utf-8", "backslashreplace")


class LogFile:
    """One log file: append, flush, rotate.

    `header(time)` starts every new file and `footer(time)` ends every file that is
    rotated or closed (both "" for text logs). Opening an existing file continues it:
    `continue_tail(tail)` may return how many bytes to cut from its end first (an
    HTML page cuts its footer, so new rows go inside its table).
    """

    def __init__(
        self,
        path: Path,
        *,
        rotation: Rotation,
        clock: Callable[[], datetime],
        header: Callable[[datetime], str] | None = None,
        footer: Callable[[datetime], str] | None = None,
        continue_tail: Callable[[bytes], int] | None = None,
    ) -> None:
        self.path = path
        self._rotation = rotation
        self._clock = clock
        self._header = header
        self._footer = footer
        self._continue_tail = continue_tail
        self._failed = False  # the last write failed (reported once)
        self._rotation_failed = False
        self._done = False  # closed by close(): later writes are ignored
        # room kept for the footer under the size limit; its text has a fixed length
        self._footer_size = len(_encode(footer(_SAMPLE_TIME))) if footer else 0
        self._open()

    def _open(self) -> None:
        """Open the file for appending: begin a new one, or continue what is there."""
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the log's lifetime
        self._size = os.fstat(self._file.fileno()).st_size
        if self._size == 0:
            self._begin()
            return
        # a file left by an earlier run (or a rotation that failed): it holds entries,
        # so it may be rotated at the first write
        self._empty_size = 0
        if self._continue_tail is not None:
            self._continue()

    @property
    def size(self) -> int:
        """Bytes in the current file."""
        return self._size

    def _begin(self) -> None:
        if self._header is not None:
            self._raw_write(_encode(self._header(self._clock())))
        # the size of this file while it holds no entry
        self._empty_size = self._size

    def _continue(self) -> None:
        assert self._continue_tail is not None
        with open(self.path, "rb") as f:
            f.seek(max(0, self._size - 4096))
            tail = f.read()
        cut = self._continue_tail(tail)
        if cut > 0:
            self._file.truncate(self._size - cut)
            self._size -= cut

    def _raw_write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def write(self, text: str) -> None:
        """Append `text` (one entry), rotating first when it would not fit.

        An OSError (disk full, folder removed) is logged once until a write works
        again, and not raised: losing a log line must not stop the charge point.
        """
        if self._done:
            return
        data = _encode(text)
        try:
            if self._file.closed:  # a rotation could not reopen it: try again
                self._open()
            if self._must_rotate(len(data)):
                self._rotate()
            self._raw_write(data)
        except OSError as e:
            if not self._failed:
                log.warning("message log: cannot write %s: %s", self.path, e)
            self._failed = True
        else:
            self._failed = False

    def _must_rotate(self, incoming: int) -> bool:
        if not self._rotation.active or self._rotation_failed:
            return False
        # A file holding nothing but its header is never rotated: an entry larger than
        # the limit gets a file of its own instead of an endless series of empty ones.
        limit = self._rotation.maximum_file_size
        return self._size > self._empty_size and self._size + incoming + self._footer_size > limit

    def _rotate(self) -> None:
        now = self._clock()
        if self._footer is not None:
            self._raw_write(_encode(self._footer(now)))
        self._file.close()
        keep = self._rotation.maximum_file_count - 1  # rotated files; -1: no limit
        try:
            if self._rotation.date_suffix:
                self._rotate_dated(now, keep)
            else:
                self._rotate_numbered(keep)
        except OSError as e:
            # Renaming is refused (permissions, a file locked by another program): keep
            # writing to the same file rather than trying again on every entry.
            log.warning("message log: cannot rotate %s (%s); it grows from now on", self.path, e)
            self._rotation_failed = True
        self._open()

    def _rotated(self, pattern: str) -> list[tuple[tuple[int, ...], Path]]:
        """The rotated files of this log, as (sort key, path), oldest last for numbers."""
        stem, suffix = self.path.stem, self.path.suffix
        regex = re.compile(re.escape(stem) + pattern + re.escape(suffix))
        found = []
        for entry in os.scandir(self.path.parent):
            m = regex.fullmatch(entry.name)
            if m is not None and entry.is_file():
                key = tuple(int(g) for g in m.groups() if g is not None)
                found.append((key, Path(entry.path)))
        return sorted(found)

    def _rotate_numbered(self, keep: int) -> None:
        stem, suffix = self.path.stem, self.path.suffix
        # from the oldest (highest number) down, so no rename overwrites a file not yet moved
        for (number,), path in reversed(self._rotated(_NUMBERED)):
            if 0 <= keep <= number + 1:
                path.unlink()
            else:
                path.rename(self.path.with_name(f"{stem}.{number + 1}{suffix}"))
        if keep == 0:
            self.path.unlink()
        else:
            self.path.rename(self.path.with_name(f"{stem}.0{suffix}"))

    def _rotate_dated(self, now: datetime, keep: int) -> None:
        stem, suffix = self.path.stem, self.path.suffix
        stamp = now.strftime("%Y%m%d%H%M%S")
        target = self.path.with_name(f"{stem}.{stamp}{suffix}")
        n = 0
        while target.exists():  # two rotations within one second
            n += 1
            target = self.path.with_name(f"{stem}.{stamp}-{n}{suffix}")
        if keep == 0:
            self.path.unlink()
            return
        self.path.rename(target)
        if keep > 0:
            rotated = self._rotated(_DATED)
            for _, path in rotated[: max(0, len(rotated) - keep)]:
                path.unlink()

    def close(self) -> None:
        """Write the footer and close; later writes are ignored."""
        if self._done:
            return
        self._done = True
        if self._file.closed:
            return
        try:
            if self._footer is not None:
                self._raw_write(_encode(self._footer(self._clock())))
            self._file.close()
        except OSError as e:
            log.warning("message log: cannot finish %s: %s", self.path, e)
            # the file object is closed even when its last flush failed
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._done
