"""The libocpp key table (tests/config/data/config-keys-libocpp.md) read into rows.

The file is a copy of the key tables of facts gathered from libocpp (its first lines
say from which commit), kept in the repository so that the registry tests run on a
clone alone.
"""

from __future__ import annotations

import re
from pathlib import Path

FACTS = Path(__file__).resolve().parent / "data" / "config-keys-libocpp.md"

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


def rows() -> list[dict[str, str]]:
    """The rows of the key table in the repository's copy."""
    return parse_facts(FACTS.read_text(encoding="utf-8"))
