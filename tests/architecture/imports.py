"""Every import between chargebox's modules, read from the sources with ast.

Imports anywhere count: at the top, inside functions, under `if TYPE_CHECKING:`.
A module belongs to a component: the first name after `chargebox.`
(`chargebox.actors.link` -> `actors`, `chargebox.store` -> `store`; the
package's own `__init__` -> `chargebox`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import attrs

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "chargebox"


@attrs.frozen
class Import:
    """`module` (a file) imports `target` (a chargebox module) at `line`."""

    module: str
    file: str
    line: int
    target: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def component(module: str) -> str:
    """`chargebox.actors.link` -> `actors`; `chargebox` -> `chargebox`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _exists(module: str, root: Path) -> bool:
    base = root.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    # a relative import: from the module's package, one level up per extra dot
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, root: Path = PACKAGE) -> Iterator[Import]:
    """The chargebox modules `path` imports (a `from X import Y` of a submodule names X.Y)."""
    module = module_name(path, root)
    file = str(path.relative_to(root.parent.parent))
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top = root.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == top or alias.name.startswith(top + "."):
                    yield Import(module, file, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(node, module, path.name == "__init__.py")
            if source != top and not source.startswith(top + "."):
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                yield Import(module, file, node.lineno, sub if _exists(sub, root) else source)


def all_imports(root: Path = PACKAGE) -> list[Import]:
    """Every import between the package's modules, in file and line order."""
    return [found for path in sorted(root.rglob("*.py")) for found in imports_of(path, root)]
