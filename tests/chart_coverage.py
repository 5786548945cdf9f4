"""pytest plugin: record which chart transitions the tests run and print it per chart.

Registered from tests/conftest.py. The summary lists every shipped chart, e.g.
"connector: 79/79 transitions (100%)", and names the transitions no test ran.
"""

from __future__ import annotations

import pytest

from chargebox.charts import coverage


def pytest_configure(config: pytest.Config) -> None:
    coverage.start()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    recorder = coverage.recorder
    if recorder is None or not recorder.ran:
        return
    from chargebox.charts.catalog import all_charts

    terminalreporter.section("statechart transition coverage")
    for chart in all_charts():
        terminalreporter.write_line(recorder.for_chart(chart.name, chart.transition_keys()).line())


def pytest_unconfigure(config: pytest.Config) -> None:
    coverage.stop()
