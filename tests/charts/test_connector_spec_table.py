"""The connector chart against the status table of OCPP 1.6 section 4.9, label by label."""

from __future__ import annotations

import pytest

from chargebox.charts import chart
from chargebox.charts.effects import SendStatusNotification
from chargebox.charts.models import Connector0Model, ConnectorModel

# Section 4.9 (with errata 3.20's B6): the row letter is the status before, the
# digit the status after. Transcribed from the spec's table, one row per line.
SPEC_ROWS = (
    "A2 A3 A4 A5 A7 A8 A9",
    "B1 B3 B4 B5 B6 B9",
    "C1 C4 C5 C6 C8 C9",
    "D1 D3 D5 D6 D8 D9",
    "E1 E3 E4 E6 E8 E9",
    "F1 F2 F8 F9",
    "G1 G2 G8 G9",
    "H1 H2 H3 H4 H5 H9",
    "I1 I2 I3 I4 I5 I6 I7 I8",
)
SPEC_TABLE = [label for row in SPEC_ROWS for label in row.split()]
STATUSES = [
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEV",
    "SuspendedEVSE",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
]
FROM = dict(zip("ABCDEFGHI", STATUSES, strict=True))
TO = dict(zip("123456789", STATUSES, strict=True))
SPEC = {label: (FROM[label[0]], TO[label[1]]) for label in SPEC_TABLE}


def test_the_table_has_53_transitions() -> None:
    assert len(SPEC) == 53


@pytest.mark.parametrize("label", SPEC_TABLE)
def test_each_spec_label_is_one_transition_with_the_spec_source_and_dest(label: str) -> None:
    transitions = [t for t in chart("connector").transitions if t.label == label]
    assert len(transitions) == 1, f"{label} must be declared exactly once"
    (transition,) = transitions
    assert (transition.sources, transition.dest) == ((SPEC[label][0],), SPEC[label][1])


def test_every_status_change_of_the_chart_is_in_the_table() -> None:
    changes = {
        (t.label, source, t.dest)
        for t in chart("connector").transitions
        if t.dest is not None
        for source in t.sources
        if source != t.dest
    }
    assert changes == {(label, src, dst) for label, (src, dst) in SPEC.items()}


def test_transitions_that_change_no_status_carry_no_spec_label() -> None:
    for t in chart("connector").transitions:
        if t.dest is None:
            assert t.label not in SPEC and t.label.startswith("N"), t.label


def test_the_states_are_the_nine_charge_point_statuses() -> None:
    assert set(chart("connector").states) == set(FROM.values())
    assert chart("connector").initial == "Available"


def test_connector_zero_uses_the_spec_labels_within_its_three_states() -> None:
    spec = chart("connector0").spec
    allowed = {"Available", "Unavailable", "Faulted"}
    assert set(spec.state_names) == allowed
    for t in spec.transitions:
        if t.dest is not None:
            (source,) = t.sources
            assert SPEC[t.label] == (source, t.dest)
    labels = {t.label for t in spec.transitions if t.dest is not None}
    expected = {label for label, (src, dst) in SPEC.items() if src in allowed and dst in allowed}
    assert labels == expected


def test_each_status_change_sends_its_status_notification() -> None:
    """Every spec transition, fired from its source, reports the new status once."""
    for label, (source, dest) in SPEC.items():
        t = chart("connector").spec.transition(label)
        model = ConnectorModel(3, state=source)
        # Set the memory the transition's guards read, as a real history would have.
        model.before_fault = dest if source == "Faulted" else None
        model.underlying = dest if source == "Unavailable" else "Available"
        model.inoperative_scheduled = dest == "Unavailable"
        model.ev_suspended = label == "E4"
        model.reservation_id = 9 if source == "Reserved" else None
        params = {"reservation_id": 9} if label in ("A7", "G2") else {}
        outcome = model.fire(t.trigger, **params)
        assert outcome.allowed and outcome.label == label, (label, outcome)
        (effect,) = [e for e in model.drain_effects() if isinstance(e, SendStatusNotification)]
        assert (effect.connector_id, effect.status) == (3, dest)
        assert effect.error_code == ("OtherError" if dest == "Faulted" else "NoError")


def test_connector_zero_model_is_its_own_chart() -> None:
    assert Connector0Model().chart() is chart("connector0")
    assert Connector0Model().connector_id == 0
