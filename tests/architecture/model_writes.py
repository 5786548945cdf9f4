"""Find changes of a chart model made from outside its actor (an AST scan of the sources).

A model is changed only by its chart's transitions, run by the actor that owns it. The scan
finds, outside chargebox/charts/:
- an assignment to a `state` attribute (`tx.model.state = "Active"`), other than an object's
  own (`self.state = ...`);
- an assignment to an attribute of a `model`, or to a `model` itself, except the actor's own
  (`self.model.x = ...` in chargebox/actors/, where the actor sets up its model);
- a call of `perform(...)` outside chargebox/actors/ (effects are the actor's to perform).

Run as a script to print the findings: `python -m tests.architecture.model_writes`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.architecture.state_comparisons import SRC, StateComparison, source_files

ACTORS = SRC / "chargebox" / "actors"


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    return []


def _own_attribute(target: ast.Attribute) -> bool:
    """`self.<attr> = ...`: an object sets its own attribute (a chart model's state is
    changed through its holder: `<actor>.model.state`, `model.state`)."""
    return isinstance(target.value, ast.Name) and target.value.id == "self"


def _own_model(target: ast.Attribute) -> bool:
    """`self.model` or `self.model.<attr>`: the actor's own model."""
    value = target if target.attr == "model" else target.value
    return (
        isinstance(value, ast.Attribute)
        and value.attr == "model"
        and isinstance(value.value, ast.Name)
        and value.value.id == "self"
    )


def _scan(tree: ast.AST, in_actors: bool) -> Iterator[int]:
    for node in ast.walk(tree):
        for target in _targets(node):
            if not isinstance(target, ast.Attribute) or _own_attribute(target):
                continue
            of_model = target.attr == "model" or (
                isinstance(target.value, ast.Attribute) and target.value.attr == "model"
            )
            if target.attr == "state" or (of_model and not (in_actors and _own_model(target))):
                yield node.lineno
        if (
            not in_actors
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "perform"
        ):
            yield node.lineno


def model_writes_in(path: Path, *, in_actors: bool | None = None) -> list[StateComparison]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    inside = ACTORS in path.parents if in_actors is None else in_actors
    found = sorted(set(_scan(ast.parse(text, filename=str(path)), inside)))
    return [StateComparison(path, line, lines[line - 1].strip()) for line in found]


def model_writes(root: Path = SRC / "chargebox") -> list[StateComparison]:
    """Every change of a model from outside its actor, outside chargebox/charts/."""
    return [found for path in source_files(root) for found in model_writes_in(path)]


if __name__ == "__main__":
    found = model_writes()
    for item in found:
        print(item)
    print(f"{len(found)} model changes from outside their actor")
