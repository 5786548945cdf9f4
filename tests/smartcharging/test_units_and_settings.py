"""Exact tenths, A <-> W conversion rounded down, the settings and the package's purity."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from chargebox.ocpp.v16 import ChargingRateUnitType
from chargebox.smartcharging import (
    ActiveTransaction,
    ChargingContext,
    ProfileSet,
    SmartChargingSettings,
    convert,
    floor_tenth,
    parse_purposes,
    parse_rate_units,
    to_amps,
    to_watts,
)

from .builders import T0, at, profile

A = ChargingRateUnitType.A
W = ChargingRateUnitType.W
D = Decimal


def test_tenths_add_exactly():
    assert D("7.1") * 3 == D("21.3")
    assert sum([D("0.1")] * 10) == 1


@pytest.mark.parametrize(
    ("watts", "voltage", "phases", "amps"),
    [
        ("11000", 230, 3, "15.9"),  # 15.942...
        ("6000", 230, 3, "8.6"),  # 8.695...: rounded down, never up
        ("11040", 230, 3, "16"),
        ("3680", 230, 1, "16"),
        ("7360", 230, 2, "16"),
        ("0", 230, 3, "0"),
        ("689.9", 230, 3, "0.9"),
        ("6899.9", 230, 3, "9.9"),  # 9.99985...: a float division would say 10.0
        ("1", "230.5", 3, "0"),
    ],
)
def test_watts_to_amps_rounds_down(watts, voltage, phases, amps):
    assert to_amps(D(watts), D(voltage), phases) == D(amps)
    assert convert(D(watts), W, A, D(voltage), phases) == D(amps)


@pytest.mark.parametrize(
    ("amps", "voltage", "phases", "watts"),
    [
        ("16", 230, 3, "11040"),
        ("7.1", 230, 3, "4899"),
        ("16", 230, 1, "3680"),
        ("0.1", "230.05", 1, "23"),  # 23.005 rounded down
        ("10", "229.99", 3, "6899.7"),
    ],
)
def test_amps_to_watts_rounds_down(amps, voltage, phases, watts):
    assert to_watts(D(amps), D(voltage), phases) == D(watts)
    assert convert(D(amps), A, W, D(voltage), phases) == D(watts)


def test_same_unit_is_untouched():
    assert convert(D("16.1"), A, A, D(230), 3) == D("16.1")
    assert floor_tenth(D("16.19")) == D("16.1")


def test_parse_configuration_lists():
    assert parse_rate_units("Current,Power") == (A, W)
    assert parse_rate_units("Power, current") == (W, A)
    assert parse_rate_units("") == ()
    with pytest.raises(ValueError, match="'Amps' is not Current or Power"):
        parse_rate_units("Amps")
    assert parse_purposes("TxProfile,TxDefaultProfile") == {"TxProfile", "TxDefaultProfile"}
    with pytest.raises(ValueError, match="'Tx' is not a charging profile purpose"):
        parse_purposes("Tx")


def test_settings_defaults_are_libocpp_defaults():
    settings = SmartChargingSettings()
    assert settings.default_limit(A) == 48 and settings.default_limit(W) == 33120
    assert settings.supply_voltage == 230 and settings.default_number_phases == 3
    assert settings.allowed_units == (A, W)
    assert settings.max_composite_duration == 31_536_000
    assert settings.max_periods == 1440 and settings.max_profiles_installed == 500


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("supply_voltage", 0, "supply_voltage must be > 0"),
        ("default_number_phases", 4, "default_number_phases"),
        ("default_number_phases", 0, "default_number_phases must be >= 1"),
        ("default_limit_amps", -1, "default_limit_amps must be >= 0"),
        ("max_stack_level", -1, "max_stack_level must be >= 0"),
        ("allowed_units", (), "allowed_units must not be empty"),
    ],
)
def test_bad_settings_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        SmartChargingSettings(**{field: value})


def test_settings_take_floats_and_strings_exactly():
    settings = SmartChargingSettings(supply_voltage=230.1, default_limit_amps="7.1")
    assert settings.supply_voltage == D("230.1")
    assert settings.default_limit_amps == D("7.1")


def test_times_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        ActiveTransaction(T0.replace(tzinfo=None))
    context = ChargingContext(number_of_connectors=1)
    with pytest.raises(ValueError, match="aware"):
        ProfileSet().limit_at(1, at(1).replace(tzinfo=None), context)


def test_importing_the_package_imports_no_io():
    """The core is pure: no trio, no sqlite, no sockets, no asyncio."""
    code = (
        "import sys, chargebox.smartcharging\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'trio', 'sqlite3', '_sqlite3', 'socket', '_socket', 'ssl', 'asyncio', 'selectors'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    ("charging_profile", "message"),
    [
        (profile(1, periods=[(60, 16)]), "do not rise from 0"),
        (profile(1, periods=[(0, 16), (60, 8), (60, 4)]), "do not rise from 0"),
        (profile(1, start=None), "Absolute needs startSchedule"),
        (profile(1, kind="Recurring"), "Recurring needs recurrencyKind"),
    ],
)
def test_installing_an_unusable_profile_fails_loudly(charging_profile, message):
    """install() trusts validation; a profile it cannot lay out is refused, not guessed at."""
    with pytest.raises(ValueError, match=message):
        ProfileSet().install(1, charging_profile)
