"""The registry's vocabulary: value types, access classes, effects and the KeySpec record."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs


class ValueType(enum.StrEnum):
    """The JSON type of a key's value in the configuration file."""

    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    ARRAY = "array<string>"
    OBJECT = "object"


class Access(enum.StrEnum):
    """What the CSMS may do with a key through Get/ChangeConfiguration."""

    READ_ONLY = "read-only"
    READ_WRITE = "read-write"
    # never reported (unknownKey when named); ChangeConfiguration may set it (AuthorizationKey)
    WRITE_ONLY = "write-only"
    # never reported; ChangeConfiguration answers NotSupported (engine-internal settings)
    HIDDEN = "hidden"


class Effect(enum.StrEnum):
    """What the engine must do right after an accepted change, besides reading the new value.

    The station layer maps each effect to an action (re-arm a timer, tell the link);
    a change without an effect needs nothing more than the new value being read the
    next time it is used.
    """

    REARM_HEARTBEAT = "rearm_heartbeat"
    REARM_SAMPLED_METER_VALUES = "rearm_sampled_meter_values"
    REARM_ALIGNED_METER_VALUES = "rearm_aligned_meter_values"
    PING_INTERVAL = "ping_interval"
    TRANSACTION_RETRY = "transaction_retry"
    CONNECTION_TIMEOUT = "connection_timeout"
    RETRY_BACKOFF = "retry_backoff"
    # the link reconnects with the new key when the profile uses HTTP Basic (1 and 2)
    AUTHORIZATION_KEY = "authorization_key"
    # the link tries the new profile once, then calls confirm_security_profile() or falls back
    SECURITY_PROFILE = "security_profile"
    OCSP_REQUEST_INTERVAL = "ocsp_request_interval"
    ISO15118_CERTIFICATE_MANAGEMENT = "iso15118_certificate_management"
    TIME_OFFSET_TRANSITION = "time_offset_transition"


class ConfigurationStatus(enum.StrEnum):
    """The answer to ChangeConfiguration, spelled as on the wire (OCPP 1.6 section 7.22)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


@attrs.frozen(slots=True)
class Violation:
    """A failed check: the rule's name (see errors.RULES) and what is allowed, in words.

    `error_at_load`: an error when a file is loaded even if the key's check otherwise
    only warns there (`KeySpec.warn_only_at_load`): a value the engine cannot work with.
    """

    rule: str
    message: str
    error_at_load: bool = False


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()

# A check sees the key's value and every effective value of the configuration
# (to compare against SupportedMeasurands, NumberOfConnectors, ...).
Check = Callable[[Any, Mapping[str, Any]], Violation | None]
# A change check additionally sees the current time; it runs for ChangeConfiguration only.
ChangeCheck = Callable[[Any, Mapping[str, Any], datetime], Violation | None]
# Turns a ChangeConfiguration string into the stored value (AuthorizationKey's hex rule).
FromText = Callable[[str], Any]


@attrs.frozen(slots=True)
class KeySpec:
    """Everything chargebox knows about one configuration key.

    `default` is filled in when the key's section is active and the key is absent.
    `shape` describes the inner structure of an object value with a small subset of
    JSON Schema (type, properties, required, items, minLength); it also goes into the
    generated schema file.
    """

    name: str
    section: str
    type: ValueType
    access: Access
    doc: str
    required: bool = False
    default: Any = NO_DEFAULT
    minimum: int | float | None = None
    maximum: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    enum: tuple[str, ...] | None = None
    shape: Mapping[str, Any] | None = None
    check: Check | None = None
    # keys the checks read: a check is skipped while one of them has a rejected value,
    # so one mistake is reported once, not again by every key that looks at it
    depends_on: tuple[str, ...] = ()
    change_check: ChangeCheck | None = None
    from_text: FromText | None = None
    # An optional key that the CSMS may set although the file leaves it out; any other
    # absent optional key means "this charge point does not offer the function"
    # (OCPP 1.6 chapter 9) and answers NotSupported.
    settable_when_absent: bool = False
    reboot_required: bool = False
    # A file value that fails `check` is a warning, not an error (unless the violation
    # says `error_at_load`): for report-only keys that libocpp never checked at load (its
    # own example has a malformed one), and for an AuthorizationKey between libocpp's
    # minimum and the whitepaper's. ChangeConfiguration still rejects such a value.
    warn_only_at_load: bool = False
    effect: Effect | None = None
    # never shown: not in GetConfiguration, problems, results or logs
    secret: bool = False
    # other spellings accepted in configuration files (older libocpp files)
    aliases: tuple[str, ...] = ()

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def writable(self) -> bool:
        return self.access in (Access.READ_WRITE, Access.WRITE_ONLY)
