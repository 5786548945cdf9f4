"""StopTxn*Data's values taken from the MeterValue built for MeterValues*Data.

A sample in a transaction builds the MeterValue once when the StopTxn*Data list is
a part of the MeterValues*Data list (`selects_part`): the values kept for
StopTransaction are then filtered from its wire form, and must be exactly those a
MeterValue built for the StopTxn*Data list would carry.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from chargebox.actors import meter as metering
from chargebox.host import Reading

WHEN = datetime(2026, 3, 1, 10, 7, 13, tzinfo=UTC)

READINGS = [
    Reading("Energy.Active.Import.Register", 12345),
    Reading("Power.Active.Import", 7400.5, unit="W"),
    Reading("Current.Import", 16, phase="L1"),
    Reading("Current.Import", 15, phase="L2"),
    Reading("Voltage", 230, phase="L1-N"),
    Reading("SoC", 40, location="EV"),
]

LISTS = [
    "Energy.Active.Import.Register",
    "Energy.Active.Import.Register,Power.Active.Import",
    "Power.Active.Import,Energy.Active.Import.Register",
    "Current.Import,Energy.Active.Import.Register",
    "Current.Import.L1,Current.Import",
    "Current.Import",
    "Current.Import.L1",
    "Current.Import.L2,Voltage,SoC",
    "Energy.Active.Import.Register,Current.Import.L1,SoC",
    "SoC",
    "",
]


def built(meter: metering.Meter, csv: str) -> dict | None:
    value = meter.meter_value(1, metering.selectors(csv), "Sample.Periodic", WHEN, report=False)
    return None if value is None else metering.wire(value)


def test_the_filtered_part_is_what_the_stop_list_alone_would_carry() -> None:
    meter = metering.Meter()
    meter.update(1, READINGS)
    parts = 0
    for whole, part in itertools.product(LISTS, repeat=2):
        if not metering.selects_part(metering.selectors(part), metering.selectors(whole)):
            continue
        parts += 1
        sent = built(meter, whole)
        filtered = None if sent is None else metering.filter_wire(sent, metering.selectors(part))
        assert filtered == built(meter, part), (whole, part)
    assert parts > len(LISTS)  # more than each list with itself


def test_a_part_is_a_subsequence_of_distinct_measurands() -> None:
    s = metering.selectors
    energy_power = s("Energy.Active.Import.Register,Power.Active.Import")
    assert metering.selects_part(s("Energy.Active.Import.Register"), energy_power)
    assert metering.selects_part(s(""), energy_power)
    assert metering.selects_part(energy_power, energy_power)
    # another order: the values would come in the whole list's order
    assert not metering.selects_part(
        s("Power.Active.Import,Energy.Active.Import.Register"), energy_power
    )
    # not in the whole list
    assert not metering.selects_part(s("SoC"), energy_power)
    # a phase of a measurand listed without one: another selector
    assert not metering.selects_part(s("Current.Import.L1"), s("Current.Import"))
    # one measurand twice in the whole list: a value may belong to both selectors
    assert not metering.selects_part(s("Current.Import"), s("Current.Import.L1,Current.Import"))
