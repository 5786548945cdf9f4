"""Plug&Charge for OCPP 1.6: the OCPP 2.0.1 messages carried in DataTransfer.

The Plug&Charge whitepaper for 1.6 sends nine 2.0.1 messages inside
DataTransfer with vendorId `org.openchargealliance.iso15118pnc`, the action as
messageId and the 2.0.1 payload, as JSON text, in `data`. The classes here
are those payloads, named as in 2.0.1 (`AuthorizeRequest`, `IdTokenType`, ...);
`to_data_transfer` and `from_data_transfer` wrap and unwrap them.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson

from .. import codec
from ..errors import ErrorCode, NotImplementedAction, ValidationError
from ..v16 import DataTransferRequest, Initiator
from .enums import *  # noqa: F403
from .messages import *  # noqa: F403
from .messages import BY_SCHEMA

VENDOR_ID = "org.openchargealliance.iso15118pnc"


@attrs.frozen
class PncAction:
    action: str
    request: type
    response: type
    initiator: Initiator


_CP, _CS = Initiator.ChargePoint, Initiator.CentralSystem

PNC_ACTIONS: dict[str, PncAction] = {
    action: PncAction(action, BY_SCHEMA[action + "Request"], BY_SCHEMA[action + "Response"], who)
    for action, who in {
        "Authorize": _CP,
        "Get15118EVCertificate": _CP,
        "GetCertificateStatus": _CP,
        "SignCertificate": _CP,
        "CertificateSigned": _CS,
        "DeleteCertificate": _CS,
        "GetInstalledCertificateIds": _CS,
        "InstallCertificate": _CS,
        "TriggerMessage": _CS,
    }.items()
}

ACTION_OF: dict[type, str] = {a.request: a.action for a in PNC_ACTIONS.values()}


def to_data_transfer(message: Any) -> Any:
    """The DataTransfer.req that carries a Plug&Charge request (validated on the way)."""
    action = ACTION_OF[type(message)]
    data = orjson.dumps(codec.encode(message)).decode()
    return DataTransferRequest(vendor_id=VENDOR_ID, message_id=action, data=data)


def from_data_transfer(request: Any) -> Any:
    """The Plug&Charge request inside a DataTransfer.req.

    Raises NotImplementedAction for an unknown messageId and ValidationError
    (FormationViolation when `data` is missing or not JSON) for a bad payload.
    """
    spec = PNC_ACTIONS.get(request.message_id or "")
    if spec is None:
        raise NotImplementedAction(f"{VENDOR_ID}/{request.message_id}")
    return codec.decode(spec.request, _data(request.data, spec.request.title))


def response_to_data(response: Any) -> str:
    """The `data` text of the DataTransfer.conf that answers a Plug&Charge request."""
    return orjson.dumps(codec.encode(response)).decode()


def response_from_data(action: str, data: str | None) -> Any:
    """The Plug&Charge response in the `data` of a DataTransfer.conf."""
    cls = PNC_ACTIONS[action].response
    return codec.decode(cls, _data(data, cls.title))


def _data(data: str | None, title: str) -> Any:
    if data is None:
        raise ValidationError(ErrorCode.FormationViolation, title, "data", None, "data is missing")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ValidationError(
            ErrorCode.FormationViolation, title, "data", data, "data is not JSON"
        ) from None
