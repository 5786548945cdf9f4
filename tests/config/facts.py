"""Read the libocpp key table of ../shared/ocpp16/facts/config-keys-libocpp.md into rows.

tests/config/data/libocpp-keys.json is this parser's output, kept in the repository
so the registry test runs on any machine; when the facts file is present a test
checks that the snapshot still matches it.
"""

from __future__ import annotations

import re
from pathlib import Path

FACTS = Path(__file__).resolve().parents[3] / "shared/ocpp16/facts/config-keys-libocpp.md"
SNAPSHOT = Path(__file__).resolve().parent / "data" / "libocpp-keys.json"

_SECTION = re.compile(r"^## (\w+) \(\d+ keys\)")
COLUMNS = (
    "key",
    "type",
    "ro",
    "req",
    "default",
    "constraints",
    "example",
    "getconf",
    "changeconf",
    "used",
    "notes",
)


def parse_facts(text: str) -> list[dict[str, str]]:
    """One dict per table row, with the section added; cells as written."""
    rows = []
    section = None
    for line in text.splitlines():
        match = _SECTION.match(line)
        if match:
            section = match.group(1)
            continue
        if section is None or not line.startswith("| ") or line.startswith("| Key "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) != len(COLUMNS):
            continue
        rows.append({"section": section, **dict(zip(COLUMNS, cells, strict=True))})
    return rows
