"""What a fleet is: its stations' ids, the shard this process runs, where they keep their
state, and the one configuration template they share.

Station ids come from a pattern with one placeholder for the station number
(`cp{:05d}` gives cp00001, cp00002, ...), numbered from `first`. A fleet split
into n shards (`--shard i/n`) runs in shard i the stations whose number modulo n
is i: every station is in exactly one shard, the shards differ in size by one
at most, and a station keeps its shard whatever the fleet's size, so shards can
run as separate processes or on separate machines with nothing shared but the
command line.

Every problem with what was asked is a FleetError whose message is one line
naming the option (or the configuration key), the value and what is allowed.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from chargebox.config import ChargePointConfig, ConfigError
from chargebox.config.checks import split_scheme


class FleetError(ValueError):
    """The fleet cannot run as asked; the message is one line saying why."""


@attrs.frozen
class Shard:
    """Shard `index` of `count` (0 <= index < count): the stations whose number % count == index."""

    index: int = 0
    count: int = 1

    def __attrs_post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise FleetError(
                f"--shard {self.index}/{self.count}: the shard must be i/n with n >= 1 and "
                "0 <= i < n (for example 0/4 ... 3/4)"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, number: int) -> bool:
        return number % self.count == self.index

    def numbers(self, first: int, count: int) -> range:
        """The station numbers of this shard among first .. first + count - 1, in order."""
        start = first + (self.index - first) % self.count
        return range(start, first + count, self.count)


_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> Shard:
    """`i/n` (for example `2/8`, or a Kubernetes Indexed Job's `$JOB_COMPLETION_INDEX/8`)."""
    match = _SHARD.fullmatch(text)
    if match is None:
        raise FleetError(
            f"--shard {text!r} is not a shard: give i/n with 0 <= i < n (for example 0/4)"
        )
    return Shard(int(match.group(1)), int(match.group(2)))


def check_pattern(pattern: str) -> str:
    """An id pattern with exactly one placeholder for the station number (`cp{:05d}`)."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as e:
        raise FleetError(f"--id-pattern {pattern!r} is not a pattern ({e})") from None
    if not fields:
        raise FleetError(
            f"--id-pattern {pattern!r} has no placeholder for the station number: "
            "write one, for example cp{:05d} or CP-{}"
        )
    if len(fields) > 1 or fields[0] not in ("", "0"):
        raise FleetError(
            f"--id-pattern {pattern!r} must have exactly one placeholder, {{}} or {{:05d}} for "
            "example"
        )
    try:
        pattern.format(1)
    except (ValueError, TypeError, IndexError) as e:
        raise FleetError(f"--id-pattern {pattern!r} cannot number stations ({e})") from None
    return pattern


@attrs.define
class Plan:
    """The stations of one shard of a fleet, and the configuration they share."""

    #: the configuration template (a libocpp-style file); each station derives from it
    template: ChargePointConfig
    #: the station numbers this shard runs
    numbers: range
    id_pattern: str

    def station_id(self, number: int) -> str:
        return self.id_pattern.format(number)

    def ids(self) -> Iterator[str]:
        for number in self.numbers:
            yield self.station_id(number)

    def config(self, number: int, overlay: Path | None = None) -> ChargePointConfig:
        """Station `number`'s configuration: the template's, with its id (and serial number)."""
        station_id = self.station_id(number)
        changes: dict[str, Any] = {"ChargePointId": station_id}
        template_id = self.template.charge_point_id
        if self.template.get("ChargeBoxSerialNumber") == template_id:
            changes["ChargeBoxSerialNumber"] = station_id[:25]
        try:
            return self.template.derive(changes, overlay_path=overlay, source="--id-pattern")
        except ConfigError as error:
            raise FleetError(f"station {station_id}: {error.problems[0]}") from None


def make_plan(
    config: Path,
    *,
    count: int,
    id_pattern: str = "cp{:05d}",
    first: int = 1,
    shard: Shard = Shard(),
    csms_url: str | None = None,
    connectors: int | None = None,
) -> Plan:
    """Check what was asked and load the template once; raises FleetError (one line)."""
    if count < 1:
        raise FleetError(f"--count {count}: a fleet needs at least 1 station")
    if first < 0:
        raise FleetError(f"--first {first}: station numbers start at 0 or above")
    if connectors is not None and connectors < 1:
        raise FleetError(f"--connectors {connectors}: a station needs at least 1 connector")
    check_pattern(id_pattern)
    seen: set[str] = set()
    for number in range(first, first + count):
        station_id = id_pattern.format(number)
        if station_id in seen:
            raise FleetError(
                f"--id-pattern {id_pattern!r} gives the id {station_id!r} to more than one station"
            )
        seen.add(station_id)
    del seen
    try:
        template = ChargePointConfig.load(config)
    except ConfigError as error:
        raise FleetError(f"the template {config} does not load: {error.problems[0]}") from None
    except OSError as e:
        raise FleetError(f"the template {config} cannot be read: {e.strerror or e}") from None
    changes: dict[str, Any] = {}
    if csms_url is not None:
        changes["CentralSystemURI"] = _without_id(csms_url, template.charge_point_id)
    else:
        uri = template["CentralSystemURI"]
        stripped = _without_id(uri, template.charge_point_id)
        if stripped != uri:
            changes["CentralSystemURI"] = stripped
    if connectors is not None:
        changes["NumberOfConnectors"] = connectors
    if changes:
        try:
            template = template.derive(changes, source="--csms/--connectors")
        except ConfigError as error:
            raise FleetError(f"the template {config}: {error.problems[0]}") from None
    plan = Plan(template, shard.numbers(first, count), id_pattern)
    # every id is checked when its station starts; the first one here, with the template
    if len(plan.numbers):
        plan.config(plan.numbers[0])
    return plan


def _without_id(url: str, charge_point_id: str) -> str:
    """The URL without the template's id at its end: each station appends its own."""
    scheme, rest = split_scheme(url)
    tail = "/" + quote(charge_point_id, safe="")
    trimmed = rest.rstrip("/")
    if trimmed.endswith(tail):
        rest = trimmed[: -len(tail)] + "/"
    return f"{scheme}://{rest}" if scheme else rest


def ramp_delays(rate: float) -> float:
    """Seconds between two station starts at `rate` stations per second (0: all at once)."""
    if rate < 0 or math.isnan(rate):
        raise FleetError(f"--ramp {rate}: give stations per second, 0 or more (0: all at once)")
    return 0.0 if rate == 0 or math.isinf(rate) else 1.0 / rate
