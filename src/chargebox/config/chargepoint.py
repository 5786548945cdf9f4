"""ChargePointConfig: typed access to the keys, GetConfiguration, ChangeConfiguration, the overlay.

This is what the station and the link hold. It does no networking and arms no
timers: an accepted change returns an Effect that tells the caller what to re-arm
or re-apply.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from chargebox.config import loader
from chargebox.config.checks import shape_problem, split_csv, split_scheme, websocket_scheme
from chargebox.config.errors import REDACTED, ConfigError, ConfigProblem, UnknownKeyError
from chargebox.config.keys import PRICE_TEXT_SHAPE
from chargebox.config.overlay import write_json_atomic
from chargebox.config.registry import ALWAYS_VISIBLE, BUILTIN, PROFILE_SECTIONS, KeyRegistry
from chargebox.config.spec import (
    Access,
    ConfigurationStatus,
    Effect,
    KeySpec,
    Violation,
)
from chargebox.config.values import check_value, display, parse_text, render

log = logging.getLogger(__name__)

#: the types of the values `get` hands out without a copy
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})

# Reported per connector / per language instead of under their own names (as libocpp does).
_METER_PUBLIC_KEY = re.compile(r"MeterPublicKey\[(\d+)\]", re.IGNORECASE)
_PRICE_TEXT = re.compile(r"DefaultPriceText,(.+)", re.IGNORECASE)

SecurityPrerequisites = Callable[[int], str | None]


@attrs.frozen(slots=True)
class KeyValue:
    """One entry of GetConfiguration.conf configurationKey; value None means "not shown"."""

    key: str
    readonly: bool
    value: str | None = None


@attrs.frozen(slots=True)
class ConfigurationReport:
    """The content of GetConfiguration.conf."""

    configuration_key: tuple[KeyValue, ...]
    unknown_key: tuple[str, ...]


@attrs.frozen(slots=True)
class ChangeResult:
    """The outcome of ChangeConfiguration.

    `key` is the key's canonical name (the requested text when it is unknown).
    `reason` explains a Rejected or NotSupported answer and never contains a secret.
    `effect` says what the engine must do now; `value` is the new typed value (None for
    a secret: read it from the config).
    """

    key: str
    status: ConfigurationStatus
    reason: str = ""
    effect: Effect | None = None
    value: Any = attrs.field(default=None, repr=False)

    @property
    def accepted(self) -> bool:
        return self.status in (ConfigurationStatus.ACCEPTED, ConfigurationStatus.REBOOT_REQUIRED)


@attrs.frozen(slots=True)
class _Target:
    """A key as the CSMS names it: the spec plus a connector or a language qualifier."""

    spec: KeySpec
    connector: int | None = None
    language: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class ChargePointConfig:
    """The effective configuration of one charge point (base file merged with its overlay).

    Read keys with `cfg["HeartbeatInterval"]`, `cfg.get("BlinkRepeat")` or the
    properties below. Answer the CSMS with `get_configuration` and
    `change_configuration`. Changes that come from the charge point itself (the
    BootNotification interval, a meter's public key, a confirmed security profile
    switch) go through `update`.
    """

    def __init__(
        self,
        loaded: loader.LoadedConfig,
        *,
        base_path: str | os.PathLike[str] | None = None,
        overlay_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        # the loader may have added undeclared Custom keys to `registry`
        self._registry = loaded.registry
        self._values: MutableMapping[str, Any] = loaded.values
        self._sections = loaded.sections
        self._overlay: dict[str, dict[str, Any]] = loaded.overlay
        self._base_path = Path(base_path) if base_path is not None else None
        self._overlay_path = Path(overlay_path) if overlay_path is not None else None
        self.warnings: tuple[ConfigProblem, ...] = loaded.warnings
        # ChangeConfiguration compares NextTimeOffsetTransitionDateTime with this clock;
        # the station sets it to its own (trio-driven) clock.
        self.clock = clock

    @classmethod
    def load(
        cls,
        base: str | os.PathLike[str],
        overlay: str | os.PathLike[str] | None = None,
        *,
        custom_keys: Iterable[KeySpec] = (),
        clock: Callable[[], datetime] = _now,
    ) -> ChargePointConfig:
        """Load `base` merged with `overlay`; raise ConfigError with every problem found.

        Without `overlay` changes are kept in memory only. `custom_keys` declares the
        vendor keys of the Custom section.
        """
        custom = tuple(custom_keys)
        registry = BUILTIN.with_custom(custom) if custom else BUILTIN
        loaded = loader.load(base, overlay, registry=registry)
        return cls(loaded, base_path=base, overlay_path=overlay, clock=clock)

    def derive(
        self,
        changes: Mapping[str, Any],
        *,
        overlay_path: str | os.PathLike[str] | None = None,
        source: str = "(derived)",
    ) -> ChargePointConfig:
        """Another charge point's configuration that shares this one's parsed values.

        It has `changes` (canonical key names: its ChargePointId, say), then what its
        own `overlay_path` holds (a missing file holds nothing yet), and keeps its
        accepted ChangeConfigurations to itself (in memory, and in `overlay_path` when
        given), exactly as a loaded configuration does. This one is never changed by
        it: many charge points of one template (chargebox.fleet) share it, and each
        costs only its own values. Raises ConfigError (each problem names `source` or
        the overlay file) and UnknownKeyError for a key that does not exist.
        """
        for name in changes:
            self._spec(name)
        loaded = loader.LoadedConfig(
            values=self._values,
            registry=self._registry,
            sections=self._sections,
            overlay=self._overlay,
            warnings=self.warnings,
        )
        derived = loader.derive(loaded, changes, overlay_path, source=source)
        return ChargePointConfig(
            derived, base_path=self._base_path, overlay_path=overlay_path, clock=self.clock
        )

    def __repr__(self) -> str:
        # values stay out: one of them is the AuthorizationKey
        return (
            f"<ChargePointConfig {self._base_path} overlay={self._overlay_path} "
            f"keys={len(self._values)}>"
        )

    # -- typed access ------------------------------------------------------------

    @property
    def registry(self) -> KeyRegistry:
        return self._registry

    @property
    def overlay_path(self) -> Path | None:
        return self._overlay_path

    def _spec(self, key: str) -> KeySpec:
        if key not in self._registry:
            raise UnknownKeyError(f"{key!r} is not a configuration key")
        return self._registry[key]

    def __getitem__(self, key: str) -> Any:
        """The value of `key` (exact spelling); KeyError when it is not set."""
        self._spec(key)
        if key not in self._values:
            raise KeyError(f"{key} is not set")
        return copy.deepcopy(self._values[key])

    def get(self, key: str, default: Any = None) -> Any:
        """The value of `key`, or `default` when it is not set."""
        if key not in self._registry:
            raise UnknownKeyError(f"{key!r} is not a configuration key")
        value = self._values.get(key, default)
        # a copy only of what the caller could change (a list): the engine reads keys such
        # as the measurand lists at every sample, and a text or a number needs none
        return value if type(value) in _IMMUTABLE else copy.deepcopy(value)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    @property
    def charge_point_id(self) -> str:
        return self._values["ChargePointId"]

    @property
    def security_profile(self) -> int:
        return self._values["SecurityProfile"]

    @property
    def authorization_key(self) -> str | None:
        """The HTTP Basic password (profiles 1 and 2); never log it."""
        return self._values.get("AuthorizationKey")

    @property
    def central_system_url(self) -> str:
        """The websocket URL the link connects to.

        The scheme follows SecurityProfile; ChargePointId (percent-encoded) is appended
        when the configured path does not already end with it.
        """
        _, rest = split_scheme(self._values["CentralSystemURI"])
        identity = quote(self.charge_point_id, safe="")
        if not rest.rstrip("/").endswith("/" + identity):
            rest = rest + ("" if rest.endswith("/") else "/") + identity
        return f"{websocket_scheme(self.security_profile)}://{rest}"

    @property
    def supported_feature_profiles(self) -> frozenset[str]:
        return loader.supported_profiles(self._values)

    @property
    def number_of_connectors(self) -> int:
        return self._values["NumberOfConnectors"]

    @property
    def heartbeat_interval(self) -> int:
        return self._values["HeartbeatInterval"]

    @property
    def meter_value_sample_interval(self) -> int:
        return self._values["MeterValueSampleInterval"]

    @property
    def clock_aligned_data_interval(self) -> int:
        return self._values["ClockAlignedDataInterval"]

    @property
    def connection_timeout(self) -> int:
        return self._values["ConnectionTimeOut"]

    @property
    def transaction_message_attempts(self) -> int:
        return self._values["TransactionMessageAttempts"]

    @property
    def transaction_message_retry_interval(self) -> int:
        return self._values["TransactionMessageRetryInterval"]

    @property
    def websocket_ping_interval(self) -> int:
        """Seconds between pings; 0 (off) when the key is absent."""
        return self._values.get("WebSocketPingInterval", 0)

    # -- visibility --------------------------------------------------------------

    def _section_visible(self, section: str) -> bool:
        if section in ALWAYS_VISIBLE:
            return True
        if section in PROFILE_SECTIONS:
            return section in self.supported_feature_profiles
        return section in self._sections

    def _offered(self, spec: KeySpec) -> bool:
        """Whether the CSMS may see or set `spec` at all."""
        if spec.access is Access.HIDDEN or not self._section_visible(spec.section):
            return False
        return spec.name in self._values or spec.settable_when_absent

    def _multi_language(self) -> bool:
        return self._values.get("CustomMultiLanguageMessages") is True

    def _resolve(self, requested: str) -> _Target | None:
        """The key the CSMS means by `requested` (case-insensitive), if it is one."""
        match = _METER_PUBLIC_KEY.fullmatch(requested)
        if match:
            return _Target(self._registry["MeterPublicKeys"], connector=int(match.group(1)))
        match = _PRICE_TEXT.fullmatch(requested)
        if match:
            return _Target(self._registry["DefaultPriceText"], language=match.group(1).strip())
        spec = self._registry.lookup(requested)
        return _Target(spec) if spec is not None else None

    # -- GetConfiguration --------------------------------------------------------

    def _entries(self, spec: KeySpec) -> list[KeyValue]:
        """What a full GetConfiguration lists for `spec`.

        A write-only key (AuthorizationKey) is never reported, not even by name: the
        CSMS may set it but not read it (OCPP-J 1.6 errata), and named it is unknown.
        """
        if not self._offered(spec) or spec.access is Access.WRITE_ONLY:
            return []
        readonly = spec.access is Access.READ_ONLY
        if spec.name == "MeterPublicKeys":
            return [
                KeyValue(f"MeterPublicKey[{number}]", True, key)
                for number, key in enumerate(self._values["MeterPublicKeys"], start=1)
                if key
            ]
        if spec.name == "DefaultPriceText":
            if not self._multi_language() or spec.name not in self._values:
                return []
            return [
                KeyValue(f"DefaultPriceText,{entry['language']}", readonly, _price_text(entry))
                for entry in self._values[spec.name]["priceTexts"]
            ]
        value = self._values.get(spec.name)
        shown = None if spec.secret or value is None else render(value)
        return [KeyValue(spec.name, readonly, shown)]

    def _entry(self, target: _Target) -> KeyValue | None:
        spec = target.spec
        if not self._offered(spec):
            return None
        if spec.name == "MeterPublicKeys":
            number = target.connector
            keys = self._values["MeterPublicKeys"]
            if number is None or not 1 <= number <= len(keys) or not keys[number - 1]:
                return None
            return KeyValue(f"MeterPublicKey[{number}]", True, keys[number - 1])
        if spec.name == "DefaultPriceText":
            if target.language is None or not self._multi_language():
                return None
            for entry in self._values.get(spec.name, {}).get("priceTexts", ()):
                if entry["language"] == target.language:
                    return KeyValue(
                        f"DefaultPriceText,{target.language}", False, _price_text(entry)
                    )
            return None
        entries = self._entries(spec)
        return entries[0] if entries else None

    def get_configuration(self, keys: Sequence[str] | None = None) -> ConfigurationReport:
        """GetConfiguration: the requested keys, or every visible key when none are named.

        Keys are matched case-insensitively (CiString) and reported in their canonical
        spelling; a requested key that is not offered goes to unknown_key as written.
        """
        if not keys:
            entries = [entry for spec in self._registry for entry in self._entries(spec)]
            return ConfigurationReport(tuple(entries), ())
        found: list[KeyValue] = []
        unknown: list[str] = []
        for requested in dict.fromkeys(keys):
            target = self._resolve(requested)
            entry = self._entry(target) if target is not None else None
            if entry is None:
                unknown.append(requested)
            elif entry not in found:
                found.append(entry)
        return ConfigurationReport(tuple(found), tuple(unknown))

    # -- ChangeConfiguration -----------------------------------------------------

    def change_configuration(
        self,
        key: str,
        value: str,
        *,
        security_prerequisites: SecurityPrerequisites | None = None,
    ) -> ChangeResult:
        """ChangeConfiguration: validate, persist to the overlay, apply; never raises for bad input.

        `security_prerequisites(profile)` lets the station refuse a SecurityProfile raise
        it cannot serve (no CSMS root certificate for 2 and 3, no charge point
        certificate for 3: whitepaper A05.FR.03/04); it returns the reason or None.
        """
        target = self._resolve(key)
        if target is None:
            return self._answer(key, ConfigurationStatus.NOT_SUPPORTED, "unknown key")
        spec = target.spec
        shown = REDACTED if spec.secret else value
        if spec.access is Access.HIDDEN or not self._section_visible(spec.section):
            return self._answer(key, ConfigurationStatus.NOT_SUPPORTED, "not offered over OCPP")
        if spec.name == "MeterPublicKeys":
            if self._entry(target) is None:
                return self._answer(key, ConfigurationStatus.NOT_SUPPORTED, "unknown key")
            return self._reject(f"MeterPublicKey[{target.connector}]", "read-only", shown)
        if spec.name == "DefaultPriceText":
            if not self._multi_language():
                return self._answer(
                    key, ConfigurationStatus.NOT_SUPPORTED, "CustomMultiLanguageMessages is off"
                )
            return self._change_price_text(target, value)
        if not self._offered(spec):
            return self._answer(
                spec.name,
                ConfigurationStatus.NOT_SUPPORTED,
                "not configured: this charge point does not offer it",
            )
        if spec.access is Access.READ_ONLY:
            return self._reject(spec.name, "read-only", shown)

        try:
            new = parse_text(spec, value)
        except ValueError as error:
            return self._reject(spec.name, str(error), shown)
        violation = check_value(spec, new)
        if violation is None and spec.change_check is not None:
            violation = spec.change_check(new, self._values, self.clock())
        if violation is None:
            violation = self._cross_check(spec, new)
        if violation is not None:
            return self._reject(spec.name, violation.message, display(spec, new))

        if spec.name == "SecurityProfile":
            return self._request_security_profile(new, security_prerequisites)
        try:
            self._store(spec, new)
        except OSError as error:
            log.error("ChangeConfiguration %s: cannot write the overlay: %s", spec.name, error)
            return self._reject(spec.name, f"cannot save the change ({error.strerror})", shown)
        status = (
            ConfigurationStatus.REBOOT_REQUIRED
            if spec.reboot_required
            else ConfigurationStatus.ACCEPTED
        )
        log.info("ChangeConfiguration %s = %s: %s", spec.name, display(spec, new), status)
        return ChangeResult(
            spec.name, status, effect=spec.effect, value=None if spec.secret else new
        )

    def _cross_check(self, spec: KeySpec, new: Any) -> Violation | None:
        """The first check that `new` makes fail.

        A file value that only warned at load (warn_only_at_load) fails already; it must
        not block changes of other keys, so only violations the change causes count: a
        key that had none, or one that turns a warning into an error_at_load (raising
        SecurityProfile to 1 over a key too short to send, A05.FR.02).
        """
        candidate = {**self._values, spec.name: new}
        # only the checks the change can move: the key's own and those that read it (as
        # `derive` does); the others give the same answer before and after
        affected = [
            other
            for other in self._registry
            if other.check is not None and (other is spec or spec.name in other.depends_on)
        ]
        before = {
            (other.name, violation.error_at_load)
            for other, violation in loader.run_checks(self._values, affected)
        }
        found = [
            (other, violation)
            for other, violation in loader.run_checks(candidate, affected)
            if other is spec or (other.name, violation.error_at_load) not in before
        ]
        if not found:
            return None
        other, violation = found[0]
        if other is spec:
            return violation
        # another key's check fails because of the new value: say which
        return Violation(
            violation.rule,
            f"{violation.message} (see {other.section}.{other.name} = "
            f"{display(other, candidate[other.name])})",
        )

    def _request_security_profile(
        self, profile: int, prerequisites: SecurityPrerequisites | None
    ) -> ChangeResult:
        # The value is not stored yet: the link tries the new profile once and calls
        # confirm_security_profile() when it connects, or keeps the old one (A05.FR.08).
        if prerequisites is not None:
            missing = prerequisites(profile)
            if missing:
                return self._reject("SecurityProfile", missing, str(profile))
        log.info("ChangeConfiguration SecurityProfile = %d: switch requested", profile)
        return ChangeResult(
            "SecurityProfile",
            ConfigurationStatus.ACCEPTED,
            reason=f"switch to profile {profile} requested; it is saved once the link connects",
            effect=Effect.SECURITY_PROFILE,
            value=profile,
        )

    def _change_price_text(self, target: _Target, value: str) -> ChangeResult:
        name = "DefaultPriceText"
        key = f"{name},{target.language}" if target.language else name
        if target.language is None:
            return self._reject(key, "name a language: DefaultPriceText,<language>", value)
        supported = self._values.get("SupportedLanguages")
        if supported is None or target.language not in split_csv(supported):
            allowed = f"({supported})" if supported else "(SupportedLanguages is not set)"
            return self._reject(key, f"language is not supported {allowed}", value)
        try:
            entry = parse_text(self._registry[name], value)
        except ValueError as error:
            return self._reject(key, str(error), value)
        found = shape_problem(entry, PRICE_TEXT_SHAPE)
        if found:
            return self._reject(key, found, value)
        entry = {**entry, "language": target.language}
        current = copy.deepcopy(self._values.get(name, {"priceTexts": []}))
        texts = current.setdefault("priceTexts", [])
        for index, existing in enumerate(texts):
            if existing["language"] == target.language:
                texts[index] = entry
                break
        else:
            texts.append(entry)
        try:
            self._store(self._registry[name], current)
        except OSError as error:
            return self._reject(key, f"cannot save the change ({error.strerror})", value)
        log.info("ChangeConfiguration %s: Accepted", key)
        return ChangeResult(key, ConfigurationStatus.ACCEPTED, value=entry)

    def _answer(self, key: str, status: ConfigurationStatus, reason: str) -> ChangeResult:
        log.info("ChangeConfiguration %s: %s (%s)", key, status, reason)
        return ChangeResult(key, status, reason=reason)

    def _reject(self, key: str, reason: str, shown: str) -> ChangeResult:
        log.warning("ChangeConfiguration %s = %s rejected: %s", key, shown, reason)
        return ChangeResult(key, ConfigurationStatus.REJECTED, reason=reason)

    # -- changes from the charge point itself ------------------------------------

    def update(self, key: str, value: Any) -> None:
        """Set `key` (exact spelling) from inside the charge point, whatever its access.

        For values the engine or the host decides: HeartbeatInterval from
        BootNotification.conf, MeterPublicKeys, the SecurityProfile after a successful
        switch. Validated like a file value; raises ConfigError when invalid.
        """
        spec = self._spec(key)
        violation = check_value(spec, value) or self._cross_check(spec, value)
        if violation is not None:
            raise ConfigError(
                [
                    ConfigProblem(
                        violation.rule,
                        violation.message,
                        section=spec.section,
                        key=spec.name,
                        value=display(spec, value),
                    )
                ]
            )
        self._store(spec, copy.deepcopy(value))

    def confirm_security_profile(self, profile: int) -> None:
        """The link connected with `profile`: make it the configured SecurityProfile."""
        self.update("SecurityProfile", profile)

    def set_meter_public_key(self, connector: int, public_key: str) -> None:
        """Record the public key of `connector`'s meter (reported as MeterPublicKey[n])."""
        if not 1 <= connector <= self.number_of_connectors:
            raise ValueError(f"connector {connector} does not exist")
        keys = list(self._values.get("MeterPublicKeys", []))
        keys += [""] * (connector - len(keys))
        keys[connector - 1] = public_key
        self.update("MeterPublicKeys", keys)

    def _store(self, spec: KeySpec, value: Any) -> None:
        """Persist `value` to the overlay (when there is one), then apply it in memory."""
        if self._overlay_path is not None:
            overlay = copy.deepcopy(self._overlay)
            overlay.setdefault(spec.section, {})[spec.name] = value
            write_json_atomic(self._overlay_path, overlay)
            self._overlay = overlay
        self._values[spec.name] = value


def _price_text(entry: dict[str, Any]) -> str:
    """One DefaultPriceText,<language> value: the entry without its language."""
    return render({name: text for name, text in entry.items() if name != "language"})
