"""The codec: names, omitted optionals, exact decimals, enums, and refusing to send bad data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import orjson
import pytest

from chargebox.ocpp import codec, frames, pnc, rpc
from chargebox.ocpp.errors import (
    EncodeError,
    ErrorCode,
    NotImplementedAction,
    OcppError,
    ValidationError,
)
from chargebox.ocpp.v16 import (
    ACTIONS,
    AuthorizationStatus,
    BootNotificationRequest,
    BootNotificationResponse,
    ChargePointErrorCode,
    ChargePointStatus,
    ChargingProfile,
    ChargingProfileKindType,
    ChargingProfilePurposeType,
    ChargingRateUnitType,
    ChargingSchedule,
    ChargingSchedulePeriod,
    FeatureProfile,
    HeartbeatRequest,
    HeartbeatResponse,
    IdTagInfo,
    Initiator,
    MeterValue,
    MeterValuesRequest,
    SampledValue,
    SetChargingProfileRequest,
    StartTransactionResponse,
    StatusNotificationRequest,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_snake_case_in_python_camel_case_on_the_wire_and_unset_optionals_left_out():
    msg = StatusNotificationRequest(
        connector_id=1,
        error_code=ChargePointErrorCode.NoError,
        status=ChargePointStatus.Charging,
        vendor_error_code="E17",
    )
    assert codec.encode(msg) == {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Charging",
        "vendorErrorCode": "E17",
    }


def test_enums_decode_to_members_and_plain_strings_encode_too():
    decoded = codec.decode(
        StartTransactionResponse, {"transactionId": 3, "idTagInfo": {"status": "Blocked"}}
    )
    assert decoded.id_tag_info.status is AuthorizationStatus.Blocked
    # A host may write the string; it is checked against the enumeration all the same.
    assert codec.encode(
        StartTransactionResponse(transaction_id=3, id_tag_info=IdTagInfo(status="Accepted"))
    ) == {"transactionId": 3, "idTagInfo": {"status": "Accepted"}}
    with pytest.raises(EncodeError, match="not one of"):
        codec.encode(
            StartTransactionResponse(transaction_id=3, id_tag_info=IdTagInfo(status="Maybe"))
        )


def _profile(limit) -> SetChargingProfileRequest:
    return SetChargingProfileRequest(
        connector_id=1,
        cs_charging_profiles=ChargingProfile(
            charging_profile_id=1,
            stack_level=0,
            charging_profile_purpose=ChargingProfilePurposeType.TxDefaultProfile,
            charging_profile_kind=ChargingProfileKindType.Absolute,
            charging_schedule=ChargingSchedule(
                charging_rate_unit=ChargingRateUnitType.A,
                charging_schedule_period=[ChargingSchedulePeriod(start_period=0, limit=limit)],
            ),
        ),
    )


def test_charging_limits_are_exact_decimals():
    payload = orjson.loads(
        b'{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,'
        b'"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute",'
        b'"chargingSchedule":{"chargingRateUnit":"A","minChargingRate":6.3,'
        b'"chargingSchedulePeriod":[{"startPeriod":0,"limit":16.1},{"startPeriod":60,"limit":32}]}}}'
    )
    msg = codec.decode(SetChargingProfileRequest, payload)
    schedule = msg.cs_charging_profiles.charging_schedule
    assert schedule.charging_schedule_period[0].limit == Decimal("16.1")
    assert schedule.charging_schedule_period[1].limit == Decimal("32")
    assert schedule.min_charging_rate == Decimal("6.3")
    # sums of tenths stay exact, unlike floats (0.1 + 0.2 != 0.3)
    assert sum(p.limit for p in schedule.charging_schedule_period) == Decimal("48.1")
    out = orjson.dumps(codec.encode(msg))
    assert b'"limit":16.1' in out and b'"limit":32' in out and b'"minChargingRate":6.3' in out


def test_limits_given_as_float_int_or_text_are_taken_exactly():
    for given, expected in [(16.1, "16.1"), (16, "16"), ("16.1", "16.1"), (Decimal("0.3"), "0.3")]:
        period = _profile(given).cs_charging_profiles.charging_schedule.charging_schedule_period[0]
        assert period.limit == Decimal(expected)
    # 0.1 + 0.2 computed in floats is not a tenth; 0.3 would be
    with pytest.raises(EncodeError, match=r"not a multiple of 0\.1"):
        codec.encode(_profile(Decimal("0.15")))


def test_a_float_error_of_the_sender_is_read_as_the_tenth_it_meant():
    payload = codec.encode(_profile(Decimal("133.7")))
    payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = (
        1337 * 0.1
    )
    assert 1337 * 0.1 == 133.70000000000002
    msg = codec.decode(SetChargingProfileRequest, payload)
    period = msg.cs_charging_profiles.charging_schedule.charging_schedule_period[0]
    assert period.limit == Decimal("133.7")
    for off in (133.71, 133.75, 133.7001):
        payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = (
            off
        )
        with pytest.raises(ValidationError) as e:
            codec.decode(SetChargingProfileRequest, payload)
        assert e.value.code is ErrorCode.PropertyConstraintViolation


def test_arrays_are_tuples_so_messages_stay_frozen():
    mv = MeterValue(timestamp=NOW, sampled_value=[SampledValue(value="1")])
    assert mv.sampled_value == (SampledValue(value="1"),)
    assert hash(mv) == hash(MeterValue(timestamp=NOW, sampled_value=(SampledValue(value="1"),)))
    with pytest.raises(AttributeError):
        mv.timestamp = NOW  # type: ignore[misc]


def test_decoded_messages_are_frozen_instances_of_their_own_class():
    # decoders fill a writable subclass in and then make it the class: nothing of that
    # subclass may remain, at any depth
    payload = {
        "connectorId": 1,
        "meterValue": [{"timestamp": "2024-05-01T12:00:00Z", "sampledValue": [{"value": "1"}]}],
    }
    request = codec.decode(MeterValuesRequest, payload)
    meter_value = request.meter_value[0]
    sampled = meter_value.sampled_value[0]
    assert (type(request), type(meter_value), type(sampled)) == (
        MeterValuesRequest,
        MeterValue,
        SampledValue,
    )
    assert request == MeterValuesRequest(
        connector_id=1,
        meter_value=[MeterValue(timestamp=NOW, sampled_value=[SampledValue(value="1")])],
    )
    for obj, name in ((request, "connector_id"), (meter_value, "timestamp"), (sampled, "unit")):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(obj, name, None)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            delattr(obj, name)


def test_validation_errors_name_the_message_field_value_and_rule():
    with pytest.raises(ValidationError) as e:
        codec.decode(
            MeterValuesRequest,
            {
                "connectorId": 1,
                "meterValue": [
                    {"timestamp": "2024-05-01T12:00:00Z", "sampledValue": [{"value": "1"}]},
                    {
                        "timestamp": "2024-05-01T12:00:00Z",
                        "sampledValue": [{"value": "1"}, {"value": "2", "unit": "Joule"}],
                    },
                ],
            },
        )
    assert e.value.code is ErrorCode.PropertyConstraintViolation
    assert e.value.description == (
        "MeterValues.req: meterValue[1].sampledValue[1].unit: not one of Wh, kWh, varh, kvarh, "
        "W, kW, VA, kVA, var, kvar, A, V, K, Celcius, Celsius, Fahrenheit, Percent (got 'Joule')"
    )
    with pytest.raises(ValidationError) as e:
        codec.decode(
            BootNotificationRequest, {"chargePointVendor": "v" * 21, "chargePointModel": "m"}
        )
    assert e.value.description == (
        "BootNotification.req: chargePointVendor: longer than 20 characters (21) "
        f"(got '{'v' * 21}')"
    )
    with pytest.raises(ValidationError) as e:
        codec.decode(BootNotificationRequest, {"chargePointModel": "m"})
    assert e.value.code is ErrorCode.OccurenceConstraintViolation
    assert (
        e.value.description == "BootNotification.req: chargePointVendor: required field is missing"
    )


def test_long_values_are_shortened_in_descriptions():
    with pytest.raises(ValidationError) as e:
        codec.decode(HeartbeatRequest, {"junk": "z" * 10_000})
    assert len(e.value.description) < 200


def test_null_for_an_optional_field_is_a_type_violation():
    with pytest.raises(ValidationError) as e:
        codec.decode(
            BootNotificationRequest,
            {"chargePointVendor": "v", "chargePointModel": "m", "iccid": None},
        )
    assert e.value.code is ErrorCode.TypeConstraintViolation


def test_encode_refuses_a_message_that_breaks_its_schema():
    with pytest.raises(EncodeError, match="chargePointVendor: longer than 20"):
        codec.encode(BootNotificationRequest(charge_point_vendor="x" * 21, charge_point_model="m"))
    with pytest.raises(EncodeError, match="must be an integer"):
        codec.encode(
            StartTransactionResponse(transaction_id="7", id_tag_info=IdTagInfo(status="Accepted"))
        )


def test_encode_refuses_what_is_not_a_message_or_cannot_be_written():
    with pytest.raises(EncodeError, match="dict is not an OCPP message class"):
        codec.encode({"connectorId": 1})
    # an instant before year 1 once in UTC cannot be written
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(EncodeError, match="HeartbeatResponse: cannot encode"):
        codec.encode(HeartbeatResponse(current_time=early))
    with pytest.raises(EncodeError, match="HeartbeatResponse: cannot encode"):
        codec.encode(HeartbeatResponse(current_time="2024-05-01T12:00:00Z"))


def test_actions_table_covers_all_39_actions_with_initiator_and_profile():
    assert len(ACTIONS) == 39
    assert ACTIONS["BootNotification"].initiator is Initiator.ChargePoint
    assert ACTIONS["RemoteStartTransaction"].initiator is Initiator.CentralSystem
    assert ACTIONS["DataTransfer"].initiator is Initiator.Both
    assert ACTIONS["ReserveNow"].profile is FeatureProfile.Reservation
    assert ACTIONS["SignedUpdateFirmware"].profile is FeatureProfile.Security
    counts = {}
    for spec in ACTIONS.values():
        counts[spec.profile] = counts.get(spec.profile, 0) + 1
    assert counts == {
        FeatureProfile.Core: 16,
        FeatureProfile.FirmwareManagement: 4,
        FeatureProfile.LocalAuthListManagement: 2,
        FeatureProfile.Reservation: 2,
        FeatureProfile.SmartCharging: 3,
        FeatureProfile.RemoteTrigger: 1,
        FeatureProfile.Security: 11,
    }


def test_rpc_call_and_answer():
    call = rpc.call(BootNotificationRequest(charge_point_vendor="V", charge_point_model="M"))
    assert call.action == "BootNotification" and len(call.unique_id) <= 36
    received = frames.parse(frames.serialize(call))
    spec, request = rpc.decode_call(received)
    assert spec.action == "BootNotification"
    assert request == BootNotificationRequest(charge_point_vendor="V", charge_point_model="M")
    answer = rpc.result(
        received, BootNotificationResponse(status="Accepted", current_time=NOW, interval=300)
    )
    assert answer.unique_id == call.unique_id
    response = rpc.decode_result("BootNotification", frames.parse(frames.serialize(answer)))
    assert response.interval == 300 and response.current_time == NOW
    with pytest.raises(TypeError):
        rpc.result(received, HeartbeatRequest())


def test_rpc_unknown_action_is_not_implemented():
    with pytest.raises(NotImplementedAction) as e:
        rpc.decode_call(frames.Call("x", "MakeCoffee", {}))
    err = rpc.error("x", e.value)
    assert err.error_code == "NotImplemented" and "MakeCoffee" in err.error_description


def test_rpc_error_of_an_internal_failure_says_only_its_kind():
    err = rpc.error("x", RuntimeError("secret path /etc/key.pem"))
    assert err.error_code == "InternalError"
    assert "secret" not in err.error_description
    err = rpc.error("y", OcppError(ErrorCode.SecurityError, "nope", {"k": 1}))
    assert (err.error_code, err.error_description, err.error_details) == (
        "SecurityError",
        "nope",
        {"k": 1},
    )


def test_plug_and_charge_travels_in_data_transfer():
    request = pnc.AuthorizeRequest(id_token=pnc.IdTokenType(id_token="DE*ABC*123", type="eMAID"))
    carrier = pnc.to_data_transfer(request)
    assert carrier.vendor_id == "org.openchargealliance.iso15118pnc"
    assert carrier.message_id == "Authorize"
    assert orjson.loads(carrier.data) == {"idToken": {"idToken": "DE*ABC*123", "type": "eMAID"}}
    # the carrier itself is a valid DataTransfer.req
    assert rpc.call(carrier).action == "DataTransfer"
    assert pnc.from_data_transfer(carrier) == request
    response = pnc.AuthorizeResponse(id_token_info=pnc.IdTokenInfoType(status="Accepted"))
    data = pnc.response_to_data(response)
    assert pnc.response_from_data("Authorize", data) == response


def test_plug_and_charge_custom_data_keeps_vendor_properties():
    payload = {
        "idToken": {"idToken": "X", "type": "Local"},
        "customData": {"vendorId": "v", "z": [1]},
    }
    msg = codec.decode(pnc.AuthorizeRequest, payload)
    assert msg.custom_data == {"vendorId": "v", "z": [1]}
    assert codec.encode(msg) == payload
    with pytest.raises(ValidationError) as e:
        codec.decode(pnc.AuthorizeRequest, {**payload, "customData": {"z": 1}})
    assert e.value.code is ErrorCode.OccurenceConstraintViolation
    assert e.value.path == "customData.vendorId"


def test_plug_and_charge_bad_carriers():
    from chargebox.ocpp.v16 import DataTransferRequest

    with pytest.raises(NotImplementedAction):
        pnc.from_data_transfer(
            DataTransferRequest(vendor_id=pnc.VENDOR_ID, message_id="Brew", data="{}")
        )
    for data, says in [(None, "data is missing"), ("{not json", "data is not JSON")]:
        with pytest.raises(ValidationError) as e:
            pnc.from_data_transfer(
                DataTransferRequest(vendor_id=pnc.VENDOR_ID, message_id="Authorize", data=data)
            )
        assert e.value.code is ErrorCode.FormationViolation and says in e.value.description
    with pytest.raises(ValidationError) as e:
        pnc.from_data_transfer(
            DataTransferRequest(vendor_id=pnc.VENDOR_ID, message_id="Authorize", data="{}")
        )
    assert e.value.code is ErrorCode.OccurenceConstraintViolation
