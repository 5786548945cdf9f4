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

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

from chargebox.ocpp.v16 import DataTransferStatus
from chargebox.pki.contract import ContractValidation

log = logging.getLogger(__name__)


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
    BootNotification of the next start; the engine keeps the procedure in its
    store and reports Installed once that BootNotification is Accepted.

    A signed update (SignedUpdateFirmware) is verified by the engine between
    the download and the installation: it reads the file `firmware_file`
    names and checks the signature with the signing certificate, which must
    be issued by a ManufacturerRootCertificate of the certificate store. A
    port without `firmware_file` cannot take signed updates (InvalidSignature).
    """

    async def download_firmware(self, location: str) -> bool:
        """One attempt to fetch the firmware at `location`; True once it is stored."""

    async def install_firmware(self) -> bool:
        """Install the downloaded firmware; True on success."""

    async def firmware_file(self) -> Path | None:
        """The downloaded file (for the signature check of a signed update); None if none.
        Optional."""


class LogUploadFailure(StrEnum):
    """Why an upload attempt failed, as precisely as the host knows (UploadLogStatusEnumType,
    whitepaper N01.FR.10). GetLog reports the last attempt's; GetDiagnostics has only
    UploadFailed."""

    UploadFailure = "UploadFailure"
    #: a badly formatted packet or another protocol incompatibility
    BadMessage = "BadMessage"
    #: the server refused the credentials (for example HTTP 401/403, FTP 530)
    PermissionDenied = "PermissionDenied"
    #: the server (or the station) does not support the operation (for example the scheme)
    NotSupportedOperation = "NotSupportedOperation"


#: what an upload attempt returns: True when the file arrived, else False or why not
UploadResult = bool | LogUploadFailure


@runtime_checkable
class DiagnosticsPort(Protocol):
    """Diagnostics and log uploads (GetDiagnostics, GetLog); the engine retries, the host transfers.

    GetLog's DiagnosticsLog is prepared and uploaded like GetDiagnostics' file;
    its SecurityLog is written by the engine (from the message log's security
    file) and handed to `upload_log_file`, without which GetLog SecurityLog is
    Rejected. An upload the engine cancels (a new GetLog) is a trio cancellation
    of the port's coroutine.
    """

    async def diagnostics_file(
        self, start_time: datetime | None, stop_time: datetime | None
    ) -> str | None:
        """Prepare the diagnostics of that period; its file name, or None when there is none."""

    async def upload_diagnostics(self, location: str, file_name: str) -> UploadResult:
        """One attempt to upload the prepared file to `location`; True when it arrived,
        False or a LogUploadFailure when not."""

    async def upload_log_file(self, location: str, path: Path) -> UploadResult:
        """Optional (GetLog SecurityLog): one attempt to upload the file at `path`, which
        the engine wrote, to `location`; True when it arrived, False or a LogUploadFailure
        when not."""


# -- the certificate store (security whitepaper: A02/A03, M03-M05) --------------------------


class CertificateUse(StrEnum):
    """The kinds of CA certificate the Central System installs: 1.6's CertificateUseEnumType,
    and the ISO 15118 roots Plug&Charge installs (2.0.1's InstallCertificateUseEnumType)."""

    CentralSystemRootCertificate = "CentralSystemRootCertificate"
    ManufacturerRootCertificate = "ManufacturerRootCertificate"
    #: the root of the V2G PKI: the station's SECC certificate chains to it
    V2GRootCertificate = "V2GRootCertificate"
    #: a mobility operator's root: contract certificates chain to it
    MORootCertificate = "MORootCertificate"

    @classmethod
    def parse(cls, name: str) -> CertificateUse:
        """The use a 1.6 or 2.0.1 name stands for (2.0.1 says CSMSRootCertificate);
        ValueError naming the allowed ones."""
        try:
            return cls(_V201_USE_NAMES.get(name, name))
        except ValueError:
            allowed = ", ".join([*cls, *_V201_USE_NAMES])
            raise ValueError(f"certificate use {name!r}: allowed are {allowed}") from None


_V201_USE_NAMES = {"CSMSRootCertificate": "CentralSystemRootCertificate"}


class CertificateIdUse(StrEnum):
    """What Plug&Charge's GetInstalledCertificateIds asks for (2.0.1's
    GetCertificateIdUseEnumType): a kind of root, or the station's V2G certificate chain."""

    V2GRootCertificate = "V2GRootCertificate"
    MORootCertificate = "MORootCertificate"
    CSMSRootCertificate = "CSMSRootCertificate"
    V2GCertificateChain = "V2GCertificateChain"
    ManufacturerRootCertificate = "ManufacturerRootCertificate"

    @property
    def root_use(self) -> CertificateUse | None:
        """The CA certificates of this kind; None for the V2G certificate chain."""
        if self is CertificateIdUse.V2GCertificateChain:
            return None
        return CertificateUse.parse(self.value)


class HashAlgorithm(StrEnum):
    """How CertificateHashData is hashed (HashAlgorithmEnumType)."""

    SHA256 = "SHA256"
    SHA384 = "SHA384"
    SHA512 = "SHA512"


@attrs.frozen
class CertificateHashData:
    """What identifies an installed certificate (whitepaper 6.1, after OCSP's CertID, RFC 6960).

    `issuer_name_hash`: hash of the DER of the certificate's issuer name;
    `issuer_key_hash`: hash of the issuer's public key (the BIT STRING's value);
    `serial_number`: hexadecimal, no leading zeroes. The hashes are hexadecimal too.
    """

    hash_algorithm: HashAlgorithm
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def matches(self, other: CertificateHashData) -> bool:
        """The same certificate: the fields are case-insensitive strings (CiString)."""
        return (
            self.hash_algorithm == other.hash_algorithm
            and self.issuer_name_hash.casefold() == other.issuer_name_hash.casefold()
            and self.issuer_key_hash.casefold() == other.issuer_key_hash.casefold()
            and _serial(self.serial_number) == _serial(other.serial_number)
        )


def _serial(hex_serial: str) -> str:
    return hex_serial.casefold().lstrip("0")


@attrs.frozen
class TlsFiles:
    """The files the link's TLS uses, as the certificate store has them now (None: none)."""

    #: PEM bundle of the installed CentralSystemRootCertificates
    ca_bundle: Path | None = None
    #: the charge point certificate chain in use (PEM) and its private key
    client_cert: Path | None = None
    client_key: Path | None = None


@attrs.frozen
class CertificateHashDataChain:
    """A certificate and the sub-CA certificates under it (2.0.1 CertificateHashDataChainType):
    for a root, the root alone; for the V2G certificate chain, the SECC leaf and its sub-CAs."""

    certificate_type: CertificateIdUse
    certificate_hash_data: CertificateHashData
    child_certificate_hash_data: tuple[CertificateHashData, ...] = ()


@attrs.frozen
class OcspRequestData:
    """What a station asks an OCSP responder about one certificate (2.0.1
    OCSPRequestDataType): its hash data and the responder's URL."""

    hash_data: CertificateHashData
    responder_url: str


@attrs.frozen
class OcspCacheEntry:
    """An OCSP response kept for a certificate, and when it was fetched."""

    hash_data: CertificateHashData
    response: bytes = attrs.field(repr=False)
    fetched_at: datetime


class InvalidCertificate(ValueError):
    """A certificate the store refuses: bad PEM, expired, not a CA, not from a trusted root...

    The message says which and why; the engine answers Rejected (and, for the
    charge point certificate, records an InvalidChargePointCertificate security event).
    """


@runtime_checkable
class CertificateStore(Protocol):
    """The station's certificates (EVerest: the security module's certificate store).

    Keeps the CA certificates the Central System installs, the charge point
    certificate and its private key (the key never leaves the store, whitepaper
    A02.FR.05). `chargebox.certstore.FileCertificateStore` is a ready-made
    one in a folder of PEM files. A refusal because of the certificate itself
    raises `InvalidCertificate`; any other exception is a failure of the store.
    """

    async def install_ca_certificate(self, use: CertificateUse, pem: str) -> CertificateHashData:
        """Install a CA certificate of `use` (InstallCertificate); its hash data.

        Raise InvalidCertificate for bad PEM, a certificate that is not valid now,
        or one that is not a CA certificate.
        """

    async def delete_certificate(self, hash_data: CertificateHashData) -> CertificateUse | None:
        """Delete the CA certificate with this hash data (DeleteCertificate); its use, or
        None when no installed CA certificate has it."""

    async def installed_certificates(
        self, use: CertificateUse, algorithm: HashAlgorithm = HashAlgorithm.SHA256
    ) -> list[CertificateHashData]:
        """The hash data (by `algorithm`) of every installed CA certificate of `use`."""

    async def certificate_signing_request(self, common_name: str, organization: str | None) -> str:
        """A new key pair for the charge point certificate, kept in the store, and a PEM
        certificate signing request for it (CN: the charge point's identity, O: CpoName)."""

    async def install_charge_point_certificate(self, chain_pem: str) -> None:
        """Install a signed charge point certificate (CertificateSigned): the leaf first,
        then any sub-CA certificates. It must be valid now, belong to the key of the last
        signing request, and chain up to an installed CentralSystemRootCertificate;
        otherwise raise InvalidCertificate."""

    def tls_files(self) -> TlsFiles:
        """The files the link's TLS uses now. Not a coroutine: read at every connection."""


@runtime_checkable
class Iso15118CertificateStore(CertificateStore, Protocol):
    """A certificate store that also serves Plug&Charge (ISO 15118 over DataTransfer).

    Besides the CertificateStore's work it keeps the V2G roots and MO roots
    (CertificateUse.V2GRootCertificate, MORootCertificate, installed with
    `install_ca_certificate`), the station's V2G (SECC) certificate and its key,
    validates contract certificates, and caches OCSP responses.
    `FileCertificateStore` is one.
    """

    async def v2g_certificate_signing_request(
        self, common_name: str, organization: str | None, country: str | None
    ) -> str:
        """A new key pair for the V2G certificate, kept in the store, and a PEM signing
        request for it (CN: the SECC's id, O: the CPO, C: its country, DC: CPO)."""

    async def install_v2g_certificate(self, chain_pem: str) -> None:
        """Install a signed V2G certificate (CertificateSigned with V2GCertificate): the leaf
        first, then its sub-CAs. It must be valid now, not a CA, belong to the key of the
        last V2G signing request, and chain to an installed V2GRootCertificate; otherwise
        raise InvalidCertificate."""

    async def installed_certificate_chains(
        self, uses: Sequence[CertificateIdUse], algorithm: HashAlgorithm = HashAlgorithm.SHA256
    ) -> list[CertificateHashDataChain]:
        """The hash data of the installed roots of `uses` and, for V2GCertificateChain, of
        the current V2G certificate with its sub-CAs (every use when `uses` is empty)."""

    async def verify_contract(self, chain_pem: str, emaid: str | None = None) -> ContractValidation:
        """Validate a contract certificate chain against the installed MO and V2G roots at
        the store's time, with the revocation statuses of its OCSP cache: the verdict says
        `ok` or the problem, in one line, and maps onto 2.0.1's statuses."""

    async def v2g_ocsp_request_data(self) -> list[OcspRequestData]:
        """What to ask the OCSP responder about the current V2G certificate and its sub-CAs."""

    async def contract_ocsp_request_data(self, chain_pem: str) -> list[OcspRequestData]:
        """What to ask the OCSP responder about a contract certificate and its sub-CAs
        (Authorize's iso15118CertificateHashData)."""

    async def update_ocsp_cache(self, hash_data: CertificateHashData, response: bytes) -> None:
        """Keep a DER OCSP response (GetCertificateStatus' ocspResult, decoded) for the
        certificate, with the time it was fetched."""

    async def ocsp_cache(self, hash_data: CertificateHashData) -> OcspCacheEntry | None:
        """The OCSP response kept for the certificate, if any."""

    def v2g_certificate_files(self) -> tuple[Path, Path] | None:
        """(PEM chain, key) of the V2G certificate in use, for the host's ISO 15118 TLS;
        None when there is none."""


# -- Plug&Charge: the ISO 15118 stack (EVerest: iso15118_charger, evse_manager) --------------


@attrs.frozen
class ContractAuthorization:
    """The verdict on a contract an EV presented (Plug&Charge), as OCPP 2.0.1's
    AuthorizeResponse says it: what the ISO 15118 stack answers the EV (AuthorizationRes).

    `status` is an AuthorizationStatusEnumType value (Accepted, Invalid, Expired,
    NotAtThisTime, Unknown, ...); `certificate_status` an
    AuthorizeCertificateStatusEnumType value (Accepted, CertificateExpired,
    CertificateRevoked, CertChainError, ...) when a certificate was checked.
    `source` says who decided: "csms" (DataTransfer Authorize), "local" (the
    contract validated by the station offline, the eMAID looked up in the local
    list and cache) or "station" (refused before anything was checked: Plug&Charge
    disabled, no certificate, offline without ContractValidationOffline).
    `reason` says why, in one line.
    """

    emaid: str
    status: str
    certificate_status: str | None = None
    source: str = "csms"
    reason: str = ""
    #: the eMAID's group (idTokenInfo.groupIdToken), when the Central System gave one
    group_id_token: str | None = None

    @property
    def accepted(self) -> bool:
        """The EV may charge: the eMAID Accepted, and its certificate too when it was checked."""
        return self.status == "Accepted" and self.certificate_status in (None, "Accepted")


@attrs.frozen
class EvCertificateResponse:
    """The Central System's answer to an EV's certificate request (Get15118EVCertificate):
    `status` Accepted or Failed, `exi_response` the base64 of the
    CertificateInstallationRes (or CertificateUpdateRes) to hand to the EV (empty when
    there is none), `reason` why it failed, in one line."""

    status: str
    exi_response: str = ""
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == "Accepted"


@runtime_checkable
class Iso15118Port(Protocol):
    """The station's ISO 15118 stack (EVerest: iso15118_charger), told what the engine
    decided for the requests it made through the handle (`contract_presented`,
    `ev_certificate_requested`). Each method is optional; the engine logs what it could
    not tell."""

    async def authorization_response(
        self, connector_id: int, result: ContractAuthorization
    ) -> None:
        """The verdict on the contract presented at `connector_id` (AuthorizationRes). An
        Accepted contract also authorizes the connector (`EvseControl.authorize` with the
        eMAID as idTag)."""

    async def certificate_response(
        self, connector_id: int, response: EvCertificateResponse
    ) -> None:
        """The answer to the EV's CertificateInstallationReq or CertificateUpdateReq."""

    async def v2g_certificate_changed(self, chain: Path, key: Path) -> None:
        """A new V2G (SECC) certificate is installed: the files its TLS uses from now on."""


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
        the host does not know. `DataTransferHandlers` is a ready-made port that
        does so from handlers registered by vendorId and messageId.
        """


#: what a DataTransfer handler returns: (DataTransferStatus, data)
DataTransferAnswer = tuple[str, str | None]
#: `handler(message_id, data)`, a coroutine function or a plain function
DataTransferHandler = Callable[
    [str | None, str | None], DataTransferAnswer | Awaitable[DataTransferAnswer]
]


class DataTransferHandlers:
    """A DataTransferPort that answers from handlers registered by vendorId and messageId.

        handlers = DataTransferHandlers()
        handlers.on("com.example", "GetTariff", get_tariff)  # one message of a vendor
        handlers.on("com.example.display", None, show)       # every message of a vendor
        host = Host(evse=evse, data_transfer=handlers)

    A handler gets (messageId, data) and returns (DataTransferStatus, data). A
    message's own handler comes first, then its vendor's; a vendor without any
    handler is answered UnknownVendorId, a message of a known vendor without
    one UnknownMessageId. vendorId and messageId are CiStrings: they compare
    case-insensitively. A handler that raises, or returns a status OCPP does
    not have, is logged and the answer is Rejected.
    """

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str | None], DataTransferHandler] = {}

    def on(self, vendor_id: str, message_id: str | None, handler: DataTransferHandler) -> None:
        """Answer DataTransfer of `vendor_id` and `message_id` (None: any of the vendor's)."""
        key = (vendor_id.casefold(), None if message_id is None else message_id.casefold())
        self._handlers[key] = handler

    def handler(self, vendor_id: str, message_id: str | None) -> DataTransferHandler | None:
        """The handler that answers this vendorId and messageId, if any."""
        vendor = vendor_id.casefold()
        if message_id is not None and (vendor, message_id.casefold()) in self._handlers:
            return self._handlers[(vendor, message_id.casefold())]
        return self._handlers.get((vendor, None))

    def knows_vendor(self, vendor_id: str) -> bool:
        vendor = vendor_id.casefold()
        return any(known == vendor for known, _ in self._handlers)

    async def data_transfer(
        self, vendor_id: str, message_id: str | None, data: str | None
    ) -> tuple[str, str | None]:
        handler = self.handler(vendor_id, message_id)
        if handler is None:
            if self.knows_vendor(vendor_id):
                return DataTransferStatus.UnknownMessageId, None
            return DataTransferStatus.UnknownVendorId, None
        try:
            answer = handler(message_id, data)
            if isinstance(answer, Awaitable):
                answer = await answer
            status, reply = answer
            return DataTransferStatus(status), reply
        except Exception:
            log.exception(
                "the DataTransfer handler of vendorId %r, messageId %r failed: answered Rejected",
                vendor_id,
                message_id,
            )
            return DataTransferStatus.Rejected, None


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
    certificates: CertificateStore | None = None
    #: the ISO 15118 stack (Plug&Charge), told the engine's answers to its requests
    iso15118: Iso15118Port | None = None


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
