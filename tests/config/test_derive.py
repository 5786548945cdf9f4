"""Derived configurations: many charge points share one parsed template, each with its own
changes; they answer GetConfiguration and ChangeConfiguration as loaded ones do."""

from __future__ import annotations

import json

import pytest

from chargebox.config import ChargePointConfig, ConfigError, UnknownKeyError
from chargebox.config.loader import Layered


@pytest.fixture
def template(seed, write):
    seed["Core"]["NumberOfConnectors"] = 2
    return ChargePointConfig.load(write(seed))


def test_a_derived_configuration_answers_as_a_loaded_one(seed, write, template):
    derived = template.derive({"ChargePointId": "cp00042"})
    seed["Core"]["NumberOfConnectors"] = 2
    seed["Internal"]["ChargePointId"] = "cp00042"
    loaded = ChargePointConfig.load(write(seed, "cp00042.json"))
    assert derived.charge_point_id == "cp00042"
    assert derived.get_configuration() == loaded.get_configuration()
    assert derived.get_configuration(["ChargePointId", "Nope"]) == loaded.get_configuration(
        ["ChargePointId", "Nope"]
    )
    assert derived.central_system_url == loaded.central_system_url
    assert dict(derived._values) == dict(loaded._values)
    # the template's values are shared, not copied
    assert isinstance(derived._values, Layered)
    assert derived._values.base is template._values
    assert derived._values.own == {"ChargePointId": "cp00042"}


def test_a_change_stays_with_its_charge_point(template, tmp_path):
    one = template.derive({"ChargePointId": "cp1"}, overlay_path=tmp_path / "cp1" / "user.json")
    two = template.derive({"ChargePointId": "cp2"})
    assert one.change_configuration("HeartbeatInterval", "300").accepted
    assert one.heartbeat_interval == 300
    assert two.heartbeat_interval == template.heartbeat_interval == 86400
    assert json.loads((tmp_path / "cp1" / "user.json").read_text()) == {
        "Core": {"HeartbeatInterval": 300}
    }
    # a refused change is refused as for a loaded configuration
    assert not two.change_configuration("HeartbeatInterval", "-1").accepted
    assert not two.change_configuration("ChargePointId", "other").accepted
    # the charge point's own overlay is read again when it is derived again (a restart)
    again = template.derive({"ChargePointId": "cp1"}, overlay_path=tmp_path / "cp1" / "user.json")
    assert again.heartbeat_interval == 300
    assert again.change_configuration("MeterValueSampleInterval", "30").accepted
    assert json.loads((tmp_path / "cp1" / "user.json").read_text()) == {
        "Core": {"HeartbeatInterval": 300, "MeterValueSampleInterval": 30}
    }


def test_a_change_that_breaks_a_check_names_its_source(seed, write):
    seed["Core"]["NumberOfConnectors"] = 2
    seed["Internal"]["ConnectorEvseIds"] = "DE*ABC*E1,DE*ABC*E2"
    template = ChargePointConfig.load(write(seed))
    with pytest.raises(ConfigError) as refused:
        template.derive({"NumberOfConnectors": 1}, source="--connectors")
    [problem] = refused.value.problems
    assert problem.file == "--connectors" and problem.key == "ConnectorEvseIds"
    assert "NumberOfConnectors is 1" in problem.message
    with pytest.raises(ConfigError, match="ChargePointId"):
        template.derive({"ChargePointId": ""}, source="--id-pattern")
    with pytest.raises(UnknownKeyError):
        template.derive({"ChargePointIdentity": "x"})


def test_a_broken_overlay_is_named(template, tmp_path):
    overlay = tmp_path / "user.json"
    overlay.write_text(json.dumps({"Core": {"HeartbeatInterval": "soon"}}))
    with pytest.raises(ConfigError) as refused:
        template.derive({"ChargePointId": "cp1"}, overlay_path=overlay)
    [problem] = refused.value.problems
    assert (problem.file, problem.key) == (str(overlay), "HeartbeatInterval")
