"""A fleet's stations answer the Central System as stations do, keep their state where they
are told to, and give up with one message when nothing connects."""

from __future__ import annotations

import gc
import json

import attrs
import pytest
import trio
import trio.testing

from chargebox.cli import build_parser
from chargebox.cli.fleet import _spec
from chargebox.fleet import PROFILES, Fleet, FleetSpec
from chargebox.fleet.runner import Unreachable
from chargebox.netsim import Network
from chargebox.ocpp.v16 import (
    ChangeAvailabilityRequest,
    ChangeConfigurationRequest,
    RemoteStartTransactionRequest,
    RemoteStopTransactionRequest,
    ResetRequest,
)
from chargebox.station import Options
from tests.fleet.support import ground, template


async def running_fleet(nursery: trio.Nursery, spec: FleetSpec) -> Fleet:
    fleet = Fleet(spec)
    await nursery.start(fleet.run)
    return fleet


async def test_remote_operations_are_answered(tmp_path, autojump_clock):
    async with ground() as g, trio.open_nursery() as nursery:
        spec = FleetSpec(config=template(tmp_path), count=3, options=g.options, ledger=True)
        fleet = await running_fleet(nursery, spec)
        csms = g.csms
        await csms.wait_until(lambda: fleet.stats.ever_accepted == 3)
        session = await csms.session("cp00002")

        # RemoteStartTransaction: an EV is plugged in for it and charges
        answer = await session.call(RemoteStartTransactionRequest(id_tag="APP-1", connector_id=2))
        assert str(answer.status) == "Accepted"
        start = await csms.wait_for("StartTransaction", charge_point_id="cp00002")
        assert (start.connector_id, start.id_tag) == (2, "APP-1")
        await csms.wait_for(
            "StatusNotification",
            lambda s: (s.connector_id, str(s.status)) == (2, "Charging"),
            charge_point_id="cp00002",
        )
        await trio.sleep(600)  # ten minutes of charging at 11 kW
        tx_id = fleet.stats.ledger[-1][2]
        answer = await session.call(RemoteStopTransactionRequest(transaction_id=tx_id))
        assert str(answer.status) == "Accepted"
        stop = await csms.wait_for("StopTransaction", charge_point_id="cp00002")
        assert (stop.transaction_id, str(stop.reason)) == (tx_id, "Remote")
        assert stop.meter_stop - start.meter_start == pytest.approx(11_000 / 6, abs=200)

        # ChangeAvailability and ChangeConfiguration stay with the station they were sent to
        answer = await session.call(ChangeAvailabilityRequest(connector_id=1, type="Inoperative"))
        assert str(answer.status) == "Accepted"
        change = ChangeConfigurationRequest(key="HeartbeatInterval", value="120")
        assert str((await session.call(change)).status) == "Accepted"
        configs = {s.station_id: s for s in fleet.stations}
        assert configs["cp00002"].bays[0].enabled is False
        assert configs["cp00001"].bays[0].enabled is True

        # Reset: the station restarts and registers again
        boots = len(csms.received("cp00002", "BootNotification"))
        answer = await session.call(ResetRequest(type="Soft"))
        assert str(answer.status) == "Accepted"
        await csms.wait_until(lambda: len(csms.received("cp00002", "BootNotification")) > boots)
        await csms.wait_until(lambda: fleet.stats.accepted == 3)
        fleet.stop()

    assert fleet.stats.remote_operations == {
        "RemoteStartTransaction": 1,
        "RemoteStopTransaction": 1,
        "ChangeAvailability": 1,
        "ChangeConfiguration": 1,
        "Reset": 1,
    }
    assert fleet.stats.errors == {}


async def test_a_shared_store_keeps_what_a_killed_fleet_had_not_sent(tmp_path, autojump_clock):
    """The fleet's process dies during transactions: the next run with the same shared file
    stops them with reason PowerLoss, as a station does after a power cut."""
    shared = tmp_path / "fleet.db"
    config = template(tmp_path)
    async with ground() as g:
        spec = FleetSpec(
            config=config,
            count=10,
            shared_db=shared,
            profile=PROFILES["busy"],
            options=g.options,
            ledger=True,
        )
        first = Fleet(spec)
        with trio.move_on_after(1800):  # cut off: no wind-down, nothing stopped
            await first.run()
        running = dict(first.stats.open_ids)
        assert running  # transactions were running when it died

        second = Fleet(spec)
        with trio.move_on_after(120):
            await second.run()
        stops = g.csms.received(None, "StopTransaction")
        power_loss = {s.transaction_id for s in stops if str(s.reason) == "PowerLoss"}
        assert set(running) <= power_loss


async def test_nothing_connects_and_the_fleet_says_so(tmp_path, autojump_clock):
    net = Network()  # nobody listens on it
    async with trio.open_nursery() as nursery:
        await nursery.start(net.run)
        spec = FleetSpec(
            config=template(tmp_path),
            count=50,
            options=Options(open_stream=net.open_stream, blocking_inline=True),
        )
        with pytest.raises(Unreachable) as refused:
            await Fleet(spec).run()
        nursery.cancel_scope.cancel()
    assert str(refused.value) == (
        "no station could connect to ws://csms.test:80/steve/websocket/CentralSystemService/: "
        "cannot reach the Central System at csms.test:80: connection refused (csms.test:80 on "
        "the in-process network) (5 attempts failed)"
    )


async def test_the_wind_down_waits_real_seconds_on_a_faster_clock(tmp_path, autojump_clock):
    """drain_timeout is real time: on a clock twice as fast the stations wait twice as many of
    their seconds for the Central System's last answers."""
    async with ground() as g, trio.open_nursery() as nursery:
        answer_stop = g.csms.handlers["StopTransaction"]

        async def slow_stop(session, request):
            await trio.sleep(40)  # 20 real seconds on the stations' clock below
            return answer_stop(session, request)

        g.csms.on("StopTransaction", slow_stop)
        spec = FleetSpec(
            config=template(tmp_path), count=1, options=g.options, speed=2.0, drain_timeout=30
        )
        fleet = await running_fleet(nursery, spec)
        await g.csms.wait_until(lambda: fleet.stats.ever_accepted == 1)
        session = await g.csms.session("cp00001")
        await session.call(RemoteStartTransactionRequest(id_tag="APP-1", connector_id=1))
        await g.csms.wait_until(lambda: fleet.stats.tx_confirmed == 1)
        fleet.stop()
    assert fleet.stats.tx_stop_confirmed == 1 and fleet.stats.open_ids == {}


async def test_a_data_dir_holds_each_stations_store_and_configuration(tmp_path, autojump_clock):
    data = tmp_path / "stations"
    async with ground() as g:
        spec = FleetSpec(config=template(tmp_path), count=2, data_dir=data, options=g.options)
        async with trio.open_nursery() as nursery:
            fleet = await running_fleet(nursery, spec)
            await g.csms.wait_until(lambda: fleet.stats.ever_accepted == 2)
            session = await g.csms.session("cp00002")
            change = ChangeConfigurationRequest(key="MeterValueSampleInterval", value="15")
            assert str((await session.call(change)).status) == "Accepted"
            fleet.stop()
        assert sorted(p.name for p in data.iterdir()) == ["cp00001", "cp00002"]
        assert (data / "cp00001" / "cp00001.db").is_file()
        # (HeartbeatInterval: the interval BootNotification.conf gave, kept as libocpp does)
        assert json.loads((data / "cp00002" / "user-config.json").read_text()) == {
            "Core": {"HeartbeatInterval": 300, "MeterValueSampleInterval": 15}
        }
        assert json.loads((data / "cp00001" / "user-config.json").read_text()) == {
            "Core": {"HeartbeatInterval": 300}
        }
        # the next run of the fleet: each station has what it kept
        again = Fleet(spec)
        assert (
            again.plan.config(2, data / "cp00002" / "user-config.json").get(
                "MeterValueSampleInterval"
            )
            == 15
        )
        assert (
            again.plan.config(1, data / "cp00001" / "user-config.json").get(
                "MeterValueSampleInterval"
            )
            == 60
        )


@pytest.mark.parametrize(("durability", "synchronous"), [("crash-safe", 1), ("power-safe", 2)])
async def test_the_stores_of_a_data_dir_commit_as_the_fleets_durability_says(
    tmp_path, autojump_clock, durability, synchronous
):
    data = tmp_path / "stations"
    async with ground() as g:
        options = attrs.evolve(g.options, durability=durability)
        spec = FleetSpec(config=template(tmp_path), count=2, data_dir=data, options=options)
        fleet = Fleet(spec)
        for station_id in ("cp00001", "cp00002"):
            store, _ = fleet._store(station_id)
            try:
                assert store.durability == durability
                assert store._db.execute("PRAGMA synchronous").fetchone()[0] == synchronous
            finally:
                store.close()


def fleet_spec(argv: list[str]) -> FleetSpec:
    return _spec(build_parser().parse_args(argv))


def test_the_fleet_command_chooses_crash_safe_stores_unless_told(tmp_path):
    base = ["fleet", "--config", str(template(tmp_path)), "--count", "2"]
    assert fleet_spec(base).options.durability == "crash-safe"
    assert fleet_spec([*base, "--durability", "power-safe"]).options.durability == "power-safe"


async def test_a_station_whose_store_is_damaged_is_counted_and_the_others_run(
    tmp_path, autojump_clock
):
    data = tmp_path / "stations"
    (data / "cp00002").mkdir(parents=True)
    (data / "cp00002" / "cp00002.db").write_bytes(b"not a database\n" * 100)
    async with ground() as g:
        spec = FleetSpec(
            config=template(tmp_path), count=3, data_dir=data, options=g.options, duration=60
        )
        summary = await Fleet(spec).run()
    assert summary.ever_accepted == 2
    [(kind, count)] = summary.errors.items()
    assert count == 1
    assert "/<station>/<station>.db is not a chargebox database or is damaged" in kind


@pytest.mark.parametrize("tune_gc", [True, False])
async def test_the_collector_leaves_the_stations_objects_alone_while_they_close(
    tmp_path, autojump_clock, monkeypatch, tune_gc
):
    """With tune_gc the objects the stations hold are frozen while the fleet winds down (a
    collection would walk them all again for nothing), and thawed at the end; without it the
    collector is Python's own throughout."""
    from chargebox.fleet import runner

    seen: list[int] = []
    close = runner.close_websocket

    async def watched_close(station):
        seen.append(gc.get_freeze_count())
        await close(station)

    monkeypatch.setattr(runner, "close_websocket", watched_close)
    async with ground() as g, trio.open_nursery() as nursery:
        spec = FleetSpec(config=template(tmp_path), count=3, options=g.options, tune_gc=tune_gc)
        fleet = await running_fleet(nursery, spec)
        await g.csms.wait_until(lambda: fleet.stats.ever_accepted == 3)
        assert gc.get_freeze_count() == 0
        fleet.stop()
    assert len(seen) == 3
    assert all(count > 0 for count in seen) if tune_gc else seen == [0, 0, 0]
    assert gc.get_freeze_count() == 0
    assert g.csms.counts.open == 0


async def test_the_fleet_closes_its_websockets_a_batch_at_a_time(
    tmp_path, autojump_clock, monkeypatch
):
    """At most CLOSING_AT_ONCE closing handshakes run at once, and every websocket closes."""
    from chargebox.fleet import runner

    monkeypatch.setattr(runner, "CLOSING_AT_ONCE", 2)
    closing, most, closed = 0, 0, 0
    close = runner.close_websocket

    async def watched_close(station):
        nonlocal closing, most, closed
        closing += 1
        most = max(most, closing)
        try:
            await close(station)
        finally:
            closing -= 1
            closed += 1

    monkeypatch.setattr(runner, "close_websocket", watched_close)
    async with ground() as g, trio.open_nursery() as nursery:
        spec = FleetSpec(config=template(tmp_path), count=5, options=g.options)
        fleet = await running_fleet(nursery, spec)
        await g.csms.wait_until(lambda: fleet.stats.ever_accepted == 5)
        fleet.stop()
    assert closed == 5
    assert most == 2
    assert g.csms.counts.open == 0


async def test_an_idle_station_waits_for_the_engine_without_a_deadline(monkeypatch):
    """Nothing is ever due at an idle station's connectors: it waits for the engine's word
    (or the wind-down) without a cancel scope for a deadline it does not have."""
    import random

    from chargebox.fleet.host import CLOSING, FleetStation
    from chargebox.fleet.stats import FleetStats

    deadlines: list[float] = []
    move_on_at = trio.move_on_at

    def watched(deadline: float, **kwargs):
        deadlines.append(deadline)
        return move_on_at(deadline, **kwargs)

    monkeypatch.setattr(trio, "move_on_at", watched)
    station = FleetStation("cp1", 2, PROFILES["idle"], FleetStats(), random.Random(0))
    why: list[str] = []

    async def drive() -> None:
        why.append(await station.drive(None))  # type: ignore[arg-type]  (never called)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drive)
        await trio.testing.wait_all_tasks_blocked()
        station._note("withdraw", 1)  # the engine's word wakes it: nothing to do at an idle bay
        await trio.testing.wait_all_tasks_blocked()
        station.close()
    assert why == [CLOSING]
    assert deadlines == []
