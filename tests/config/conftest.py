"""Fixtures for the configuration tests: the example documents and a writer for variants."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .support import FULL, SEED

Writer = Callable[..., Path]


@pytest.fixture
def seed() -> dict[str, Any]:
    """The seed's example configuration as a fresh dict (edit freely)."""
    return json.loads(SEED.read_text(encoding="utf-8"))


@pytest.fixture
def full() -> dict[str, Any]:
    """The libocpp-style full configuration as a fresh dict."""
    return json.loads(FULL.read_text(encoding="utf-8"))


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """write(document, name="ocpp-config.json") -> path of the JSON file in tmp_path.

    A str document is written as is (for broken JSON).
    """

    def writer(document: Any, name: str = "ocpp-config.json") -> Path:
        path = tmp_path / name
        text = document if isinstance(document, str) else json.dumps(document, indent=4)
        path.write_text(text, encoding="utf-8")
        return path

    return writer
