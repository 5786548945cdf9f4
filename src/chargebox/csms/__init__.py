"""The development Central System (`chargebox csms`): answers every charge-point message."""

from chargebox.csms.pnc import PlugAndCharge, PncRefused, PncSettings
from chargebox.csms.server import (
    STEVE_PATH,
    CallErrorReceived,
    CentralSystem,
    CsmsSettings,
    DataTransferHandler,
    Exchange,
    NoAnswer,
    Session,
    server_tls_context,
)

__all__ = [
    "STEVE_PATH",
    "CallErrorReceived",
    "CentralSystem",
    "CsmsSettings",
    "DataTransferHandler",
    "Exchange",
    "NoAnswer",
    "PlugAndCharge",
    "PncRefused",
    "PncSettings",
    "Session",
    "server_tls_context",
]
