"""Models of statecharts/connector.yaml (connectorId > 0) and connector0.yaml (the Charge Point).

The state is the connector's ChargePointStatus (spec 4.9 and 7.7). The model
remembers what the status table needs beyond the status itself: the status
before a fault (Faulted is an overlay that returns to it), a ChangeAvailability
to Inoperative scheduled until the session ends, whether the EV also suspended
while the EVSE suspends (SuspendedEVSE wins), what the connector would be doing
while it is Unavailable, and the reservation it holds.
"""

from __future__ import annotations

from typing import Any, Self

from chargebox.charts.addresses import Address
from chargebox.charts.effects import HostCommand, Send, SendStatusNotification
from chargebox.charts.events.connector import (
    ChargingStarted,
    ConnectorEvent,
    ResumedByEv,
    ResumedByEvse,
)
from chargebox.charts.events.reservation import ConnectorLost
from chargebox.charts.events.station import ConnectorChanged
from chargebox.charts.model import ChartModel

#: ChargePointErrorCode (spec 7.6).
CHARGE_POINT_ERROR_CODES = frozenset(
    {
        "ConnectorLockFailure",
        "EVCommunicationError",
        "GroundFailure",
        "HighTemperature",
        "InternalError",
        "LocalListConflict",
        "NoError",
        "OtherError",
        "OverCurrentFailure",
        "OverVoltage",
        "PowerMeterFailure",
        "PowerSwitchFailure",
        "ReaderFailure",
        "ResetFailure",
        "UnderVoltage",
        "WeakSignal",
    }
)

#: Statuses in which a session keeps a ChangeAvailability to Inoperative waiting (Scheduled).
SESSION_STATUSES = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved"})


#: Statuses in which a user is at the connector: a usage's end leaves them for Available.
_USAGE_STATUSES = frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})

_FREE = frozenset({"Available", "Preparing"})
_OUT_OF_SERVICE = frozenset({"Unavailable", "Faulted"})
_RESUMES: dict[str, ConnectorEvent] = {
    "SuspendedEV": ResumedByEv(),
    "SuspendedEVSE": ResumedByEvse(),
}


def _fault_over(status: str) -> Any:
    def guard(self: ConnectorModel, **_event: Any) -> bool:
        return self.before_fault == status

    guard.__doc__ = f"The connector was {status} when the fault came."
    return guard


def _underlying_is(status: str) -> Any:
    def guard(self: ConnectorModel, **_event: Any) -> bool:
        return self.underlying == status

    guard.__doc__ = f"While Unavailable, the connector would be {status} if it were operative."
    return guard


def _note_underlying(status: str) -> Any:
    def action(self: ConnectorModel, **_event: Any) -> None:
        self.underlying = status

    action.__doc__ = f"Remember that, once operative again, the connector would be {status}."
    return action


class ConnectorModel(ChartModel):
    """One connector (connectorId > 0) running statecharts/connector.yaml."""

    __slots__ = (
        "before_fault",
        "connector_id",
        "error_code",
        "ev_suspended",
        "inoperative_scheduled",
        "reservation_id",
        "underlying",
        "vendor_id",
    )
    chart_name = "connector"

    def __init__(self, connector_id: int = 1, *, state: str | None = None) -> None:
        super().__init__(state=state)
        self.connector_id = connector_id
        #: The ChargePointErrorCode of the fault while Faulted, else None.
        self.error_code: str | None = None
        #: The vendor of the fault's error code while Faulted (StatusNotification vendorId).
        self.vendor_id: str | None = None
        #: The status the connector returns to when the fault is cleared (I1..I8).
        self.before_fault: str | None = None
        #: While Unavailable: the status it would have if operative (decides H1..H5).
        self.underlying = "Available"
        #: A ChangeAvailability(Inoperative) waits for the session to end (X8 transitions).
        self.inoperative_scheduled = False
        #: In SuspendedEVSE: the EV suspended too, so lifting the EVSE limit gives SuspendedEV.
        self.ev_suspended = False
        self.reservation_id: int | None = None

    @classmethod
    def example(cls) -> Self:
        return cls(1)

    # -- what the state says (read by the station, the features and the handle) ------------

    @property
    def available(self) -> bool:
        """Available: free, nobody at the connector."""
        return self.state == "Available"

    @property
    def preparing(self) -> bool:
        """Preparing: a user is at the connector, no transaction yet."""
        return self.state == "Preparing"

    @property
    def free(self) -> bool:
        """The connector can take a new user (Available or Preparing)."""
        return self.state in _FREE

    @property
    def reserved(self) -> bool:
        """Reserved: a reservation holds the connector."""
        return self.state == "Reserved"

    @property
    def unavailable(self) -> bool:
        """Unavailable: out of service (ChangeAvailability, or the host)."""
        return self.state == "Unavailable"

    @property
    def faulted(self) -> bool:
        """Faulted: a fault is active."""
        return self.state == "Faulted"

    @property
    def out_of_service(self) -> bool:
        """Unavailable or Faulted: no session can begin."""
        return self.state in _OUT_OF_SERVICE

    @property
    def in_session(self) -> bool:
        """A session holds the connector (a status of SESSION_STATUSES), also under a fault:
        a ChangeAvailability to Inoperative waits for its end (Scheduled)."""
        return self.state in SESSION_STATUSES or (
            self.state == "Faulted" and self.before_fault in SESSION_STATUSES
        )

    def report(self) -> ConnectorChanged:
        """What the station's chart mirrors of this connector (the chart's `reports`)."""
        return ConnectorChanged(
            connector_id=self.connector_id, status=self.state, in_session=self.in_session
        )

    def resume_event(self) -> ConnectorEvent:
        """The event that says energy flows (again) in the current status: the EV or the
        EVSE resumes from its suspension, else charging starts."""
        event = _RESUMES.get(self.state)
        return event if event is not None else ChargingStarted()

    # -- guards ---------------------------------------------------------------------------

    def uses_reservation(self, *, reservation_id: int | None = None, **_event: Any) -> bool:
        """The user presents the identity of this connector's reservation."""
        return reservation_id is not None and reservation_id == self.reservation_id

    def fault_over_idle(self, **_event: Any) -> bool:
        """The fault hides Available or Unavailable: availability can change under it."""
        return self.before_fault in ("Available", "Unavailable")

    def fault_over_session(self, **_event: Any) -> bool:
        """The fault hides a session: an availability change must wait for its end."""
        return self.before_fault in SESSION_STATUSES

    def fault_over_usage(self, **_event: Any) -> bool:
        """The fault hides a user at the connector (Preparing, a transaction, Finishing)."""
        return self.before_fault in _USAGE_STATUSES

    faulted_from_available = _fault_over("Available")
    faulted_from_preparing = _fault_over("Preparing")
    faulted_from_charging = _fault_over("Charging")
    faulted_from_suspended_ev = _fault_over("SuspendedEV")
    faulted_from_suspended_evse = _fault_over("SuspendedEVSE")
    faulted_from_finishing = _fault_over("Finishing")
    faulted_from_reserved = _fault_over("Reserved")
    faulted_from_unavailable = _fault_over("Unavailable")

    underlying_available = _underlying_is("Available")
    underlying_preparing = _underlying_is("Preparing")
    underlying_charging = _underlying_is("Charging")
    underlying_suspended_ev = _underlying_is("SuspendedEV")
    underlying_suspended_evse = _underlying_is("SuspendedEVSE")

    # -- actions --------------------------------------------------------------------------

    def notify_status(self, **event: Any) -> None:
        """Report the new status to the Central System (run on entering every state)."""
        faulted = self.state == "Faulted"
        self.record(
            SendStatusNotification(
                connector_id=self.connector_id,
                status=self.state,
                error_code=(self.error_code or "OtherError") if faulted else "NoError",
                info=event.get("info"),
                vendor_error_code=event.get("vendor_error_code") if faulted else None,
                vendor_id=self.vendor_id if faulted else None,
            )
        )

    def remember_fault(
        self, *, error_code: str = "OtherError", vendor_id: str | None = None, **_event: Any
    ) -> None:
        """Before entering Faulted: keep the status to return to and the error to report."""
        self.before_fault = self.state
        self.error_code = _fault_code(error_code)
        self.vendor_id = vendor_id

    def update_fault(
        self, *, error_code: str = "OtherError", vendor_id: str | None = None, **_event: Any
    ) -> None:
        """Another fault while Faulted: report the new error code, keep the remembered status."""
        self.error_code = _fault_code(error_code)
        self.vendor_id = vendor_id

    def clear_fault(self, **_event: Any) -> None:
        """Before leaving Faulted: the error is gone."""
        self.error_code = None
        self.vendor_id = None
        self.before_fault = None

    def remember_reservation(self, *, reservation_id: int, **_event: Any) -> None:
        self.reservation_id = reservation_id

    def forget_reservation(self, **_event: Any) -> None:
        self.reservation_id = None

    def lose_reservation(self, **_event: Any) -> None:
        """A fault ends the reservation this connector holds (spec 5.13): its chart is told."""
        self.record(Send(Address.reservation(self.connector_id), ConnectorLost()))

    def schedule_inoperative(self, **_event: Any) -> None:
        """ChangeAvailability(Inoperative) during a session: apply it when the session ends."""
        self.inoperative_scheduled = True

    def cancel_scheduled_inoperative(self, **_event: Any) -> None:
        """ChangeAvailability(Operative) before the scheduled change happened: drop it."""
        self.inoperative_scheduled = False

    def disable_evse(self, **_event: Any) -> None:
        """Unavailable: the host takes the connector out of service (no new sessions)."""
        self.record(HostCommand("disable", self.connector_id))

    def enable_evse(self, **_event: Any) -> None:
        """Operative again: the host may start sessions on the connector."""
        self.record(HostCommand("enable", self.connector_id))

    def enter_unavailable(self, **_event: Any) -> None:
        """Unavailable from an idle connector: nothing is going on underneath."""
        self.inoperative_scheduled = False
        self.underlying = "Available"
        self.reservation_id = None

    def track_ev_suspension(self, **_event: Any) -> None:
        """Entering SuspendedEVSE: remember whether the EV had suspended as well."""
        self.ev_suspended = self.state == "SuspendedEV"

    def ev_suspends_too(self, **_event: Any) -> None:
        self.ev_suspended = True

    def ev_resumes(self, **_event: Any) -> None:
        self.ev_suspended = False

    note_underlying_available = _note_underlying("Available")
    note_underlying_preparing = _note_underlying("Preparing")
    note_underlying_charging = _note_underlying("Charging")
    note_underlying_suspended_ev = _note_underlying("SuspendedEV")
    note_underlying_suspended_evse = _note_underlying("SuspendedEVSE")

    def unavailable_after_fault(self, **_event: Any) -> None:
        """ChangeAvailability(Inoperative) while Faulted over an idle connector: return to it."""
        self.before_fault = "Unavailable"

    def operative_after_fault(self, **_event: Any) -> None:
        """ChangeAvailability(Operative) while Faulted over Unavailable: return to operation."""
        self.before_fault = self.underlying
        self.underlying = "Available"

    def usage_ended_during_fault(self, **_event: Any) -> None:
        """The usage under the fault ended: its end returns to Available (or the scheduled
        change)."""
        self.before_fault = "Unavailable" if self.inoperative_scheduled else "Available"
        self.inoperative_scheduled = False

    def reservation_ended_during_fault(self, **_event: Any) -> None:
        """The reservation under the fault ended: return to Available (or the scheduled change)."""
        self.before_fault = "Unavailable" if self.inoperative_scheduled else "Available"
        self.inoperative_scheduled = False
        self.reservation_id = None


class Connector0Model(ConnectorModel):
    """The Charge Point as a whole (connectorId 0): only Available, Unavailable, Faulted."""

    __slots__ = ()
    chart_name = "connector0"

    def __init__(self, *, state: str | None = None) -> None:
        super().__init__(0, state=state)

    @classmethod
    def example(cls) -> Self:
        return cls()


def _fault_code(error_code: str) -> str:
    if error_code not in CHARGE_POINT_ERROR_CODES or error_code == "NoError":
        raise ValueError(f"{error_code!r} is not a ChargePointErrorCode for a fault")
    return error_code
