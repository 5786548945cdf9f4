"""The OCPP-J 1.6 protocol layer, sans-IO: frames, typed messages, codec and validation.

Nothing here does I/O or imports trio: every layer above can trust these
functions with plain calls.

    frames   parse and serialise CALL / CALLRESULT / CALLERROR
    v16      every OCPP 1.6 message (with the security whitepaper) as attrs classes
    pnc      the Plug&Charge payloads that 1.6 carries in DataTransfer
    codec    decoded JSON <-> message objects, validated against the schemas
    rpc      a request to a CALL, a CALL to a request, answers and errors
    errors   CallError codes and exceptions
"""

from .errors import (
    EncodeError,
    ErrorCode,
    FrameError,
    NotImplementedAction,
    OcppError,
    ValidationError,
)

__all__ = [
    "EncodeError",
    "ErrorCode",
    "FrameError",
    "NotImplementedAction",
    "OcppError",
    "ValidationError",
]
