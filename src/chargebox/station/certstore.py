"""A certificate store in a folder of PEM files: the default `CertificateStore` a host can use.

Layout of the folder (for example `<data_dir>/certificates`):

    CentralSystemRootCertificate/<sha256 of the DER>.pem   installed CA certificates
    ManufacturerRootCertificate/<sha256 of the DER>.pem
    central-system-roots.pem     every CentralSystemRootCertificate: the link's CA bundle
    charge-point/<not before>-<serial>.pem and .key   charge point certificate chains
    charge-point/pending.key     the key of the last signing request, until its certificate

The rules come from the security whitepaper:
- a CA certificate (InstallCertificate) must be PEM, valid now, and a CA
  (BasicConstraints cA true); M05.FR.06 answers Rejected otherwise. Its hash
  data names its issuer's key: a self-signed root's own key, else an installed
  CA certificate that issued it (else it is refused: its hash data could not
  be computed as 6.1 defines it).
- hash data (6.1, RFC 6960's CertID): hash of the DER of the issuer name, hash
  of the issuer's public key (the value of the subjectPublicKey BIT STRING),
  serial number in hexadecimal without leading zeroes.
- a charge point certificate (CertificateSigned) must be valid now, carry the
  public key of the last signing request, not be a CA, and chain (through the
  sub-CA certificates sent with it) to an installed CentralSystemRootCertificate
  (A02.FR.06). The newest valid one, by the start of its validity, is used
  (A02.FR.09); older ones stay as fallback (A02.FR.10).
- the private keys are written readable by their owner only, and never logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chargebox.station.host import (
    CertificateHashData,
    CertificateUse,
    HashAlgorithm,
    InvalidCertificate,
    TlsFiles,
)

log = logging.getLogger(__name__)

_HASHES = {
    HashAlgorithm.SHA256: hashlib.sha256,
    HashAlgorithm.SHA384: hashlib.sha384,
    HashAlgorithm.SHA512: hashlib.sha512,
}
_BEGIN = b"-----BEGIN CERTIFICATE-----"


# -- pure helpers ------------------------------------------------------------------------


def load_pem_chain(pem: str | bytes, what: str = "certificate") -> list[x509.Certificate]:
    """Every certificate of a PEM text, in order; InvalidCertificate when there is none or
    one does not parse."""
    data = pem.encode() if isinstance(pem, str) else pem
    if _BEGIN not in data:
        raise InvalidCertificate(f"the {what} is not PEM: no '-----BEGIN CERTIFICATE-----' line")
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise InvalidCertificate(f"the {what} is not a readable PEM X.509 certificate: {e}") from e
    if not chain:
        raise InvalidCertificate(f"the {what} holds no certificate")
    return chain


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


def hash_data(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    algorithm: HashAlgorithm = HashAlgorithm.SHA256,
) -> CertificateHashData:
    """The certificate's hash data (whitepaper 6.1); `issuer` is the certificate that signed it
    (the certificate itself for a self-signed root)."""
    digest = _HASHES[HashAlgorithm(algorithm)]
    return CertificateHashData(
        hash_algorithm=HashAlgorithm(algorithm),
        issuer_name_hash=digest(cert.issuer.public_bytes()).hexdigest(),
        issuer_key_hash=digest(public_key_bits(issuer)).hexdigest(),
        serial_number=format(cert.serial_number, "X"),
    )


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """`issuer` signed `cert` (names match and the signature verifies)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def check_valid_at(cert: x509.Certificate, now: datetime, what: str) -> None:
    if now < cert.not_valid_before_utc:
        raise InvalidCertificate(
            f"the {what} is not valid before {cert.not_valid_before_utc.isoformat()}"
        )
    if now > cert.not_valid_after_utc:
        raise InvalidCertificate(f"the {what} expired on {cert.not_valid_after_utc.isoformat()}")


def describe(cert: x509.Certificate) -> str:
    """Subject and serial, for log lines."""
    return f"{cert.subject.rfc4514_string()} (serial {cert.serial_number:X})"


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- the store ---------------------------------------------------------------------------


class FileCertificateStore:
    """A CertificateStore in `folder` (created when missing). `now` gives the time that
    validity periods are checked against (the wall clock by default)."""

    def __init__(self, folder: Path | str, *, now: Callable[[], datetime] | None = None) -> None:
        self.folder = Path(folder)
        self._now = now or (lambda: datetime.now(UTC))
        for use in CertificateUse:
            (self.folder / use.value).mkdir(parents=True, exist_ok=True)
        self.leaf_folder.mkdir(parents=True, exist_ok=True)

    @property
    def leaf_folder(self) -> Path:
        return self.folder / "charge-point"

    @property
    def ca_bundle_path(self) -> Path:
        return self.folder / "central-system-roots.pem"

    @property
    def pending_key_path(self) -> Path:
        return self.leaf_folder / "pending.key"

    # -- CA certificates -------------------------------------------------------------------

    def ca_certificates(
        self, use: CertificateUse | None = None
    ) -> list[tuple[Path, x509.Certificate]]:
        """The installed CA certificates (of `use`, or of every use), with their files."""
        uses = [CertificateUse(use)] if use is not None else list(CertificateUse)
        found = []
        for u in uses:
            for path in sorted((self.folder / u.value).glob("*.pem")):
                try:
                    found.append((path, x509.load_pem_x509_certificate(path.read_bytes())))
                except ValueError:
                    log.error("certificate store: %s is not a readable certificate; skipped", path)
        return found

    def _issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        if issued_by(cert, cert):
            return cert
        for _, candidate in self.ca_certificates():
            if issued_by(cert, candidate):
                return candidate
        return None

    def hash_data_of(
        self, cert: x509.Certificate, algorithm: HashAlgorithm = HashAlgorithm.SHA256
    ) -> CertificateHashData | None:
        """The certificate's hash data, or None when its issuer is not in the store."""
        issuer = self._issuer_of(cert)
        return None if issuer is None else hash_data(cert, issuer, algorithm)

    def install_ca(self, use: CertificateUse, pem: str | bytes) -> CertificateHashData:
        """Install a CA certificate (the synchronous work of install_ca_certificate)."""
        use = CertificateUse(use)
        chain = load_pem_chain(pem, f"{use} certificate")
        if len(chain) != 1:
            raise InvalidCertificate(
                f"InstallCertificate takes one certificate; the PEM holds {len(chain)}"
            )
        cert = chain[0]
        check_valid_at(cert, self._now(), f"{use} certificate {describe(cert)}")
        if not is_ca(cert):
            raise InvalidCertificate(
                f"{describe(cert)} is not a CA certificate (BasicConstraints cA is not true)"
            )
        data = self.hash_data_of(cert)
        if data is None:
            raise InvalidCertificate(
                f"{describe(cert)} is neither self-signed nor issued by an installed CA "
                "certificate, so its hash data (issuer key) cannot be computed"
            )
        fingerprint = cert.fingerprint(hashes.SHA256()).hex()
        _write(self.folder / use.value / f"{fingerprint}.pem", _pem(cert))
        if use is CertificateUse.CentralSystemRootCertificate:
            self._write_bundle()
        log.info("certificate store: %s installed: %s", use, describe(cert))
        return data

    def delete(self, wanted: CertificateHashData) -> CertificateUse | None:
        """Delete the CA certificate with this hash data; its use, or None when none has it."""
        algorithm = HashAlgorithm(wanted.hash_algorithm)
        for use in CertificateUse:
            for path, cert in self.ca_certificates(use):
                data = self.hash_data_of(cert, algorithm)
                if data is not None and data.matches(wanted):
                    path.unlink()
                    if use is CertificateUse.CentralSystemRootCertificate:
                        self._write_bundle()
                    log.info("certificate store: %s deleted: %s", use, describe(cert))
                    return use
        return None

    def installed(
        self, use: CertificateUse, algorithm: HashAlgorithm = HashAlgorithm.SHA256
    ) -> list[CertificateHashData]:
        out = []
        for _, cert in self.ca_certificates(use):
            data = self.hash_data_of(cert, algorithm)
            if data is not None:
                out.append(data)
        return out

    def _write_bundle(self) -> None:
        roots = self.ca_certificates(CertificateUse.CentralSystemRootCertificate)
        if roots:
            _write(self.ca_bundle_path, b"".join(_pem(cert) for _, cert in roots))
        else:
            self.ca_bundle_path.unlink(missing_ok=True)

    # -- the charge point certificate ---------------------------------------------------------

    def signing_request(self, common_name: str, organization: str | None) -> str:
        """A new P-256 key (kept as pending.key) and a PEM CSR for it."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            name.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name(name))
            .sign(key, hashes.SHA256())
        )
        _write_private(
            self.pending_key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def install_leaf(self, chain_pem: str | bytes, key_pem: bytes | None = None) -> Path:
        """Install a charge point certificate chain; its file.

        The key is the pending one of the last signing request, or `key_pem` (a
        certificate provisioned at manufacturing, whitepaper 2.6.4).
        """
        chain = load_pem_chain(chain_pem, "charge point certificate")
        leaf, intermediates = chain[0], chain[1:]
        now = self._now()
        check_valid_at(leaf, now, f"charge point certificate {describe(leaf)}")
        if is_ca(leaf):
            raise InvalidCertificate(f"{describe(leaf)} is a CA certificate, not a charge point's")
        if key_pem is None:
            if not self.pending_key_path.exists():
                raise InvalidCertificate(
                    "no certificate signing request is pending: the certificate has no key here"
                )
            key_pem = self.pending_key_path.read_bytes()
        key = serialization.load_pem_private_key(key_pem, password=None)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if leaf.public_key().public_bytes(
            serialization.Encoding.DER, spki
        ) != key.public_key().public_bytes(serialization.Encoding.DER, spki):
            raise InvalidCertificate(
                f"{describe(leaf)} is not for the key of the last certificate signing request"
            )
        self._verify_chain(leaf, intermediates, now)
        stem = f"{leaf.not_valid_before_utc:%Y%m%dT%H%M%S}-{leaf.serial_number:X}"
        _write_private(self.leaf_folder / f"{stem}.key", key_pem)
        _write(self.leaf_folder / f"{stem}.pem", b"".join(_pem(c) for c in chain))
        if self.pending_key_path.exists() and key_pem == self.pending_key_path.read_bytes():
            self.pending_key_path.unlink()
        log.info("certificate store: charge point certificate installed: %s", describe(leaf))
        return self.leaf_folder / f"{stem}.pem"

    def _verify_chain(
        self, leaf: x509.Certificate, intermediates: list[x509.Certificate], now: datetime
    ) -> None:
        """The leaf chains through `intermediates` to an installed CentralSystemRootCertificate."""
        roots = [
            cert for _, cert in self.ca_certificates(CertificateUse.CentralSystemRootCertificate)
        ]
        if not roots:
            raise InvalidCertificate("no CentralSystemRootCertificate is installed to verify it")
        current = leaf
        remaining = list(intermediates)
        for _ in range(len(intermediates) + 1):
            for root in roots:
                if issued_by(current, root):
                    check_valid_at(root, now, f"root {describe(root)}")
                    return
            issuer = next((c for c in remaining if issued_by(current, c)), None)
            if issuer is None:
                break
            if not is_ca(issuer):
                raise InvalidCertificate(f"{describe(issuer)} in the chain is not a CA certificate")
            check_valid_at(issuer, now, f"sub-CA certificate {describe(issuer)}")
            remaining.remove(issuer)
            current = issuer
        raise InvalidCertificate(
            f"{describe(leaf)} does not chain to an installed CentralSystemRootCertificate"
        )

    def charge_point_certificates(self) -> list[tuple[Path, x509.Certificate]]:
        """The installed charge point certificates (chain files and leaves), newest first."""
        found = []
        for path in self.leaf_folder.glob("*.pem"):
            try:
                found.append((path, x509.load_pem_x509_certificates(path.read_bytes())[0]))
            except ValueError:
                log.error("certificate store: %s is not a readable certificate; skipped", path)
        return sorted(found, key=lambda item: item[1].not_valid_before_utc, reverse=True)

    def current_charge_point_certificate(self) -> tuple[Path, Path] | None:
        """(chain, key) of the newest charge point certificate valid now (A02.FR.08/09)."""
        now = self._now()
        for path, leaf in self.charge_point_certificates():
            key = path.with_suffix(".key")
            if leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc and key.exists():
                return path, key
        return None

    # -- the CertificateStore port ----------------------------------------------------------

    async def install_ca_certificate(self, use: CertificateUse, pem: str) -> CertificateHashData:
        return self.install_ca(use, pem)

    async def delete_certificate(self, hash_data: CertificateHashData) -> CertificateUse | None:
        return self.delete(hash_data)

    async def installed_certificates(
        self, use: CertificateUse, algorithm: HashAlgorithm = HashAlgorithm.SHA256
    ) -> list[CertificateHashData]:
        return self.installed(use, algorithm)

    async def certificate_signing_request(self, common_name: str, organization: str | None) -> str:
        return self.signing_request(common_name, organization)

    async def install_charge_point_certificate(self, chain_pem: str) -> None:
        self.install_leaf(chain_pem)

    def tls_files(self) -> TlsFiles:
        current = self.current_charge_point_certificate()
        return TlsFiles(
            ca_bundle=self.ca_bundle_path if self.ca_bundle_path.exists() else None,
            client_cert=current[0] if current else None,
            client_key=current[1] if current else None,
        )
