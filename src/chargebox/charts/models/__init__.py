"""The model classes of the charts in statecharts/, one module per chart family."""

from __future__ import annotations

from chargebox.charts.model import ChartModel
from chargebox.charts.models.calls import CallsModel
from chargebox.charts.models.connector import Connector0Model, ConnectorModel
from chargebox.charts.models.firmware import DiagnosticsModel, FirmwareModel
from chargebox.charts.models.link import LinkModel
from chargebox.charts.models.log import LogModel
from chargebox.charts.models.outbox import OutboxModel
from chargebox.charts.models.reservation import ReservationModel
from chargebox.charts.models.signing import SigningModel
from chargebox.charts.models.station import StationModel
from chargebox.charts.models.status import StatusModel
from chargebox.charts.models.transaction import TransactionModel
from chargebox.charts.models.v2g import V2gModel

#: Chart name (the file statecharts/<name>.yaml) -> the model class it binds to.
MODELS: dict[str, type[ChartModel]] = {
    model.chart_name: model
    for model in (
        ConnectorModel,
        Connector0Model,
        TransactionModel,
        ReservationModel,
        LinkModel,
        OutboxModel,
        FirmwareModel,
        DiagnosticsModel,
        LogModel,
        SigningModel,
        StationModel,
        V2gModel,
        StatusModel,
        CallsModel,
    )
}

__all__ = [
    "MODELS",
    "CallsModel",
    "Connector0Model",
    "ConnectorModel",
    "DiagnosticsModel",
    "FirmwareModel",
    "LinkModel",
    "LogModel",
    "OutboxModel",
    "ReservationModel",
    "SigningModel",
    "StationModel",
    "StatusModel",
    "TransactionModel",
    "V2gModel",
]
