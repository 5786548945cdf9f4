"""The events of statecharts/connector0.yaml (the Charge Point itself, connectorId 0).

They are the connectors' availability and fault events
(chargebox.charts.events.connector), which connector 0 takes as well.
"""

from __future__ import annotations

from chargebox.charts.events.connector import (
    BecomeInoperative,
    BecomeOperative,
    Connector0Event,
    FaultCleared,
    FaultDetected,
)

__all__ = [
    "BecomeInoperative",
    "BecomeOperative",
    "Connector0Event",
    "FaultCleared",
    "FaultDetected",
]
