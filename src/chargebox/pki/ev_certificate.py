"""What Get15118EVCertificate carries in chargebox: a JSON stand-in for ISO 15118-2's EXI.

In the real exchange, `exiRequest` is the EXI encoding of the EV's
CertificateInstallationReq (or CertificateUpdateReq), base64, and
`exiResponse` the EXI of CertificateInstallationRes (CertificateUpdateRes).
chargebox does not encode EXI. Between its simulated EV and its development
Central System both fields hold, base64-encoded, a UTF-8 JSON object marked
`"format": "chargebox-iso15118-json/1"`, which is NOT EXI and which no other
implementation understands. The JSON carries the content ISO 15118-2 defines:

request (`exiRequest`):

    {"format": ..., "message": "CertificateInstallationReq",
     "oemProvisioningCertificateChain": "<PEM: the OEM provisioning certificate, sub-CAs>"}
    {"format": ..., "message": "CertificateUpdateReq",
     "contractCertificateChain": "<PEM: the contract certificate to renew, sub-CAs>",
     "emaid": "<its eMAID>"}

response (`exiResponse`):

    {"format": ..., "message": "CertificateInstallationRes" | "CertificateUpdateRes",
     "responseCode": "OK" | "FAILED" | "FAILED_CertChainError" | ...,
     "contractCertificateChain": "<PEM>", "emaid": "...",
     "dhPublicKey": "<base64 of the uncompressed point>",
     "encryptedPrivateKey": "<base64 of IV and ciphertext>"}

The contract's private key travels encrypted as ISO 15118-2 does it: an
ephemeral secp256r1 key agreement (ECDH) with the key of the OEM provisioning
certificate (installation) or of the contract being renewed (update), a
128-bit key from the NIST SP 800-56A concatenation KDF with SHA-256 and other
info 0x01 0x55 0x56, and AES-128-CBC with a random IV written before the
ciphertext of the 32-byte private value. The response is not signed (the real
one is, by the certificate provisioning service).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import attrs
import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

FORMAT = "chargebox-iso15118-json/1"
INSTALLATION_REQ = "CertificateInstallationReq"
UPDATE_REQ = "CertificateUpdateReq"
_ANSWER = {INSTALLATION_REQ: "CertificateInstallationRes", UPDATE_REQ: "CertificateUpdateRes"}
#: ISO 15118-2's other info for the key derivation: AlgorithmID, PartyUInfo, PartyVInfo
_OTHER_INFO = b"\x01\x55\x56"


class ResponseCode(StrEnum):
    """ISO 15118-2 responseCode values this exchange uses."""

    OK = "OK"
    FAILED = "FAILED"
    FAILED_NoCertificateAvailable = "FAILED_NoCertificateAvailable"
    FAILED_CertChainError = "FAILED_CertChainError"
    FAILED_CertificateExpired = "FAILED_CertificateExpired"
    FAILED_CertificateRevoked = "FAILED_CertificateRevoked"


class ExchangeError(ValueError):
    """An exiRequest or exiResponse chargebox cannot read; the message says why."""


def _pem(chain: Sequence[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)


def _chain(value: Any, what: str) -> tuple[x509.Certificate, ...]:
    if not isinstance(value, str):
        raise ExchangeError(f"{what} is missing")
    try:
        found = x509.load_pem_x509_certificates(value.encode())
    except ValueError as e:
        raise ExchangeError(f"{what} is not a PEM certificate chain: {e}") from None
    if not found:
        raise ExchangeError(f"{what} holds no certificate")
    return tuple(found)


def _encode(document: dict[str, Any]) -> str:
    return base64.b64encode(orjson.dumps({"format": FORMAT, **document})).decode()


def _decode(text: str, field: str) -> dict[str, Any]:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ExchangeError(f"{field} is not base64") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ExchangeError(
            f"{field} is not chargebox's JSON form (real EXI is not supported)"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExchangeError(f"{field} is not in the format {FORMAT}")
    return document


# -- the request (the EV's side) ---------------------------------------------------------------


@attrs.frozen
class CertificateRequest:
    """An EV's request for a contract certificate, as the Central System reads it."""

    message: str
    #: the OEM provisioning chain (installation) or the contract chain (update), leaf first
    chain: tuple[x509.Certificate, ...]
    emaid: str | None = None

    @property
    def action(self) -> str:
        """Get15118EVCertificate's `action`: Install or Update."""
        return "Install" if self.message == INSTALLATION_REQ else "Update"


def installation_request(oem_provisioning_chain: Sequence[x509.Certificate]) -> str:
    """The exiRequest of a CertificateInstallationReq."""
    return _encode(
        {
            "message": INSTALLATION_REQ,
            "oemProvisioningCertificateChain": _pem(oem_provisioning_chain),
        }
    )


def update_request(contract_chain: Sequence[x509.Certificate], emaid: str) -> str:
    """The exiRequest of a CertificateUpdateReq for the contract being renewed."""
    return _encode(
        {"message": UPDATE_REQ, "contractCertificateChain": _pem(contract_chain), "emaid": emaid}
    )


def read_request(exi_request: str) -> CertificateRequest:
    document = _decode(exi_request, "exiRequest")
    message = document.get("message")
    if message == INSTALLATION_REQ:
        chain = _chain(
            document.get("oemProvisioningCertificateChain"), "the OEM provisioning chain"
        )
        return CertificateRequest(INSTALLATION_REQ, chain)
    if message == UPDATE_REQ:
        chain = _chain(document.get("contractCertificateChain"), "the contract chain")
        emaid = document.get("emaid")
        return CertificateRequest(UPDATE_REQ, chain, emaid if isinstance(emaid, str) else None)
    raise ExchangeError(
        f"exiRequest message {message!r}: allowed are {INSTALLATION_REQ}, {UPDATE_REQ}"
    )


# -- the response (the Central System's side) -----------------------------------------------------


def _kdf_key(shared: bytes) -> bytes:
    return ConcatKDFHash(algorithm=hashes.SHA256(), length=16, otherinfo=_OTHER_INFO).derive(shared)


def encrypt_private_key(
    key: ec.EllipticCurvePrivateKey, recipient: ec.EllipticCurvePublicKey
) -> tuple[bytes, bytes]:
    """(DH public key as an uncompressed point, IV + ciphertext) of `key` for `recipient`."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    secret = _kdf_key(ephemeral.exchange(ec.ECDH(), recipient))
    iv = os.urandom(16)
    value = key.private_numbers().private_value.to_bytes(32, "big")
    encryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor()
    encrypted = iv + encryptor.update(value) + encryptor.finalize()
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return point, encrypted


def decrypt_private_key(
    dh_public_key: bytes, encrypted: bytes, recipient: ec.EllipticCurvePrivateKey
) -> ec.EllipticCurvePrivateKey:
    """The contract key of a response, with the key the request named (OEM or old contract)."""
    if len(encrypted) != 48:
        raise ExchangeError("encryptedPrivateKey must be 16 octets of IV and 32 of key")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), dh_public_key)
    except ValueError:
        raise ExchangeError("dhPublicKey is not a secp256r1 point") from None
    secret = _kdf_key(recipient.exchange(ec.ECDH(), peer))
    decryptor = Cipher(algorithms.AES(secret), modes.CBC(encrypted[:16])).decryptor()
    value = decryptor.update(encrypted[16:]) + decryptor.finalize()
    try:
        return ec.derive_private_key(int.from_bytes(value, "big"), ec.SECP256R1())
    except ValueError:
        raise ExchangeError("the contract key does not decrypt with this key") from None


@attrs.frozen
class CertificateResponse:
    """A Central System's answer to the EV, as the EV reads it."""

    message: str
    response_code: ResponseCode
    chain: tuple[x509.Certificate, ...] = ()
    emaid: str | None = None
    dh_public_key: bytes = b""
    encrypted_private_key: bytes = attrs.field(default=b"", repr=False)

    def private_key(self, recipient: ec.EllipticCurvePrivateKey) -> ec.EllipticCurvePrivateKey:
        """Decrypt the contract key with the key the request named; the key must be the
        one of the contract certificate."""
        if self.response_code is not ResponseCode.OK:
            raise ExchangeError(f"the response is {self.response_code}: it carries no key")
        key = decrypt_private_key(self.dh_public_key, self.encrypted_private_key, recipient)
        if self.chain and self.chain[0].public_key() != key.public_key():
            raise ExchangeError("the decrypted key is not the contract certificate's")
        return key


def certificate_response(
    request: CertificateRequest,
    contract_chain: Sequence[x509.Certificate],
    contract_key: ec.EllipticCurvePrivateKey,
    emaid: str,
) -> str:
    """The exiResponse that hands the EV a contract: chain, eMAID and the key encrypted for
    the key of the request's first certificate."""
    recipient = request.chain[0].public_key()
    if not isinstance(recipient, ec.EllipticCurvePublicKey):
        raise ExchangeError("the request's certificate has no EC key to encrypt the contract key")
    point, encrypted = encrypt_private_key(contract_key, recipient)
    return _encode(
        {
            "message": _ANSWER[request.message],
            "responseCode": ResponseCode.OK.value,
            "contractCertificateChain": _pem(contract_chain),
            "emaid": emaid,
            "dhPublicKey": base64.b64encode(point).decode(),
            "encryptedPrivateKey": base64.b64encode(encrypted).decode(),
        }
    )


def failed_response(message: str, code: ResponseCode) -> str:
    """An exiResponse that refuses the request with an ISO 15118-2 response code."""
    return _encode({"message": _ANSWER.get(message, message), "responseCode": code.value})


def read_response(exi_response: str) -> CertificateResponse:
    document = _decode(exi_response, "exiResponse")
    message = document.get("message")
    if message not in _ANSWER.values():
        raise ExchangeError(f"exiResponse message {message!r} is not a certificate response")
    try:
        code = ResponseCode(document.get("responseCode"))
    except ValueError:
        raise ExchangeError(
            f"exiResponse responseCode {document.get('responseCode')!r} is not known"
        ) from None
    if code is not ResponseCode.OK:
        return CertificateResponse(str(message), code)
    chain = _chain(document.get("contractCertificateChain"), "the contract chain")
    try:
        point = base64.b64decode(document.get("dhPublicKey") or "", validate=True)
        encrypted = base64.b64decode(document.get("encryptedPrivateKey") or "", validate=True)
    except (binascii.Error, ValueError):
        raise ExchangeError("dhPublicKey or encryptedPrivateKey is not base64") from None
    emaid = document.get("emaid")
    return CertificateResponse(
        str(message), code, chain, emaid if isinstance(emaid, str) else None, point, encrypted
    )
