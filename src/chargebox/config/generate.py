"""Regenerate config/schemas/*.json and the key tables of docs/configuration.md from the registry.

Run from a source checkout: `python -m chargebox.config.generate` (writes) or
`python -m chargebox.config.generate --check` (exit status 1 when a file is stale).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chargebox._resources import data_dir
from chargebox.config.reference import key_tables, splice
from chargebox.config.schemas import all_schemas


def schema_text(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def expected_files(config_dir: Path, docs_file: Path) -> dict[Path, str]:
    """Every generated file with the text it must have."""
    files = {
        config_dir / "schemas" / name: schema_text(schema) for name, schema in all_schemas().items()
    }
    files[docs_file] = splice(docs_file.read_text(encoding="utf-8"), key_tables())
    return files


def main(argv: list[str] | None = None) -> int:
    config_dir = data_dir("config")
    parser = argparse.ArgumentParser(prog="python -m chargebox.config.generate")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("--config-dir", type=Path, default=config_dir)
    parser.add_argument(
        "--docs", type=Path, default=config_dir.parent / "docs" / "configuration.md"
    )
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected_files(args.config_dir, args.docs).items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
