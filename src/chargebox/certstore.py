"""A certificate store in a folder of PEM files: the default `CertificateStore` a host can use.

Layout of the folder (for example `<data_dir>/certificates`):

    CentralSystemRootCertificate/<sha256 of the DER>.pem   installed CA certificates
    ManufacturerRootCertificate/<sha256 of the DER>.pem
    central-system-roots.pem     every CentralSystemRootCertificate: the link's CA bundle
    V2GRootCertificate/<sha256 of the DER>.pem            Plug&Charge roots (ISO 15118)
    MORootCertificate/<sha256 of the DER>.pem
    charge-point/<not before>-<serial>.pem and .key   charge point certificate chains
    charge-point/pending.key     the key of the last signing request, until its certificate
    v2g/<not before>-<serial>.pem and .key    V2G (SECC) certificate chains, as charge-point/
    v2g/pending.key              the key of the last V2G signing request
    ocsp/<hash of the certificate id>.json    cached OCSP responses, with when they were fetched

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
- a V2G certificate (Plug&Charge CertificateSigned, V2GCertificate) follows the
  same rules against the installed V2GRootCertificates and the key of the last
  V2G signing request (its CN, O, C and DC=CPO as ISO 15118-2 wants).
- contract certificates are validated against the installed MORootCertificates
  and V2GRootCertificates (chargebox.pki.contract), with the revocation statuses
  the OCSP cache knows.
- the private keys are written readable by their owner only, and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chargebox.host import (
    CertificateHashData,
    CertificateHashDataChain,
    CertificateIdUse,
    CertificateUse,
    HashAlgorithm,
    InvalidCertificate,
    OcspCacheEntry,
    OcspRequestData,
    TlsFiles,
)
from chargebox.pki.contract import ContractValidation, validate_contract
from chargebox.pki.ocsp import (
    CertId,
    CertStatus,
    OcspError,
    issued_by,
    ocsp_request_data,
    public_key_bits,
    read_response,
)

__all__ = [
    "FileCertificateStore",
    "check_valid_at",
    "describe",
    "hash_data",
    "is_ca",
    "issued_by",
    "load_pem_chain",
    "public_key_bits",
]

log = logging.getLogger(__name__)

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


def hash_data(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    algorithm: HashAlgorithm = HashAlgorithm.SHA256,
) -> CertificateHashData:
    """The certificate's hash data (whitepaper 6.1); `issuer` is the certificate that signed it
    (the certificate itself for a self-signed root)."""
    return _from_cert_id(CertId.of(cert, issuer, str(HashAlgorithm(algorithm))))


def _from_cert_id(cert_id: CertId) -> CertificateHashData:
    return CertificateHashData(
        hash_algorithm=HashAlgorithm(cert_id.hash_algorithm),
        issuer_name_hash=cert_id.issuer_name_hash,
        issuer_key_hash=cert_id.issuer_key_hash,
        serial_number=cert_id.serial_number,
    )


def _cert_id(data: CertificateHashData) -> CertId:
    return CertId(
        hash_algorithm=str(data.hash_algorithm),
        issuer_name_hash=data.issuer_name_hash,
        issuer_key_hash=data.issuer_key_hash,
        serial_number=data.serial_number,
    )


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
        for folder in (self.leaf_folder, self.v2g_folder, self.ocsp_folder):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def leaf_folder(self) -> Path:
        return self.folder / "charge-point"

    @property
    def ca_bundle_path(self) -> Path:
        return self.folder / "central-system-roots.pem"

    @property
    def pending_key_path(self) -> Path:
        return self.leaf_folder / "pending.key"

    @property
    def v2g_folder(self) -> Path:
        return self.folder / "v2g"

    @property
    def v2g_pending_key_path(self) -> Path:
        return self.v2g_folder / "pending.key"

    @property
    def ocsp_folder(self) -> Path:
        return self.folder / "ocsp"

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
        use = CertificateUse.parse(use)
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

    # -- leaf certificates (the charge point's, the V2G one) ---------------------------------

    def _signing_request(self, pending: Path, subject: x509.Name) -> str:
        """A new P-256 key kept at `pending` and a PEM CSR for it."""
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        )
        _write_private(
            pending,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def _install_leaf(
        self,
        chain_pem: str | bytes,
        key_pem: bytes | None,
        *,
        folder: Path,
        pending: Path,
        root_use: CertificateUse,
        what: str,
        request: str,
    ) -> Path:
        chain = load_pem_chain(chain_pem, what)
        leaf, intermediates = chain[0], chain[1:]
        now = self._now()
        check_valid_at(leaf, now, f"{what} {describe(leaf)}")
        if is_ca(leaf):
            raise InvalidCertificate(f"{describe(leaf)} is a CA certificate, not a {what}")
        if key_pem is None:
            if not pending.exists():
                raise InvalidCertificate(
                    f"no {request} is pending: the certificate has no key here"
                )
            key_pem = pending.read_bytes()
        key = serialization.load_pem_private_key(key_pem, password=None)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if leaf.public_key().public_bytes(
            serialization.Encoding.DER, spki
        ) != key.public_key().public_bytes(serialization.Encoding.DER, spki):
            raise InvalidCertificate(f"{describe(leaf)} is not for the key of the last {request}")
        self._verify_chain(leaf, intermediates, now, root_use)
        stem = f"{leaf.not_valid_before_utc:%Y%m%dT%H%M%S}-{leaf.serial_number:X}"
        _write_private(folder / f"{stem}.key", key_pem)
        _write(folder / f"{stem}.pem", b"".join(_pem(c) for c in chain))
        if pending.exists() and key_pem == pending.read_bytes():
            pending.unlink()
        log.info("certificate store: %s installed: %s", what, describe(leaf))
        return folder / f"{stem}.pem"

    def _verify_chain(
        self,
        leaf: x509.Certificate,
        intermediates: list[x509.Certificate],
        now: datetime,
        root_use: CertificateUse = CertificateUse.CentralSystemRootCertificate,
    ) -> None:
        """The leaf chains through `intermediates` to an installed root of `root_use`."""
        roots = [cert for _, cert in self.ca_certificates(root_use)]
        if not roots:
            raise InvalidCertificate(f"no {root_use} is installed to verify it")
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
        raise InvalidCertificate(f"{describe(leaf)} does not chain to an installed {root_use}")

    @staticmethod
    def _leaves(folder: Path) -> list[tuple[Path, x509.Certificate]]:
        """The certificate chains in `folder` (files and leaves), newest first."""
        found = []
        for path in folder.glob("*.pem"):
            try:
                found.append((path, x509.load_pem_x509_certificates(path.read_bytes())[0]))
            except ValueError:
                log.error("certificate store: %s is not a readable certificate; skipped", path)
        return sorted(found, key=lambda item: item[1].not_valid_before_utc, reverse=True)

    def _current(self, folder: Path) -> tuple[Path, Path] | None:
        """(chain, key) of the newest certificate in `folder` valid now (A02.FR.08/09)."""
        now = self._now()
        for path, leaf in self._leaves(folder):
            key = path.with_suffix(".key")
            if leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc and key.exists():
                return path, key
        return None

    # -- the charge point certificate ---------------------------------------------------------

    def signing_request(self, common_name: str, organization: str | None) -> str:
        """A new P-256 key (kept as pending.key) and a PEM CSR for it."""
        name = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            name.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        return self._signing_request(self.pending_key_path, x509.Name(name))

    def install_leaf(self, chain_pem: str | bytes, key_pem: bytes | None = None) -> Path:
        """Install a charge point certificate chain; its file.

        The key is the pending one of the last signing request, or `key_pem` (a
        certificate provisioned at manufacturing, whitepaper 2.6.4).
        """
        return self._install_leaf(
            chain_pem,
            key_pem,
            folder=self.leaf_folder,
            pending=self.pending_key_path,
            root_use=CertificateUse.CentralSystemRootCertificate,
            what="charge point certificate",
            request="certificate signing request",
        )

    def charge_point_certificates(self) -> list[tuple[Path, x509.Certificate]]:
        """The installed charge point certificates (chain files and leaves), newest first."""
        return self._leaves(self.leaf_folder)

    def current_charge_point_certificate(self) -> tuple[Path, Path] | None:
        """(chain, key) of the newest charge point certificate valid now (A02.FR.08/09)."""
        return self._current(self.leaf_folder)

    # -- the V2G certificate (Plug&Charge) ------------------------------------------------------

    def v2g_signing_request(
        self, common_name: str, organization: str | None, country: str | None = None
    ) -> str:
        """A new P-256 key (kept as v2g/pending.key) and a PEM CSR for the SECC certificate:
        CN the SECC's id, O the CPO, C its country, DC=CPO (ISO 15118-2)."""
        name = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            name.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        if country:
            name.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
        name.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "CPO"))
        return self._signing_request(self.v2g_pending_key_path, x509.Name(name))

    def install_v2g(self, chain_pem: str | bytes, key_pem: bytes | None = None) -> Path:
        """Install a V2G certificate chain (the leaf, then its sub-CAs); its file. It must
        chain to an installed V2GRootCertificate; the key is the pending V2G one (or
        `key_pem`)."""
        return self._install_leaf(
            chain_pem,
            key_pem,
            folder=self.v2g_folder,
            pending=self.v2g_pending_key_path,
            root_use=CertificateUse.V2GRootCertificate,
            what="V2G certificate",
            request="V2G certificate signing request",
        )

    def v2g_certificates(self) -> list[tuple[Path, x509.Certificate]]:
        """The installed V2G certificates (chain files and leaves), newest first."""
        return self._leaves(self.v2g_folder)

    def current_v2g_certificate(self) -> tuple[Path, Path] | None:
        """(chain, key) of the newest V2G certificate valid now."""
        return self._current(self.v2g_folder)

    def _current_v2g_chain(self) -> list[x509.Certificate]:
        current = self.current_v2g_certificate()
        return load_pem_chain(current[0].read_bytes()) if current else []

    def _roots(self, *uses: CertificateUse) -> list[x509.Certificate]:
        return [cert for use in uses for _, cert in self.ca_certificates(use)]

    def certificate_chains(
        self, uses: Sequence[CertificateIdUse] = (), algorithm: HashAlgorithm = HashAlgorithm.SHA256
    ) -> list[CertificateHashDataChain]:
        """Hash data of the installed roots of `uses` (every use when empty) and, for
        V2GCertificateChain, of the current V2G certificate with its sub-CAs as children."""
        out = []
        for use in [CertificateIdUse(u) for u in uses] or list(CertificateIdUse):
            root_use = use.root_use
            if root_use is not None:
                out.extend(
                    CertificateHashDataChain(use, data)
                    for data in self.installed(root_use, algorithm)
                )
                continue
            chain = self._current_v2g_chain()
            roots = self._roots(CertificateUse.V2GRootCertificate)
            ids: list[CertificateHashData] = []
            for cert in chain:
                issuer = next((c for c in [*chain, *roots] if issued_by(cert, c)), None)
                if issuer is None:
                    break
                ids.append(hash_data(cert, issuer, algorithm))
            if ids:
                out.append(CertificateHashDataChain(use, ids[0], tuple(ids[1:])))
        return out

    # -- contracts and OCSP ----------------------------------------------------------------------

    def contract_validation(
        self, chain_pem: str | bytes, emaid: str | None = None
    ) -> ContractValidation:
        """A contract chain against the installed MO and V2G roots at the store's time, with
        the revocation statuses the OCSP cache knows (chargebox.pki.contract)."""
        now = self._now()
        return validate_contract(
            chain_pem,
            self._roots(CertificateUse.MORootCertificate, CertificateUse.V2GRootCertificate),
            now,
            emaid=emaid,
            status=lambda cert, issuer: self._cached_status(cert, issuer, now),
        )

    def _cached_status(
        self, cert: x509.Certificate, issuer: x509.Certificate, now: datetime
    ) -> CertStatus | None:
        """What a cached, current and correctly signed OCSP response says; None otherwise."""
        entry = self.cached_ocsp(hash_data(cert, issuer))
        if entry is None:
            return None
        try:
            return read_response(entry.response, CertId.of(cert, issuer), issuer, now).status
        except OcspError as e:
            log.warning("certificate store: the cached OCSP response of %s: %s", describe(cert), e)
            return None

    def _request_data(
        self, chain: list[x509.Certificate], roots: list[x509.Certificate]
    ) -> list[OcspRequestData]:
        return [
            OcspRequestData(_from_cert_id(CertId.from_wire(entry)), entry.responder_url)
            for entry in ocsp_request_data(chain, roots)
        ]

    def v2g_ocsp_requests(self) -> list[OcspRequestData]:
        """OCSP request data of the current V2G certificate and its sub-CAs."""
        return self._request_data(
            self._current_v2g_chain(), self._roots(CertificateUse.V2GRootCertificate)
        )

    def contract_ocsp_requests(self, chain_pem: str | bytes) -> list[OcspRequestData]:
        """OCSP request data of a contract certificate and its sub-CAs (leaf first)."""
        return self._request_data(
            load_pem_chain(chain_pem, "contract certificate chain"),
            self._roots(CertificateUse.MORootCertificate, CertificateUse.V2GRootCertificate),
        )

    def _ocsp_path(self, data: CertificateHashData) -> Path:
        # one file per certificate and hash algorithm, whatever the case of the hex strings
        normal = "/".join(
            (
                str(data.hash_algorithm),
                data.issuer_name_hash.lower(),
                data.issuer_key_hash.lower(),
                data.serial_number.upper().lstrip("0"),
            )
        )
        return self.ocsp_folder / f"{hashlib.sha256(normal.encode()).hexdigest()[:32]}.json"

    def cache_ocsp(
        self, data: CertificateHashData, response: bytes, fetched_at: datetime | None = None
    ) -> OcspCacheEntry:
        """Keep an OCSP response (DER) for the certificate, fetched now (or at `fetched_at`)."""
        entry = OcspCacheEntry(data, response, fetched_at or self._now())
        record = {
            "hashAlgorithm": str(data.hash_algorithm),
            "issuerNameHash": data.issuer_name_hash,
            "issuerKeyHash": data.issuer_key_hash,
            "serialNumber": data.serial_number,
            "fetchedAt": entry.fetched_at.isoformat(),
            "response": base64.b64encode(response).decode(),
        }
        _write(self._ocsp_path(data), orjson.dumps(record))
        return entry

    def cached_ocsp(self, data: CertificateHashData) -> OcspCacheEntry | None:
        path = self._ocsp_path(data)
        if not path.exists():
            return None
        try:
            record = orjson.loads(path.read_bytes())
            return OcspCacheEntry(
                data,
                base64.b64decode(record["response"]),
                datetime.fromisoformat(record["fetchedAt"]),
            )
        except (ValueError, KeyError, TypeError):
            log.error("certificate store: %s is not a readable OCSP cache entry; skipped", path)
            return None

    def ocsp_requests_due(self, interval: timedelta) -> list[OcspRequestData]:
        """The V2G chain's OCSP requests whose cached response is missing or was fetched
        `interval` ago or longer (OcspRequestInterval)."""
        now = self._now()
        due = []
        for request in self.v2g_ocsp_requests():
            entry = self.cached_ocsp(request.hash_data)
            if entry is None or now - entry.fetched_at >= interval:
                due.append(request)
        return due

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

    # -- the Iso15118CertificateStore port ------------------------------------------------------

    async def v2g_certificate_signing_request(
        self, common_name: str, organization: str | None, country: str | None
    ) -> str:
        return self.v2g_signing_request(common_name, organization, country)

    async def install_v2g_certificate(self, chain_pem: str) -> None:
        self.install_v2g(chain_pem)

    async def installed_certificate_chains(
        self, uses: Sequence[CertificateIdUse], algorithm: HashAlgorithm = HashAlgorithm.SHA256
    ) -> list[CertificateHashDataChain]:
        return self.certificate_chains(uses, algorithm)

    async def verify_contract(self, chain_pem: str, emaid: str | None = None) -> ContractValidation:
        return self.contract_validation(chain_pem, emaid)

    async def v2g_ocsp_request_data(self) -> list[OcspRequestData]:
        return self.v2g_ocsp_requests()

    async def contract_ocsp_request_data(self, chain_pem: str) -> list[OcspRequestData]:
        return self.contract_ocsp_requests(chain_pem)

    async def update_ocsp_cache(self, hash_data: CertificateHashData, response: bytes) -> None:
        self.cache_ocsp(hash_data, response)

    async def ocsp_cache(self, hash_data: CertificateHashData) -> OcspCacheEntry | None:
        return self.cached_ocsp(hash_data)

    def v2g_certificate_files(self) -> tuple[Path, Path] | None:
        return self.current_v2g_certificate()
