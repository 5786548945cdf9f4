"""Configuration keys of an OCPP 1.6 charge point: the libocpp-style JSON file and its overlay.

Pure: no trio, no sockets; file I/O only to read the configuration and to write the
overlay. Typical use::

    cfg = ChargePointConfig.load("ocpp-config.json", overlay="data/ocpp-config.user.json")
    cfg["HeartbeatInterval"]                      # 86400
    cfg.get_configuration(["HeartbeatInterval"])   # -> ConfigurationReport
    cfg.change_configuration("HeartbeatInterval", "300")  # Accepted, Effect.REARM_HEARTBEAT
"""

from chargebox.config.chargepoint import (
    ChangeResult,
    ChargePointConfig,
    ConfigurationReport,
    KeyValue,
    SecurityPrerequisites,
)
from chargebox.config.errors import ConfigError, ConfigProblem, UnknownKeyError
from chargebox.config.loader import LoadedConfig
from chargebox.config.overlay import default_overlay_path, write_json_atomic
from chargebox.config.registry import BUILTIN, SECTIONS, KeyRegistry
from chargebox.config.spec import (
    Access,
    ConfigurationStatus,
    Effect,
    KeySpec,
    ValueType,
    Violation,
)

__all__ = [
    "BUILTIN",
    "SECTIONS",
    "Access",
    "ChangeResult",
    "ChargePointConfig",
    "ConfigError",
    "ConfigProblem",
    "ConfigurationReport",
    "ConfigurationStatus",
    "Effect",
    "KeyRegistry",
    "KeySpec",
    "KeyValue",
    "LoadedConfig",
    "SecurityPrerequisites",
    "UnknownKeyError",
    "ValueType",
    "Violation",
    "default_overlay_path",
    "write_json_atomic",
]
