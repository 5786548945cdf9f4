"""Shared test configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.chart_coverage"]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    return REPO
