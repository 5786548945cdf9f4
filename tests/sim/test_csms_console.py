"""The development CSMS's command language: any CSMS-initiated operation, checked before it goes."""

from __future__ import annotations

import pytest

from chargebox.csms.console import ConsoleError, Request, parse
from chargebox.ocpp import v16


def test_key_value_pairs_json_values_and_an_id():
    request = parse("remotestarttransaction CP-1 idTag=TAG-1 connectorId=1")
    assert request == Request(
        "RemoteStartTransaction",
        "CP-1",
        v16.RemoteStartTransactionRequest(id_tag="TAG-1", connector_id=1),
    )


def test_a_json_payload_without_an_id():
    request = parse('TriggerMessage {"requestedMessage": "StatusNotification", "connectorId": 1}')
    assert isinstance(request, Request) and request.charge_point_id is None
    assert request.message == v16.TriggerMessageRequest(
        requested_message="StatusNotification", connector_id=1
    )


def test_dotted_keys_build_nested_objects():
    request = parse(
        "SetChargingProfile cp001 connectorId=1 csChargingProfiles.chargingProfileId=7 "
        "csChargingProfiles.stackLevel=0 "
        "csChargingProfiles.chargingProfilePurpose=TxDefaultProfile "
        "csChargingProfiles.chargingProfileKind=Absolute "
        'csChargingProfiles.chargingSchedule={"chargingRateUnit":"A",'
        '"chargingSchedulePeriod":[{"startPeriod":0,"limit":10}]}'
    )
    assert isinstance(request, Request)
    profile = request.message.cs_charging_profiles
    assert profile.charging_profile_id == 7
    assert profile.charging_schedule.charging_schedule_period[0].limit == 10


def test_operations_without_payload_and_keywords():
    assert parse("ClearCache").message == v16.ClearCacheRequest()
    assert parse("  LIST ") == "list"
    assert parse("help") == "help" and parse("quit") == "quit"
    assert parse("") is None and parse("# a comment") is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Frobnicate", "unknown operation 'Frobnicate'"),
        ("BootNotification cp001", "sent by a charge point"),
        ("RemoteStartTransaction connectorId=1", "idTag: required field is missing"),
        ("Reset type=Gentle", "type: not one of"),
        ("Reset {not json", "not valid JSON"),
        ("Reset cp001 [1]", "'[1]' is not key=value"),
        ("ChangeConfiguration cp001 key", "'key' is not key=value"),
        ("ChangeConfiguration key", "ChangeConfiguration.req: key: required field is missing"),
    ],
)
def test_bad_lines_say_why(line, reason):
    with pytest.raises(ConsoleError) as error:
        parse(line)
    assert reason in str(error.value)
