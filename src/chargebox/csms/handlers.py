"""Default answers of the development CSMS to every message a charge point sends."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chargebox.ocpp import v16
from chargebox.ocpp.v16 import (
    AuthorizationStatus,
    DataTransferStatus,
    IdTagInfo,
    RegistrationStatus,
)

if TYPE_CHECKING:
    from chargebox.csms.server import Handler, Session


def _now(session: Session) -> datetime:
    return session.csms.clock()


def id_tag_info(session: Session, id_tag: str) -> IdTagInfo:
    s = session.csms.settings
    if id_tag in s.blocked_id_tags:
        status = AuthorizationStatus.Blocked
    elif s.authorize_all or id_tag in s.accepted_id_tags:
        status = AuthorizationStatus.Accepted
    else:
        status = AuthorizationStatus.Invalid
    return IdTagInfo(status=status, parent_id_tag=s.parent_id_tags.get(id_tag))


def boot_notification(session: Session, request: v16.BootNotificationRequest) -> Any:
    s = session.csms.settings
    state = session.csms.state.setdefault("boots", {})
    n = state.get(session.charge_point_id, 0)
    state[session.charge_point_id] = n + 1
    status = RegistrationStatus.Pending if n < s.pending_boots else s.boot_status
    return v16.BootNotificationResponse(
        status=status, current_time=_now(session), interval=s.heartbeat_interval
    )


def authorize(session: Session, request: v16.AuthorizeRequest) -> Any:
    return v16.AuthorizeResponse(id_tag_info=id_tag_info(session, request.id_tag))


#: how many StartTransaction message ids are remembered to recognise a retransmission
REMEMBERED_STARTS = 100_000


def start_transaction(session: Session, request: v16.StartTransactionRequest) -> Any:
    state = session.csms.state
    # A retransmission (the same message id, its answer was lost) is the same transaction:
    # it gets the same id, as a careful Central System does.
    by_message: dict[str, int] = state.setdefault("transaction_by_message", {})
    message_id = session.current_call.unique_id if session.current_call else None
    if message_id in by_message:
        return v16.StartTransactionResponse(
            transaction_id=by_message[message_id], id_tag_info=id_tag_info(session, request.id_tag)
        )
    tx_id = state.get("next_transaction_id", session.csms.settings.first_transaction_id)
    state["next_transaction_id"] = tx_id + 1
    if message_id is not None:
        by_message[message_id] = tx_id
        if len(by_message) > REMEMBERED_STARTS:
            # the oldest: its answer was lost long ago if ever (a CSMS running for days)
            del by_message[next(iter(by_message))]
    return v16.StartTransactionResponse(
        transaction_id=tx_id, id_tag_info=id_tag_info(session, request.id_tag)
    )


def stop_transaction(session: Session, request: v16.StopTransactionRequest) -> Any:
    info = id_tag_info(session, request.id_tag) if request.id_tag else None
    return v16.StopTransactionResponse(id_tag_info=info)


def heartbeat(session: Session, request: v16.HeartbeatRequest) -> Any:
    # the clock read here rather than through _now: a call less on every Heartbeat
    return v16.HeartbeatResponse(current_time=session.csms.clock())


async def data_transfer(session: Session, request: v16.DataTransferRequest) -> Any:
    """The answer of the handler registered for the vendorId (and messageId), or
    UnknownVendorId / UnknownMessageId when there is none (CentralSystem.on_data_transfer)."""
    found = session.csms.data_transfer_handler(request.vendor_id, request.message_id)
    if isinstance(found, DataTransferStatus):
        return v16.DataTransferResponse(status=found)
    answer = found(session, request)
    if isinstance(answer, Awaitable):
        answer = await answer
    status, data = answer
    return v16.DataTransferResponse(status=DataTransferStatus(status), data=data)


def sign_certificate(session: Session, request: v16.SignCertificateRequest) -> Any:
    return v16.SignCertificateResponse(status="Accepted")


def _empty(response_cls: type) -> Handler:
    def answer(session: Session, request: Any) -> Any:
        return response_cls()

    return answer


def default_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {
        "Authorize": authorize,
        "BootNotification": boot_notification,
        "DataTransfer": data_transfer,
        "Heartbeat": heartbeat,
        "StartTransaction": start_transaction,
        "StopTransaction": stop_transaction,
        "SignCertificate": sign_certificate,
    }
    for action, spec in v16.ACTIONS.items():
        if action in handlers or spec.initiator is v16.Initiator.CentralSystem:
            continue
        # the rest are notifications with an empty answer
        handlers[action] = _empty(spec.response)
    return handlers
