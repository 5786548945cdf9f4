"""Charging-rate arithmetic: exact decimals, tenths, and amperes <-> watts.

OCPP 1.6 limits are `multipleOf 0.1` (spec 7.13, 7.14), so every limit here is a
`decimal.Decimal` and sums and minimums are exact (3 x 7.1 is 21.3, not
21.299999999999997). A limit converted from one unit to the other is generally
not a tenth, so it is rounded to one; the rounding is always *down*
(towards zero for the non-negative limits OCPP allows): a station that follows
a converted limit then never draws more than the original limit allowed.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from math import floor

from chargebox.ocpp.v16 import ChargingRateUnitType

TENTH = Decimal("0.1")


def floor_tenth(value: Decimal) -> Decimal:
    """`value` rounded down to a multiple of 0.1."""
    return value.quantize(TENTH, rounding=ROUND_FLOOR)


def to_watts(amps: Decimal, voltage: Decimal, phases: int) -> Decimal:
    """W = A x voltage x phases (spec 7.12: the limit in A is per phase), rounded down to 0.1."""
    # A product of decimals is exact; only the final tenth is rounded.
    return floor_tenth(amps * voltage * phases)


def to_amps(watts: Decimal, voltage: Decimal, phases: int) -> Decimal:
    """A = W / (voltage x phases) (spec 7.12), rounded down to 0.1.

    Divided as exact fractions: Decimal division would first round to the
    context precision, which could lift a quotient just below a tenth onto it.
    """
    tenths = floor(Fraction(watts) * 10 / (Fraction(voltage) * phases))
    return Decimal(tenths).scaleb(-1)


def convert(
    limit: Decimal,
    unit: ChargingRateUnitType,
    target: ChargingRateUnitType,
    voltage: Decimal,
    phases: int,
) -> Decimal:
    """`limit` in `unit` expressed in `target`; unchanged when the units agree."""
    if unit == target:
        return limit
    if target == ChargingRateUnitType.W:
        return to_watts(limit, voltage, phases)
    return to_amps(limit, voltage, phases)
