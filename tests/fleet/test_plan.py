"""The fleet's plan: shards that partition the stations, id patterns, and what is refused."""

from __future__ import annotations

import pytest

from chargebox.fleet import FleetError, Shard, make_plan, parse_shard
from chargebox.fleet.plan import check_pattern
from tests.fleet.support import template


@pytest.mark.parametrize("count", [1, 2, 7, 10, 99, 1000, 1001])
@pytest.mark.parametrize("shards", [1, 2, 3, 4, 8, 16, 1500])
@pytest.mark.parametrize("first", [0, 1, 17])
def test_shards_partition_the_stations(count, shards, first):
    everyone = range(first, first + count)
    parts = [Shard(i, shards).numbers(first, count) for i in range(shards)]
    taken = [number for part in parts for number in part]
    assert sorted(taken) == list(everyone)  # complete, and nobody twice
    assert len(taken) == len(set(taken))
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1  # as even as can be
    for i, part in enumerate(parts):
        assert all(Shard(i, shards).holds(n) for n in part)
        assert list(part) == sorted(part)


def test_a_station_keeps_its_shard_when_the_fleet_grows():
    small = Shard(1, 4).numbers(1, 100)
    large = Shard(1, 4).numbers(1, 10_000)
    assert set(small) <= set(large)


@pytest.mark.parametrize(
    ("text", "expected"), [("0/1", Shard(0, 1)), ("3/4", Shard(3, 4)), (" 2 / 8 ", Shard(2, 8))]
)
def test_shard_spec(text, expected):
    assert parse_shard(text) == expected
    assert str(expected) == f"{expected.index}/{expected.count}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4/4", "--shard 4/4: the shard must be i/n with n >= 1 and 0 <= i < n"),
        ("0/0", "--shard 0/0: the shard must be i/n with n >= 1 and 0 <= i < n"),
        ("1", "--shard '1' is not a shard: give i/n with 0 <= i < n"),
        ("a/b", "--shard 'a/b' is not a shard"),
        ("-1/4", "--shard '-1/4' is not a shard"),
    ],
)
def test_a_bad_shard_is_refused(text, message):
    with pytest.raises(FleetError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_shard(text)


def test_id_patterns():
    assert check_pattern("cp{:05d}").format(42) == "cp00042"
    assert check_pattern("CP-{}").format(7) == "CP-7"
    assert check_pattern("{0:x}-site").format(255) == "ff-site"
    with pytest.raises(FleetError, match="has no placeholder for the station number"):
        check_pattern("cp")
    with pytest.raises(FleetError, match="exactly one placeholder"):
        check_pattern("cp{}-{}")
    with pytest.raises(FleetError, match="exactly one placeholder"):
        check_pattern("cp{name}")
    with pytest.raises(FleetError, match="is not a pattern"):
        check_pattern("cp{")
    with pytest.raises(FleetError, match="cannot number stations"):
        check_pattern("cp{:s}")


def test_the_plan_gives_each_station_its_own_id_and_url(tmp_path):
    plan = make_plan(template(tmp_path), count=10, shard=Shard(1, 3), id_pattern="site-{:03d}")
    assert list(plan.numbers) == [1, 4, 7, 10]
    assert list(plan.ids()) == ["site-001", "site-004", "site-007", "site-010"]
    config = plan.config(4)
    assert config.charge_point_id == "site-004"
    # the template's URL ended with the template's id: each station has its own instead
    assert config.central_system_url.endswith("/CentralSystemService/site-004")
    assert config.number_of_connectors == 2


def test_what_the_plan_refuses(tmp_path):
    path = template(tmp_path)
    with pytest.raises(FleetError, match=r"^--count 0: a fleet needs at least 1 station$"):
        make_plan(path, count=0)
    with pytest.raises(FleetError, match="gives the id 'cp1' to more than one station"):
        make_plan(path, count=20, id_pattern="cp{!s:.1}")
    with pytest.raises(FleetError, match=r"^the template .* does not load"):
        make_plan(tmp_path / "missing.json", count=3)
    with pytest.raises(FleetError, match=r"^--connectors 0"):
        make_plan(path, count=3, connectors=0)
    with pytest.raises(FleetError, match="CentralSystemURI"):
        make_plan(path, count=3, csms_url="http://example.com/ocpp/")
