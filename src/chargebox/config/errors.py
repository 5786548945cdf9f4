"""Configuration problems: what is wrong, where, and the exception that carries all of them."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

# A secret's value is shown as this wherever a problem or a result names it.
REDACTED = "<hidden>"


@attrs.frozen(slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file or value, located as precisely as possible.

    `value` is already a display string (JSON spelling, or REDACTED for a secret), so
    that printing or logging a problem can never reveal an AuthorizationKey.
    `rule` names the kind of check that failed (see RULES) so tests and tools can
    tell problems apart without parsing the message.
    """

    rule: str
    message: str
    file: str | None = None
    section: str | None = None
    key: str | None = None
    value: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        if self.section is not None and self.key is not None:
            where += f": {self.section}.{self.key}"
        elif self.section is not None:
            where += f": {self.section}"
        elif self.key is not None:
            where += f": {self.key}"
        if self.value is not None:
            where += f" = {self.value}"
        return f"{where}: {self.message}"


# The rules a ConfigProblem can name; kept in one place so the tests can check
# that every kind of problem is reachable.
RULES = frozenset(
    {
        "io",  # the file cannot be read or written
        "json",  # not valid JSON
        "top-level",  # the document is not a JSON object
        "duplicate-key",  # a section or key appears twice
        "unknown-section",
        "section-type",  # a section is not a JSON object
        "unknown-key",
        "type",
        "minimum",
        "maximum",
        "min-length",
        "max-length",
        "enum",
        "required",
        "syntax",  # a string that must follow a grammar (CSV of measurands, time offset, ...)
        "consistency",  # two keys that contradict each other
        "max-items",  # a CSL longer than its <Key>MaxLength
        "read-only",  # a change of a key that cannot be changed
        "raise-only",  # SecurityProfile may only go up
        "prerequisite",  # the engine cannot meet what the new value requires
        "too-short",  # an AuthorizationKey that stands for too few bytes
        # warnings (the file loads):
        "alias",  # an older spelling of a key
        "hidden-section",  # a profile section whose profile SupportedFeatureProfiles omits
        "undeclared-custom",  # a Custom key the host did not declare
    }
)


class ConfigError(Exception):
    """A configuration could not be loaded or changed; `problems` lists every reason at once."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        count = len(self.problems)
        lines = [f"{count} configuration problem{'s' if count != 1 else ''}:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class UnknownKeyError(KeyError):
    """Code asked for a key that the registry does not define (a programming error)."""
