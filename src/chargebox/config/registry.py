"""Look-ups over the key table: by section, by exact name, by OCPP's case-insensitive name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from chargebox.config.keys import BUILTIN_KEYS
from chargebox.config.spec import KeySpec

# The sections of the configuration file, in file order.
SECTIONS = (
    "Internal",
    "Core",
    "FirmwareManagement",
    "Security",
    "LocalAuthListManagement",
    "SmartCharging",
    "Reservation",
    "PnC",
    "CostAndPrice",
    "Custom",
)
# GetConfiguration shows these sections' keys always ...
ALWAYS_VISIBLE = frozenset({"Internal", "Core", "Security"})
# ... these only when SupportedFeatureProfiles lists the profile of the same name ...
PROFILE_SECTIONS = frozenset(
    {"FirmwareManagement", "LocalAuthListManagement", "SmartCharging", "Reservation"}
)
# ... and these only when the configuration has the section.
OPTIONAL_SECTIONS = frozenset({"PnC", "CostAndPrice", "Custom"})


class KeyRegistry:
    """An immutable set of KeySpecs, indexed for the loader and for Get/ChangeConfiguration."""

    def __init__(self, specs: Iterable[KeySpec]) -> None:
        self._specs: tuple[KeySpec, ...] = tuple(specs)
        self._by_name: dict[str, KeySpec] = {}
        self._by_folded: dict[str, KeySpec] = {}
        self._by_section: dict[str, dict[str, KeySpec]] = {name: {} for name in SECTIONS}
        for spec in self._specs:
            if spec.section not in self._by_section:
                raise ValueError(f"{spec.name}: unknown section {spec.section!r}")
            for name in (spec.name, *spec.aliases):
                # OCPP key names are CiString: two keys differing only in case could not
                # be told apart in a ChangeConfiguration.req.
                folded = name.casefold()
                other = self._by_folded.get(folded)
                if other is not None and other is not spec:
                    raise ValueError(f"key {name!r} clashes with {other.name!r}")
                self._by_folded[folded] = spec
            if spec.name in self._by_name:
                raise ValueError(f"key {spec.name!r} defined twice")
            self._by_name[spec.name] = spec
            self._by_section[spec.section][spec.name] = spec
            for alias in spec.aliases:
                self._by_section[spec.section][alias] = spec

    def __iter__(self) -> Iterator[KeySpec]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> KeySpec:
        """The spec of the key spelled exactly `name` (KeyError otherwise)."""
        return self._by_name[name]

    def lookup(self, name: str) -> KeySpec | None:
        """The spec of `name` compared case-insensitively, as OCPP compares CiString keys."""
        return self._by_folded.get(name.casefold())

    def in_section(self, section: str, name: str) -> KeySpec | None:
        """The spec of the file key `name` (or an alias of it) in `section`."""
        return self._by_section.get(section, {}).get(name)

    def section_keys(self, section: str) -> tuple[KeySpec, ...]:
        return tuple(spec for spec in self._specs if spec.section == section)

    def suggest(self, section: str, name: str) -> str:
        """A hint for an unknown file key: a close name in its section, or where it belongs."""
        elsewhere = self.lookup(name)
        if elsewhere is not None and elsewhere.section != section:
            return f"{elsewhere.name} belongs in section {elsewhere.section}"
        names = [spec.name for spec in self.section_keys(section)]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        if close:
            return f"did you mean {close[0]}?"
        close = difflib.get_close_matches(name, list(self._by_name), n=1, cutoff=0.75)
        if close:
            spec = self._by_name[close[0]]
            return f"did you mean {spec.section}.{spec.name}?"
        return ""

    def with_custom(self, specs: Iterable[KeySpec]) -> KeyRegistry:
        """This registry plus vendor keys of the Custom section."""
        extra = tuple(specs)
        for spec in extra:
            if spec.section != "Custom":
                raise ValueError(f"{spec.name}: custom keys belong in section Custom")
        return KeyRegistry(self._specs + extra)


def suggest_section(name: str) -> str:
    close = difflib.get_close_matches(name, SECTIONS, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else f"sections are {', '.join(SECTIONS)}"


BUILTIN = KeyRegistry(BUILTIN_KEYS)
