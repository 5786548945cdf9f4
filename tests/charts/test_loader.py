"""The chart loader refuses broken charts with a message naming the file and the culprit."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from chargebox.charts import Chart, ChartError, ChartModel, diagram
from chargebox.charts.effects import SendRequest

GOOD = """
name: lamp
description: A lamp.
model: LampModel
initial: Dark
inputs:
  mains: Mains power is present.
states:
  Dark: No light.
  Lit:
    description: Light.
    on_enter: count
triggers:
  press:
    from: host
    description: The button is pressed.
    params:
      force: press hard
    examples: [{}, {force: true}]
  timeout:
    from: timer
    description: Auto-off.
transitions:
  - label: P1
    trigger: press
    source: Dark
    dest: Lit
    conditions: mains
    after: announce
  - label: P2
    trigger: press
    source: Lit
    dest: Dark
  - label: P3
    trigger: timeout
    source: Lit
    dest: Dark
    unless: stuck
  - label: P4
    trigger: press
    source: [Dark]
    dest: null
    unless: mains
"""


class LampModel(ChartModel):
    __slots__ = ("mains", "presses")
    chart_name = "lamp"

    def __init__(self) -> None:
        self.state = "Dark"
        self._effects = None
        self.mains = True
        self.presses = 0

    def stuck(self, **_event: Any) -> bool:
        return False

    def count(self, **_event: Any) -> None:
        self.presses += 1

    def announce(self, **event: Any) -> None:
        self.record(SendRequest("DataTransfer", {"data": str(event.get("force", False))}))

    def no_kwargs(self) -> None:
        pass


def write(tmp_path: Path, text: str, name: str = "lamp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, model: type[ChartModel] = LampModel) -> Chart:
    return Chart.load(write(tmp_path, text), model)


def test_a_good_chart_loads_and_runs(tmp_path: Path) -> None:
    chart = load(tmp_path, GOOD)
    lamp = LampModel()
    outcome = chart.fire(lamp, "press", {"force": True})
    assert outcome.allowed and outcome.label == "P1" and lamp.state == "Lit"
    assert lamp.presses == 1  # on_enter ran
    assert lamp.drain_effects() == [SendRequest("DataTransfer", {"data": "True"})]
    lamp.state = "Dark"
    lamp.mains = False
    assert chart.fire(lamp, "press", {}).label == "P4"  # internal: state unchanged
    assert lamp.state == "Dark" and lamp.presses == 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    conditions: mains\n    after: announce",
            "    conditions: [mains, shiny]\n    after: announce",
            "transition P1 (trigger press): guard 'shiny' is not defined by LampModel",
        ),
        (
            "    after: announce",
            "    after: [announce, dance]",
            "transition P1 (trigger press): action 'dance' is not defined by LampModel",
        ),
        (
            "    unless: stuck",
            "    unless: no_kwargs",
            "transition P3 (trigger timeout): guard 'no_kwargs' of LampModel must accept the",
        ),
        (
            "    on_enter: count",
            "    on_enter: counter",
            "state Lit: action 'counter' is not defined by LampModel",
        ),
        (
            "  mains: Mains power is present.",
            "  mainz: Mains power is present.",
            "input 'mainz' is not an attribute of LampModel",
        ),
        (
            "    after: announce",
            "    after: mains",
            "transition P1 (trigger press): action 'mains' of LampModel is not a method",
        ),
        ("model: LampModel", "model: BulbModel", "the chart is for model BulbModel, not LampModel"),
    ],
)
def test_names_the_model_culprit(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(ChartError) as caught:
        load(tmp_path, GOOD.replace(old, new, 1))
    assert "lamp.yaml: " in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    dest: Dark\n    unless: stuck",
            "    dest: Dim\n    unless: stuck",
            "transition P3 (trigger timeout): unknown dest state 'Dim'",
        ),
        (
            "    trigger: press\n    source: Lit\n",
            "    trigger: press\n    source: Up\n",
            "transition P2 (trigger press): unknown source state 'Up'",
        ),
        ("initial: Dark", "initial: Dim", "initial state 'Dim' is not one of the states"),
        (
            "  - label: P2",
            "  - label: P1",
            "transition P1 (trigger press): the label P1 is used twice",
        ),
        (
            "    trigger: timeout\n",
            "    trigger: tick\n",
            "transition P3 (trigger tick): trigger 'tick' is not declared",
        ),
        (
            "    dest: Lit\n",
            "    dest: Lit\n    guard: mains\n",
            "transition P1 (trigger press) has unknown key(s) ['guard']",
        ),
        (
            "  Dark: No light.",
            "  Dark: No light.\n  Broken: Never reached.",
            "state(s) ['Broken'] cannot be reached from the initial state Dark",
        ),
        (
            "    description: Auto-off.",
            "    description: Auto-off.\n    params: {n: a number}",
            "trigger timeout: a timer trigger carries no parameters",
        ),
        (
            "    examples: [{}, {force: true}]",
            "    examples: [{speed: 3}]",
            "trigger press: example uses parameter(s) ['speed'] not listed in params",
        ),
        ("description: A lamp.\n", "", "the key 'description' is missing"),
        ("name: lamp", "name: lamp\ncolour: red", "the chart has unknown key(s) ['colour']"),
        (
            "  timeout:\n",
            "  idle:\n    from: host\n    description: unused.\n  timeout:\n",
            "trigger(s) ['idle'] are declared but no transition uses them",
        ),
    ],
)
def test_names_the_structural_culprit(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(ChartError) as caught:
        load(tmp_path, GOOD.replace(old, new, 1))
    assert message in str(caught.value)
    assert "lamp.yaml" in str(caught.value)


def test_yaml_booleans_as_state_names_get_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match="YAML reads On/Off/Yes/No as booleans; quote the name"):
        load(tmp_path, GOOD.replace("  Dark: No light.", "  Off: No light.", 1))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match=r"lamp\.yaml: not valid YAML"):
        load(tmp_path, "name: [unclosed\n")
    with pytest.raises(ChartError, match=r"nothing\.yaml: cannot read the chart file"):
        Chart.load(tmp_path / "nothing.yaml", LampModel)


def test_model_without_slots_is_refused(tmp_path: Path) -> None:
    class FatLampModel(LampModel):  # no __slots__: every instance would carry a dict
        pass

    text = GOOD.replace("model: LampModel", "model: FatLampModel")
    with pytest.raises(ChartError, match="FatLampModel must declare __slots__"):
        load(tmp_path, text, FatLampModel)


def test_error_names_the_repository_path_of_a_shipped_chart(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chargebox.charts.models import ConnectorModel

    source = (repo / "statecharts" / "connector.yaml").read_text(encoding="utf-8")
    broken = source.replace(
        "    conditions: inoperative_scheduled\n    after: enter_unavailable\n",
        "    conditions: foo\n    after: enter_unavailable\n",
        1,
    )
    assert broken != source
    (tmp_path / "statecharts").mkdir()
    path = write(tmp_path / "statecharts", broken, "connector.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ChartError) as caught:
        Chart.load(path, ConnectorModel)
    assert str(caught.value) == (
        "statecharts/connector.yaml: transition C8 (trigger usage_ended): "
        "guard 'foo' is not defined by ConnectorModel"
    )


REPORTING = GOOD.replace(
    "initial: Dark\n",
    "initial: Dark\nreports:\n  to: station\n  trigger: lamp_changed\n"
    "  description: Whether the lamp is lit.\n",
)


class ReportingLampModel(LampModel):
    __slots__ = ()

    def report(self) -> Any:
        return ("lamp", self.state)


def test_a_chart_may_report_to_another(tmp_path: Path) -> None:
    chart = load(tmp_path, REPORTING.replace("LampModel", "ReportingLampModel"), ReportingLampModel)
    assert chart.spec.reports is not None
    assert (chart.spec.reports.to, chart.spec.reports.trigger) == ("station", "lamp_changed")
    assert "tells `station` `lamp_changed`: Whether the lamp is lit." in diagram.markdown_page(
        chart.spec, source_link="lamp.yaml"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  to: station\n", "", "reports: to must be a non-empty string"),
        (
            "  to: station\n",
            "  to: station\n  when: always\n",
            "reports has unknown key(s) ['when']",
        ),
        (
            "  trigger: lamp_changed\n",
            "  trigger: lamp changed\n",
            "reports: trigger 'lamp changed'",
        ),
    ],
)
def test_a_broken_report_is_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in REPORTING
    with pytest.raises(ChartError, match=re.escape(message)):
        load(tmp_path, REPORTING.replace(old, new))


def test_a_reporting_chart_needs_the_models_report(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match=r"reports: LampModel must define report\(\)"):
        load(tmp_path, REPORTING)
