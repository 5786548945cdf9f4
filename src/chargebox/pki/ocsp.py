"""OCSP for Plug&Charge: certificate ids, the request data a station sends, a status list
that answers with real OCSP responses, and the check of such a response.

- `CertId` is RFC 6960's CertID as OCPP writes it (whitepaper 6.1, 2.0.1
  CertificateHashDataType): the hash of the DER of the certificate's issuer
  name, the hash of the issuer's public key (the value of its subjectPublicKey
  BIT STRING), and the serial number in hexadecimal without leading zeroes.
- `ocsp_request_data` turns a certificate chain (leaf first) into the
  OCSPRequestDataType list of Authorize and GetCertificateStatus: one entry per
  certificate that is not a root, with the responder URL of its Authority
  Information Access extension.
- `StatusList` is what a development Central System keeps: good, revoked or
  unknown per certificate, and the keys of the CAs that sign the answers.
  `StatusList.response` builds a DER OCSPResponse (RFC 6960) with
  `cryptography`; `read_response` checks one on the station's side.

No HTTP responder: the Central System answers GetCertificateStatus itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from chargebox.ocpp.pnc import (
    CertificateHashDataType,
    HashAlgorithmEnumType,
    OCSPRequestDataType,
)

#: the hash functions OCPP names (HashAlgorithmEnumType), for the CertId hashes
_DIGESTS: dict[str, Callable[[bytes], Any]] = {
    "SHA256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA512": hashlib.sha512,
}
_OCSP_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
#: the longest responderURL OCPP carries (OCSPRequestDataType, string[512])
MAX_RESPONDER_URL = 512


class OcspError(ValueError):
    """An OCSP response that cannot be used; the message says why, in one line."""


# -- certificate ids ----------------------------------------------------------------------


def _der_length(data: bytes, at: int) -> tuple[int, int]:
    """(length, offset of the content) of the DER element whose length octets start at `at`."""
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    return int.from_bytes(data[at + 1 : at + 1 + count], "big"), at + 1 + count


def public_key_bits(cert: x509.Certificate) -> bytes:
    """The value of the certificate's subjectPublicKey BIT STRING (no tag, length or
    unused-bits octet), as RFC 6960 hashes it for issuerKeyHash."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
    #                                     subjectPublicKey BIT STRING }
    _, inner = _der_length(spki, 1)
    algorithm_length, algorithm_content = _der_length(spki, inner + 1)
    bit_string = algorithm_content + algorithm_length
    if spki[bit_string] != 0x03:
        raise ValueError("a SubjectPublicKeyInfo without its BIT STRING")
    length, content = _der_length(spki, bit_string + 1)
    return spki[content + 1 : content + length]  # the first octet counts unused bits


def _algorithm(name: str) -> str:
    text = str(name).upper()
    if text not in _DIGESTS:
        raise ValueError(f"hash algorithm {name!r}: allowed are SHA256, SHA384, SHA512")
    return text


def _serial_hex(serial: int) -> str:
    return format(serial, "X")


@attrs.frozen
class CertId:
    """Which certificate: RFC 6960's CertID as OCPP's hash data writes it (hex strings)."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    @classmethod
    def of(
        cls, cert: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256"
    ) -> CertId:
        """The id of `cert`; `issuer` signed it (the certificate itself for a root)."""
        name = _algorithm(algorithm)
        digest = _DIGESTS[name]
        return cls(
            hash_algorithm=name,
            issuer_name_hash=digest(cert.issuer.public_bytes()).hexdigest(),
            issuer_key_hash=digest(public_key_bits(issuer)).hexdigest(),
            serial_number=_serial_hex(cert.serial_number),
        )

    @classmethod
    def from_wire(cls, data: CertificateHashDataType | OCSPRequestDataType) -> CertId:
        return cls(
            hash_algorithm=str(data.hash_algorithm),
            issuer_name_hash=data.issuer_name_hash,
            issuer_key_hash=data.issuer_key_hash,
            serial_number=data.serial_number,
        )

    @property
    def serial(self) -> int:
        """The serial number as an integer (ValueError when it is not hexadecimal)."""
        try:
            return int(self.serial_number, 16)
        except ValueError:
            raise ValueError(
                f"serialNumber {self.serial_number!r} is not a hexadecimal number"
            ) from None

    def matches(self, other: CertId) -> bool:
        """The same certificate: the hex strings compare case-insensitively, serial numbers
        without leading zeroes (they are CiStrings on the wire)."""
        return (
            self.hash_algorithm.upper() == other.hash_algorithm.upper()
            and self.issuer_name_hash.casefold() == other.issuer_name_hash.casefold()
            and self.issuer_key_hash.casefold() == other.issuer_key_hash.casefold()
            and self.serial_number.casefold().lstrip("0")
            == other.serial_number.casefold().lstrip("0")
        )

    def to_wire(self) -> CertificateHashDataType:
        return CertificateHashDataType(
            hash_algorithm=HashAlgorithmEnumType(self.hash_algorithm),
            issuer_name_hash=self.issuer_name_hash,
            issuer_key_hash=self.issuer_key_hash,
            serial_number=self.serial_number,
        )

    def request_data(self, responder_url: str) -> OCSPRequestDataType:
        return OCSPRequestDataType(
            hash_algorithm=HashAlgorithmEnumType(self.hash_algorithm),
            issuer_name_hash=self.issuer_name_hash,
            issuer_key_hash=self.issuer_key_hash,
            serial_number=self.serial_number,
            responder_url=responder_url,
        )


# -- chains -----------------------------------------------------------------------------


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """`issuer` signed `cert` (names match and the signature verifies)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer and issued_by(cert, cert)


def issuer_among(
    cert: x509.Certificate, candidates: Iterable[x509.Certificate]
) -> x509.Certificate | None:
    """The certificate among `candidates` that signed `cert`, if any."""
    return next((c for c in candidates if issued_by(cert, c)), None)


def responder_url(cert: x509.Certificate) -> str | None:
    """The OCSP responder of the certificate's Authority Information Access, if it has one."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for description in aia:
        if description.access_method == AuthorityInformationAccessOID.OCSP and isinstance(
            description.access_location, x509.UniformResourceIdentifier
        ):
            return description.access_location.value
    return None


def ocsp_request_data(
    chain: Sequence[x509.Certificate],
    roots: Iterable[x509.Certificate] = (),
    algorithm: str = "SHA256",
) -> list[OCSPRequestDataType]:
    """The OCSPRequestDataType of every certificate of `chain` (leaf first) whose status can
    be asked: it is not a root, its issuer is in the chain or among `roots`, and it names
    an OCSP responder (of at most 512 characters). The others are left out."""
    known = [*chain, *roots]
    out = []
    for cert in chain:
        if is_self_signed(cert):
            continue
        issuer = issuer_among(cert, known)
        url = responder_url(cert)
        if issuer is None or url is None or len(url) > MAX_RESPONDER_URL:
            continue
        out.append(CertId.of(cert, issuer, algorithm).request_data(url))
    return out


# -- the status list and its responses ------------------------------------------------------


class CertStatus(StrEnum):
    """What an OCSP responder says about a certificate (RFC 6960 CertStatus)."""

    good = "good"
    revoked = "revoked"
    unknown = "unknown"


_TO_OCSP = {
    CertStatus.good: ocsp.OCSPCertStatus.GOOD,
    CertStatus.revoked: ocsp.OCSPCertStatus.REVOKED,
    CertStatus.unknown: ocsp.OCSPCertStatus.UNKNOWN,
}
_FROM_OCSP = {v: k for k, v in _TO_OCSP.items()}


@attrs.define
class StatusEntry:
    """One certificate of the list and what the responder says about it."""

    certificate: x509.Certificate
    issuer: x509.Certificate
    status: CertStatus = CertStatus.good
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None


@attrs.define
class _Issuer:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey = attrs.field(repr=False)


class StatusList:
    """The statuses an OCSP responder gives: per certificate good, revoked or unknown.

    A CA is added with its key (`add_issuer`): the answers about the certificates
    it issued are signed with that key, which RFC 6960 allows (the CA is its own
    responder). A certificate the list does not hold, of an issuer it knows, is
    `unknown`; a certificate of an issuer it does not know gets no answer at all.
    """

    def __init__(self, validity: timedelta = timedelta(days=7)) -> None:
        #: how long an answer is good for (its nextUpdate)
        self.validity = validity
        self._issuers: list[_Issuer] = []
        self._entries: dict[tuple[bytes, int], StatusEntry] = {}

    @staticmethod
    def _key(issuer: x509.Certificate, serial: int) -> tuple[bytes, int]:
        return hashlib.sha256(public_key_bits(issuer)).digest(), serial

    def add_issuer(self, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        if all(i.certificate != certificate for i in self._issuers):
            self._issuers.append(_Issuer(certificate, key))

    def add(
        self,
        certificate: x509.Certificate,
        issuer: x509.Certificate,
        status: CertStatus = CertStatus.good,
    ) -> StatusEntry:
        entry = StatusEntry(certificate, issuer, CertStatus(status))
        self._entries[self._key(issuer, certificate.serial_number)] = entry
        return entry

    def revoke(
        self,
        certificate: x509.Certificate,
        at: datetime,
        reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
    ) -> None:
        """Mark a certificate of the list revoked since `at`."""
        entry = self.entry_of(certificate)
        if entry is None:
            raise KeyError(f"{certificate.subject.rfc4514_string()} is not in the status list")
        entry.status, entry.revoked_at, entry.reason = CertStatus.revoked, at, reason

    def entry_of(self, certificate: x509.Certificate) -> StatusEntry | None:
        for entry in self._entries.values():
            if entry.certificate == certificate:
                return entry
        return None

    def entries(self) -> list[StatusEntry]:
        return list(self._entries.values())

    def issuer_for(self, cert_id: CertId) -> x509.Certificate | None:
        """The known CA whose name and key `cert_id` hashes, if any."""
        found = self._issuer(cert_id)
        return found.certificate if found else None

    def _issuer(self, cert_id: CertId) -> _Issuer | None:
        digest = _DIGESTS[_algorithm(cert_id.hash_algorithm)]
        for issuer in self._issuers:
            cert = issuer.certificate
            if (
                digest(cert.subject.public_bytes()).hexdigest() == cert_id.issuer_name_hash.lower()
                and digest(public_key_bits(cert)).hexdigest() == cert_id.issuer_key_hash.lower()
            ):
                return issuer
        return None

    def find(self, cert_id: CertId) -> StatusEntry | None:
        """The entry of the certificate `cert_id` names, if the list holds it."""
        issuer = self._issuer(cert_id)
        if issuer is None:
            return None
        return self._entries.get(self._key(issuer.certificate, cert_id.serial))

    def status(self, cert_id: CertId) -> CertStatus | None:
        """good, revoked or unknown; None when the issuer is not one the list knows."""
        if self._issuer(cert_id) is None:
            return None
        entry = self.find(cert_id)
        return entry.status if entry is not None else CertStatus.unknown

    def response(self, cert_id: CertId, now: datetime) -> bytes | None:
        """A DER OCSPResponse about `cert_id`, signed by its issuer; None when the issuer is
        not one the list knows (no responder here can answer for it)."""
        issuer = self._issuer(cert_id)
        if issuer is None:
            return None
        entry = self._entries.get(self._key(issuer.certificate, cert_id.serial))
        status = entry.status if entry is not None else CertStatus.unknown
        revoked = entry is not None and status is CertStatus.revoked
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=bytes.fromhex(cert_id.issuer_name_hash),
            issuer_key_hash=bytes.fromhex(cert_id.issuer_key_hash),
            serial_number=cert_id.serial,
            algorithm=_OCSP_HASHES[_algorithm(cert_id.hash_algorithm)](),
            cert_status=_TO_OCSP[status],
            this_update=now,
            next_update=now + self.validity,
            revocation_time=(entry.revoked_at or now) if revoked and entry else None,
            revocation_reason=entry.reason if revoked and entry else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.certificate)
        return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def unauthorized_response() -> bytes:
    """The DER OCSPResponse of a responder that may not answer for a certificate."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.UNAUTHORIZED
    ).public_bytes(serialization.Encoding.DER)


# -- reading a response --------------------------------------------------------------------


@attrs.frozen
class OcspAnswer:
    """What a checked OCSP response says about one certificate."""

    status: CertStatus
    produced_at: datetime
    this_update: datetime
    next_update: datetime | None
    revoked_at: datetime | None = None


def decode_result(ocsp_result: str) -> bytes:
    """The DER of GetCertificateStatusResponse.ocspResult (base64); OcspError when it is not."""
    try:
        return base64.b64decode(ocsp_result, validate=True)
    except (binascii.Error, ValueError):
        raise OcspError("ocspResult is not base64") from None


def _verify(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> None:
    """The response is signed by the issuer itself, or by a responder certificate it
    carries that the issuer issued for OCSP signing (RFC 6960 4.2.2.2)."""
    signer = issuer
    if response.responder_key_hash is not None:
        # RFC 6960 names a responder by the SHA-1 of its key
        by_key = hashlib.sha1(public_key_bits(issuer)).digest()
        if response.responder_key_hash != by_key:
            signer = _delegated(response, issuer)
    elif response.responder_name != issuer.subject:
        signer = _delegated(response, issuer)
    key = signer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or response.signature_hash_algorithm is None:
        raise OcspError("the OCSP response is not signed with an EC key")
    try:
        key.verify(
            response.signature,
            response.tbs_response_bytes,
            ec.ECDSA(response.signature_hash_algorithm),
        )
    except InvalidSignature:
        raise OcspError("the OCSP response's signature does not verify") from None


def _delegated(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> x509.Certificate:
    for cert in response.certificates:
        if not issued_by(cert, issuer):
            continue
        try:
            usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in usage:
            return cert
    raise OcspError("the OCSP response is signed neither by the issuer nor by its responder")


def read_response(
    der: bytes,
    cert_id: CertId,
    issuer: x509.Certificate,
    now: datetime | None = None,
) -> OcspAnswer:
    """Check an OCSP response about `cert_id` (whose issuer is `issuer`): successful, about
    that certificate, signed by the issuer or its delegated responder, and (when `now` is
    given) current. OcspError says what is wrong."""
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as e:
        raise OcspError(f"not a DER OCSP response: {e}") from None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspError(f"the responder answered {response.response_status.name}")
    single = None
    for candidate in response.responses:
        algorithm = type(candidate.hash_algorithm).__name__.upper()
        if algorithm not in _DIGESTS:
            continue
        other = CertId(
            hash_algorithm=algorithm,
            issuer_name_hash=candidate.issuer_name_hash.hex(),
            issuer_key_hash=candidate.issuer_key_hash.hex(),
            serial_number=_serial_hex(candidate.serial_number),
        )
        if other.matches(cert_id):
            single = candidate
            break
    if single is None:
        raise OcspError(f"the OCSP response is not about serial {cert_id.serial_number}")
    _verify(response, issuer)
    answer = OcspAnswer(
        status=_FROM_OCSP[single.certificate_status],
        produced_at=response.produced_at_utc,
        this_update=single.this_update_utc,
        next_update=single.next_update_utc,
        revoked_at=single.revocation_time_utc,
    )
    if now is not None:
        if answer.this_update > now + timedelta(minutes=5):
            raise OcspError(f"the OCSP response is from the future ({answer.this_update})")
        if answer.next_update is not None and answer.next_update < now:
            raise OcspError(f"the OCSP response is stale: its nextUpdate was {answer.next_update}")
    return answer
