"""Imports point down: each module imports only its own layer or the layers below it,
and no two components import each other, directly or round a longer cycle.

The layers, lowest first (docs/architecture.md draws them):

    ocpp        the sans-IO protocol layer (and the package's own __init__)
    base        config, smartcharging, charts, errors, store, host, certstore,
                transport, wsframes, pki, netsim, messagelog, _resources
    actors      the trio runtime and every actor
    features    the feature profiles and their registry
    station     open_charge_point, the handle, the assembly
    hosts       sim, csms, fleet
    cli         the command line

Every import counts, wherever it is: inside a function, under TYPE_CHECKING.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.architecture.imports import PACKAGE, Import, all_imports, component

#: the layers, lowest first: (name, the components in it)
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("ocpp", frozenset({"chargebox", "ocpp"})),
    (
        "base",
        frozenset(
            {
                "_resources",
                "certstore",
                "charts",
                "config",
                "errors",
                "host",
                "messagelog",
                "netsim",
                "pki",
                "smartcharging",
                "store",
                "transport",
                "wsframes",
            }
        ),
    ),
    ("actors", frozenset({"actors"})),
    ("features", frozenset({"features"})),
    ("station", frozenset({"station"})),
    ("hosts", frozenset({"sim", "csms", "fleet"})),
    ("cli", frozenset({"cli", "__main__"})),
]

ORDER = " < ".join(name for name, _ in LAYERS)


def _layer(comp: str, layers: list[tuple[str, frozenset[str]]]) -> tuple[int, str] | None:
    for rank, (name, members) in enumerate(layers):
        if comp in members:
            return rank, name
    return None


def unplaced(imports: Iterable[Import], layers: list[tuple[str, frozenset[str]]]) -> list[str]:
    """Components that no layer names."""
    seen = {component(i.module) for i in imports} | {component(i.target) for i in imports}
    return sorted(c for c in seen if _layer(c, layers) is None)


def upward(imports: Iterable[Import], layers: list[tuple[str, frozenset[str]]]) -> list[str]:
    """One line per import that points up: where, what, and the rule it breaks."""
    found = []
    for imp in imports:
        source, target = component(imp.module), component(imp.target)
        here, there = _layer(source, layers), _layer(target, layers)
        if here is None or there is None or there[0] <= here[0]:
            continue
        found.append(
            f"{imp.where}: {imp.module} imports {imp.target}: layer {here[1]} ({source}) "
            f"may not import layer {there[1]} ({target}) above it; the order is {ORDER}"
        )
    return found


def cycles(imports: Iterable[Import]) -> list[str]:
    """One line per cycle of imports between components, with an import for each step."""
    example: dict[tuple[str, str], Import] = {}
    for imp in imports:
        edge = (component(imp.module), component(imp.target))
        if edge[0] != edge[1]:
            example.setdefault(edge, imp)
    graph: dict[str, set[str]] = {}
    for a, b in example:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    found = []
    for group in _strongly_connected(graph):
        if len(group) < 2:
            continue
        steps = [
            f"{a} -> {b} ({example[a, b].where})" for a in group for b in group if (a, b) in example
        ]
        found.append(f"components {', '.join(group)} import each other: {'; '.join(steps)}")
    return found


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; each group sorted, groups in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


# -- the package -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports(PACKAGE)


def test_every_component_has_a_layer(imports):
    missing = unplaced(imports, LAYERS)
    assert not missing, f"components without a layer (add them to LAYERS): {missing}"


def test_imports_point_down(imports):
    found = upward(imports, LAYERS)
    assert not found, "imports that point up:\n" + "\n".join(found)


def test_no_cycle_between_components(imports):
    found = cycles(imports)
    assert not found, "cycles between components:\n" + "\n".join(found)


# -- the checks themselves, on a package made for them ------------------------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    package = root / "chargebox"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in [package, *(p for p in package.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    return package


def test_an_import_up_is_found_wherever_it_is(tmp_path):
    package = _package(
        tmp_path,
        {
            "ocpp/frames.py": "X = 1\n",
            "actors/link.py": (
                "from typing import TYPE_CHECKING\n"
                "from chargebox.ocpp import frames\n"  # down: fine
                "if TYPE_CHECKING:\n"
                "    from chargebox.station.handle import ChargePoint\n"  # line 4
                "def later():\n"
                "    from ..features import core\n"  # line 6, relative
                "    import chargebox.cli\n"  # line 7
            ),
            "features/core.py": "X = 1\n",
            "station/handle.py": "ChargePoint = 1\n",
            "cli/__init__.py": "",
        },
    )
    found = upward(all_imports(package), LAYERS)
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in found] == ["4", "6", "7"]
    assert "layer actors (actors) may not import layer station (station)" in found[0]
    assert "chargebox.actors.link imports chargebox.features.core" in found[1]


def test_a_cycle_between_components_is_found(tmp_path):
    package = _package(
        tmp_path,
        {
            "host.py": "from chargebox.pki import contract\n",
            "pki/contract.py": "def f():\n    from chargebox import store\n",
            "store.py": "import chargebox.host\n",
            "config/keys.py": "from chargebox import transport\n",
            "transport.py": "X = 1\n",
        },
    )
    imports = all_imports(package)
    assert upward(imports, LAYERS) == []  # one layer: only the cycle is wrong
    (found,) = cycles(imports)
    assert found.startswith("components host, pki, store import each other")
    assert "pki -> store (" in found and "contract.py:2)" in found
