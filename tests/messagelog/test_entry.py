"""Classifying frames: message type, the action a result answers, invalid texts, no exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from chargebox.messagelog import Direction, LogSettings, MessageLog, MessageType
from chargebox.messagelog.entry import FrameClassifier

from .support import call, error, read_page, result

T = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def classify(classifier: FrameClassifier, direction: str, text: str | bytes):
    entry = classifier.classify(Direction(direction), text, T)
    return entry.message_type, entry.action, entry.message_id


def test_an_answer_shows_the_action_of_the_call_it_answers():
    c = FrameClassifier()
    assert classify(c, "out", call("1", "Authorize", {"idTag": "A"})) == ("CALL", "Authorize", "1")
    assert classify(c, "in", call("1", "Reset", {"type": "Soft"})) == ("CALL", "Reset", "1")
    # the same id in both directions: each answer finds the call of the other side
    assert classify(c, "out", result("1", {"status": "Accepted"})) == ("CALLRESULT", "Reset", "1")
    assert classify(c, "in", error("1", "InternalError", "")) == ("CALLERROR", "Authorize", "1")
    # answered once: a second answer with that id is not matched
    assert classify(c, "in", result("1", {})) == ("CALLRESULT", "", "1")


def test_an_answer_in_the_same_direction_as_the_call_is_not_matched():
    c = FrameClassifier()
    classify(c, "out", call("9", "Heartbeat", {}))
    assert classify(c, "out", result("9", {})) == ("CALLRESULT", "", "9")
    assert classify(c, "in", result("9", {})) == ("CALLRESULT", "Heartbeat", "9")


def test_unanswered_calls_are_forgotten_oldest_first():
    c = FrameClassifier(max_pending=3)
    for n in range(5):
        classify(c, "out", call(str(n), f"Action{n}", {}))
    assert classify(c, "in", result("0", {}))[1] == ""
    assert classify(c, "in", result("1", {}))[1] == ""
    assert classify(c, "in", result("4", {}))[1] == "Action4"


def test_a_callerror_carries_its_code_and_description():
    c = FrameClassifier()
    classify(c, "in", call("r", "Reset", {}))
    entry = c.classify(Direction.OUT, error("r", "NotSupported", "no reset here"), T)
    assert entry.detail == "NotSupported: no reset here"
    entry = c.classify(Direction.OUT, error("s", "GenericError", ""), T)
    assert entry.detail == "GenericError"


def test_texts_that_are_not_frames_are_invalid_with_the_reason():
    c = FrameClassifier()
    cases = {
        "not json": "",
        '{"a": 1}': "",
        '[5, "id", {}]': "id",
        '[2, "id", "Heartbeat"]': "id",
        "[3, 7, {}]": "",
        b"\xff\xfe binary": "",
    }
    for text, message_id in cases.items():
        entry = c.classify(Direction.IN, text, T)
        assert entry.message_type is MessageType.INVALID, text
        assert entry.message_id == message_id
        assert entry.detail
    entry = c.classify(Direction.IN, '{"a":1}', T)
    assert entry.body == '{\n  "a": 1\n}'  # JSON is still shown indented
    assert entry.raw == '{"a":1}'


def test_a_null_payload_is_shown_as_sent():
    entry = FrameClassifier().classify(Direction.IN, '[2,"x","Heartbeat",null]', T)
    assert entry.message_type is MessageType.CALL
    assert orjson.loads(entry.body) == [2, "x", "Heartbeat", None]


def test_lone_surrogates_and_odd_objects_are_logged(tmp_path: Path):
    with MessageLog(tmp_path, LogSettings(formats=["log", "html"], raw=True), "CP-1") as log:
        log.frame("in", "bad \udc80 surrogate")
        log.frame("in", '[2,"x","Heart\udc80beat",{}]')
        log.frame("in", None)  # type: ignore[arg-type]
        log.connection("disconnected", "reason \udc80")
    rows = read_page(tmp_path / "CP-1.html").rows
    assert [r.type for r in rows] == ["event", "invalid", "invalid", "invalid", "event", "event"]
    assert "\\udc80" in rows[1].message
    assert "surrogate" in (tmp_path / "CP-1.log").read_text(encoding="utf-8")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.binary(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
            lambda inner: (
                st.lists(inner, max_size=5)
                | st.dictionaries(st.text(max_size=8), inner, max_size=5)
            ),
            max_leaves=20,
        ).map(json.dumps),
        st.tuples(
            st.sampled_from([2, 3, 4]),
            st.text(max_size=40),
            st.text(max_size=20),
            st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
        ).map(lambda t: json.dumps(list(t))),
    )
)
def test_classification_never_raises(text):
    entry = FrameClassifier().classify(Direction.IN, text, T)
    assert entry.message_type in MessageType
    assert isinstance(entry.body, str) and isinstance(entry.raw, str)
    entry.body.encode("utf-8")  # always writable
