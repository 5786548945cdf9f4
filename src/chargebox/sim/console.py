"""What `chargebox sim` shows: event lines, errors, and on a terminal a live status line.

On a terminal each connector has a line at the bottom of the screen, redrawn in
place (status, power, energy, transaction id, SoC); events scroll above it.
Elsewhere (a pipe, a file, a test) the same events come as plain lines, one
per event, with the station's time: easy to read back and to parse.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from chargebox.sim.simulator import StatusRow


def describe(row: StatusRow) -> str:
    """One connector in one line.

    `1 Charging  11.0 kW  2.35 kWh (session 1.20 kWh)  tx 7  SoC 43%`
    """
    parts = [f"{row.connector_id} {row.status:<13}", f"{row.power_w / 1000:5.1f} kW"]
    energy = f"{row.energy_wh / 1000:8.2f} kWh"
    if row.session_wh is not None:
        energy += f" (session {row.session_wh / 1000:.2f} kWh)"
    parts.append(energy)
    if row.transaction_id is not None:
        parts.append(f"tx {row.transaction_id}")
    if row.soc is not None:
        parts.append(f"SoC {row.soc:.0f}%")
    elif not row.plugged:
        parts.append("unplugged")
    return "  ".join(parts)


class LineOutput:
    """Plain lines: `HH:MM:SS.mmm event` on stdout, `error: ...` on stderr."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.clock = clock

    def _stamp(self) -> str:
        return self.clock().strftime("%H:%M:%S.%f")[:-3] + " " if self.clock else ""

    def event(self, text: str) -> None:
        print(f"{self._stamp()}{text}", file=self.out, flush=True)

    def error(self, text: str) -> None:
        print(f"{self._stamp()}error: {text}", file=self.err, flush=True)

    def status(self, rows: list[StatusRow], changed: bool) -> None:
        # the event lines already say every status change; power and energy would flood a log
        pass


class TerminalOutput(LineOutput):
    """A live status block under the scrolling events (ANSI escapes; a terminal only)."""

    def __init__(self, out: TextIO | None = None, clock: Callable[[], datetime] | None = None):
        super().__init__(out, out, clock)
        self._drawn = 0
        #: lines typed (and echoed by the terminal) under the block since it was drawn
        self._typed = 0
        self._rows: list[StatusRow] = []

    def typed_line(self) -> None:
        """A line was typed under the block: the next erase takes it too (the command
        comes back as an event line, `> plug 1`, above the block)."""
        self._typed += 1

    def _erase(self) -> None:
        lines = self._drawn + self._typed
        if lines:
            # up to the block's first line, then clear to the end of the screen
            self.out.write(f"\x1b[{lines}F\x1b[J")
            self._drawn = self._typed = 0

    def _draw(self) -> None:
        lines = [describe(row) for row in self._rows]
        for line in lines:
            self.out.write(f"\x1b[7m {line} \x1b[0m\n")
        self._drawn = len(lines)
        self.out.flush()

    def event(self, text: str) -> None:
        self._erase()
        self.out.write(f"{self._stamp()}{text}\n")
        self._draw()

    def error(self, text: str) -> None:
        self._erase()
        self.out.write(f"{self._stamp()}\x1b[31merror: {text}\x1b[0m\n")
        self._draw()

    def status(self, rows: list[StatusRow], changed: bool) -> None:
        self._erase()
        self._rows = rows
        self._draw()

    def close(self) -> None:
        self._erase()
        self.out.flush()
