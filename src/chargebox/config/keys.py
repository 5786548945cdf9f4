"""The built-in configuration keys: one declarative row per key, the single source of truth.

The schemas in config/schemas/ and the key tables in docs/configuration.md are
generated from this table (`python -m chargebox.config.generate`); a test fails when
they are stale. Facts come from OCPP 1.6 chapter 9, the security whitepaper
(chapter 7) and libocpp's profile schemas; where chargebox departs from libocpp the
row's doc says so and docs/configuration.md explains why.
"""

from __future__ import annotations

from typing import Any

from chargebox.config import checks
from chargebox.config.spec import Access, Effect, KeySpec, ValueType

BOOL, INT, NUM, STR, ARR, OBJ = (
    ValueType.BOOLEAN,
    ValueType.INTEGER,
    ValueType.NUMBER,
    ValueType.STRING,
    ValueType.ARRAY,
    ValueType.OBJECT,
)
RO, RW, WO, HIDDEN = Access.READ_ONLY, Access.READ_WRITE, Access.WRITE_ONLY, Access.HIDDEN


def k(name: str, type: ValueType, access: Access, doc: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "type": type, "access": access, "doc": doc, **more}


def section(name: str, *rows: dict[str, Any]) -> tuple[KeySpec, ...]:
    return tuple(KeySpec(section=name, **row) for row in rows)


_PRICE_TEXT = {
    "type": "object",
    "required": ["priceText"],
    "properties": {
        "priceText": {"type": "string", "minLength": 1},
        "priceTextOffline": {"type": "string", "minLength": 1},
    },
}
DEFAULT_PRICE_SHAPE = {
    "type": "object",
    "required": ["priceText"],
    "properties": {
        "priceText": {"type": "string", "minLength": 1},
        "priceTextOffline": {"type": "string", "minLength": 1},
        "chargingPrice": {
            "type": "object",
            "properties": {
                "kWhPrice": {"type": "number"},
                "hourPrice": {"type": "number"},
                "flatFee": {"type": "number"},
            },
        },
    },
}
DEFAULT_PRICE_TEXT_SHAPE = {
    "type": "object",
    "required": ["priceTexts"],
    "properties": {
        "priceTexts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["priceText", "language"],
                "properties": {
                    **_PRICE_TEXT["properties"],
                    "language": {"type": "string", "minLength": 2},
                },
            },
        }
    },
}
# one DefaultPriceText,<language> value as the CSMS reads and writes it
PRICE_TEXT_SHAPE = _PRICE_TEXT

INTERNAL = section(
    "Internal",
    k(
        "ChargePointId",
        STR,
        RO,
        "Charge point identity: the last path segment of the "
        "websocket URL and the HTTP Basic user name.",
        required=True,
        min_length=1,
    ),
    k(
        "CentralSystemURI",
        STR,
        RO,
        "CSMS endpoint, host[:port]/path. The link prepends ws:// "
        "(profiles 0, 1) or wss:// (2, 3) and appends ChargePointId when the path does not end "
        "with it; a scheme, if written, must agree with SecurityProfile.",
        required=True,
        min_length=1,
        check=checks.central_system_uri,
        depends_on=("SecurityProfile",),
    ),
    k(
        "ChargeBoxSerialNumber",
        STR,
        RO,
        "BootNotification chargeBoxSerialNumber.",
        required=True,
        min_length=1,
        max_length=25,
    ),
    k(
        "ChargePointModel",
        STR,
        RO,
        "BootNotification chargePointModel.",
        required=True,
        min_length=1,
        max_length=20,
    ),
    k(
        "ChargePointSerialNumber",
        STR,
        RO,
        "BootNotification chargePointSerialNumber.",
        min_length=1,
        max_length=25,
    ),
    k(
        "ChargePointVendor",
        STR,
        RO,
        "BootNotification chargePointVendor.",
        required=True,
        min_length=1,
        max_length=20,
    ),
    k(
        "FirmwareVersion",
        STR,
        RO,
        "BootNotification firmwareVersion.",
        required=True,
        min_length=1,
        max_length=50,
    ),
    k("ICCID", STR, RO, "BootNotification iccid.", min_length=1, max_length=20),
    k(
        "HostName",
        STR,
        RO,
        "Sent by the link as the User-Host header of the websocket handshake.",
        min_length=1,
    ),
    k(
        "IFace",
        STR,
        HIDDEN,
        "Network interface the link binds the websocket to; not exposed over OCPP.",
        min_length=1,
    ),
    k("IMSI", STR, RO, "BootNotification imsi.", min_length=1, max_length=20),
    k(
        "MeterSerialNumber",
        STR,
        RO,
        "BootNotification meterSerialNumber.",
        min_length=1,
        max_length=25,
    ),
    k("MeterType", STR, RO, "BootNotification meterType.", min_length=1, max_length=25),
    k(
        "SupportedCiphers12",
        ARR,
        RO,
        "TLS 1.2 cipher list (OpenSSL names) the link offers for profiles 2 and 3.",
        default=(
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "AES128-GCM-SHA256",
            "AES256-GCM-SHA384",
        ),
    ),
    k(
        "SupportedCiphers13",
        ARR,
        RO,
        "TLS 1.3 cipher suites wanted. Python's ssl module cannot choose TLS 1.3 suites: "
        "OpenSSL's own (all AEAD) are offered, and a warning names them when they differ.",
        default=("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"),
    ),
    k(
        "UseTPM",
        BOOL,
        HIDDEN,
        "Keep the CSMS client key in a TPM (host security port).",
        default=False,
    ),
    k(
        "UseTPMSeccLeafCertificate",
        BOOL,
        HIDDEN,
        "Keep the SECC leaf key in a TPM (host security port).",
        default=False,
    ),
    k(
        "RetryBackoffRandomRange",
        INT,
        RW,
        "Reconnect jitter: up to this many seconds are added "
        "to each reconnect delay. Settable (libocpp reports it writable but has no setter).",
        default=10,
        minimum=0,
        effect=Effect.RETRY_BACKOFF,
    ),
    k(
        "RetryBackoffRepeatTimes",
        INT,
        RW,
        "How many times the reconnect delay doubles before it stays constant.",
        default=3,
        minimum=0,
        effect=Effect.RETRY_BACKOFF,
    ),
    k(
        "RetryBackoffWaitMinimum",
        INT,
        RW,
        "First reconnect delay in seconds.",
        default=3,
        minimum=0,
        effect=Effect.RETRY_BACKOFF,
    ),
    k(
        "AuthorizeConnectorZeroOnConnectorOne",
        BOOL,
        RO,
        "With one connector, an idTag authorized for connector 0 is used on connector 1.",
        default=True,
    ),
    k("LogMessages", BOOL, RO, "Write the OCPP message log.", default=True),
    k("LogMessagesRaw", BOOL, RO, "Also log frames that could not be parsed.", default=False),
    k(
        "LogMessagesFormat",
        ARR,
        RO,
        "Message-log sinks to enable.",
        default=("log", "html", "session_logging", "security"),
        enum=checks.LOG_FORMATS,
    ),
    k("LogRotation", BOOL, HIDDEN, "Rotate the message log files.", default=False),
    k(
        "LogRotationDateSuffix",
        BOOL,
        HIDDEN,
        "Rotated files get a date suffix instead of .0, .1.",
        default=False,
    ),
    k(
        "LogRotationMaximumFileSize",
        INT,
        HIDDEN,
        "Rotate after this many bytes (0: never).",
        default=0,
        minimum=0,
    ),
    k(
        "LogRotationMaximumFileCount",
        INT,
        HIDDEN,
        "Keep this many rotated files (0: no limit).",
        default=0,
        minimum=0,
    ),
    k(
        "SupportedChargingProfilePurposeTypes",
        ARR,
        RO,
        "SetChargingProfile with another purpose is Rejected.",
        default=checks.CHARGING_PROFILE_PURPOSES,
        enum=checks.CHARGING_PROFILE_PURPOSES,
    ),
    k(
        "IgnoredProfilePurposesOffline",
        STR,
        RW,
        "Charging profile purposes left out of the composite schedule while offline (CSV).",
        check=checks.csv_of(checks.CHARGING_PROFILE_PURPOSES, "a charging profile purpose"),
    ),
    k(
        "MaxCompositeScheduleDuration",
        INT,
        RO,
        "GetCompositeSchedule durations are clamped to this many seconds.",
        default=31536000,
        minimum=0,
    ),
    k(
        "CompositeScheduleDefaultLimitAmps",
        NUM,
        RW,
        "Limit (A) for composite-schedule periods that no profile limits.",
        default=48,
        minimum=0,
    ),
    k(
        "CompositeScheduleDefaultLimitWatts",
        NUM,
        RW,
        "Limit (W) for composite-schedule periods that no profile limits.",
        default=33120,
        minimum=0,
    ),
    k(
        "CompositeScheduleDefaultNumberPhases",
        NUM,
        RW,
        "Phases assumed when converting between A and W.",
        default=3,
        minimum=1,
        maximum=3,
        check=checks.whole_number,
    ),
    k(
        "SupplyVoltage",
        NUM,
        RW,
        "Voltage used when converting between A and W.",
        default=230,
        minimum=0,
    ),
    k(
        "WebsocketPingPayload",
        STR,
        RO,
        "Payload of the link's websocket pings.",
        default="hello there",
    ),
    k(
        "WebsocketPongTimeout",
        INT,
        RO,
        "Seconds the link waits for a pong before it closes and reconnects.",
        default=5,
        minimum=0,
    ),
    k(
        "UseSslDefaultVerifyPaths",
        BOOL,
        RO,
        "Also trust the system CA store for the CSMS certificate.",
        default=True,
    ),
    k(
        "VerifyCsmsCommonName",
        BOOL,
        RO,
        "Check that the CSMS certificate names the CSMS host.",
        default=True,
    ),
    k(
        "VerifyCsmsAllowWildcards",
        BOOL,
        RO,
        "Accept wildcard names in the CSMS certificate. "
        "Read-only, as libocpp reports it (its schema says writable): a CSMS must not be able "
        "to weaken TLS checks.",
        default=False,
    ),
    k(
        "OcspRequestInterval",
        INT,
        RW,
        "Seconds after which a cached OCSP answer of the V2G certificate chain is asked for "
        "again (Plug&Charge; looked at every 12 hours).",
        default=604800,
        minimum=86400,
        effect=Effect.OCSP_REQUEST_INTERVAL,
    ),
    k(
        "SeccLeafSubjectCommonName",
        STR,
        RW,
        "CN of the SECC leaf certificate request.",
        min_length=7,
        max_length=64,
    ),
    k(
        "SeccLeafSubjectCountry",
        STR,
        RW,
        "C of the SECC leaf certificate request.",
        min_length=2,
        max_length=2,
    ),
    k(
        "SeccLeafSubjectOrganization",
        STR,
        RW,
        "O of the SECC leaf certificate request.",
        min_length=0,
        max_length=64,
    ),
    k(
        "ConnectorEvseIds",
        STR,
        RW,
        "EVSE IDs of connectors 1, 2, ... (CSV, each 7 to 37 "
        "characters), for the host's ISO 15118 stack.",
        min_length=7,
        max_length=1000,
        check=checks.connector_evse_ids,
        depends_on=("NumberOfConnectors",),
    ),
    k(
        "AllowChargingProfileWithoutStartSchedule",
        BOOL,
        RW,
        "Accept Absolute/Recurring profiles without startSchedule, starting them now.",
    ),
    k(
        "WaitForStopTransactionsOnResetTimeout",
        INT,
        RW,
        "Reset waits this many seconds for StopTransaction.conf before resetting.",
        default=60,
        minimum=0,
    ),
    k(
        "QueueAllMessages",
        BOOL,
        RO,
        "Also queue (and persist) non-transaction messages while offline.",
    ),
    k(
        "MessageTypesDiscardForQueueing",
        STR,
        RO,
        "Messages never queued although QueueAllMessages is true (CSV of actions).",
        check=checks.csv_of(checks.CHARGE_POINT_ACTIONS, "a message the charge point sends"),
    ),
    k(
        "MessageQueueSizeThreshold",
        INT,
        RO,
        "Queue length at which the outbox starts dropping non-transaction messages.",
        minimum=1,
    ),
    k(
        "SupportedMeasurands",
        STR,
        RO,
        "Measurands the meter provides; the *Data keys may only name these.",
        default="Energy.Active.Import.Register,Energy.Active.Export."
        "Register,Power.Active.Import,Voltage,Current.Import,Frequency,Current.Offered,"
        "Power.Offered,SoC",
        check=checks.supported_measurands,
    ),
    k(
        "MaxMessageSize",
        INT,
        RO,
        "Largest frame (bytes) the link sends; StopTransaction transactionData is thinned to fit.",
        default=65000,
        minimum=32000,
    ),
    k(
        "TLSKeylogFile",
        STR,
        HIDDEN,
        "Where TLS session keys are written when EnableTLSKeylog is true (debugging).",
        default="/tmp/ocpp_tls_keylog.txt",
    ),
    k("EnableTLSKeylog", BOOL, HIDDEN, "Write TLS session keys to TLSKeylogFile.", default=False),
    k(
        "StopTransactionIfUnlockNotSupported",
        BOOL,
        RW,
        "UnlockConnector on a connector without a lock stops its transaction.",
        default=False,
    ),
    k(
        "MeterPublicKeys",
        ARR,
        RO,
        "Public key of each connector's meter, set by the host; "
        "reported as MeterPublicKey[n] for connector n.",
    ),
)

CORE = section(
    "Core",
    k("AllowOfflineTxForUnknownId", BOOL, RW, "Offline, start transactions for unknown idTags."),
    k(
        "AuthorizationCacheEnabled",
        BOOL,
        RW,
        "Use the authorization cache; ClearCache is answered Rejected when absent.",
    ),
    k(
        "AuthorizeRemoteTxRequests",
        BOOL,
        RW,
        "Authorize the idTag of RemoteStartTransaction before starting.",
        required=True,
    ),
    k("BlinkRepeat", INT, RW, "Reported; for the host's lighting.", minimum=0),
    k(
        "ClockAlignedDataInterval",
        INT,
        RW,
        "Seconds between clock-aligned meter values, aligned to midnight UTC (0: none).",
        required=True,
        minimum=0,
        effect=Effect.REARM_ALIGNED_METER_VALUES,
    ),
    k(
        "ConnectionTimeOut",
        INT,
        RW,
        "Seconds from Preparing until an unplugged session is cancelled; forwarded to the host.",
        required=True,
        minimum=0,
        effect=Effect.CONNECTION_TIMEOUT,
    ),
    k(
        "ConnectorPhaseRotation",
        STR,
        RW,
        "Reported; <connector>.<rotation> per connector.",
        required=True,
        check=checks.connector_phase_rotation,
        depends_on=("NumberOfConnectors", "ConnectorPhaseRotationMaxLength"),
        warn_only_at_load=True,
    ),
    k(
        "ConnectorPhaseRotationMaxLength",
        INT,
        RO,
        "Most items in ConnectorPhaseRotation.",
        minimum=0,
    ),
    k(
        "GetConfigurationMaxKeys",
        INT,
        RO,
        "Reported; GetConfiguration answers every key requested.",
        required=True,
        minimum=0,
    ),
    k(
        "HeartbeatInterval",
        INT,
        RW,
        "Seconds of silence after which a Heartbeat is sent; BootNotification.conf overwrites it.",
        required=True,
        minimum=0,
        effect=Effect.REARM_HEARTBEAT,
    ),
    k(
        "LightIntensity",
        INT,
        RW,
        "Reported; for the host's lighting (percent).",
        minimum=0,
        maximum=100,
    ),
    k(
        "LocalAuthorizeOffline",
        BOOL,
        RW,
        "Offline, start transactions for idTags known locally.",
        required=True,
    ),
    k(
        "LocalPreAuthorize",
        BOOL,
        RW,
        "Online, start at once for idTags valid locally, without waiting for Authorize.",
        required=True,
    ),
    k(
        "MaxEnergyOnInvalidId",
        INT,
        RW,
        "Reported; for the host (Wh after an idTag is invalidated).",
        minimum=0,
    ),
    k(
        "MeterValuesAlignedData",
        STR,
        RW,
        "Measurands of clock-aligned MeterValues.",
        required=True,
        check=checks.measurand_list("MeterValuesAlignedDataMaxLength"),
        depends_on=("SupportedMeasurands", "MeterValuesAlignedDataMaxLength"),
    ),
    k(
        "MeterValuesAlignedDataMaxLength",
        INT,
        RO,
        "Most items in MeterValuesAlignedData.",
        minimum=0,
    ),
    k(
        "MeterValuesSampledData",
        STR,
        RW,
        "Measurands of sampled MeterValues during a transaction.",
        required=True,
        check=checks.measurand_list("MeterValuesSampledDataMaxLength"),
        depends_on=("SupportedMeasurands", "MeterValuesSampledDataMaxLength"),
    ),
    k(
        "MeterValuesSampledDataMaxLength",
        INT,
        RO,
        "Most items in MeterValuesSampledData.",
        minimum=0,
    ),
    k(
        "MeterValueSampleInterval",
        INT,
        RW,
        "Seconds between sampled MeterValues of a transaction (0: none).",
        required=True,
        minimum=0,
        effect=Effect.REARM_SAMPLED_METER_VALUES,
    ),
    k(
        "MinimumStatusDuration",
        INT,
        RW,
        "Seconds a connector status must hold before StatusNotification is sent.",
        minimum=0,
    ),
    k(
        "NumberOfConnectors",
        INT,
        RO,
        "Connectors 1..N; connector 0 is the charge point.",
        required=True,
        minimum=0,
    ),
    k(
        "ResetRetries",
        INT,
        RW,
        "Reported; retries of an unsuccessful reset (host).",
        required=True,
        minimum=0,
    ),
    k(
        "StopTransactionOnEVSideDisconnect",
        BOOL,
        RO,
        "Unplugging at the EV stops the "
        "transaction (else SuspendedEV). Read-only, as libocpp and errata 3.80 allow.",
    ),
    k(
        "StopTransactionOnInvalidId",
        BOOL,
        RW,
        "A non-Accepted StartTransaction.conf stops the transaction (else it is only suspended).",
        required=True,
    ),
    k(
        "StopTxnAlignedData",
        STR,
        RW,
        "Clock-aligned measurands kept for StopTransaction transactionData (empty: none).",
        required=True,
        check=checks.measurand_list("StopTxnAlignedDataMaxLength"),
        depends_on=("SupportedMeasurands", "StopTxnAlignedDataMaxLength"),
    ),
    k("StopTxnAlignedDataMaxLength", INT, RO, "Most items in StopTxnAlignedData.", minimum=0),
    k(
        "StopTxnSampledData",
        STR,
        RW,
        "Sampled measurands kept for StopTransaction transactionData (empty: none).",
        required=True,
        check=checks.measurand_list("StopTxnSampledDataMaxLength"),
        depends_on=("SupportedMeasurands", "StopTxnSampledDataMaxLength"),
    ),
    k("StopTxnSampledDataMaxLength", INT, RO, "Most items in StopTxnSampledData.", minimum=0),
    k(
        "SupportedFeatureProfiles",
        STR,
        RO,
        "Profiles offered; must contain Core. Gates which "
        "sections GetConfiguration shows and which CSMS calls are NotSupported.",
        required=True,
        check=checks.csv_of(
            checks.FEATURE_PROFILES,
            "a feature profile",
            must_contain="Core",
            allow_empty=False,
            max_items_key="SupportedFeatureProfilesMaxLength",
        ),
        depends_on=("SupportedFeatureProfilesMaxLength",),
    ),
    k(
        "SupportedFeatureProfilesMaxLength",
        INT,
        RO,
        "Most items in SupportedFeatureProfiles.",
        minimum=0,
    ),
    k(
        "TransactionMessageAttempts",
        INT,
        RW,
        "Attempts for a transaction message the CSMS fails to process.",
        required=True,
        minimum=0,
        effect=Effect.TRANSACTION_RETRY,
    ),
    k(
        "TransactionMessageRetryInterval",
        INT,
        RW,
        "Seconds before the next attempt, multiplied by the attempt number.",
        required=True,
        minimum=0,
        effect=Effect.TRANSACTION_RETRY,
    ),
    k(
        "UnlockConnectorOnEVSideDisconnect",
        BOOL,
        RW,
        "Unplugging at the EV unlocks the connector (host).",
        required=True,
    ),
    k(
        "WebSocketPingInterval",
        INT,
        RW,
        "Seconds between the link's websocket pings (0: "
        "off). Older libocpp files spell it WebsocketPingInterval; that spelling is accepted.",
        minimum=0,
        effect=Effect.PING_INTERVAL,
        aliases=("WebsocketPingInterval",),
    ),
)

FIRMWARE_MANAGEMENT = section(
    "FirmwareManagement",
    k(
        "SupportedFileTransferProtocols",
        STR,
        RO,
        "Reported (errata 3.90): protocols for diagnostics and firmware transfers.",
        check=checks.csv_of(checks.FILE_TRANSFER_PROTOCOLS, "a file transfer protocol"),
    ),
)

SECURITY = section(
    "Security",
    k(
        "AdditionalRootCertificateCheck",
        BOOL,
        RO,
        "Only one CentralSystemRootCertificate "
        "(plus a fallback); a new one must be signed by the old one.",
    ),
    k(
        "AuthorizationKey",
        STR,
        WO,
        "HTTP Basic password for profiles 1 and 2. Write-only: GetConfiguration never reports "
        "it (unknownKey when named). A value of hex pairs stands for the bytes it encodes "
        "(security whitepaper: up to 40 hex digits), any other value for its UTF-8 text. "
        "ChangeConfiguration requires 16 bytes; in the file fewer than 16 are a warning (the "
        "seed's example has 8), fewer than 8 an error with profile 1 or 2.",
        min_length=1,
        max_length=80,
        secret=True,
        settable_when_absent=True,
        check=checks.authorization_key_strength,
        depends_on=("SecurityProfile",),
        warn_only_at_load=True,
        effect=Effect.AUTHORIZATION_KEY,
    ),
    k(
        "CertificateSignedMaxChainSize",
        INT,
        RO,
        "Longest certificateChain (characters) accepted in CertificateSigned (1.6's and "
        "Plug&Charge's).",
        minimum=0,
        maximum=10000,
    ),
    k(
        "CertificateStoreMaxLength",
        INT,
        RO,
        "Most Root/CA certificates InstallCertificate accepts.",
        minimum=0,
    ),
    k(
        "CpoName",
        STR,
        RW,
        "Organization (O) of the charge point certificate request; needed before SignCertificate.",
        min_length=1,
        max_length=64,
        settable_when_absent=True,
    ),
    k(
        "SecurityProfile",
        INT,
        RW,
        "0 plain, 1 Basic auth, 2 TLS + Basic auth, 3 TLS + client "
        "certificate. May only be raised; the link switches and falls back if the new profile "
        "cannot connect.",
        required=True,
        default=0,
        minimum=0,
        maximum=3,
        check=checks.security_profile,
        depends_on=("AuthorizationKey",),
        change_check=checks.security_profile_raise_only,
        effect=Effect.SECURITY_PROFILE,
    ),
    k(
        "DisableSecurityEventNotifications",
        BOOL,
        RW,
        "Security events are logged but not sent to the CSMS.",
        default=False,
    ),
)

LOCAL_AUTH_LIST_MANAGEMENT = section(
    "LocalAuthListManagement",
    k(
        "LocalAuthListEnabled",
        BOOL,
        RW,
        "Use the local list; when false SendLocalList is NotSupported. An answer of the "
        "Central System that contradicts the list is reported on connector 0 with errorCode "
        "LocalListConflict (3.5.2).",
        required=True,
    ),
    k(
        "LocalAuthListMaxLength",
        INT,
        RO,
        "Most entries in the local list.",
        required=True,
        minimum=0,
    ),
    k(
        "SendLocalListMaxLength",
        INT,
        RO,
        "Most entries in one SendLocalList.",
        required=True,
        minimum=0,
    ),
)

SMART_CHARGING = section(
    "SmartCharging",
    k(
        "ChargeProfileMaxStackLevel",
        INT,
        RO,
        "Highest stackLevel SetChargingProfile accepts.",
        required=True,
        minimum=0,
    ),
    k(
        "ChargingScheduleAllowedChargingRateUnit",
        STR,
        RO,
        "Units schedules may use (Current: "
        "A, Power: W); the first is GetCompositeSchedule's default.",
        required=True,
        default="Current,Power",
        check=checks.csv_of(checks.CHARGING_RATE_UNITS, "a charging rate unit", allow_empty=False),
    ),
    k(
        "ChargingScheduleMaxPeriods",
        INT,
        RO,
        "Most periods per charging schedule.",
        required=True,
        default=1440,
        minimum=0,
    ),
    k(
        "ConnectorSwitch3to1PhaseSupported",
        BOOL,
        RO,
        "Reported; the host can switch phases during a transaction.",
    ),
    k(
        "MaxChargingProfilesInstalled",
        INT,
        RO,
        "Most charging profiles installed at once.",
        required=True,
        default=500,
        minimum=0,
    ),
)

RESERVATION = section(
    "Reservation",
    k(
        "ReserveConnectorZeroSupported",
        BOOL,
        RO,
        "ReserveNow for connector 0 is accepted only when true.",
    ),
)

PNC = section(
    "PnC",
    k(
        "ISO15118CertificateManagementEnabled",
        BOOL,
        RW,
        "Plug&Charge certificate management over DataTransfer, with the V2G certificate's "
        "rounds (OCSP answers, renewal).",
        default=False,
        effect=Effect.ISO15118_CERTIFICATE_MANAGEMENT,
    ),
    k(
        "ISO15118PnCEnabled",
        BOOL,
        RW,
        "Plug&Charge authorization (DataTransfer Authorize, Get15118EVCertificate).",
        required=True,
    ),
    k(
        "CentralContractValidationAllowed",
        BOOL,
        RW,
        "A contract chain whose root the charge point does not have is sent to the CSMS in "
        "Authorize (Plug&Charge).",
    ),
    k(
        "CertSigningWaitMinimum",
        INT,
        RW,
        "Seconds to wait for CertificateSigned before SignCertificate is sent again "
        "(doubling each time); with CertSigningRepeatTimes (docs/security.md; the V2G "
        "certificate too).",
        minimum=0,
    ),
    k(
        "CertSigningRepeatTimes",
        INT,
        RW,
        "How many times SignCertificate is sent again without a CertificateSigned.",
        minimum=0,
    ),
    k(
        "ContractValidationOffline",
        BOOL,
        RW,
        "Offline, validate contract certificates locally (without it: NotAtThisTime).",
        required=True,
    ),
)

COST_AND_PRICE = section(
    "CostAndPrice",
    k(
        "CustomDisplayCostAndPrice",
        BOOL,
        RO,
        "Enables the California-pricing DataTransfer messages.",
        required=True,
    ),
    k(
        "NumberOfDecimalsForCostValues",
        INT,
        RO,
        "Decimals of cost values in those messages.",
        minimum=0,
    ),
    k(
        "DefaultPrice",
        OBJ,
        RW,
        "Tariff text (and price) shown for local or offline "
        "authorization; ChangeConfiguration takes it as a JSON object.",
        shape=DEFAULT_PRICE_SHAPE,
        check=checks.object_shape(DEFAULT_PRICE_SHAPE),
        settable_when_absent=True,
    ),
    k(
        "DefaultPriceText",
        OBJ,
        RW,
        "Tariff texts per language; reported and set as "
        "DefaultPriceText,<language> while CustomMultiLanguageMessages is true.",
        shape=DEFAULT_PRICE_TEXT_SHAPE,
        check=checks.all_of(
            checks.object_shape(DEFAULT_PRICE_TEXT_SHAPE), checks.price_texts_languages
        ),
        depends_on=("SupportedLanguages",),
        settable_when_absent=True,
    ),
    k(
        "TimeOffset",
        STR,
        RW,
        "Offset of displayed times from UTC, [+|-]hh:mm.",
        min_length=1,
        max_length=10,
        check=checks.time_offset,
        settable_when_absent=True,
    ),
    k(
        "NextTimeOffsetTransitionDateTime",
        STR,
        RW,
        "When TimeOffset next changes (e.g. daylight saving); must lie in the future when set.",
        min_length=1,
        max_length=40,
        check=checks.date_time,
        change_check=checks.date_time_in_future,
        settable_when_absent=True,
        effect=Effect.TIME_OFFSET_TRANSITION,
    ),
    k(
        "TimeOffsetNextTransition",
        STR,
        RW,
        "TimeOffset from NextTimeOffsetTransitionDateTime on, [+|-]hh:mm.",
        min_length=1,
        max_length=40,
        check=checks.time_offset,
        settable_when_absent=True,
        effect=Effect.TIME_OFFSET_TRANSITION,
    ),
    k(
        "CustomIdleFeeAfterStop",
        BOOL,
        RW,
        "Reported; idle fees may follow the end of a transaction.",
        settable_when_absent=True,
    ),
    k(
        "SupportedLanguages",
        STR,
        RO,
        "Languages of tariff texts (CSV).",
        min_length=1,
        check=checks.language_list,
    ),
    k(
        "CustomMultiLanguageMessages",
        BOOL,
        RO,
        "Tariff texts come per language (DefaultPriceText,<language>).",
    ),
    k(
        "Language",
        STR,
        RW,
        "Default language of tariff texts; one of SupportedLanguages. "
        "Writable as in libocpp's schema (its GetConfiguration reports it read-only).",
        min_length=1,
        check=checks.in_supported_languages,
        depends_on=("SupportedLanguages",),
    ),
    k(
        "WaitForSetUserPriceTimeout",
        INT,
        RW,
        "Milliseconds Authorize waits for the CSMS's SetUserPrice.",
        minimum=0,
        maximum=30000,
        settable_when_absent=True,
    ),
)

# libocpp ships Custom.json without properties: vendors add their own keys, which a
# chargebox host passes as `custom_keys` when it loads the configuration.
CUSTOM: tuple[KeySpec, ...] = ()

BUILTIN_KEYS: tuple[KeySpec, ...] = (
    INTERNAL
    + CORE
    + FIRMWARE_MANAGEMENT
    + SECURITY
    + LOCAL_AUTH_LIST_MANAGEMENT
    + SMART_CHARGING
    + RESERVATION
    + PNC
    + COST_AND_PRICE
    + CUSTOM
)
