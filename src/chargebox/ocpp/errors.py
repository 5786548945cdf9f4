"""OCPP-J CallError codes and the exceptions that carry them."""

from __future__ import annotations

import reprlib
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """The CallError codes of OCPP-J 1.6, with the 1.6 spellings.

    The 1.6 JSON specification spells two codes `FormationViolation` and
    `OccurenceConstraintViolation`; its errata corrected them for 2.0 only, so
    a 1.6 peer sends and expects these spellings. `parse` also accepts the 2.x
    spellings from peers that use them.
    """

    NotImplemented = "NotImplemented"
    NotSupported = "NotSupported"
    InternalError = "InternalError"
    ProtocolError = "ProtocolError"
    SecurityError = "SecurityError"
    FormationViolation = "FormationViolation"
    PropertyConstraintViolation = "PropertyConstraintViolation"
    OccurenceConstraintViolation = "OccurenceConstraintViolation"
    TypeConstraintViolation = "TypeConstraintViolation"
    GenericError = "GenericError"

    @classmethod
    def parse(cls, text: str) -> ErrorCode | None:
        """The code for a received errorCode string, or None when it is not a known code."""
        try:
            return cls(text)
        except ValueError:
            return _ALIASES.get(text)


_ALIASES = {
    "FormatViolation": ErrorCode.FormationViolation,
    "OccurrenceConstraintViolation": ErrorCode.OccurenceConstraintViolation,
}


class OcppError(Exception):
    """An error that is answered with a CALLERROR: its code, description and details."""

    def __init__(
        self, code: ErrorCode, description: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.details = details if details is not None else {}

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class NotImplementedAction(OcppError):
    """The action is not an OCPP 1.6 action this engine knows."""

    def __init__(self, action: str) -> None:
        super().__init__(ErrorCode.NotImplemented, f"unknown action {action!r}")
        self.action = action


MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()


class ValidationError(OcppError):
    """A payload that breaks its schema: the code says which kind of rule it broke."""

    def __init__(self, code: ErrorCode, where: str, path: str, value: Any, rule: str) -> None:
        self.where = where  # e.g. "MeterValues.req"
        self.path = path  # e.g. "meterValue[0].sampledValue[2].unit"
        self.value = value
        self.rule = rule
        text = f"{where}: {path}: {rule}" if path else f"{where}: {rule}"
        if value is not MISSING:
            text += f" (got {_show(value)})"
        super().__init__(code, text)


class FrameError(OcppError):
    """A message that is not a well-formed OCPP-J frame.

    `message_id` is the id of the message when it could be read: the receiver
    answers with a CALLERROR then (unless the broken message is itself a
    CALLERROR, which is never answered, so that two peers cannot loop).
    `code` is FormationViolation, or ProtocolError for a text cut short.
    """

    def __init__(
        self,
        description: str,
        message_id: str | None = None,
        answerable: bool = True,
        *,
        code: ErrorCode = ErrorCode.FormationViolation,
    ) -> None:
        super().__init__(code, description)
        self.message_id = message_id
        self.answerable = answerable and message_id is not None


class EncodeError(ValueError):
    """Our own side built a message that breaks its schema: a bug, never sent."""


def _show(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except RecursionError:
        # nested deeper than repr can go (a payload of a thousand nested arrays)
        text = reprlib.repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
