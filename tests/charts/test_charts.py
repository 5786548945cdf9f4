"""Every shipped chart loads, binds to its model, renders, and its docs page is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chargebox.charts import Chart, ChartError, NotAllowed, all_charts, chart, chart_names, diagram
from chargebox.charts.models import MODELS, ConnectorModel
from chargebox.cli.diagram import DOCS_SOURCE_LINK

NAMES = chart_names()


def test_the_catalog_matches_the_chart_files(repo: Path) -> None:
    files = sorted(p.stem for p in (repo / "statecharts").glob("*.yaml"))
    assert files == sorted(NAMES)
    assert [c.name for c in all_charts()] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_chart_loads_and_binds_its_model(name: str) -> None:
    loaded = chart(name)
    assert loaded.model_class is MODELS[name]
    assert loaded.spec.model == MODELS[name].__name__
    model = MODELS[name].example()
    assert model.state == loaded.initial
    assert not hasattr(model, "__dict__"), "models must stay slot-only"


def test_unknown_chart_name_lists_the_charts() -> None:
    with pytest.raises(ChartError, match="no chart named 'lamp'; the charts are connector"):
        chart("lamp")


@pytest.mark.parametrize("name", NAMES)
def test_mermaid_has_every_transition(name: str) -> None:
    spec = chart(name).spec
    text = diagram.mermaid(spec)
    assert text.startswith("stateDiagram-v2\n")
    assert f"[*] --> {spec.initial}" in text
    for t in spec.transitions:
        for source in t.sources:
            if t.internal:
                assert re.search(
                    rf"note right of {source}\n(        .*\n)*        {t.label} ", text
                )
            else:
                assert f"    {source} --> {t.dest}: {diagram.edge_text(t)}\n" in text


@pytest.mark.parametrize("name", NAMES)
def test_dot_source_has_every_state_and_edge(name: str) -> None:
    spec = chart(name).spec
    text = diagram.dot(spec)
    assert text.startswith(f'digraph "{spec.name}" {{') and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    for state in spec.state_names:
        assert f'    "{state}" [label="{state}' in text
    edges = sum(len(t.sources) for t in spec.transitions if not t.internal)
    assert text.count(" -> ") == edges + 1  # plus the initial arrow


def test_edge_text_shows_guards_and_negated_unless() -> None:
    spec = chart("outbox").spec
    assert diagram.edge_text(spec.transition("Q9")) == "Q9 failed [has_more, not attempts_left]"
    assert diagram.internal_text(spec.transition("Q1")) == "Q1 enqueued / count_in"


def test_dot_quotes_are_escaped() -> None:
    spec = chart("connector").spec
    assert diagram._dot_quote('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'
    assert '"\\"' not in diagram.dot(spec)


@pytest.mark.parametrize("name", NAMES)
def test_docs_page_is_current(name: str, repo: Path) -> None:
    page = repo / "docs" / "statecharts" / f"{name}.md"
    expected = diagram.markdown_page(
        chart(name).spec, source_link=DOCS_SOURCE_LINK.format(name=name)
    )
    assert page.is_file(), f"{page} is missing: run `chargebox diagram --out docs/statecharts`"
    assert page.read_text(encoding="utf-8") == expected, (
        f"{page} is stale: run `chargebox diagram --out docs/statecharts`"
    )
    assert (repo / "statecharts" / f"{name}.yaml").is_file()  # the page's link resolves


def test_docs_index_links_every_chart(repo: Path) -> None:
    index = (repo / "docs" / "statecharts" / "index.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"]({name}.md)" in index


def test_one_machine_per_chart_shared_by_all_models() -> None:
    a, b = ConnectorModel(1), ConnectorModel(2)
    assert a.chart() is b.chart() is Chart.for_model(ConnectorModel)
    machine = a.chart().machine
    a.fire("usage_initiated")
    assert machine.models == []  # models are never added to the machine
    assert (a.state, b.state) == ("Preparing", "Available")
    assert not any(hasattr(a, name) for name in ("usage_initiated", "trigger", "is_Available"))


def test_an_event_that_is_not_allowed_changes_nothing() -> None:
    model = ConnectorModel(1)
    before = model.snapshot()
    outcome = model.fire("transaction_stopped")
    assert isinstance(outcome, NotAllowed) and not outcome.allowed
    assert str(outcome) == (
        "connector: transaction_stopped not allowed in Available (no transition from this state)"
    )
    assert model.snapshot() == before and model.drain_effects() == []
    model.fire("reserve_now", reservation_id=3)
    model.drain_effects()
    before = model.snapshot()
    # the reservation's identity, but Unavailable is scheduled (G2 is not for it, nor N20)
    model.inoperative_scheduled = True
    before = model.snapshot()
    refused = model.fire("usage_initiated", reservation_id=3)
    assert refused.reason == "guards not satisfied"
    assert model.snapshot() == before and model.drain_effects() == []


def test_an_unknown_trigger_is_a_programming_error() -> None:
    with pytest.raises(ChartError, match="unknown trigger 'plug_in'"):
        ConnectorModel(1).fire("plug_in")


def test_a_model_starts_in_a_given_state_only_if_the_chart_has_it() -> None:
    assert ConnectorModel(1, state="Unavailable").state == "Unavailable"
    with pytest.raises(ValueError, match="'Occupied' is not a state"):
        ConnectorModel(1, state="Occupied")


def test_clone_and_snapshot_cover_the_data() -> None:
    model = ConnectorModel(4)
    model.fire("reserve_now", reservation_id=11)
    twin = model.clone()
    assert twin.snapshot() == model.snapshot() and twin.pending_effects == ()
    assert model.pending_effects and repr(model).startswith("ConnectorModel(state='Reserved'")
