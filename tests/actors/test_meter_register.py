"""A connector's energy register never goes back on the wire, whatever the host hands over.

meterStart, meterStop, the MeterValues readings and the PowerLoss meterStop are
never below a reading of the register reported before, in the same run or
before a restart on the same data directory.
"""

from __future__ import annotations

import logging

import pytest
import trio

from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.station import Options
from tests.support import make_host, running, sampled_values

ENERGY = "Energy.Active.Import.Register"
SAMPLING = {"Core": {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}}


def registers(csms) -> list[int]:
    """The energy register of every MeterValues.req the CSMS received, in order."""
    return [int(value) for value in sampled_values(csms, measurand=ENERGY)]


async def start_free_vend(rig, meter_start: int) -> None:
    await rig.cp.session_started(1)
    await rig.cp.transaction_started(1, meter_start=meter_start, id_tag="TAG-1")
    await rig.csms.wait_until(lambda: rig.cp.transaction_id(1) is not None)


async def report(rig, wh: int, count: int) -> None:
    """Hand the reading over and wait until a sampled MeterValues carried it (the count-th)."""
    await rig.cp.meter_values(1, {ENERGY: wh})
    await trio.sleep(60)
    await rig.csms.wait_for("MeterValues", count=count)


async def test_a_lower_reading_and_meter_stop_are_raised_to_the_register(
    tmp_path, autojump_clock, caplog
):
    async with running(tmp_path, **SAMPLING) as rig:
        await start_free_vend(rig, 90)
        await report(rig, 101, 1)
        with caplog.at_level(logging.WARNING, logger="chargebox.actors.meter"):
            await report(rig, 98, 2)  # the host's register went back
            await rig.cp.transaction_stopped(1, meter_stop=98, reason="Local")
        stop = await rig.csms.wait_for("StopTransaction")
        assert registers(rig.csms) == [101, 101]
        assert stop.meter_stop == 101
        end = stop.transaction_data[-1].sampled_value[0]
        assert (str(end.context), end.value) == ("Transaction.End", "101")
        assert (
            "connector 1: Energy.Active.Import.Register 98 Wh is below the 101 Wh its energy "
            "register already had; 101 Wh is used" in caplog.text
        )
        assert "connector 1: meterStop 98 Wh is below the 101 Wh" in caplog.text


async def test_a_reading_in_kwh_is_raised_in_its_unit(tmp_path, autojump_clock):
    from chargebox.station import Reading

    async with running(tmp_path, **SAMPLING) as rig:
        await start_free_vend(rig, 90)
        await report(rig, 101, 1)
        await rig.cp.meter_values(1, [Reading(ENERGY, "0.098", unit="kWh")])
        await trio.sleep(60)
        second = (await rig.csms.wait_for("MeterValues", count=2)).meter_value[0].sampled_value[0]
        assert (second.value, str(second.unit)) == ("0.101", "kWh")


@pytest.mark.parametrize(
    "case",
    ["the host's register went back before the power cut", "readings written once an hour"],
)
async def test_the_power_loss_stop_carries_the_highest_register_reported(
    tmp_path, autojump_clock, case
):
    data = tmp_path / "data"
    csms = CentralSystem(CsmsSettings())
    options = Options()
    core = dict(SAMPLING["Core"])
    if case == "readings written once an hour":
        # the register goes to disk with the MeterValues, not with each reading
        options.meter_persist_interval = 3600
        core["StopTxnSampledData"] = ""
    async with running(tmp_path, csms=csms, data_dir=data, options=options, Core=core) as rig:
        await start_free_vend(rig, 50)
        await rig.cp.meter_values(1, {ENERGY: 60})
        await report(rig, 101, 1)
        if case == "the host's register went back before the power cut":
            await rig.cp.meter_values(1, {ENERGY: 98})
        # the power goes: no stop
    async with running(tmp_path, csms=csms, data_dir=data, Core=core) as rig:
        stop = await rig.csms.wait_for("StopTransaction")
        assert (stop.reason, stop.meter_stop) == ("PowerLoss", 101)


async def test_after_a_restart_neither_meter_stop_nor_meter_start_go_back(
    tmp_path, autojump_clock, caplog
):
    data = tmp_path / "data"
    csms = CentralSystem(CsmsSettings())
    host = make_host()
    host.system.resumable.add(1)  # the host resumes the session after the restart
    async with running(tmp_path, csms=csms, data_dir=data, host=host, **SAMPLING) as rig:
        await start_free_vend(rig, 50)
        await report(rig, 101, 1)
    # the restarted host's own register starts lower (it was not kept)
    async with running(tmp_path, csms=csms, data_dir=data, host=host, **SAMPLING) as rig:
        cp = rig.cp
        assert cp.transaction_state(1) == "Active"
        await cp.session_started(1)  # the host tells the connector's state again
        await cp.resumed(1)
        with caplog.at_level(logging.WARNING, logger="chargebox.actors.meter"):
            await cp.meter_values(1, {ENERGY: 98})
            await cp.transaction_stopped(1, meter_stop=98, reason="Local")
            stop = await csms.wait_for("StopTransaction")
            assert (stop.reason, stop.meter_stop) == ("Local", 101)
            await cp.session_stopped(1)
            await cp.drain(60)
    async with running(tmp_path, csms=csms, data_dir=data, host=host, **SAMPLING) as rig:
        with caplog.at_level(logging.WARNING, logger="chargebox.actors.meter"):
            await rig.cp.session_started(1)
            await rig.cp.transaction_started(1, meter_start=97, id_tag="TAG-2")
            start = await csms.wait_for("StartTransaction", count=2)
        assert (start.id_tag, start.meter_start) == ("TAG-2", 101)
        assert "connector 1: meterStart 97 Wh is below the 101 Wh" in caplog.text
        assert "connector 1: meterStop 98 Wh is below the 101 Wh" in caplog.text


async def test_each_connector_has_its_own_register(tmp_path, autojump_clock):
    core = dict(SAMPLING["Core"], NumberOfConnectors=2)
    async with running(tmp_path, Core=core) as rig:
        cp = rig.cp
        await cp.meter_values(1, {ENERGY: 5000})
        await cp.session_started(2)
        await cp.transaction_started(2, meter_start=70, id_tag="TAG-1")
        start = await rig.csms.wait_for("StartTransaction")
        assert (start.connector_id, start.meter_start) == (2, 70)
