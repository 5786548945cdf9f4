"""Model of statecharts/calls.yaml: OCPP-J's one CALL in flight, and the order of our CALLs.

Places in line are numbers handed out in the order CALLs are decided
(`next_place`); `serving` is the place whose turn it is (every place before it
is done). A CALL that is ready waits in `waiting` until its turn comes and the
line is free. Its owner (chargebox.actors.endpoint) performs the effects:
TransmitCall sends a CALL, RefuseCall fails one that cannot go, CallLost fails
the one on the wire, and the answer timer is the deadline of the CALL on the wire.
"""

from __future__ import annotations

from typing import Any, Self

import attrs

from chargebox.charts.effects import CancelTimer, Effect, StartTimer
from chargebox.charts.model import ChartModel

ANSWER_TIMEOUT = "answer_timeout"


@attrs.frozen
class TransmitCall(Effect):
    """The CALL at `place` goes now; the line awaits its answer."""

    place: int


@attrs.frozen
class RefuseCall(Effect):
    """The CALL at `place` cannot go: the connection is closed (Offline)."""

    place: int


@attrs.frozen
class CallLost(Effect):
    """The CALL on the wire fails: its connection closed before the answer (ConnectionLost)."""


#: the answer timer's stop, and its starts by timeout: frozen values, made once rather than
#: on every CALL (a CALL's timeout is nearly always the engine's CALL timeout)
_STOP_ANSWER_TIMER = CancelTimer(ANSWER_TIMEOUT)
_START_ANSWER_TIMER: dict[float, StartTimer] = {}


class CallsModel(ChartModel):
    """The line of our CALLs on the websocket to the Central System."""

    __slots__ = ("answering", "next_place", "returned", "serving", "waiting")
    chart_name = "calls"

    def __init__(self, *, state: str | None = None) -> None:
        super().__init__(state=state)
        #: The place the next CALL decided takes.
        self.next_place = 0
        #: The place whose turn it is (on the wire while AwaitingAnswer).
        self.serving = 0
        #: Places after `serving` given back before their turn.
        self.returned: frozenset[int] = frozenset()
        #: The CALLs ready and waiting: (place, timeout) in the order of their places.
        self.waiting: tuple[tuple[int, float], ...] = ()
        #: CALLs of the Central System being answered.
        self.answering = 0

    # -- what the state says (read by the endpoint) -------------------------------------

    @property
    def open(self) -> bool:
        """A websocket is attached."""
        return self.state != "Closed"

    @property
    def idle(self) -> bool:
        """Every CALL decided is done: none on the wire, none waiting for its turn."""
        return self.serving == self.next_place

    def in_line(self, *, place: int, **_event: Any) -> bool:
        """The CALL at `place` was decided and is not done (it waits, or is on the wire)."""
        return self.serving <= place < self.next_place and place not in self.returned

    # -- guards ---------------------------------------------------------------------------

    def not_yet_ready(self, *, place: int, **_event: Any) -> bool:
        """The CALL at `place` is in line and was not ready before (a CALL is ready once)."""
        if not self.in_line(place=place) or self._timeout_of(place) is not None:
            return False
        return not (self.state == "AwaitingAnswer" and place == self.serving)

    def its_turn(self, *, place: int, **_event: Any) -> bool:
        """Every CALL decided before it is done."""
        return place == self.serving < self.next_place

    def in_flight(self, *, place: int, **_event: Any) -> bool:
        """It is the CALL on the wire."""
        return place == self.serving

    def answering_calls(self, **_event: Any) -> bool:
        """A CALL of the Central System is being answered."""
        return self.answering > 0

    def last_answer(self, **_event: Any) -> bool:
        """The only CALL of the Central System being answered."""
        return self.answering == 1

    def head_ready(self, **_event: Any) -> bool:
        """The CALL whose turn it is is ready."""
        return self._timeout_of(self.serving) is not None

    def next_ready(self, **_event: Any) -> bool:
        """The CALL after the one on the wire (places given back skipped) is ready."""
        return self._timeout_of(self._after(self.serving)) is not None

    def frees_next(self, *, place: int, **_event: Any) -> bool:
        """It is the CALL whose turn it is, and the CALL after it is ready."""
        return (
            place == self.serving < self.next_place
            and self._timeout_of(self._after(place)) is not None
        )

    # -- actions --------------------------------------------------------------------------

    def take_place(self, **_event: Any) -> None:
        self.next_place += 1

    def transmit_ready(self, *, place: int, timeout: float, **_event: Any) -> None:
        """It goes; its answer is awaited for `timeout` seconds."""
        self.record(TransmitCall(place))
        start = _START_ANSWER_TIMER.get(timeout)
        if start is None:
            start = StartTimer(ANSWER_TIMEOUT, seconds=timeout)
            if len(_START_ANSWER_TIMER) < 16:  # a few timeouts in use, not one per CALL
                _START_ANSWER_TIMER[timeout] = start
        self.record(start)

    def transmit_head(self, **_event: Any) -> None:
        """The CALL whose turn it is goes (it is ready)."""
        place = self.serving
        timeout = self._timeout_of(place)
        assert timeout is not None
        self.waiting = tuple(w for w in self.waiting if w[0] != place)
        self.transmit_ready(place=place, timeout=timeout)

    def wait_turn(self, *, place: int, timeout: float, **_event: Any) -> None:
        self.waiting = tuple(sorted((*self.waiting, (place, timeout))))

    def refuse_ready(self, *, place: int, **_event: Any) -> None:
        """No connection: the CALL fails at once, and its place is given back."""
        self.record(RefuseCall(place))
        self._give_back(place)

    def give_back(self, *, place: int, **_event: Any) -> None:
        self._give_back(place)

    def done_in_flight(self, **_event: Any) -> None:
        """The CALL on the wire is done (answered, timed out, or its sender gave up)."""
        self._advance()

    def stop_answer_timer(self, **_event: Any) -> None:
        self.record(_STOP_ANSWER_TIMER)

    def lose_in_flight(self, **_event: Any) -> None:
        """The connection closed under the CALL on the wire."""
        self.record(_STOP_ANSWER_TIMER)
        self.record(CallLost())
        self._advance()

    def fail_waiting(self, **_event: Any) -> None:
        """The connection closed: every CALL ready and waiting fails; nothing is being
        answered any more."""
        for place, _timeout in self.waiting:
            self.record(RefuseCall(place))
            self._give_back(place)
        self.answering = 0

    def count_call(self, **_event: Any) -> None:
        self.answering += 1

    def uncount_call(self, **_event: Any) -> None:
        self.answering -= 1

    # -- the line ---------------------------------------------------------------------------

    def _timeout_of(self, place: int) -> float | None:
        for waiting, timeout in self.waiting:
            if waiting == place:
                return timeout
        return None

    def _after(self, place: int) -> int:
        """The place after `place`, skipping those given back."""
        place += 1
        while place in self.returned:
            place += 1
        return place

    def _advance(self) -> None:
        """The CALL whose turn it was is done: the turn passes on (past places given back)."""
        after = self._after(self.serving)
        if self.returned:
            self.returned = frozenset(p for p in self.returned if p >= after)
        self.serving = after

    def _give_back(self, place: int) -> None:
        self.waiting = tuple(w for w in self.waiting if w[0] != place)
        if place == self.serving:
            self._advance()
        else:
            self.returned = self.returned | {place}

    @classmethod
    def example(cls) -> Self:
        return cls()
