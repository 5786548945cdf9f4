"""Transition coverage: which declared transitions ran, counted per chart.

Recording is off unless a recorder is installed (the test suite installs one);
when off, the only cost in `Chart.fire` is one attribute test.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import attrs


@attrs.define
class ChartCoverage:
    """Coverage of one chart: the (label, source) pairs declared and those that ran."""

    chart: str
    declared: list[tuple[str, str]]
    covered: set[tuple[str, str]]

    @property
    def missing(self) -> list[tuple[str, str]]:
        return [key for key in self.declared if key not in self.covered]

    @property
    def percent(self) -> float:
        return 100.0 * len(self.covered) / len(self.declared) if self.declared else 100.0

    def line(self) -> str:
        """The summary line, e.g. "connector: 77/77 transitions (100%)"."""
        done = len([key for key in self.declared if key in self.covered])
        text = f"{self.chart}: {done}/{len(self.declared)} transitions ({self.percent:.0f}%)"
        if self.missing:
            shown = ", ".join(f"{label} from {source}" for label, source in self.missing[:8])
            more = f" and {len(self.missing) - 8} more" if len(self.missing) > 8 else ""
            text += f"; not run: {shown}{more}"
        return text


class CoverageRecorder:
    """Collects the (chart, label, source) triples that ran."""

    def __init__(self) -> None:
        self.ran: set[tuple[str, str, str]] = set()

    def record(self, chart: str, label: str, source: str) -> None:
        self.ran.add((chart, label, source))

    def for_chart(self, chart: str, declared: Iterable[tuple[str, str]]) -> ChartCoverage:
        keys = list(declared)
        covered = {(label, source) for c, label, source in self.ran if c == chart}
        return ChartCoverage(chart, keys, covered & set(keys))


#: The active recorder, or None when coverage is not being recorded.
recorder: CoverageRecorder | None = None


def start() -> CoverageRecorder:
    """Install a fresh recorder (replacing any) and return it."""
    global recorder
    recorder = CoverageRecorder()
    return recorder


def stop() -> CoverageRecorder | None:
    """Remove the recorder and return it."""
    global recorder
    done, recorder = recorder, None
    return done


@contextmanager
def paused() -> Iterator[None]:
    """Run a block without recording (path generation explores, it does not test)."""
    global recorder
    saved, recorder = recorder, None
    try:
        yield
    finally:
        recorder = saved
