"""Value checks beyond JSON types: CSV grammars, measurands, phase rotation, URIs, time offsets.

Each check takes the key's (already type-checked) value and the effective values of
the whole configuration, and returns a Violation or None. The registry names the
keys a check reads (`depends_on`), so a check never runs against a neighbour whose
own value was rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chargebox.config.spec import Check, Violation

# OCPP 1.6 Measurand and Phase enumerations (section 7.31 and 7.42 / MeterValues.json).
MEASURANDS = (
    "Current.Export",
    "Current.Import",
    "Current.Offered",
    "Energy.Active.Export.Register",
    "Energy.Active.Import.Register",
    "Energy.Reactive.Export.Register",
    "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval",
    "Energy.Active.Import.Interval",
    "Energy.Reactive.Export.Interval",
    "Energy.Reactive.Import.Interval",
    "Frequency",
    "Power.Active.Export",
    "Power.Active.Import",
    "Power.Factor",
    "Power.Offered",
    "Power.Reactive.Export",
    "Power.Reactive.Import",
    "RPM",
    "SoC",
    "Temperature",
    "Voltage",
)
PHASES = ("L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1")
# SupportedFeatureProfiles identifiers (spec 9.1.29)
FEATURE_PROFILES = (
    "Core",
    "FirmwareManagement",
    "LocalAuthListManagement",
    "Reservation",
    "SmartCharging",
    "RemoteTrigger",
)
CHARGING_PROFILE_PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
CHARGING_RATE_UNITS = ("Current", "Power")
# errata 3.90: SupportedFileTransferProtocols
FILE_TRANSFER_PROTOCOLS = ("FTP", "FTPS", "HTTP", "HTTPS")
LOG_FORMATS = (
    "console",
    "console_detailed",
    "log",
    "html",
    "session_logging",
    "security",
    "callback",
)
PHASE_ROTATIONS = ("RST", "RTS", "SRT", "STR", "TRS", "TSR", "NotApplicable", "Unknown")
# Messages the charge point initiates (Core, profiles, security whitepaper): the only
# names MessageTypesDiscardForQueueing can meaningfully list.
CHARGE_POINT_ACTIONS = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "SecurityEventNotification",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
)

# The Basic-auth password must be at least this long (security whitepaper A00.FR.205, 7.2).
AUTHORIZATION_KEY_MIN_BYTES = 16


def split_csv(text: str) -> list[str]:
    """The items of a comma-separated list, trimmed; an empty or blank string has none."""
    if not text.strip():
        return []
    return [item.strip() for item in text.split(",")]


def _listing(items: Iterable[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def _is_are(items: Sequence[str]) -> str:
    return "is" if len(items) == 1 else "are"


def _empty_item(items: Sequence[str]) -> Violation | None:
    if "" in items:
        return Violation("syntax", "has an empty item (two commas in a row, or a trailing comma)")
    return None


def _duplicates(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    return [item for item in items if item in seen or seen.add(item)]


def _max_items(
    items: Sequence[str], ctx: Mapping[str, Any], max_key: str | None
) -> Violation | None:
    # spec 5.3: a CSL key MAY be accompanied by <Key>MaxLength, the maximum number of items
    if max_key is None:
        return None
    limit = ctx.get(max_key)
    if limit is not None and len(items) > limit:
        return Violation("max-items", f"has {len(items)} items, more than {max_key} ({limit})")
    return None


def csv_of(
    allowed: Sequence[str],
    what: str,
    *,
    must_contain: str | None = None,
    allow_empty: bool = True,
    max_items_key: str | None = None,
) -> Check:
    """A check for a comma-separated list whose items come from `allowed`."""

    def check(value: str, ctx: Mapping[str, Any]) -> Violation | None:
        items = split_csv(value)
        if not items:
            if allow_empty:
                return None
            return Violation("syntax", f"must list at least one of {', '.join(allowed)}")
        if problem := _empty_item(items):
            return problem
        bad = [item for item in items if item not in allowed]
        if bad:
            return Violation(
                "enum",
                f"{_listing(bad)} {_is_are(bad)} not {what} (allowed: {', '.join(allowed)})",
            )
        if dups := _duplicates(items):
            return Violation("syntax", f"lists {_listing(dups)} more than once")
        if must_contain is not None and must_contain not in items:
            return Violation("enum", f"must contain {must_contain}")
        return _max_items(items, ctx, max_items_key)

    return check


def _split_measurand(item: str) -> tuple[str | None, str | None]:
    """(measurand, phase) of "Measurand[.Phase]"; measurand None when it is not one."""
    if item in MEASURANDS:
        return item, None
    head, _, phase = item.rpartition(".")
    if head in MEASURANDS:
        return head, phase
    return None, None


def supported_measurands(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    """SupportedMeasurands: plain OCPP 1.6 measurands, no phases."""
    items = split_csv(value)
    if problem := _empty_item(items):
        return problem
    bad = [item for item in items if item not in MEASURANDS]
    if bad:
        return Violation("enum", f"{_listing(bad)} {_is_are(bad)} not an OCPP 1.6 measurand")
    return None


def measurand_list(max_items_key: str) -> Check:
    """MeterValues*Data / StopTxn*Data: CSV of Measurand[.Phase] within SupportedMeasurands.

    An empty list is allowed (errata 3.14.5: no meter values in StopTransaction).
    """

    def check(value: str, ctx: Mapping[str, Any]) -> Violation | None:
        items = split_csv(value)
        if problem := _empty_item(items):
            return problem
        supported_text = ctx.get("SupportedMeasurands")
        supported = set(split_csv(supported_text)) if supported_text is not None else None
        for item in items:
            measurand, phase = _split_measurand(item)
            if measurand is None:
                return Violation("enum", f"'{item}' is not an OCPP 1.6 measurand[.phase]")
            if phase is not None and phase not in PHASES:
                return Violation(
                    "enum", f"'{item}' has an unknown phase {phase} (phases: {', '.join(PHASES)})"
                )
            if supported is not None and measurand not in supported:
                return Violation(
                    "enum",
                    f"'{item}': {measurand} is not in Internal.SupportedMeasurands "
                    f"({supported_text})",
                )
        return _max_items(items, ctx, max_items_key)

    return check


_ROTATION_ITEM = re.compile(r"(\d+)\.(\w+)")


def connector_phase_rotation(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    """ConnectorPhaseRotation: "<connector>.<rotation>" items, e.g. "0.RST,1.RST,2.RTS"."""
    items = split_csv(value)
    if not items:
        return Violation("syntax", "must list <connector>.<rotation> items, e.g. 0.RST,1.RTS")
    if problem := _empty_item(items):
        return problem
    connectors = ctx.get("NumberOfConnectors")
    seen: set[int] = set()
    for item in items:
        match = _ROTATION_ITEM.fullmatch(item)
        if match is None or match.group(2) not in PHASE_ROTATIONS:
            return Violation(
                "syntax",
                f"'{item}' is not <connector>.<rotation> with rotation one of "
                f"{', '.join(PHASE_ROTATIONS)}",
            )
        connector = int(match.group(1))
        if connectors is not None and connector > connectors:
            return Violation(
                "consistency",
                f"'{item}': connector {connector} does not exist "
                f"(Core.NumberOfConnectors is {connectors})",
            )
        if connector in seen:
            return Violation("syntax", f"lists connector {connector} more than once")
        seen.add(connector)
    return _max_items(items, ctx, "ConnectorPhaseRotationMaxLength")


_TIME_OFFSET = re.compile(r"([+-]?)(\d{1,2}):(\d{2})")


def time_offset(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    """TimeOffset-like keys: "[+|-]hh:mm", hours -24..24, minutes 00..59."""
    match = _TIME_OFFSET.fullmatch(value.strip())
    if match is None or int(match.group(2)) > 24 or int(match.group(3)) > 59:
        return Violation(
            "syntax", "must be [+|-]hh:mm with hours 0..24 and minutes 00..59, e.g. +02:00"
        )
    return None


def parse_date_time(value: str) -> datetime | None:
    """An ISO 8601 date-time as an aware datetime (naive means UTC), or None."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def date_time(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    if parse_date_time(value) is None:
        return Violation("syntax", "must be an ISO 8601 date-time, e.g. 2025-03-30T01:00:00Z")
    return None


def date_time_in_future(value: str, ctx: Mapping[str, Any], now: datetime) -> Violation | None:
    parsed = parse_date_time(value)
    if parsed is not None and parsed <= now:
        return Violation("minimum", "must lie in the future")
    return None


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def websocket_scheme(security_profile: int) -> str:
    """ws for profiles 0 and 1 (no TLS), wss for 2 and 3."""
    return "wss" if security_profile >= 2 else "ws"


def split_scheme(uri: str) -> tuple[str | None, str]:
    """("ws"/"wss"/other or None, the rest) of a CentralSystemURI."""
    match = _SCHEME.match(uri)
    if match is None:
        return None, uri
    return match.group(1).lower(), uri[match.end() :]


def central_system_uri(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    """CentralSystemURI: host[:port]/path, optionally with a scheme that agrees with the profile."""
    scheme, rest = split_scheme(value)
    if scheme is not None and scheme not in ("ws", "wss"):
        return Violation(
            "syntax",
            f"{scheme}:// is not a websocket scheme; leave the scheme out "
            "(ws:// or wss:// follows from Security.SecurityProfile)",
        )
    profile = ctx.get("SecurityProfile")
    if scheme is not None and profile is not None and scheme != websocket_scheme(profile):
        return Violation(
            "consistency",
            f"{scheme}:// contradicts Security.SecurityProfile {profile}, which connects with "
            f"{websocket_scheme(profile)}://",
        )
    parts = urlsplit(f"ws://{rest}")
    try:
        port = parts.port  # raises ValueError for a port that is not a number or > 65535
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        # port 0 would silently become the scheme's default port (80 or 443)
        return Violation("syntax", "has an invalid port (allowed: 1..65535)")
    if not parts.hostname:
        return Violation("syntax", "has no host name")
    return None


def security_profile(value: int, ctx: Mapping[str, Any]) -> Violation | None:
    # whitepaper 2.3/2.4, A05.FR.02: profiles 1 and 2 send HTTP Basic credentials
    if value in (1, 2) and ctx.get("AuthorizationKey") is None:
        return Violation(
            "consistency",
            f"profile {value} uses HTTP Basic authentication and needs Security.AuthorizationKey",
        )
    return None


def security_profile_raise_only(
    value: int, ctx: Mapping[str, Any], now: datetime
) -> Violation | None:
    # whitepaper 7.6 and A05.FR.01: the profile may only be raised
    current = ctx.get("SecurityProfile", 0)
    if value <= current:
        return Violation("raise-only", f"can only be raised (the current profile is {current})")
    return None


# The whitepaper's minimum for the HTTP Basic password (A00.FR.205, 7.2).
AUTHORIZATION_KEY_BYTES = 16
# The least a configuration file may give for profiles 1 and 2: libocpp's minimum (8),
# which the seed's example meets (DEADBEEFDEADBEEF: 16 hex digits, 8 bytes).
AUTHORIZATION_KEY_LOAD_BYTES = 8


def authorization_key_strength(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    """The HTTP Basic password must have at least 16 bytes (whitepaper A00.FR.205).

    Measured on the password the key stands for: a value of hex pairs is the
    bytes it encodes (chargebox.transport.basic_auth_password). Below 16 bytes
    ChangeConfiguration rejects it; in a file it is a warning, and an error below 8
    bytes when SecurityProfile 1 or 2 sends it.
    """
    from chargebox.transport import basic_auth_password

    size = len(basic_auth_password(value))
    if size >= AUTHORIZATION_KEY_BYTES:
        return None
    profile = ctx.get("SecurityProfile")
    if profile in (1, 2) and size < AUTHORIZATION_KEY_LOAD_BYTES:
        return Violation(
            "too-short",
            f"stands for a password of {size} bytes; security profile {profile} sends it "
            f"with HTTP Basic and needs at least {AUTHORIZATION_KEY_LOAD_BYTES} (the security "
            f"whitepaper asks for {AUTHORIZATION_KEY_BYTES}; a value of hex pairs is the "
            "bytes it encodes)",
            error_at_load=True,
        )
    return Violation(
        "too-short",
        f"stands for a password of {size} bytes; the security whitepaper asks for at "
        f"least {AUTHORIZATION_KEY_BYTES} (a value of hex pairs is the bytes it encodes)",
    )


def connector_evse_ids(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    """ConnectorEvseIds: one EVSE ID (7..37 characters) per connector, from connector 1."""
    items = split_csv(value)
    if problem := _empty_item(items):
        return problem
    bad = [item for item in items if not 7 <= len(item) <= 37]
    if bad:
        return Violation("syntax", f"{_listing(bad)}: each EVSE ID must have 7 to 37 characters")
    connectors = ctx.get("NumberOfConnectors")
    if connectors is not None and len(items) > connectors:
        return Violation(
            "consistency",
            f"lists {len(items)} EVSE IDs but Core.NumberOfConnectors is {connectors}",
        )
    return None


def language_list(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    items = split_csv(value)
    if not items:
        return Violation("syntax", "must list at least one language")
    return _empty_item(items)


def in_supported_languages(value: str, ctx: Mapping[str, Any]) -> Violation | None:
    supported = ctx.get("SupportedLanguages")
    if supported is not None and value.strip() not in split_csv(supported):
        return Violation("enum", f"must be one of CostAndPrice.SupportedLanguages ({supported})")
    return None


def whole_number(value: float, ctx: Mapping[str, Any]) -> Violation | None:
    if value != int(value):
        return Violation("type", "must be a whole number")
    return None


def all_of(*checks: Check) -> Check:
    """A check that runs `checks` in order and reports the first violation."""

    def check(value: Any, ctx: Mapping[str, Any]) -> Violation | None:
        for each in checks:
            if problem := each(value, ctx):
                return problem
        return None

    return check


def shape_problem(value: Any, shape: Mapping[str, Any], path: str = "") -> str | None:
    """Where `value` departs from `shape` (type, properties, required, items, minLength)."""
    where = path or "the value"
    kind = shape.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return f"{where} must be a JSON object"
        for name in shape.get("required", ()):
            if name not in value:
                return f"{path + '.' if path else ''}{name} is missing"
        for name, inner in shape.get("properties", {}).items():
            if name in value:
                found = shape_problem(value[name], inner, f"{path + '.' if path else ''}{name}")
                if found:
                    return found
    elif kind == "array":
        if not isinstance(value, list):
            return f"{where} must be a JSON array"
        for index, item in enumerate(value):
            found = shape_problem(item, shape.get("items", {}), f"{path}[{index}]")
            if found:
                return found
    elif kind == "string":
        if not isinstance(value, str):
            return f"{where} must be a string"
        if len(value) < shape.get("minLength", 0):
            return f"{where} must have at least {shape['minLength']} characters"
    elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"{where} must be a number"
    return None


def object_shape(shape: Mapping[str, Any]) -> Check:
    def check(value: Any, ctx: Mapping[str, Any]) -> Violation | None:
        found = shape_problem(value, shape)
        return Violation("syntax", found) if found else None

    return check


def price_texts_languages(value: Mapping[str, Any], ctx: Mapping[str, Any]) -> Violation | None:
    """DefaultPriceText: one entry per language, each language a supported one."""
    languages = [entry["language"] for entry in value.get("priceTexts", ())]
    if dups := _duplicates(languages):
        return Violation("syntax", f"priceTexts lists language {_listing(dups)} more than once")
    supported = ctx.get("SupportedLanguages")
    if supported is not None:
        allowed = split_csv(supported)
        bad = [language for language in languages if language not in allowed]
        if bad:
            return Violation(
                "enum",
                f"language {_listing(bad)} {_is_are(bad)} not in CostAndPrice.SupportedLanguages "
                f"({supported})",
            )
    return None
