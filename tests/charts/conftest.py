"""Generated event paths, computed once per test session."""

from __future__ import annotations

import pytest

from chargebox.charts import chart, chart_names
from chargebox.charts.paths import Path, generate_paths


@pytest.fixture(scope="session")
def chart_paths() -> dict[str, list[Path]]:
    return {name: generate_paths(chart(name)) for name in chart_names()}
