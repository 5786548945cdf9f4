"""The simulated hardware, by plain calls: offer, draw, limits, taper, meter readings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chargebox.sim.physics import MIN_CURRENT, Ev, Outlet


def charging_outlet(**fields) -> Outlet:
    outlet = Outlet(1, plugged=True, ev=Ev(), contactor_closed=True, **fields)
    outlet.update_flow(outlet.connector_offer())
    return outlet


def test_the_ev_draws_what_it_asks_up_to_the_offer():
    outlet = charging_outlet()
    assert (outlet.offered, outlet.drawn) == (32.0, 16.0)
    assert outlet.power_w == pytest.approx(230 * 16 * 3)
    outlet.advance(3600)
    assert outlet.meter_wh == 11040
    assert outlet.ev.soc == pytest.approx(30 + 11040 / 60000 * 100)


@pytest.mark.parametrize(
    ("amps", "watts", "offered"),
    [
        (Decimal(10), None, 10.0),
        (None, Decimal(4140), 6.0),  # 4140 W / (230 V x 3 phases) = 6 A
        (Decimal(5), None, 0.0),  # below 6 A nothing is offered (IEC 61851)
        (Decimal(0), None, 0.0),
        (Decimal(40), None, 32.0),  # never above the connector's rating
    ],
)
def test_the_offer_follows_the_smart_charging_limit(amps, watts, offered):
    outlet = charging_outlet(limit_amps=amps, limit_watts=watts)
    assert outlet.offered == pytest.approx(offered)
    assert outlet.drawn == pytest.approx(min(offered, 16.0))


def test_no_offer_without_contactor_when_paused_disabled_or_faulted():
    assert Outlet(1, plugged=True, ev=Ev()).connector_offer() == 0.0
    assert charging_outlet(evse_paused=True).offered == 0.0
    assert charging_outlet(enabled=False).offered == 0.0
    assert charging_outlet(faults={"GroundFailure": True}).offered == 0.0
    # an error that is not a fault does not stop the energy
    assert charging_outlet(faults={"WeakSignal": False}).offered == 32.0


def test_a_paused_or_full_ev_draws_nothing_and_the_taper_ends_at_full():
    outlet = charging_outlet()
    outlet.ev.paused = True
    outlet.update_flow(outlet.offered)
    assert outlet.drawn == 0.0
    ev = Ev(soc=90.0, max_current=32.0)
    assert ev.requested_current() == pytest.approx(16.0)  # halfway down the taper
    ev.soc = 99.9
    assert ev.requested_current() == MIN_CURRENT
    ev.soc = 100.0
    assert ev.requested_current() == 0.0
    # the battery never goes past full, nor does the register count what it did not take
    full = Outlet(1, plugged=True, ev=Ev(soc=99.99, capacity_wh=1000), contactor_closed=True)
    full.update_flow(full.connector_offer())
    full.advance(3600)
    assert full.ev.soc == 100.0 and full.energy_wh == pytest.approx(0.1)


def test_single_phase_ev_and_the_readings():
    outlet = Outlet(1, plugged=True, ev=Ev(phases=1, max_current=20), contactor_closed=True)
    outlet.update_flow(outlet.connector_offer())
    readings = {(r.measurand, r.phase): r for r in outlet.readings()}
    assert readings[("Current.Import", "L1")].value == "20.0"
    assert readings[("Current.Import", "L2")].value == "0.0"
    assert readings[("Power.Active.Import", None)].value == "4600.0"
    assert readings[("Voltage", "L3-N")].unit == "V"
    assert readings[("SoC", None)].value == 30 and readings[("SoC", None)].location == "EV"
    assert readings[("Energy.Active.Import.Register", None)].unit == "Wh"
    outlet.plugged = False
    assert "SoC" not in {r.measurand for r in outlet.readings()}


def test_ev_state_round_trips_through_json():
    ev = Ev(soc=55.5, max_current=10, phases=1, paused=True)
    assert Ev.from_json(ev.to_json() | {"unknown": 1}) == ev
