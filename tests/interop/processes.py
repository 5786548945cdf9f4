"""Subprocesses for the command-line and interop tests: their output as lines, bounded waits.

Every wait has a deadline; a process is terminated (then killed) when the
test ends, whatever happened. On a failed wait the assertion shows what the
process printed so far.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHARGEBOX = [sys.executable, "-m", "chargebox"]


def _event(line: str) -> str | None:
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value.get("event") if isinstance(value, dict) else None


class Process:
    """A running program whose stdout and stderr are collected line by line by threads."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        stdin: int | None = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = list(args)
        self.proc = subprocess.Popen(
            self.args,
            cwd=cwd,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._new: queue.Queue[None] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))
            self._new.put(None)
        self._new.put(None)

    def output(self) -> str:
        return "\n".join(self.out) + "\n--- stderr ---\n" + "\n".join(self.err)

    def wait_line(self, match: Callable[[str], bool], timeout: float) -> str:
        """The first stdout line that `match`es, waiting at most `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.out[seen:]:
                if match(line):
                    return line
            seen = len(self.out)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{self.args[:4]}: no matching line within {timeout} s; output:\n"
                    + self.output()
                )
            if self.proc.poll() is not None and all(not r.is_alive() for r in self._readers):
                for line in self.out[seen:]:
                    if match(line):
                        return line
                raise AssertionError(
                    f"{self.args[:4]} ended ({self.proc.returncode}) before a matching line; "
                    "output:\n" + self.output()
                )
            try:
                self._new.get(timeout=min(left, 0.5))
            except queue.Empty:
                pass

    def events(self) -> list[dict[str, Any]]:
        """The JSON lines printed so far (the interop peers' protocol)."""
        out = []
        for line in self.out:
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_event(self, name: str, timeout: float) -> dict[str, Any]:
        """The first JSON line whose "event" is `name` (waiting at most `timeout` seconds)."""

        def match(line: str) -> bool:
            return _event(line) == name

        return json.loads(self.wait_line(match, timeout))

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.args[:4]} still runs after {timeout} s; output:\n" + self.output()
            ) from None

    def stop(self) -> None:
        """Terminate (SIGTERM), then kill after 5 s; wait for the reader threads."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for reader in self._readers:
            reader.join(timeout=5)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
