"""Hypothesis: random sequences of valid and invalid events keep every chart's invariants.

For all charts: an event that is not allowed changes nothing and records nothing;
an allowed one ends in its transition's destination; a timer left armed can
always fire in the current state. For the connector charts: no status change
outside the table of section 4.9, one StatusNotification per change, Faulted
returns to the remembered status, connector 0 stays in its three statuses, and
a scheduled change to Inoperative only waits under a session.
"""

from __future__ import annotations

from typing import Any, ClassVar

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chargebox.charts import chart
from chargebox.charts.effects import CancelTimer, SendStatusNotification, StartTimer
from chargebox.charts.models.connector import CHARGE_POINT_ERROR_CODES, SESSION_STATUSES

from .test_connector_spec_table import SPEC

SPEC_CHANGES = set(SPEC.values())
FAULT_CODES = sorted(CHARGE_POINT_ERROR_CODES - {"NoError"})

#: Parameter values beyond the charts' examples, to reach refused guards as well.
PARAMS: dict[str, st.SearchStrategy[Any]] = {
    "reservation_id": st.sampled_from([None, 7, 8]),
    "error_code": st.sampled_from(FAULT_CODES),
    "interval": st.sampled_from([0, 30, 600]),
    "security_profile": st.integers(0, 3),
    "transaction_id": st.integers(1, 10**6),
    "id_tag": st.sampled_from(["TAG-1", "TAG-2"]),
    "place": st.integers(0, 4),
    "removed": st.integers(0, 3),
    "number": st.integers(0, 3),
}


class ChartInvariants(RuleBasedStateMachine):
    chart_name: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.chart = chart(self.chart_name)
        self.model = self.chart.model_class.example()
        self.triggers = [t.name for t in self.chart.spec.triggers]
        self.armed: set[str] = set()

    def _params(self, data: st.DataObject, trigger: str) -> dict[str, Any]:
        spec = self.chart.spec.trigger(trigger)
        params = dict(data.draw(st.sampled_from(spec.examples), label="example"))
        for name in spec.params:
            if name in PARAMS and name in params and data.draw(st.booleans(), label="vary"):
                params[name] = data.draw(PARAMS[name], label=name)
        return params

    def _fire(self, data: st.DataObject, trigger: str) -> None:
        for name in self.chart.spec.inputs:
            setattr(self.model, name, data.draw(st.booleans(), label=name))
        params = self._params(data, trigger)
        before_state = self.model.state
        before = self.model.snapshot()
        remembered = getattr(self.model, "before_fault", None)
        outcome = self.chart.fire(self.model, trigger, params)
        effects = self.model.drain_effects()
        if not outcome.allowed:
            assert self.model.snapshot() == before, outcome
            assert effects == []
            return
        transition = self.chart.spec.transition(outcome.label)
        assert transition.trigger == trigger and outcome.source == before_state
        assert self.model.state == (transition.dest or before_state)
        if self.chart.spec.trigger(trigger).is_timer:
            self.armed.discard(trigger)
        for effect in effects:
            if isinstance(effect, StartTimer):
                self.armed.add(effect.name)
            elif isinstance(effect, CancelTimer):
                self.armed.discard(effect.name)
        self.check_fired(outcome.label, before_state, remembered, params, effects)

    def check_fired(
        self, label: str, source: str, remembered: Any, params: dict[str, Any], effects: list[Any]
    ) -> None:
        """Chart-specific checks after an allowed event (overridden)."""

    @precondition(lambda self: self.chart.allowed_triggers(self.model.state))
    @rule(data=st.data())
    def allowed_event(self, data: st.DataObject) -> None:
        allowed = self.chart.allowed_triggers(self.model.state)
        self._fire(data, data.draw(st.sampled_from(allowed), label="trigger"))

    @rule(data=st.data())
    def any_event(self, data: st.DataObject) -> None:
        self._fire(data, data.draw(st.sampled_from(self.triggers), label="trigger"))

    @invariant()
    def armed_timers_can_fire(self) -> None:
        assert self.armed <= set(self.chart.allowed_triggers(self.model.state))


class ConnectorInvariants(ChartInvariants):
    chart_name = "connector"

    def check_fired(
        self, label: str, source: str, remembered: Any, params: dict[str, Any], effects: list[Any]
    ) -> None:
        state = self.model.state
        sent = [e for e in effects if isinstance(e, SendStatusNotification)]
        if state != source:
            assert (source, state) in SPEC_CHANGES, f"{source} -> {state} is not in section 4.9"
            assert [e.status for e in sent] == [state]
            assert SPEC[label] == (source, state)
        else:
            assert [e.status for e in sent] == (["Faulted"] if label == "N12" else [])
        if source == "Faulted" and state != "Faulted":
            assert state == remembered, "Faulted must return to the remembered status"
        if state == "Faulted":
            assert self.model.before_fault in self.chart.states - {"Faulted"}
            assert all(e.error_code == params.get("error_code", e.error_code) for e in sent)

    @invariant()
    def scheduled_inoperative_only_under_a_session(self) -> None:
        if self.model.inoperative_scheduled:
            assert self.model.state in SESSION_STATUSES | {"Faulted"}

    @invariant()
    def suspension_memory_only_in_suspended_evse(self) -> None:
        if self.model.state == "Charging":
            assert self.model.underlying == "Available"


class Connector0Invariants(ConnectorInvariants):
    chart_name = "connector0"

    @invariant()
    def only_three_statuses(self) -> None:
        assert self.model.state in {"Available", "Unavailable", "Faulted"}

    @precondition(lambda self: True)
    @rule(data=st.data())
    def a_connector_event(self, data: st.DataObject) -> None:
        """Events of connectors > 0 are not triggers of connector 0 at all."""
        trigger = data.draw(st.sampled_from(["usage_initiated", "charging_started", "reserve_now"]))
        assert trigger not in self.triggers


class TransactionInvariants(ChartInvariants):
    chart_name = "transaction"

    @invariant()
    def transaction_id_only_once_started(self) -> None:
        if self.model.state in {"Idle", "Authorizing", "Authorized", "Starting", "StartedOffline"}:
            assert self.model.transaction_id is None


class ReservationInvariants(ChartInvariants):
    chart_name = "reservation"


class FirmwareInvariants(ChartInvariants):
    chart_name = "firmware"

    @invariant()
    def attempts_within_retries(self) -> None:
        assert 0 <= self.model.attempt <= 1 + self.model.retries


class DiagnosticsInvariants(ChartInvariants):
    chart_name = "diagnostics"

    @invariant()
    def attempts_within_retries(self) -> None:
        assert 0 <= self.model.attempt <= 1 + self.model.retries


class LogInvariants(ChartInvariants):
    chart_name = "log"

    @invariant()
    def attempts_within_retries(self) -> None:
        assert 0 <= self.model.attempt <= 1 + self.model.retries

    @invariant()
    def an_upload_in_progress_has_its_request_id(self) -> None:
        if self.model.state != "Idle":
            assert self.model.request_id is not None and self.model.upload >= 1


class SigningInvariants(ChartInvariants):
    chart_name = "signing"

    @invariant()
    def repeats_within_the_allowed(self) -> None:
        assert 0 <= self.model.repeat <= self.model.repeats

    @invariant()
    def a_request_in_flight_only_while_requesting(self) -> None:
        if self.model.state == "Requesting":
            assert self.model.in_flight == self.model.request >= 1
        else:
            assert self.model.in_flight is None


class V2gInvariants(ChartInvariants):
    chart_name = "v2g"

    @invariant()
    def a_round_in_flight_only_while_working(self) -> None:
        if self.model.state == "Working":
            assert self.model.in_flight == self.model.round >= 1
        else:
            assert self.model.in_flight is None and not self.model.again


class LinkInvariants(ChartInvariants):
    chart_name = "link"

    @invariant()
    def profile_only_goes_up_or_falls_back(self) -> None:
        previous = self.model.previous_security_profile
        assert previous is None or previous < self.model.security_profile
        if previous is not None:
            assert self.model.state == "Connecting"


class OutboxInvariants(ChartInvariants):
    chart_name = "outbox"

    @invariant()
    def counts_stay_sane(self) -> None:
        m = self.model
        assert m.queued >= 0
        assert 0 <= m.attempts <= m.transaction_message_attempts
        if m.state in {"Sending", "AwaitingAnswer", "RetryWait"}:
            assert m.queued > 0
        if m.state == "Idle":
            assert m.queued == 0
        if m.taken_back:
            assert m.state == "Offline" and m.queued > 0


class CallsInvariants(ChartInvariants):
    chart_name = "calls"

    @invariant()
    def the_line_stays_in_order(self) -> None:
        m = self.model
        assert 0 <= m.serving <= m.next_place
        places = [place for place, _ in m.waiting]
        assert places == sorted(set(places))
        assert all(m.in_line(place=place) for place in places)
        assert all(m.serving < place < m.next_place for place in m.returned)
        assert m.answering >= 0
        if m.state == "Closed":
            assert m.waiting == () and m.answering == 0
        if m.state == "Idle":
            assert m.serving not in places and m.answering == 0
        if m.state == "Answering":
            assert m.answering > 0
        if m.state == "AwaitingAnswer":
            assert m.serving < m.next_place and m.serving not in places


class StatusInvariants(ChartInvariants):
    chart_name = "status"

    @invariant()
    def holding_waits_for_a_status(self) -> None:
        if self.model.state == "Holding":
            assert self.model.latest is not None


class StationInvariants(ChartInvariants):
    chart_name = "station"

    @invariant()
    def counts_and_waits_stay_sane(self) -> None:
        m = self.model
        assert m.stops_queued >= 0
        if m.state in {"Resetting", "Rebooting"}:
            assert m.reset_kind is not None
        if m.state != "Recovering":
            assert m.recovering == ()


SETTINGS = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # The explain phase replays a failure many times to annotate it; on a failing
    # chart it costs minutes and the shrunk sequence of events says enough.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)

TestConnector = ConnectorInvariants.TestCase
TestConnector.settings = SETTINGS
TestConnector0 = Connector0Invariants.TestCase
TestConnector0.settings = SETTINGS
TestTransaction = TransactionInvariants.TestCase
TestTransaction.settings = SETTINGS
TestReservation = ReservationInvariants.TestCase
TestReservation.settings = SETTINGS
TestFirmware = FirmwareInvariants.TestCase
TestFirmware.settings = SETTINGS
TestDiagnostics = DiagnosticsInvariants.TestCase
TestDiagnostics.settings = SETTINGS
TestLog = LogInvariants.TestCase
TestLog.settings = SETTINGS
TestSigning = SigningInvariants.TestCase
TestSigning.settings = SETTINGS
TestV2g = V2gInvariants.TestCase
TestV2g.settings = SETTINGS
TestLink = LinkInvariants.TestCase
TestLink.settings = SETTINGS
TestOutbox = OutboxInvariants.TestCase
TestOutbox.settings = SETTINGS
TestCalls = CallsInvariants.TestCase
TestCalls.settings = SETTINGS
TestStatus = StatusInvariants.TestCase
TestStatus.settings = SETTINGS
TestStation = StationInvariants.TestCase
TestStation.settings = SETTINGS
