"""The public engine: `open_charge_point(config, host)` and the ports a host offers."""

from chargebox.actors.context import Options
from chargebox.certstore import FileCertificateStore
from chargebox.errors import (
    StateError,
    StationError,
    StoreDamaged,
    StoreError,
    StoreWriteError,
)
from chargebox.host import (
    AuthorizationPort,
    CertificateHashData,
    CertificateStore,
    CertificateUse,
    DataTransferHandlers,
    DataTransferPort,
    DiagnosticsPort,
    EnergySink,
    EvseControl,
    FirmwarePort,
    Host,
    Reading,
    ReservationPort,
    ResetKind,
    SystemPort,
    UnlockResult,
)
from chargebox.station.handle import ChargePoint, open_charge_point
from chargebox.transport import TlsSettings

__all__ = [
    "AuthorizationPort",
    "CertificateHashData",
    "CertificateStore",
    "CertificateUse",
    "ChargePoint",
    "DataTransferHandlers",
    "DataTransferPort",
    "DiagnosticsPort",
    "EnergySink",
    "EvseControl",
    "FileCertificateStore",
    "FirmwarePort",
    "Host",
    "Options",
    "Reading",
    "ReservationPort",
    "ResetKind",
    "StateError",
    "StationError",
    "StoreDamaged",
    "StoreError",
    "StoreWriteError",
    "SystemPort",
    "TlsSettings",
    "UnlockResult",
    "open_charge_point",
]
