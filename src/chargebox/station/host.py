"""The host boundary: what the station firmware offers the engine (ports) and the values they use.

A host (the firmware of a real station, the simulator, a test) gives
`open_charge_point` an object with these ports as attributes; every port but
`evse` is optional, and an absent port makes the engine answer the matching
CSMS requests the way the specification says for a station without that
function (for example UnlockConnector -> NotSupported without `evse.unlock`).
The engine calls the ports; the host tells the engine what happens through
the `ChargePoint` handle (chargebox.station.handle).

Port methods are coroutines. A port that raises is logged and treated as a
refusal; it never stops the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs


class UnlockResult(StrEnum):
    """What `EvseControl.unlock` achieved (UnlockStatus of UnlockConnector.conf)."""

    Unlocked = "Unlocked"
    UnlockFailed = "UnlockFailed"
    NotSupported = "NotSupported"


class ResetKind(StrEnum):
    Soft = "Soft"
    Hard = "Hard"


@runtime_checkable
class EvseControl(Protocol):
    """Control of the power path of each connector (EVerest: evse_manager)."""

    async def authorize(self, connector_id: int, id_tag: str) -> None:
        """The idTag is authorized on this connector: the host may start a transaction."""

    async def withdraw_authorization(self, connector_id: int) -> None:
        """The authorization lapsed (ConnectionTimeOut) before a transaction started."""

    async def pause_charging(self, connector_id: int) -> None:
        """Offer no energy (the transaction goes on)."""

    async def resume_charging(self, connector_id: int) -> None:
        """Offer energy again."""

    async def stop_transaction(self, connector_id: int, reason: str) -> None:
        """End the transaction (reason: OCPP Reason); the host then calls transaction_stopped."""

    async def unlock(self, connector_id: int) -> UnlockResult:
        """Release the cable."""

    async def set_enabled(self, connector_id: int, enabled: bool) -> None:
        """Operative (enabled) or Inoperative: no new sessions while disabled."""


@runtime_checkable
class AuthorizationPort(Protocol):
    async def set_connection_timeout(self, seconds: int) -> None:
        """ConnectionTimeOut changed: how long a plug or an idTag waits for the other."""


@runtime_checkable
class ReservationPort(Protocol):
    async def reserve(
        self, connector_id: int, reservation_id: int, id_tag: str, expiry: datetime
    ) -> bool:
        """Hold the connector for the idTag; False refuses the reservation."""

    async def cancel(self, reservation_id: int) -> None:
        """The reservation ended (cancelled, expired or used)."""


@runtime_checkable
class SystemPort(Protocol):
    """The station as a whole (EVerest: system)."""

    async def reset(self, kind: ResetKind) -> None:
        """Restart the station (Soft: software, Hard: the whole controller)."""

    async def set_system_time(self, moment: datetime) -> None:
        """The Central System's time, from BootNotification.conf and Heartbeat.conf."""

    async def resume_session(self, connector_id: int, session_id: str | None) -> bool:
        """At start, for a transaction that was running when the station went down:
        True when the session goes on (the EV is still charging), False to stop it
        with reason PowerLoss. Optional: without it every such transaction is stopped.
        (A plain function returning a bool is accepted too.)"""


@runtime_checkable
class FirmwarePort(Protocol):
    """Firmware updates (FirmwareManagement): the engine runs the procedure, the host transfers.

    The engine calls `download_firmware` once per attempt (UpdateFirmware's
    retries and retryInterval are the engine's), then, when no transaction runs
    any more and the connectors are Unavailable, `install_firmware`. After a
    successful install the host restarts the station (the engine calls
    `SystemPort.reset(ResetKind.Hard)`), and the new FirmwareVersion is in the
    BootNotification of the next start.
    """

    async def download_firmware(self, location: str) -> bool:
        """One attempt to fetch the firmware at `location`; True once it is stored."""

    async def install_firmware(self) -> bool:
        """Install the downloaded firmware; True on success."""


@runtime_checkable
class DiagnosticsPort(Protocol):
    """Diagnostics upload (GetDiagnostics); the engine retries, the host transfers."""

    async def diagnostics_file(
        self, start_time: datetime | None, stop_time: datetime | None
    ) -> str | None:
        """Prepare the diagnostics of that period; its file name, or None when there is none."""

    async def upload_diagnostics(self, location: str, file_name: str) -> bool:
        """One attempt to upload the prepared file to `location`; True when it arrived."""


@runtime_checkable
class EnergySink(Protocol):
    """Where the smart-charging limits go (EVerest: external energy limits)."""

    async def set_limit(
        self, connector_id: int, amps: Decimal | None, watts: Decimal | None
    ) -> None:
        """The limit in force on a connector (0: the whole station); None: no limit."""


@runtime_checkable
class DataTransferPort(Protocol):
    async def data_transfer(
        self, vendor_id: str, message_id: str | None, data: str | None
    ) -> tuple[str, str | None]:
        """A CSMS-initiated DataTransfer: (DataTransferStatus, data).

        Answer ("UnknownVendorId", None) or ("UnknownMessageId", None) for what
        the host does not know.
        """


@attrs.define
class Host:
    """The ports of a host. Only `evse` is required."""

    evse: EvseControl
    authorization: AuthorizationPort | None = None
    reservation: ReservationPort | None = None
    system: SystemPort | None = None
    energy: EnergySink | None = None
    data_transfer: DataTransferPort | None = None
    firmware: FirmwarePort | None = None
    diagnostics: DiagnosticsPort | None = None
    certificates: Any = None


@attrs.frozen
class Reading:
    """One sampled value the host measured (a SampledValue without its context).

    `value` is the measured number (a str is taken as it is); unit defaults by
    measurand in the engine (Wh for energy, W for power, A, V, Percent...).
    """

    measurand: str = "Energy.Active.Import.Register"
    value: Decimal | float | int | str = 0
    unit: str | None = None
    phase: str | None = None
    location: str | None = None
    format: str | None = None


def readings(values: Sequence[Reading] | dict[str, Any]) -> tuple[Reading, ...]:
    """Readings from a sequence of Reading or a {measurand: value} mapping."""
    if isinstance(values, dict):
        return tuple(Reading(measurand=k, value=v) for k, v in values.items())
    return tuple(values)


@attrs.frozen
class SessionLog:
    """Where a session's message log goes (session_logging)."""

    session_id: str
    folder: Path
