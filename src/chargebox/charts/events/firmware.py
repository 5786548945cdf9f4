"""The events of statecharts/firmware.yaml: UpdateFirmware and SignedUpdateFirmware."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from chargebox.charts.events.base import ChartEvent


@attrs.frozen
class FirmwareEvent(ChartEvent):
    """An event of the firmware update's chart."""

    chart: ClassVar[str] = "firmware"


@attrs.frozen(kw_only=True)
class UpdateRequested(FirmwareEvent):
    """UpdateFirmware or SignedUpdateFirmware (its signing certificate checked)."""

    trigger: ClassVar[str] = "update_requested"
    #: the URI to download the firmware from
    location: str
    #: when the download may start (an aware UTC datetime)
    retrieve_date: datetime
    retries: int | None = None
    retry_interval: int | None = None
    #: retrieve_date lies in the future (a signed update reports DownloadScheduled)
    scheduled: bool = False
    #: a SignedUpdateFirmware (notifications are SignedFirmwareStatusNotification)
    signed: bool = False
    request_id: int | None = None
    install_date: datetime | None = None
    signing_certificate: str | None = None
    signature: str | None = None


@attrs.frozen(kw_only=True)
class RetrieveDateReached(FirmwareEvent):
    """Timer: retrieveDate has come."""

    trigger: ClassVar[str] = "retrieve_date_reached"


@attrs.frozen(kw_only=True)
class DownloadSucceeded(FirmwareEvent):
    """The host downloaded the firmware."""

    trigger: ClassVar[str] = "download_succeeded"


@attrs.frozen(kw_only=True)
class DownloadFailed(FirmwareEvent):
    """The host could not download the firmware."""

    trigger: ClassVar[str] = "download_failed"


@attrs.frozen(kw_only=True)
class RetryDue(FirmwareEvent):
    """Timer: time for the next download attempt."""

    trigger: ClassVar[str] = "retry_due"


@attrs.frozen(kw_only=True)
class SignatureVerified(FirmwareEvent):
    """The downloaded file's signature is valid."""

    trigger: ClassVar[str] = "signature_verified"
    #: the station clock's time: an installDateTime not after it is not waited for
    now: datetime | None = None


@attrs.frozen(kw_only=True)
class SignatureInvalid(FirmwareEvent):
    """The downloaded file's signature is not valid."""

    trigger: ClassVar[str] = "signature_invalid"
    #: what is wrong (the security event's techInfo)
    reason: str | None = None


@attrs.frozen(kw_only=True)
class InstallDateReached(FirmwareEvent):
    """Timer: installDateTime has come."""

    trigger: ClassVar[str] = "install_date_reached"


@attrs.frozen(kw_only=True)
class TransactionsChanged(FirmwareEvent):
    """The station: whether a transaction runs, or waits to start, on some connector."""

    trigger: ClassVar[str] = "transactions_changed"
    running: bool


@attrs.frozen(kw_only=True)
class InstallSucceeded(FirmwareEvent):
    """The host installed the firmware."""

    trigger: ClassVar[str] = "install_succeeded"


@attrs.frozen(kw_only=True)
class InstallFailed(FirmwareEvent):
    """The host could not install the firmware."""

    trigger: ClassVar[str] = "install_failed"


@attrs.frozen(kw_only=True)
class Restarted(FirmwareEvent):
    """The station started with this procedure restored from the store."""

    trigger: ClassVar[str] = "restarted"


@attrs.frozen(kw_only=True)
class RegistrationAccepted(FirmwareEvent):
    """The first BootNotification after the start was Accepted."""

    trigger: ClassVar[str] = "registration_accepted"
