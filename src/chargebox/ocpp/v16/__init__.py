"""OCPP 1.6 messages: the 28 of the specification and the 11 of the security whitepaper.

Every request and response is a frozen attrs class named after its action
(`BootNotificationRequest`, `BootNotificationResponse`); nested types and
enumerations carry the names of the specification's chapter 7 (`IdTagInfo`,
`SampledValue`, `ChargePointStatus`, ...) or, for the security whitepaper, its
own names (`CertificateHashDataType`, `HashAlgorithmEnumType`, ...).
`ACTIONS` describes every action: its classes, who sends it and its profile.
"""

from __future__ import annotations

from enum import StrEnum

import attrs

from .enums import *  # noqa: F403
from .messages import *  # noqa: F403
from .messages import BY_SCHEMA


class Initiator(StrEnum):
    ChargePoint = "ChargePoint"
    CentralSystem = "CentralSystem"
    Both = "Both"


class FeatureProfile(StrEnum):
    """The profiles of SupportedFeatureProfiles, plus the security whitepaper's messages."""

    Core = "Core"
    FirmwareManagement = "FirmwareManagement"
    LocalAuthListManagement = "LocalAuthListManagement"
    Reservation = "Reservation"
    SmartCharging = "SmartCharging"
    RemoteTrigger = "RemoteTrigger"
    Security = "Security"


@attrs.frozen
class ActionSpec:
    action: str
    request: type
    response: type
    initiator: Initiator
    profile: FeatureProfile


_CP, _CS, _BOTH = Initiator.ChargePoint, Initiator.CentralSystem, Initiator.Both
_P = FeatureProfile

_TABLE = {
    # Core (spec chapters 4 and 5)
    "Authorize": (_CP, _P.Core),
    "BootNotification": (_CP, _P.Core),
    "ChangeAvailability": (_CS, _P.Core),
    "ChangeConfiguration": (_CS, _P.Core),
    "ClearCache": (_CS, _P.Core),
    "DataTransfer": (_BOTH, _P.Core),
    "GetConfiguration": (_CS, _P.Core),
    "Heartbeat": (_CP, _P.Core),
    "MeterValues": (_CP, _P.Core),
    "RemoteStartTransaction": (_CS, _P.Core),
    "RemoteStopTransaction": (_CS, _P.Core),
    "Reset": (_CS, _P.Core),
    "StartTransaction": (_CP, _P.Core),
    "StatusNotification": (_CP, _P.Core),
    "StopTransaction": (_CP, _P.Core),
    "UnlockConnector": (_CS, _P.Core),
    # FirmwareManagement
    "GetDiagnostics": (_CS, _P.FirmwareManagement),
    "DiagnosticsStatusNotification": (_CP, _P.FirmwareManagement),
    "FirmwareStatusNotification": (_CP, _P.FirmwareManagement),
    "UpdateFirmware": (_CS, _P.FirmwareManagement),
    # LocalAuthListManagement
    "GetLocalListVersion": (_CS, _P.LocalAuthListManagement),
    "SendLocalList": (_CS, _P.LocalAuthListManagement),
    # Reservation
    "CancelReservation": (_CS, _P.Reservation),
    "ReserveNow": (_CS, _P.Reservation),
    # SmartCharging
    "ClearChargingProfile": (_CS, _P.SmartCharging),
    "GetCompositeSchedule": (_CS, _P.SmartCharging),
    "SetChargingProfile": (_CS, _P.SmartCharging),
    # RemoteTrigger
    "TriggerMessage": (_CS, _P.RemoteTrigger),
    # Security whitepaper
    "CertificateSigned": (_CS, _P.Security),
    "DeleteCertificate": (_CS, _P.Security),
    "ExtendedTriggerMessage": (_CS, _P.Security),
    "GetInstalledCertificateIds": (_CS, _P.Security),
    "GetLog": (_CS, _P.Security),
    "InstallCertificate": (_CS, _P.Security),
    "LogStatusNotification": (_CP, _P.Security),
    "SecurityEventNotification": (_CP, _P.Security),
    "SignCertificate": (_CP, _P.Security),
    "SignedFirmwareStatusNotification": (_CP, _P.Security),
    "SignedUpdateFirmware": (_CS, _P.Security),
}

ACTIONS: dict[str, ActionSpec] = {
    action: ActionSpec(action, BY_SCHEMA[action], BY_SCHEMA[action + "Response"], who, profile)
    for action, (who, profile) in _TABLE.items()
}

# The action of every request class.
ACTION_OF: dict[type, str] = {spec.request: spec.action for spec in ACTIONS.values()}
