"""OCPP-J frames: parsing, serialising, and the RPC-level errors of broken frames."""

from __future__ import annotations

import os
import uuid

import attrs
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chargebox.ocpp import frames
from chargebox.ocpp.errors import ErrorCode, FrameError
from chargebox.ocpp.frames import Call, CallError, CallResult


def test_the_three_frames_round_trip():
    for frame in (
        Call("id-1", "Heartbeat", {}),
        CallResult("id-2", {"currentTime": "2024-05-01T12:00:00.000Z"}),
        CallError("id-3", "NotImplemented", "unknown action 'Foo'", {"a": 1}),
    ):
        text = frames.serialize(frame)
        assert frames.parse(text) == frame
        assert frames.parse(text.encode()) == frame


def test_parsed_and_built_frames_are_frozen_instances_of_their_class():
    # the parser and rpc build frames without __init__: they must be what __init__ makes
    built = [
        frames.parse('[2,"a","Heartbeat",{}]'),
        frames.call_frame("a", "Heartbeat", {}),
        frames.parse('[3,"b",{"x":1}]'),
        frames.call_result_frame("b", {"x": 1}),
    ]
    expected = [Call("a", "Heartbeat", {}), CallResult("b", {"x": 1})]
    assert [type(f) for f in built] == [Call, Call, CallResult, CallResult]
    assert built == [expected[0], expected[0], expected[1], expected[1]]
    for frame in built:
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            frame.unique_id = "other"  # type: ignore[misc]


def test_serialised_frames_are_the_wire_arrays():
    assert orjson.loads(frames.serialize(Call("a", "Heartbeat", {}))) == [2, "a", "Heartbeat", {}]
    assert orjson.loads(frames.serialize(CallResult("a", {"x": 1}))) == [3, "a", {"x": 1}]
    assert orjson.loads(frames.serialize(CallError("a", "GenericError", "", {}))) == [
        4,
        "a",
        "GenericError",
        "",
        {},
    ]


def test_null_payload_means_empty():
    # OCPP-J 4.2.1: "no payload" may be written null or {}
    assert frames.parse('[2, "a", "Heartbeat", null]').payload == {}
    assert frames.parse('[3, "a", null]').payload == {}
    assert frames.parse('[4, "a", "GenericError", "x", null]').error_details == {}


def test_unicode_survives():
    frame = Call("a", "DataTransfer", {"vendorId": "Çhårgé ⚡", "data": "日本語"})
    assert frames.parse(frames.serialize(frame)) == frame


def test_message_ids_are_unique_and_at_most_36_characters():
    ids = {frames.new_message_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert max(len(i) for i in ids) <= frames.MAX_ID_LENGTH == 36
    # random UUIDs (version 4, RFC 4122 variant) in their canonical text
    for i in ids:
        u = uuid.UUID(i)
        assert (str(u), u.version, u.variant) == (i, 4, uuid.RFC_4122)
    # every random digit varies (all but the version digit and two bits of the variant)
    assert all(
        len({i[k] for i in ids}) == 16 for k in range(36) if k not in (8, 13, 14, 18, 19, 23)
    )
    assert {i[19] for i in ids} == set("89ab")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_process_never_hands_out_its_parents_message_ids():
    # ids are written ahead in batches: a child must not inherit the ones not handed out
    frames.new_message_id()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent, then gone
        try:
            os.write(write_end, ",".join(frames.new_message_id() for _ in range(8)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = pipe.read().split(",")
    os.waitpid(pid, 0)
    parent = [frames.new_message_id() for _ in range(8)]
    assert len(child) == 8
    assert not set(child) & set(parent)


@pytest.mark.parametrize(
    ("text", "message_id", "answerable", "says"),
    [
        ("not json", None, False, "not JSON"),
        ('{"a": 1}', None, False, "not a JSON array but an object"),
        ('"text"', None, False, "not a JSON array but a string"),
        ("[2]", None, False, "1 element"),
        ("[]", None, False, "0 element"),
        ("[3, 17, {}]", None, False, "message id 17 is not a string"),
        ('["2", "m1", "Heartbeat", {}]', "m1", True, "type id '2' is not an integer"),
        ('[9, "m1", {}]', "m1", True, "unknown message type id 9"),
        ('[2, "m1", "Heartbeat"]', "m1", True, "a CALL has 4 elements, this one 3"),
        ('[2, "m1", "Heartbeat", {}, 5]', "m1", True, "a CALL has 4 elements, this one 5"),
        ('[2, "m1", 7, {}]', "m1", True, "action 7 is not a string"),
        ('[2, "m1", "Heartbeat", []]', "m1", True, "payload must be a JSON object, not an array"),
        ('[3, "m1"]', "m1", True, "a CALLRESULT has 3 elements"),
        ('[3, "m1", "x"]', "m1", True, "payload must be a JSON object, not a string"),
        # a broken CALLERROR is never answered: two peers must not loop on errors
        ('[4, "m1", "GenericError"]', "m1", False, "a CALLERROR has 5 elements"),
        ('[4, "m1", 5, "x", {}]', "m1", False, "must be strings"),
        ('[4, "m1", "GenericError", "x", []]', "m1", False, "errorDetails must be an object"),
        ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', "x" * 37, True, "longer than 36"),
        # what a CALLRESULT built at once must not let through either
        ('[3, "' + "x" * 37 + '", {}]', "x" * 37, True, "longer than 36"),
        ('[3.0, "m1", {}]', "m1", True, "type id 3.0 is not an integer"),
        ("[3, 17, 18]", None, False, "message id 17 is not a string"),
        ('[3, "m1", []]', "m1", True, "payload must be a JSON object, not an array"),
    ],
)
def test_broken_frames_are_rpc_errors(text, message_id, answerable, says):
    with pytest.raises(FrameError) as e:
        frames.parse(text)
    assert e.value.code is ErrorCode.FormationViolation
    assert e.value.message_id == message_id
    assert e.value.answerable is answerable
    assert says in e.value.description


@pytest.mark.parametrize(
    ("text", "message_id", "answerable", "code"),
    [
        # cut short: what is there is JSON up to the end (OCPP-J 1.6: "incomplete")
        ('[2,"abc","Heartbeat",{', "abc", True, ErrorCode.ProtocolError),
        ('[2, "m1"', "m1", True, ErrorCode.ProtocolError),
        ('  [ 3 ,\n "m1", {"status": "Acc', "m1", True, ErrorCode.ProtocolError),
        ('[2, "\\u00e9t\\u00e9", "Heartbeat", {', "été", True, ErrorCode.ProtocolError),
        ('[4, "m1", "GenericError", "x", {', "m1", False, ErrorCode.ProtocolError),
        ("[2, ", None, False, ErrorCode.ProtocolError),
        # broken before the end
        ('[2, "m1", "Heartbeat", {]', "m1", True, ErrorCode.FormationViolation),
        ('[2, "m1", "Heartbeat", {}] [', "m1", True, ErrorCode.FormationViolation),
        ('[4, "m1", "GenericError", x', "m1", False, ErrorCode.FormationViolation),
        # no id to be told from the start
        ("not json", None, False, ErrorCode.FormationViolation),
        ('[2, "m1\\q", "Heartbeat", {', None, False, ErrorCode.FormationViolation),
        ('[2, "m1\n", "Heartbeat", {', None, False, ErrorCode.FormationViolation),
        ('[2.0, "m1", {', None, False, ErrorCode.ProtocolError),
        ('["2", "m1", {', None, False, ErrorCode.ProtocolError),
        ('[2 "m1", {', None, False, ErrorCode.FormationViolation),
        ('[1234567890, "m1", {', None, False, ErrorCode.ProtocolError),
        ('{"m1": [2, "m1"', None, False, ErrorCode.ProtocolError),
    ],
)
def test_text_that_is_not_json_keeps_the_id_of_its_start(text, message_id, answerable, code):
    with pytest.raises(FrameError) as e:
        frames.parse(text)
    assert (e.value.message_id, e.value.answerable, e.value.code) == (message_id, answerable, code)
    assert "JSON" in e.value.description
    head = frames.recover_head(text)
    assert (head[1] if head else None) == message_id


def test_the_head_of_a_text_is_its_type_id_and_message_id():
    assert frames.recover_head('\t[ 3 ,\r\n "a\\"b" , {') == (3, 'a"b')
    assert frames.recover_head('[-7, ""') == (-7, "")
    assert frames.recover_head('[2, "x') is None


def test_a_binary_message_is_refused_whatever_it_holds():
    e = frames.refuse_binary(b'[2, "b1", "Heartbeat", {}]')
    assert (e.message_id, e.answerable, e.code) == ("b1", True, ErrorCode.FormationViolation)
    assert e.description == (
        "a binary websocket message (26 bytes): OCPP-J messages are UTF-8 text messages"
    )
    assert frames.refuse_binary(b'[4, "b2", "GenericError", "", {}]').answerable is False
    assert frames.refuse_binary(b"\xff\xfe").message_id is None
    # bytes given to parse are still read as text, if they are UTF-8
    assert frames.parse(b'[2, "b1", "Heartbeat", {}]') == Call("b1", "Heartbeat", {})
    with pytest.raises(FrameError, match="not UTF-8 text") as e2:
        frames.parse(b'[2, "b3", "Heartbeat", {"x": "\xff"}]')
    assert e2.value.message_id == "b3"


def test_callerror_code_accepts_both_spellings():
    for text, code in [
        ("FormationViolation", ErrorCode.FormationViolation),
        ("FormatViolation", ErrorCode.FormationViolation),
        ("OccurenceConstraintViolation", ErrorCode.OccurenceConstraintViolation),
        ("OccurrenceConstraintViolation", ErrorCode.OccurenceConstraintViolation),
        ("NotImplemented", ErrorCode.NotImplemented),
    ]:
        frame = frames.parse(orjson.dumps([4, "a", text, "", {}]))
        assert frame.code is code
        assert frame.error_code == text  # kept as received, for the logs
    assert frames.parse('[4, "a", "Teapot", "", {}]').code is None


def test_the_codes_we_emit_are_the_16_spellings():
    assert ErrorCode.FormationViolation.value == "FormationViolation"
    assert ErrorCode.OccurenceConstraintViolation.value == "OccurenceConstraintViolation"
    assert {c.value for c in ErrorCode} == {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    }


def test_serialize_rejects_what_is_not_a_frame():
    with pytest.raises(TypeError):
        frames.serialize([2, "a", "Heartbeat", {}])


# JSON values a frame's elements may be, right or wrong
_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


_ELEMENT = st.one_of(
    st.sampled_from([2, 3, 4, 2.0, True, "2"]),
    st.text(max_size=40),
    st.sampled_from(["Heartbeat", "MeterValues"]),
    st.dictionaries(st.text(max_size=5), _JSON_LEAF, max_size=3),
    _JSON,
)
# a CALL's four elements, each right or wrong in its own ways
_CALL_LIKE = st.tuples(
    st.sampled_from([2, 3, 4, 2.0, True, "2", 5]),
    st.one_of(st.text(max_size=40), st.sampled_from(["a" * 36, "a" * 37]), _JSON_LEAF),
    st.one_of(st.sampled_from(["Heartbeat", "MeterValues"]), _JSON_LEAF),
    st.one_of(st.dictionaries(st.text(max_size=5), _JSON_LEAF, max_size=3), _JSON),
).map(list)


@settings(max_examples=1500, database=None, deadline=None)
@given(st.one_of(_CALL_LIKE, st.lists(_ELEMENT, min_size=3, max_size=5)))
# each condition of a CALL, broken alone
@example([2, "a" * 36, "Heartbeat", {}])
@example([2, "a" * 37, "Heartbeat", {}])
@example([2.0, "a", "Heartbeat", {}])
@example([3, "a", "Heartbeat", {}])
@example([2, 1, "Heartbeat", {}])
@example([2, "a", 1, {}])
@example([2, "a", "Heartbeat", None])
@example([2, "a", "Heartbeat", []])
def test_parse_judges_a_message_as_the_general_check_does(msg):
    # parse builds a CALL with everything right at once; the general check must agree
    text = orjson.dumps(msg).decode()
    try:
        expected = frames._frame_of(orjson.loads(text))
    except FrameError as e:
        with pytest.raises(FrameError) as got:
            frames.parse(text)
        assert (str(got.value), got.value.message_id, got.value.answerable) == (
            str(e),
            e.message_id,
            e.answerable,
        )
    else:
        frame = frames.parse(text)
        assert frame == expected
        assert type(frame) is type(expected)
