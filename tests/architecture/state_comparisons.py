"""Find comparisons of a chart state outside the charts (an AST scan of the sources).

A rule that compares an actor's `.state` with a state name lives in handler
code instead of a chart transition. This scan finds every `Compare` node where
one side is an attribute called `state` (`tx.model.state == "Active"`,
`link.model.state in (...)`) or a name bound from one in the same function
(`state = connector.model.state` ... `state == "Faulted"`). Modules under
chargebox/charts/ are exempt: the charts' own models compare their state.

Run as a script to print the findings: `python -m tests.architecture.state_comparisons`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

SRC = Path(__file__).resolve().parents[2] / "src"
CHARTS = SRC / "chargebox" / "charts"

_SCOPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@attrs.frozen
class StateComparison:
    path: Path
    line: int
    source: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(SRC.parent)}:{self.line}: {self.source}"


def _is_state(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "state"


def _bound_from_state(scope: ast.AST) -> set[str]:
    """Names this scope (not a nested function) binds to a `.state` attribute."""
    names: set[str] = set()
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign) and _is_state(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and node.value is not None and _is_state(node.value):
            if isinstance(node.target, ast.Name):
                names.add(node.target.id)
        elif isinstance(node, ast.NamedExpr) and _is_state(node.value):
            names.add(node.target.id)
        todo.extend(ast.iter_child_nodes(node))
    return names


def _scan(
    node: ast.AST, bound: frozenset[str], lines: list[str], path: Path
) -> Iterator[StateComparison]:
    if isinstance(node, _SCOPES):
        bound = bound | _bound_from_state(node)
    if isinstance(node, ast.Compare):
        operands = [
            o.value if isinstance(o, ast.NamedExpr) else o for o in (node.left, *node.comparators)
        ]
        if any(_is_state(o) or (isinstance(o, ast.Name) and o.id in bound) for o in operands):
            yield StateComparison(path, node.lineno, lines[node.lineno - 1].strip())
    for child in ast.iter_child_nodes(node):
        yield from _scan(child, bound, lines, path)


def state_comparisons_in(path: Path) -> list[StateComparison]:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    return list(_scan(tree, frozenset(), text.splitlines(), path))


def source_files(root: Path = SRC / "chargebox") -> Iterable[Path]:
    """Every Python module of the package outside chargebox/charts/."""
    for path in sorted(root.rglob("*.py")):
        if CHARTS not in path.parents:
            yield path


def state_comparisons(root: Path = SRC / "chargebox") -> list[StateComparison]:
    """Every `.state` comparison outside chargebox/charts/, in file and line order."""
    return [found for path in source_files(root) for found in state_comparisons_in(path)]


if __name__ == "__main__":
    found = state_comparisons()
    for item in found:
        print(item)
    print(f"{len(found)} state comparisons outside chargebox/charts/")
