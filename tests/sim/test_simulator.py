"""The simulator as the engine's host, against the development CSMS on the mock clock.

Each test scripts the hardware (plug, RFID, EV, faults) or calls a port the
engine would call, and checks what the Central System received.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio

from chargebox.ocpp import v16

from .support import simulated

CORE = {"Core": {"MeterValueSampleInterval": 60}}


async def test_a_scripted_rfid_session(tmp_path, autojump_clock):
    async with simulated(tmp_path, sections=CORE) as rig:
        csms = rig.csms
        await rig.run(
            "plug 1",
            "wait 1 Preparing 5",
            "rfid TAG-1 1",
            "wait 1 Charging 10",
            "sleep 600",
            "rfid TAG-1",
            "wait 1 Finishing 10",
            "unplug 1",
            "wait 1 Available 10",
        )
        stop = await csms.wait_for("StopTransaction")
        start = csms.received("SIM-1", "StartTransaction")[0]
        assert start.id_tag == "TAG-1" and start.meter_start == 0
        # 16 A on 3 phases at 230 V for 600 s: 1840 Wh (give or take the last tick)
        assert stop.meter_stop == pytest.approx(1840, abs=2)
        assert stop.reason == "Local" and stop.id_tag == "TAG-1"
        await csms.wait_for("StatusNotification", lambda s: s.status == "Available", count=3)
        assert rig.statuses(1) == ["Available", "Preparing", "Charging", "Finishing", "Available"]
        sampled = csms.received("SIM-1", "MeterValues")
        assert len(sampled) >= 9
        assert all(mv.transaction_id == start_id(csms) for mv in sampled)
        # every event the host reported fitted the charts: none was refused
        station = rig.sim.cp.station
        actors = [station.connector0, *station.connectors.values(), *station.transactions.values()]
        assert [(a.address, str(a.last_refused)) for a in actors if a.refused] == []
        actions = csms.actions("SIM-1")
        assert actions.index("Authorize") < actions.index("StartTransaction")
        assert actions.index("StartTransaction") < actions.index("StopTransaction")


def start_id(csms) -> int:
    for session in csms.all_sessions:
        for ex in session.exchanges:
            if (
                ex.direction == "out"
                and ex.kind == "CALLRESULT"
                and ex.action == "StartTransaction"
            ):
                return ex.payload["transactionId"]
    raise AssertionError("no StartTransaction answered")


async def test_remote_start_makes_the_auto_ev_plug_in_charge_and_leave(tmp_path, autojump_clock):
    async with simulated(tmp_path, auto=True, sections=CORE) as rig:
        session = await rig.session()
        answer = await session.call(
            v16.RemoteStartTransactionRequest(id_tag="APP-1", connector_id=1)
        )
        assert answer.status == "Accepted"
        await rig.run("wait 1 Charging 30")
        assert rig.sim.outlets[1].plugged
        tx = await rig.csms.wait_until(lambda: rig.sim.cp.transaction_id(1))
        await trio.sleep(120)
        stop = await session.call(v16.RemoteStopTransactionRequest(transaction_id=tx))
        assert stop.status == "Accepted"
        final = await rig.csms.wait_for("StopTransaction")
        assert final.reason == "Remote" and final.meter_stop > 0
        await rig.run("wait 1 Available 30")
        assert not rig.sim.outlets[1].plugged
        assert any("--auto" in e for e in rig.output.events)


async def test_without_auto_a_remote_start_waits_for_the_plug(tmp_path, autojump_clock):
    async with simulated(tmp_path, sections={"Core": {"ConnectionTimeOut": 30}}) as rig:
        session = await rig.session()
        await session.call(v16.RemoteStartTransactionRequest(id_tag="APP-1", connector_id=1))
        await rig.run("wait 1 Preparing 5")
        await trio.sleep(31)  # nobody came: the engine withdraws the authorization
        await rig.run("wait 1 Available 5", "plug 1", "wait 1 Preparing 5", "sleep 5")
        assert rig.csms.received("SIM-1", "StartTransaction") == []


async def test_smart_charging_limit_caps_the_offer_and_the_ev_follows(tmp_path, autojump_clock):
    async with simulated(tmp_path, sections=CORE) as rig:
        sim = rig.sim
        await rig.run("plug 1", "rfid TAG-1 1", "wait 1 Charging 10")
        energy = sim.host.energy
        await energy.set_limit(1, Decimal(10), None)
        await rig.run("sleep 2")
        assert (sim.outlets[1].offered, sim.outlets[1].drawn) == (10.0, 10.0)
        await energy.set_limit(1, None, Decimal(0))
        await rig.run("wait 1 SuspendedEVSE 10")
        assert sim.outlets[1].power_w == 0.0
        await energy.set_limit(1, None, None)
        await rig.run("wait 1 Charging 10")
        # the station limit is shared by the connectors that charge
        await energy.set_limit(0, Decimal(8), None)
        await rig.run("sleep 2")
        assert sim.outlets[1].offered == 8.0
        await energy.set_limit(0, None, None)
        await rig.run("sleep 120")
        mv = rig.csms.received("SIM-1", "MeterValues")[-1]
        assert mv.meter_value[0].sampled_value[0].measurand == "Energy.Active.Import.Register"
        assert any("limit 10 A" in e for e in rig.output.events)


async def test_ev_pause_fault_and_clear(tmp_path, autojump_clock):
    async with simulated(tmp_path, sections=CORE) as rig:
        await rig.run(
            "plug 1",
            "rfid TAG-1 1",
            "wait 1 Charging 10",
            "ev-pause 1",
            "wait 1 SuspendedEV 10",
            "ev-resume 1",
            "wait 1 Charging 10",
            "draw 1 0",
            "wait 1 SuspendedEV 10",
            "draw 1 20 1",
            "wait 1 Charging 10",
            "fault 1 GroundFailure",
            "wait 1 Faulted 10",
            "clear-fault 1",
            "wait 1 Charging 10",
        )
        assert rig.sim.outlets[1].drawn == 20.0 and rig.sim.outlets[1].phases_in_use() == 1
        faulted = await rig.csms.wait_for("StatusNotification", lambda s: s.status == "Faulted")
        assert faulted.error_code == "GroundFailure"
        assert rig.statuses(1)[-1] in ("Faulted", "Charging")
        await rig.csms.wait_for("StatusNotification", lambda s: s.status == "Charging", count=4)


async def test_bad_commands_and_failed_waits_are_reported_and_the_session_goes_on(
    tmp_path, autojump_clock
):
    async with simulated(tmp_path) as rig:
        await rig.sim.run_lines(
            ["plug 9", "unplug 1", "draw 1 10", "wait 1 Charging 5", "plug 1", "wait 1 Preparing 5"]
        )
        assert rig.sim.errors == 4
        assert rig.output.errors[0].startswith("plug: connector 9 does not exist")
        assert rig.output.errors[1] == "unplug: connector 1 is not plugged in"
        assert "no EV is plugged in" in rig.output.errors[2]
        assert "did not become Charging within 5 s (it is Available)" in rig.output.errors[3]
        assert rig.sim.cp.status(1) == "Preparing"


async def test_reset_restarts_the_engine_and_the_plugged_ev_stays(tmp_path, autojump_clock):
    async with simulated(tmp_path) as rig:
        await rig.run("plug 1", "wait 1 Preparing 5")
        session = await rig.session()
        answer = await session.call(v16.ResetRequest(type="Hard"))
        assert answer.status == "Accepted"
        await rig.csms.wait_for("BootNotification", count=2)
        assert rig.sim.resets == ["Hard"] and rig.sim.boots == 2
        await rig.run("wait-online 30", "wait 1 Preparing 30")
        # the new engine was told about the EV that stayed plugged in
        await rig.csms.wait_until(lambda: len(rig.csms.all_sessions) == 2)
        old, new = rig.csms.all_sessions
        assert old.closed.is_set()  # the restart dropped the old connection

        await rig.csms.wait_until(
            lambda: any(
                s.connector_id == 1 and s.status == "Preparing"
                for s in new.calls("StatusNotification")
            )
        )


async def test_a_restart_with_the_data_dir_resumes_the_transaction(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with simulated(tmp_path, data_dir=data, sections=CORE) as rig:
        await rig.run("plug 1", "rfid TAG-1 1", "wait 1 Charging 10", "sleep 300")
        tx = rig.sim.cp.transaction_id(1)
        energy = rig.sim.outlets[1].meter_wh
    assert (data / "sim-state.json").exists() and (data / "SIM-1.db").exists()
    # resuming after a power loss is asked for (the default stops: see the next test)
    async with simulated(
        tmp_path, data_dir=data, sections=CORE, resume_after_power_loss=True
    ) as rig:
        # the hardware kept its state: the EV is plugged, the register did not go back
        assert rig.sim.outlets[1].plugged and rig.sim.outlets[1].meter_wh >= energy
        await rig.run(
            "wait 1 Charging 30",
            "sleep 120",
            "rfid TAG-1",
            "wait 1 Finishing 30",
            "unplug 1",
            "wait 1 Available 30",
        )
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.transaction_id == tx and stop.reason == "Local"
        assert stop.meter_stop > energy
    assert (data / "message-log" / "SIM-1.html").exists()
    # the session the restart interrupted keeps its "incomplete" page; the resumed one ends
    pages = sorted(p.name for p in (data / "message-log" / "sessions").glob("*/*.html"))
    assert pages == ["incomplete-ocpp.html", "ocpp.html"]


async def test_by_default_a_restart_stops_the_interrupted_transaction_with_power_loss(
    tmp_path, autojump_clock
):
    data = tmp_path / "data"
    async with simulated(tmp_path, data_dir=data, sections=CORE) as rig:
        await rig.run("plug 1", "rfid TAG-1 1", "wait 1 Charging 10", "sleep 300")
        tx = rig.sim.cp.transaction_id(1)
        energy = rig.sim.outlets[1].meter_wh
    async with simulated(tmp_path, data_dir=data, sections=CORE) as rig:
        with trio.fail_after(600):
            stop = await rig.csms.wait_for("StopTransaction")
        assert (stop.transaction_id, stop.reason) == (tx, "PowerLoss")
        # the hardware stopped too: the EV is still plugged in, without a transaction, and
        # the next card starts a new one from the register as it was
        await rig.run("wait 1 Preparing 30", "rfid TAG-1 1", "wait 1 Charging 30")
        assert rig.sim.outlets[1].plugged
        start = await rig.csms.wait_for("StartTransaction")  # a new CSMS: the first it sees
        assert start.meter_start >= energy and start.id_tag == "TAG-1"
        assert [s.reason for s in rig.csms.received("SIM-1", "StopTransaction")] == ["PowerLoss"]
