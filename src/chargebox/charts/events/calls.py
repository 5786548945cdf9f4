"""The events of statecharts/calls.yaml: OCPP-J's one CALL in flight."""

from __future__ import annotations

from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class CallsEvent(ChartEvent):
    """An event of the chart of our CALLs on the websocket."""

    chart: ClassVar[str] = "calls"


@attrs.frozen(kw_only=True)
class Opened(CallsEvent):
    """A new websocket is attached."""

    trigger: ClassVar[str] = "opened"


@attrs.frozen(kw_only=True)
class Closed(CallsEvent):
    """The websocket closed (or was replaced)."""

    trigger: ClassVar[str] = "closed"


@attrs.frozen(kw_only=True)
class PlaceTaken(CallsEvent):
    """A CALL was decided: it takes the next place in line."""

    trigger: ClassVar[str] = "place_taken"


@attrs.frozen(kw_only=True)
class Ready(CallsEvent):
    """The CALL at `place` is ready to go."""

    trigger: ClassVar[str] = "ready"
    #: its place in line
    place: int
    #: seconds it waits for its answer
    timeout: float


@attrs.frozen(kw_only=True)
class GivenBack(CallsEvent):
    """The CALL at `place` will not go, or no longer waits for its answer."""

    trigger: ClassVar[str] = "given_back"
    place: int


@attrs.frozen(kw_only=True)
class Answered(CallsEvent):
    """The answer to the CALL on the wire arrived."""

    trigger: ClassVar[str] = "answered"


@attrs.frozen(kw_only=True)
class AnswerTimeout(CallsEvent):
    """Timer: no answer within the CALL's timeout."""

    trigger: ClassVar[str] = "answer_timeout"


@attrs.frozen(kw_only=True)
class CallReceived(CallsEvent):
    """A CALL of the Central System arrived."""

    trigger: ClassVar[str] = "call_received"


@attrs.frozen(kw_only=True)
class CallAnswered(CallsEvent):
    """The answer to a CALL of the Central System went out (or it gets none)."""

    trigger: ClassVar[str] = "call_answered"
