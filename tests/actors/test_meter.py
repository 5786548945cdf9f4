"""Meter values on the wire: clock-aligned data, StopTxn*Data in transactionData, durable readings.

The station clock starts at an odd moment (10:07:13 UTC) so that clock-aligned
values that went out at "900 s after the start" instead of "every 900 s after
midnight UTC" show.
"""

from __future__ import annotations

from datetime import UTC, datetime

import trio

from chargebox.actors.clock import StationClock
from chargebox.ocpp.v16 import ChangeConfigurationRequest
from tests.support import running

START = datetime(2026, 3, 1, 10, 7, 13, tzinfo=UTC)
ENERGY = "Energy.Active.Import.Register"


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return START.replace(hour=hour, minute=minute, second=second)


def measurands(meter_value) -> list[tuple[str, str]]:
    """(measurand, context) of each sampled value."""
    return [(str(sv.measurand), str(sv.context)) for sv in meter_value.sampled_value]


def clock_values(csms) -> list:
    """The MeterValues.req the CSMS received with Sample.Clock values."""
    return [
        m
        for m in csms.received("CP-1", "MeterValues")
        if any(str(sv.context) == "Sample.Clock" for mv in m.meter_value for sv in mv.sampled_value)
    ]


def raw_payloads(csms, action: str) -> list[dict]:
    """The payloads of `action` as they were on the wire (camelCase)."""
    return [
        ex.payload
        for s in csms.all_sessions
        for ex in s.exchanges
        if ex.direction == "in" and ex.kind == "CALL" and ex.action == action
    ]


# -- clock-aligned meter values ---------------------------------------------------------------


async def test_clock_aligned_values_go_out_every_quarter_hour_after_midnight_utc(
    tmp_path, autojump_clock
):
    clock = StationClock(START)
    core = {
        "NumberOfConnectors": 2,
        "ClockAlignedDataInterval": 900,
        "MeterValuesAlignedData": f"{ENERGY},Voltage",
        "MeterValueSampleInterval": 0,
    }
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        # no transaction: the station's main meter (connector 0) and connector 1 report;
        # Power.Active.Import is not configured, Voltage configured but never supplied
        await cp.meter_values(0, {ENERGY: 50_000})
        await cp.meter_values(1, {ENERGY: 1000, "Power.Active.Import": 7400})
        await clock.sleep_until(at(10, 20))
        await cp.meter_values(1, {ENERGY: 1500, "Power.Active.Import": 7400})
        await cp.meter_values(0, {ENERGY: 50_900})
        await clock.sleep_until(at(10, 46))

        sent = clock_values(csms)
        got = sorted(
            (m.connector_id, mv.timestamp, m.transaction_id, measurands(mv), sv.value)
            for m in sent
            for mv in m.meter_value
            for sv in mv.sampled_value
        )
        clocked = [(ENERGY, "Sample.Clock")]
        assert got == [
            (0, at(10, 15), None, clocked, "50000"),
            (0, at(10, 30), None, clocked, "50900"),
            (0, at(10, 45), None, clocked, "50900"),
            (1, at(10, 15), None, clocked, "1000"),
            (1, at(10, 30), None, clocked, "1500"),
            (1, at(10, 45), None, clocked, "1500"),
        ]
        # connector 2 supplied nothing: it sends nothing
        assert all(m.connector_id != 2 for m in csms.received("CP-1", "MeterValues"))
        # the wire carries whole quarter hours, in UTC
        stamps = sorted(
            {mv["timestamp"] for p in raw_payloads(csms, "MeterValues") for mv in p["meterValue"]}
        )
        assert stamps == [
            "2026-03-01T10:15:00.000Z",
            "2026-03-01T10:30:00.000Z",
            "2026-03-01T10:45:00.000Z",
        ]


async def test_clock_aligned_values_in_a_transaction_carry_its_id(tmp_path, autojump_clock):
    clock = StationClock(START)
    core = {
        "ClockAlignedDataInterval": 900,
        "MeterValuesAlignedData": f"{ENERGY},Current.Import",
        "MeterValueSampleInterval": 0,
    }
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await cp.meter_values(1, {ENERGY: 2000, "Current.Import": 16, "Voltage": 230})
        await cp.transaction_started(1, meter_start=2000, id_tag="TAG-1")
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        tx_id = cp.transaction_id(1)
        await clock.sleep_until(at(10, 14, 59))
        await cp.meter_values(1, {ENERGY: 2600, "Current.Import": 15.5})
        await clock.sleep_until(at(10, 31))
        await cp.transaction_stopped(1, meter_stop=2700, reason="Local")
        await csms.wait_for("StopTransaction")

        sent = clock_values(csms)
        assert [m.transaction_id for m in sent] == [tx_id, tx_id]
        assert [m.connector_id for m in sent] == [1, 1]
        assert [mv.timestamp for m in sent for mv in m.meter_value] == [at(10, 15), at(10, 30)]
        first = sent[0].meter_value[0].sampled_value
        assert [(str(sv.measurand), sv.value, sv.unit) for sv in first] == [
            (ENERGY, "2600", "Wh"),
            ("Current.Import", "15.5", "A"),
        ]
        # no Sample.Periodic values (MeterValueSampleInterval 0) and nothing else
        assert len(csms.received("CP-1", "MeterValues")) == 2


async def test_changing_the_interval_rearms_the_aligned_timer(tmp_path, autojump_clock):
    clock = StationClock(START)
    core = {"ClockAlignedDataInterval": 0, "MeterValueSampleInterval": 0}
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.meter_values(1, {ENERGY: 10})
        await clock.sleep_until(at(10, 40))
        assert csms.received("CP-1", "MeterValues") == []  # 0: no clock-aligned data
        session = await rig.session()
        answer = await session.call(
            ChangeConfigurationRequest(key="ClockAlignedDataInterval", value="600")
        )
        assert str(answer.status) == "Accepted"
        await clock.sleep_until(at(11, 1))
        assert [mv.timestamp for m in clock_values(csms) for mv in m.meter_value] == [
            at(10, 50),
            at(11, 0),
        ]


# -- StopTxnSampledData and StopTxnAlignedData ------------------------------------------------


async def test_transaction_data_holds_exactly_the_stop_txn_measurands(tmp_path, autojump_clock):
    clock = StationClock(START)
    core = {
        "MeterValueSampleInterval": 300,
        "MeterValuesSampledData": f"{ENERGY},Power.Active.Import,Current.Import",
        "StopTxnSampledData": f"{ENERGY},Current.Import",
        "ClockAlignedDataInterval": 900,
        "MeterValuesAlignedData": f"{ENERGY},Voltage",
        "StopTxnAlignedData": "Voltage",
    }
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        readings = {
            ENERGY: 1000,
            "Power.Active.Import": 7000,
            "Current.Import": 30,
            "Voltage": 230,
            "Temperature": 40,
        }
        await cp.meter_values(1, readings)
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=1000, id_tag="TAG-1")  # 10:07:13
        await clock.sleep_until(at(10, 18))
        await cp.transaction_stopped(1, meter_stop=1900, reason="Local")
        stop = await csms.wait_for("StopTransaction")

        data = [(mv.timestamp, measurands(mv)) for mv in stop.transaction_data]
        assert data == [
            (at(10, 7, 13), [(ENERGY, "Transaction.Begin")]),
            (at(10, 12, 13), [(ENERGY, "Sample.Periodic"), ("Current.Import", "Sample.Periodic")]),
            (at(10, 15), [("Voltage", "Sample.Clock")]),
            (at(10, 17, 13), [(ENERGY, "Sample.Periodic"), ("Current.Import", "Sample.Periodic")]),
            (at(10, 18), [(ENERGY, "Transaction.End")]),
        ]
        # the MeterValues themselves carried the MeterValues*Data lists
        sampled = csms.received("CP-1", "MeterValues")
        assert [measurands(m.meter_value[0]) for m in sampled] == [
            [
                (ENERGY, "Sample.Periodic"),
                ("Power.Active.Import", "Sample.Periodic"),
                ("Current.Import", "Sample.Periodic"),
            ],
            [(ENERGY, "Sample.Clock"), ("Voltage", "Sample.Clock")],
            [
                (ENERGY, "Sample.Periodic"),
                ("Power.Active.Import", "Sample.Periodic"),
                ("Current.Import", "Sample.Periodic"),
            ],
        ]
        assert stop.transaction_data[-1].sampled_value[0].value == "1900"


async def test_stop_txn_measurands_need_not_be_sent_in_meter_values(tmp_path, autojump_clock):
    # spec 9.1.25/9.1.27: the StopTxn*Data lists stand on their own (libocpp keeps only
    # measurands that are also in MeterValues*Data)
    clock = StationClock(START)
    core = {
        "MeterValueSampleInterval": 300,
        "MeterValuesSampledData": ENERGY,
        "StopTxnSampledData": "Power.Active.Import",
        "ClockAlignedDataInterval": 900,
        "MeterValuesAlignedData": "",
        "StopTxnAlignedData": "Voltage",
        "NumberOfConnectors": 2,
    }
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.meter_values(1, {ENERGY: 1000, "Power.Active.Import": 7000, "Voltage": 230})
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=1000, id_tag="TAG-1")  # 10:07:13
        await clock.sleep_until(at(10, 13))
        await cp.transaction_stopped(1, meter_stop=1700, reason="Local")
        stop = await csms.wait_for("StopTransaction")
        data = [(mv.timestamp, measurands(mv)) for mv in stop.transaction_data or ()]
        assert data == [
            (at(10, 12, 13), [("Power.Active.Import", "Sample.Periodic")]),
        ]
        sent = csms.received("CP-1", "MeterValues")
        assert [measurands(m.meter_value[0]) for m in sent] == [[(ENERGY, "Sample.Periodic")]]
        await cp.session_started(2)
        await cp.meter_values(2, {ENERGY: 0, "Voltage": 231})
        await cp.transaction_started(2, meter_start=0, id_tag="TAG-2")  # 10:13
        await clock.sleep_until(at(10, 16))
        await cp.transaction_stopped(2, meter_stop=100, reason="Local")
        stop = await csms.wait_for("StopTransaction", count=2)
        # MeterValuesAlignedData is empty: no Sample.Clock MeterValues, yet the stop keeps Voltage
        assert [(mv.timestamp, measurands(mv)) for mv in stop.transaction_data] == [
            (at(10, 15), [("Voltage", "Sample.Clock")]),
        ]
        assert clock_values(csms) == []


async def test_empty_stop_txn_keys_leave_meter_values_out_of_stop_transaction(
    tmp_path, autojump_clock
):
    clock = StationClock(START)
    core = {
        "MeterValueSampleInterval": 60,
        "MeterValuesSampledData": ENERGY,
        "StopTxnSampledData": "",
        "ClockAlignedDataInterval": 900,
        "MeterValuesAlignedData": ENERGY,
        "StopTxnAlignedData": "",
    }
    async with running(tmp_path, clock=clock, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.meter_values(1, {ENERGY: 1000})
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=1000, id_tag="TAG-1")
        await clock.sleep_until(at(10, 20))
        await cp.transaction_stopped(1, meter_stop=1300, reason="Local")
        stop = await csms.wait_for("StopTransaction")
        # meter values went out (periodic and aligned), none went into the stop
        contexts = {
            str(sv.context)
            for m in csms.received("CP-1", "MeterValues")
            for mv in m.meter_value
            for sv in mv.sampled_value
        }
        assert contexts == {"Sample.Periodic", "Sample.Clock"}
        assert stop.transaction_data is None
        assert "transactionData" not in raw_payloads(csms, "StopTransaction")[0]


# -- what the host handed over is on disk ------------------------------------------------------


async def test_the_last_reading_handed_over_is_the_power_loss_meter_stop(tmp_path, autojump_clock):
    data = tmp_path / "data"
    core = {"MeterValueSampleInterval": 0, "ClockAlignedDataInterval": 0}
    clock = StationClock(START)
    async with running(tmp_path, data_dir=data, clock=clock, Core=core) as rig:
        cp = rig.cp
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=1000, id_tag="TAG-1")
        await rig.csms.wait_until(lambda: cp.transaction_id(1) is not None)
        tx_id = cp.transaction_id(1)
        for second in range(1, 6):
            await trio.sleep(1)
            await cp.meter_values(1, {ENERGY: 1000 + 7 * second})
        last = clock.now()
        # the power goes right after the call returned: no clean shutdown
    async with running(tmp_path, data_dir=data, Core=core) as rig:
        stop = await rig.csms.wait_for("StopTransaction")
        assert (stop.transaction_id, stop.reason, stop.meter_stop) == (tx_id, "PowerLoss", 1035)
        assert stop.timestamp == last
