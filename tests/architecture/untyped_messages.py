"""Find messages between actors that are not typed: `Trigger` and address strings (an AST scan).

Events between actors are typed (chargebox.charts.events) and addressed by
typed addresses (chargebox.charts.addresses). This scan finds what the
untyped way looked like:

- the name `Trigger` (a class, an import, a use, a call: `effects.Trigger(...)`);
  an OCPP enum member of that name (ReadingContext.Trigger) is not one;
- a string that spells an address: a literal or f-string beginning
  "connector/", "transaction/" or "reservation/";
- a string, literal or f-string, as the address of `deliver`, `ask`, `settle`,
  `settled`, `register` or `Send` ("link", "station", f"connector/{c}").

Run as a script to print the findings: `python -m tests.architecture.untyped_messages`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import attrs

SRC = Path(__file__).resolve().parents[2] / "src"

_ADDRESS_PREFIXES = ("connector/", "transaction/", "reservation/")
_ADDRESSED = frozenset({"deliver", "ask", "settle", "settled", "register", "Send"})


@attrs.frozen
class Untyped:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _text(node: ast.AST) -> str | None:
    """The literal text a string (or the start of an f-string) spells, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        first = node.values[0] if node.values else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
        return ""
    return None


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def untyped_in(path: Path) -> list[Untyped]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Untyped] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name) and node.id == "Trigger" and isinstance(node.ctx, ast.Load):
            found.append(Untyped(path, line, "the name Trigger"))
        elif isinstance(node, ast.Call) and _called(node) == "Trigger":
            found.append(Untyped(path, line, "a call of Trigger"))
        elif isinstance(node, ast.ClassDef) and node.name == "Trigger":
            found.append(Untyped(path, line, "a class Trigger"))
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "Trigger":
                    found.append(Untyped(path, line, "an import of Trigger"))
        elif isinstance(node, ast.Call) and _called(node) in _ADDRESSED and node.args:
            text = _text(node.args[0])
            if text is not None:
                what = f"{_called(node)}() to the address string {text or '(f-string)'!r}"
                found.append(Untyped(path, line, what))
        if isinstance(node, ast.Constant | ast.JoinedStr):
            text = _text(node)
            if text is not None and text.startswith(_ADDRESS_PREFIXES):
                found.append(Untyped(path, line, f"the address string {text!r}"))
    return sorted(set(found), key=lambda u: (u.line, u.what))


def source_files(root: Path = SRC / "chargebox") -> Iterable[Path]:
    return sorted(root.rglob("*.py"))


def untyped(root: Path = SRC / "chargebox") -> list[Untyped]:
    """Every untyped message (or address) in the package's modules."""
    return [found for path in source_files(root) for found in untyped_in(path)]


if __name__ == "__main__":
    items = untyped()
    for item in items:
        print(item)
    print(f"{len(items)} untyped messages or addresses in src/chargebox")
