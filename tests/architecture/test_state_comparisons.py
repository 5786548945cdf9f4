"""Rules that compare an actor's state belong in the charts: none outside chargebox/charts/.

Each comparison of a `.state` outside chargebox/charts/ is a rule hidden from
the diagrams and the model-driven tests. What the rest of the engine needs to
know of a state is a named predicate of the chart's model
(`TransactionModel.active`, `LinkModel.accepted`, `ConnectorModel.in_session`),
documented there and ready to be a guard.
"""

from __future__ import annotations

from tests.architecture.state_comparisons import state_comparisons, state_comparisons_in


def test_no_state_comparisons_outside_the_charts():
    found = state_comparisons()
    listed = "\n".join(f"  {item}" for item in found)
    assert not found, (
        f"{len(found)} comparisons of a chart state outside chargebox/charts/; a rule that "
        "needs an actor's state is a chart transition, or reads a predicate of the chart's "
        f"model:\n{listed}"
    )


def test_the_scan_finds_attributes_and_names_bound_from_them(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text(
        "def f(tx, link, c):\n"
        "    if tx.model.state == 'Active':\n"  # 1
        "        pass\n"
        "    state = link.model.state\n"
        "    if state in ('Accepted', 'Pending') or 'Rejected' != state:\n"  # 2, 3
        "        pass\n"
        "    if (s := c.state) == 'Faulted':\n"  # 4
        "        pass\n"
        "    other = c.status\n"
        "    return other == 'Available' or tx.model.id_tag == 'A'\n"  # not a state
        "def g(state):\n"
        "    return state == 'Idle'\n",  # a parameter, not bound from .state
        encoding="utf-8",
    )
    lines = [item.line for item in state_comparisons_in(module)]
    assert lines == [2, 5, 5, 7]
