"""OCPP-J calls in terms of message objects: what the link sends and receives.

call(request)                  -> Call frame with a fresh id
decode_call(frame)             -> (ActionSpec, request) or OcppError
result(frame, response)        -> CallResult answering the call
error(unique_id, exc)          -> CallError for an OcppError (or any exception)
decode_result(action, frame)   -> response object, or ValidationError
"""

from __future__ import annotations

from typing import Any

from . import codec
from .errors import ErrorCode, NotImplementedAction, OcppError
from .frames import Call, CallError, CallResult, call_frame, call_result_frame, new_message_id
from .v16 import ACTION_OF, ACTIONS, ActionSpec


def call(request: Any, unique_id: str | None = None) -> Call:
    """The CALL frame of a request object (EncodeError if it breaks its schema)."""
    action = ACTION_OF.get(type(request))
    if action is None:
        raise TypeError(f"{type(request).__name__} is not an OCPP 1.6 request class")
    return call_frame(unique_id or new_message_id(), action, codec.encode(request))


def decode_call(frame: Call) -> tuple[ActionSpec, Any]:
    """The action and request object of a received CALL.

    NotImplementedAction for an action OCPP 1.6 does not define, ValidationError
    for a payload that breaks its schema.
    """
    spec = ACTIONS.get(frame.action)
    if spec is None:
        raise NotImplementedAction(frame.action)
    return spec, codec.decode(spec.request, frame.payload)


def result(frame: Call, response: Any) -> CallResult:
    """The CALLRESULT answering `frame` with a response object."""
    expected = ACTIONS[frame.action].response
    if type(response) is not expected:
        raise TypeError(f"{frame.action} is answered with {expected.__name__}, not {response!r}")
    return call_result_frame(frame.unique_id, codec.encode(response))


def error(unique_id: str, exc: BaseException) -> CallError:
    """The CALLERROR for an exception: its own code for an OcppError, InternalError otherwise.

    An internal error says only its kind: details of our own failures stay in our logs.
    """
    if isinstance(exc, OcppError):
        return CallError(unique_id, str(exc.code), exc.description, dict(exc.details))
    return CallError(
        unique_id, str(ErrorCode.InternalError), f"internal error ({type(exc).__name__})", {}
    )


def decode_result(action: str, frame: CallResult) -> Any:
    """The response object in the CALLRESULT of a CALL we sent for `action`."""
    return codec.decode(ACTIONS[action].response, frame.payload)


__all__ = ["call", "decode_call", "decode_result", "error", "result"]
