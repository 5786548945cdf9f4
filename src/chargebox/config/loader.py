"""Loading: base file plus overlay, validated key by key and across keys, every problem at once."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import attrs

from chargebox.config.checks import split_csv
from chargebox.config.errors import ConfigError, ConfigProblem
from chargebox.config.registry import (
    ALWAYS_VISIBLE,
    BUILTIN,
    PROFILE_SECTIONS,
    SECTIONS,
    KeyRegistry,
    suggest_section,
)
from chargebox.config.spec import Access, KeySpec, ValueType, Violation
from chargebox.config.values import check_value, display

# Sections a file must have: without them there is no charge point to describe.
REQUIRED_SECTIONS = ("Internal", "Core")


@attrs.frozen(slots=True)
class LoadedConfig:
    """The effective configuration: canonical key name -> value, defaults filled in."""

    values: MutableMapping[str, Any] = attrs.field(repr=False)
    # the registry the values were checked against, with undeclared Custom keys added
    registry: KeyRegistry
    # sections present in the base file or the overlay
    sections: frozenset[str]
    # the overlay as read, with canonical key names, to be rewritten on the next change
    overlay: dict[str, dict[str, Any]] = attrs.field(repr=False)
    warnings: tuple[ConfigProblem, ...] = ()


class _Object(dict):
    """A JSON object that remembers the names it saw more than once."""

    duplicates: list[str]


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object()
    result.duplicates = []
    for name, value in pairs:
        if name in result:
            result.duplicates.append(name)
        result[name] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_document(path: Path, file: str) -> tuple[Any, ConfigProblem | None]:
    """The parsed JSON of `path`, or the problem that prevents reading it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, ConfigProblem("io", "file not found", file=file)
    except UnicodeDecodeError as error:
        return None, ConfigProblem("json", f"not UTF-8 text ({error.reason})", file=file)
    except OSError as error:
        return None, ConfigProblem("io", f"cannot read: {error.strerror}", file=file)
    try:
        return json.loads(
            text, object_pairs_hook=_object_pairs, parse_constant=_reject_constant
        ), None
    except json.JSONDecodeError as error:
        return None, ConfigProblem(
            "json",
            f"not valid JSON: {error.msg}",
            file=file,
            line=error.lineno,
            column=error.colno,
        )
    except ValueError as error:
        return None, ConfigProblem("json", f"not valid JSON: {error}", file=file)


@attrs.define
class _Parsed:
    """What one file contributes: valid values, the keys it got wrong, what it said."""

    file: str
    values: dict[str, Any] = attrs.Factory(dict)
    undeclared: dict[str, KeySpec] = attrs.Factory(dict)
    invalid: set[str] = attrs.Factory(set)
    sections: set[str] = attrs.Factory(set)
    problems: list[ConfigProblem] = attrs.Factory(list)
    warnings: list[ConfigProblem] = attrs.Factory(list)


def _parse_document(document: Any, file: str, registry: KeyRegistry) -> _Parsed:
    parsed = _Parsed(file)
    if not isinstance(document, dict):
        parsed.problems.append(
            ConfigProblem(
                "top-level",
                f"the top level must be a JSON object of sections ({', '.join(SECTIONS)})",
                file=file,
            )
        )
        return parsed
    for name in getattr(document, "duplicates", ()):
        parsed.problems.append(
            ConfigProblem("duplicate-key", "section appears more than once", file, name)
        )
    for section, body in document.items():
        if section not in SECTIONS:
            parsed.problems.append(
                ConfigProblem(
                    "unknown-section",
                    f"unknown section ({suggest_section(section)})",
                    file=file,
                    section=section,
                )
            )
            continue
        if not isinstance(body, dict):
            parsed.problems.append(
                ConfigProblem(
                    "section-type",
                    "a section must be a JSON object of keys",
                    file=file,
                    section=section,
                    value=display(None, body),
                )
            )
            continue
        parsed.sections.add(section)
        for name in getattr(body, "duplicates", ()):
            parsed.problems.append(
                ConfigProblem("duplicate-key", "key appears more than once", file, section, name)
            )
        for name, value in body.items():
            _parse_key(parsed, registry, section, name, value, body)
    return parsed


def _parse_key(
    parsed: _Parsed,
    registry: KeyRegistry,
    section: str,
    name: str,
    value: Any,
    body: Mapping[str, Any],
) -> None:
    file = parsed.file
    spec = registry.in_section(section, name)
    if spec is None and section == "Custom":
        _parse_undeclared_custom(parsed, name, value)
        return
    if spec is None:
        hint = registry.suggest(section, name)
        parsed.problems.append(
            ConfigProblem(
                "unknown-key",
                f"unknown key ({hint})" if hint else "unknown key",
                file=file,
                section=section,
                key=name,
            )
        )
        return
    if name != spec.name:
        if spec.name in body:
            parsed.problems.append(
                ConfigProblem(
                    "duplicate-key",
                    f"the same key as {spec.name}; keep one of the two",
                    file,
                    section,
                    name,
                )
            )
            return
        parsed.warnings.append(
            ConfigProblem(
                "alias",
                f"read as {spec.name}, its OCPP 1.6 spelling",
                file=file,
                section=section,
                key=name,
            )
        )
    violation = check_value(spec, value)
    if violation is not None:
        parsed.invalid.add(spec.name)
        parsed.problems.append(_problem(violation, file, spec, value, written=name))
        return
    parsed.values[spec.name] = value


_INFERRED_TYPES = (
    (bool, ValueType.BOOLEAN),
    (int, ValueType.INTEGER),
    (float, ValueType.NUMBER),
    (str, ValueType.STRING),
    (list, ValueType.ARRAY),
    (dict, ValueType.OBJECT),
)


def _parse_undeclared_custom(parsed: _Parsed, name: str, value: Any) -> None:
    """A Custom key the host did not declare: read-only, typed by its value.

    libocpp's Custom.json does not forbid extra keys, so libocpp files carry some
    (ExampleConfigurationKey); they load and are reported, but nothing can change them.
    """
    kind = next((kind for python, kind in _INFERRED_TYPES if isinstance(value, python)), None)
    spec = None
    if kind is not None:
        spec = KeySpec(
            name=name,
            section="Custom",
            type=kind,
            access=Access.READ_ONLY,
            doc="Vendor key not declared by the host; reported read-only.",
        )
    if spec is None or check_value(spec, value) is not None:
        parsed.problems.append(
            ConfigProblem(
                "type",
                "an undeclared Custom key must be a boolean, number, string, array of "
                "strings or object",
                file=parsed.file,
                section="Custom",
                key=name,
                value=display(None, value),
            )
        )
        return
    parsed.warnings.append(
        ConfigProblem(
            "undeclared-custom",
            "not declared by the host (custom_keys): reported read-only",
            file=parsed.file,
            section="Custom",
            key=name,
        )
    )
    parsed.undeclared[name] = spec
    parsed.values[name] = value


def _problem(
    violation: Violation, file: str, spec: KeySpec, value: Any, written: str | None = None
) -> ConfigProblem:
    return ConfigProblem(
        violation.rule,
        violation.message,
        file=file,
        section=spec.section,
        key=written or spec.name,
        value=display(spec, value),
    )


def supported_profiles(values: Mapping[str, Any]) -> frozenset[str]:
    """The profiles Core.SupportedFeatureProfiles lists (empty when it is not set)."""
    listed = values.get("SupportedFeatureProfiles")
    return frozenset(split_csv(listed)) if isinstance(listed, str) else frozenset()


def active_sections(values: Mapping[str, Any], present: Iterable[str]) -> frozenset[str]:
    """Sections whose defaults apply and whose required keys must be there."""
    listed = supported_profiles(values)
    return ALWAYS_VISIBLE | frozenset(present) | (PROFILE_SECTIONS & listed)


def run_checks(
    values: Mapping[str, Any], registry: Iterable[KeySpec], invalid: Iterable[str] = ()
) -> list[tuple[KeySpec, Violation]]:
    """The cross-key and grammar checks of every key (of `registry`) that has a value."""
    skip = set(invalid)
    found = []
    for spec in registry:
        if spec.check is None or spec.name not in values:
            continue
        if skip.intersection(spec.depends_on):
            continue
        violation = spec.check(values[spec.name], values)
        if violation is not None:
            found.append((spec, violation))
    return found


def _parse_files(
    base: str | os.PathLike[str],
    overlay: str | os.PathLike[str] | None,
    registry: KeyRegistry,
) -> tuple[list[_Parsed], list[ConfigProblem], list[str]]:
    """Both files parsed key by key: (parsed files, their problems, missing sections)."""
    base_file = os.fspath(base)
    document, problem = read_document(Path(base), base_file)
    if problem is not None:
        raise ConfigError([problem])
    parsed = [_parse_document(document, base_file, registry)]
    if not isinstance(document, dict):
        raise ConfigError(parsed[0].problems)
    problems = list(parsed[0].problems)
    missing = [name for name in REQUIRED_SECTIONS if name not in document]
    problems += [
        ConfigProblem("required", "missing section", file=base_file, section=name)
        for name in missing
    ]
    if overlay is not None and Path(overlay).exists():
        overlay_document, problem = read_document(Path(overlay), os.fspath(overlay))
        if problem is not None:
            problems.append(problem)
        else:
            parsed.append(_parse_document(overlay_document, os.fspath(overlay), registry))
            problems += parsed[1].problems
    return parsed, problems, missing


def _fill_defaults(
    values: dict[str, Any],
    registry: KeyRegistry,
    *,
    present: set[str],
    invalid: set[str],
    missing: list[str],
    file: str,
) -> list[ConfigProblem]:
    """Fill in the defaults of the active sections; the required keys still absent."""
    problems = []
    for section in sorted(active_sections(values, present), key=SECTIONS.index):
        for spec in registry.section_keys(section):
            if spec.name in values or spec.name in invalid:
                continue
            if spec.has_default:
                default = spec.default
                values[spec.name] = list(default) if isinstance(default, tuple) else default
            elif spec.required and section not in missing:
                why = "missing required key"
                if section not in present and section in PROFILE_SECTIONS:
                    why += f" ({section} is listed in Core.SupportedFeatureProfiles)"
                problems.append(ConfigProblem("required", why, file, section, spec.name))
    return problems


def load(
    base: str | os.PathLike[str],
    overlay: str | os.PathLike[str] | None = None,
    *,
    registry: KeyRegistry = BUILTIN,
) -> LoadedConfig:
    """Read, merge and validate; raise ConfigError listing every problem of both files.

    A missing overlay file is an empty overlay (nothing has been changed yet).
    """
    base_file = os.fspath(base)
    parsed, problems, missing = _parse_files(base, overlay, registry)
    undeclared = {name: spec for each in parsed for name, spec in each.undeclared.items()}
    if undeclared:
        registry = registry.with_custom(undeclared.values())

    # the overlay's values win over the base file's
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    invalid: set[str] = set()
    present: set[str] = set()
    warnings: list[ConfigProblem] = []
    for each in parsed:
        warnings += each.warnings
        values.update(each.values)
        origin.update(dict.fromkeys(each.values, each.file))
        invalid |= each.invalid
        present |= each.sections

    problems += _fill_defaults(
        values, registry, present=present, invalid=invalid, missing=missing, file=base_file
    )
    listed = supported_profiles(values)
    for section in sorted(present & PROFILE_SECTIONS - listed, key=SECTIONS.index):
        warnings.append(
            ConfigProblem(
                "hidden-section",
                f"GetConfiguration will not show these keys: Core.SupportedFeatureProfiles "
                f"does not list {section}",
                file=base_file,
                section=section,
            )
        )
    for spec, violation in run_checks(values, registry, invalid):
        found = _problem(violation, origin.get(spec.name, base_file), spec, values[spec.name])
        warning = spec.warn_only_at_load and not violation.error_at_load
        (warnings if warning else problems).append(found)
    if problems:
        raise ConfigError(problems)

    overlay_values: dict[str, dict[str, Any]] = {}
    for name, value in (parsed[1].values if len(parsed) > 1 else {}).items():
        overlay_values.setdefault(registry[name].section, {})[name] = copy.deepcopy(value)
    return LoadedConfig(
        values=values,
        registry=registry,
        sections=frozenset(present),
        overlay=overlay_values,
        warnings=tuple(warnings),
    )


class Layered(MutableMapping[str, Any]):
    """The values of a derived configuration: its own changes over a shared, read-only base.

    Reads look in `own` first, then in `base`; writes go to `own`. Many charge points
    of one template share its parsed values this way and each keeps only what differs
    (its ChargePointId, its accepted changes).
    """

    __slots__ = ("base", "own")

    def __init__(self, own: dict[str, Any], base: Mapping[str, Any]) -> None:
        self.own = own
        self.base = base

    def __getitem__(self, key: str) -> Any:
        value = self.own.get(key, _MISSING)
        return self.base[key] if value is _MISSING else value

    def get(self, key: str, default: Any = None) -> Any:
        value = self.own.get(key, _MISSING)
        return self.base.get(key, default) if value is _MISSING else value

    def __contains__(self, key: object) -> bool:
        return key in self.own or key in self.base

    def __iter__(self) -> Iterator[str]:
        yield from self.own
        for key in self.base:
            if key not in self.own:
                yield key

    def __len__(self) -> int:
        return len(self.own) + sum(1 for key in self.base if key not in self.own)

    def __setitem__(self, key: str, value: Any) -> None:
        self.own[key] = value

    def __delitem__(self, key: str) -> None:
        if key in self.base:
            raise KeyError(f"{key} belongs to the shared base and cannot be removed")
        del self.own[key]


_MISSING = object()


def derive(
    loaded: LoadedConfig,
    changes: Mapping[str, Any],
    overlay: str | os.PathLike[str] | None = None,
    *,
    source: str = "(derived)",
) -> LoadedConfig:
    """A configuration that shares `loaded`'s values and adds `changes` (canonical key
    names), then the values of its own `overlay` file (a missing file adds nothing).

    Only what the changes can affect is checked again: each changed value, and the
    cross-key checks that read a changed key. Raises ConfigError naming the key, with
    `source` (where the changes came from) or the overlay file as its file.
    """
    registry = loaded.registry
    base: Mapping[str, Any] = loaded.values
    own: dict[str, Any] = {}
    if isinstance(base, Layered):
        own.update(base.own)
        base = base.base
    problems: list[ConfigProblem] = []
    origin: dict[str, str] = {}
    for name, value in changes.items():
        spec = registry[name]
        violation = check_value(spec, value)
        if violation is not None:
            problems.append(_problem(violation, source, spec, value))
            continue
        own[name] = value
        origin[name] = source
    sections = loaded.sections
    warnings: list[ConfigProblem] = []
    overlay_values: dict[str, dict[str, Any]] = {}
    if overlay is not None and Path(overlay).exists():
        file = os.fspath(overlay)
        document, problem = read_document(Path(overlay), file)
        if problem is not None:
            raise ConfigError([problem])
        parsed = _parse_document(document, file, registry)
        problems += parsed.problems
        warnings += parsed.warnings
        sections = sections | parsed.sections
        for name, value in parsed.values.items():
            own[name] = value
            origin[name] = file
            overlay_values.setdefault(registry[name].section, {})[name] = copy.deepcopy(value)
    if problems:
        raise ConfigError(problems)
    values = Layered(own, base)
    changed = set(own)
    for spec in registry:
        if spec.check is None or spec.name not in values:
            continue
        if spec.name not in changed and not changed.intersection(spec.depends_on):
            continue
        violation = spec.check(values[spec.name], values)
        if violation is None:
            continue
        found = _problem(violation, origin.get(spec.name, source), spec, values[spec.name])
        if spec.warn_only_at_load and not violation.error_at_load:
            if found not in loaded.warnings:
                warnings.append(found)
        else:
            problems.append(found)
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(
        values=values,
        registry=registry,
        sections=sections,
        overlay=overlay_values,
        # shared with the base unless something new is to be said
        warnings=loaded.warnings + tuple(warnings) if warnings else loaded.warnings,
    )
