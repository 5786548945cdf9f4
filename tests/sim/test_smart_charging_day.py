"""The simulated EV's power follows a day-long charging schedule set by the Central System."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import trio

from chargebox.ocpp import v16

from .support import simulated

HOUR = 3600
# (start hour, limit in A on one phase)
SCHEDULE = [(0, 8), (6, 6), (12, 0), (18, 7)]


async def test_the_ev_power_follows_a_day_long_schedule(tmp_path, autojump_clock):
    sections = {
        "Core": {
            "MeterValueSampleInterval": 1800,
            "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
        }
    }
    async with simulated(tmp_path, sections=sections) as rig:
        session = await rig.session()
        # a single-phase EV that would take 16 A
        await rig.run("plug 1", "draw 1 16 1", "rfid TAG-1 1", "wait 1 Charging 10")
        outlet = rig.sim.outlets[1]
        assert outlet.drawn == 16
        start = rig.sim.cp.clock.now()
        profile = v16.ChargingProfile(
            charging_profile_id=1,
            stack_level=0,
            charging_profile_purpose="TxDefaultProfile",
            charging_profile_kind="Absolute",
            charging_schedule=v16.ChargingSchedule(
                charging_rate_unit="A",
                start_schedule=start,
                duration=24 * HOUR,
                charging_schedule_period=[
                    v16.ChargingSchedulePeriod(
                        start_period=hour * HOUR, limit=Decimal(amps), number_phases=1
                    )
                    for hour, amps in SCHEDULE
                ],
            ),
        )
        answer = await session.call(
            v16.SetChargingProfileRequest(connector_id=1, cs_charging_profiles=profile)
        )
        assert answer.status == "Accepted"
        t0 = trio.current_time()
        energy0 = outlet.meter_wh
        for (_start_hour, amps), checkpoint in zip(SCHEDULE, (3, 9, 15, 21), strict=True):
            await trio.sleep_until(t0 + checkpoint * HOUR)
            assert outlet.drawn == amps, f"at {checkpoint} h"
            assert outlet.power_w == pytest.approx(230 * amps)
        # after the schedule's 24 h the EV may take what it wants again
        await trio.sleep_until(t0 + 24 * HOUR + 60)
        assert outlet.drawn == 16
        # the energy of the day: 6 h each at 8, 6, 0 and 7 A on 230 V
        day = outlet.meter_wh - energy0
        assert day == pytest.approx(230 * 6 * (8 + 6 + 0 + 7) + 230 * 16 * 60 / HOUR, abs=5)
        # and the Central System saw the power follow the schedule in the MeterValues
        powers = {}
        for mv in rig.csms.received("SIM-1", "MeterValues"):
            for value in mv.meter_value[0].sampled_value:
                if value.measurand == "Power.Active.Import":
                    hours = (mv.meter_value[0].timestamp - start) / timedelta(hours=1)
                    powers[round(hours, 1)] = float(value.value)
        assert powers[3.0] == pytest.approx(230 * 8) and powers[9.0] == pytest.approx(230 * 6)
        assert powers[15.0] == 0 and powers[21.0] == pytest.approx(230 * 7)
