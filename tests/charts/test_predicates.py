"""What the models say about their state: each predicate holds in exactly the states it names.

The station, the features and the handle read states only through these
predicates (no `.state` comparison outside the charts), and the station's
chart will use them as guards; a state added to a chart must be placed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chargebox.charts import ChartModel
from chargebox.charts.events.connector import ChargingStarted, ResumedByEv, ResumedByEvse
from chargebox.charts.models import (
    CallsModel,
    Connector0Model,
    ConnectorModel,
    DiagnosticsModel,
    FirmwareModel,
    LinkModel,
    LogModel,
    OutboxModel,
    ReservationModel,
    SigningModel,
    StatusModel,
    TransactionModel,
    V2gModel,
)

#: (model class, predicate) -> the states in which it holds
TABLE: dict[tuple[type[ChartModel], str], set[str]] = {
    (ConnectorModel, "available"): {"Available"},
    (ConnectorModel, "preparing"): {"Preparing"},
    (ConnectorModel, "free"): {"Available", "Preparing"},
    (ConnectorModel, "reserved"): {"Reserved"},
    (ConnectorModel, "unavailable"): {"Unavailable"},
    (ConnectorModel, "faulted"): {"Faulted"},
    (ConnectorModel, "out_of_service"): {"Unavailable", "Faulted"},
    (ConnectorModel, "in_session"): {
        "Charging",
        "SuspendedEV",
        "SuspendedEVSE",
        "Finishing",
        "Reserved",
    },
    (Connector0Model, "available"): {"Available"},
    (Connector0Model, "unavailable"): {"Unavailable"},
    (Connector0Model, "faulted"): {"Faulted"},
    (TransactionModel, "active"): {"Starting", "StartedOffline", "Active", "Suspended", "Stopping"},
    (TransactionModel, "pending"): {"Authorizing", "Authorized"},
    (TransactionModel, "stopping"): {"Stopping"},
    (TransactionModel, "stopped"): {"Stopped"},
    (ReservationModel, "holding"): {"Reserved", "Claimed"},
    (ReservationModel, "waiting"): {"Reserved"},
    (ReservationModel, "claimed"): {"Claimed"},
    (LinkModel, "accepted"): {"Accepted"},
    (LinkModel, "rejected"): {"Rejected"},
    (LinkModel, "boot_triggerable"): {"Connected", "Registering", "Pending", "Accepted"},
    (OutboxModel, "in_flight"): {"Sending", "AwaitingAnswer", "RetryWait"},
    (FirmwareModel, "idle"): {"Idle"},
    (FirmwareModel, "rebooting"): {"Rebooting"},
    (DiagnosticsModel, "idle"): {"Idle"},
    (LogModel, "idle"): {"Idle"},
    (SigningModel, "idle"): {"Idle"},
    (StatusModel, "holding"): {"Holding"},
    (CallsModel, "open"): {"Idle", "Answering", "AwaitingAnswer"},
    (V2gModel, "running"): {"Idle", "Working"},
}


def _make(model_class: type[ChartModel], state: str) -> Any:
    model = model_class.example()
    model.state = state
    return model


@pytest.mark.parametrize(
    ("model_class", "predicate"), list(TABLE), ids=[f"{m.__name__}.{p}" for m, p in TABLE]
)
def test_a_predicate_holds_in_exactly_its_states(
    model_class: type[ChartModel], predicate: str
) -> None:
    holds = {
        state
        for state in model_class.chart().spec.state_names
        if getattr(_make(model_class, state), predicate)
    }
    assert holds == TABLE[(model_class, predicate)]


def test_a_fault_over_a_session_keeps_the_connector_in_session() -> None:
    for before, in_session in (("Charging", True), ("Finishing", True), ("Available", False)):
        connector = _make(ConnectorModel, "Faulted")
        connector.before_fault = before
        assert connector.in_session is in_session, before


@pytest.mark.parametrize(
    ("state", "event"),
    [
        ("SuspendedEV", ResumedByEv),
        ("SuspendedEVSE", ResumedByEvse),
        ("Preparing", ChargingStarted),
        ("Charging", ChargingStarted),
    ],
)
def test_energy_flowing_again_is_the_event_of_the_status(
    state: str, event: Callable[[], object]
) -> None:
    assert _make(ConnectorModel, state).resume_event() == event()
