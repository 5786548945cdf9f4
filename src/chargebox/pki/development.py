"""Certificates for TLS (security profiles 2 and 3) made with `cryptography`.

For the development CSMS, the simulator and the tests: a root CA, a server
certificate for the Central System and client certificates for charge points
(the whitepaper wants the charge point's serial number, i.e. its identity, as
the common name and the CPO name as organization). Keys are ECDSA P-256.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@attrs.frozen
class Issued:
    """A certificate and its private key, as PEM."""

    cert_pem: bytes
    key_pem: bytes = attrs.field(repr=False)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def write(self, cert_path: Path, key_path: Path) -> None:
        """Write the certificate and the key (the key readable by its owner only)."""
        cert_path.write_bytes(self.cert_pem)
        key_path.touch(mode=0o600, exist_ok=True)
        key_path.chmod(0o600)
        key_path.write_bytes(self.key_pem)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs_ = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs_.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs_)


def make_ca(common_name: str = "chargebox development root CA", days: int = 3650) -> Issued:
    """A self-signed root CA."""
    key = _key()
    now = datetime.now(UTC)
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def _issue(
    ca: Issued,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName],
    days: int,
) -> bytes:
    ca_cert = ca.certificate
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca.private_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


def make_server_cert(
    ca: Issued, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), days: int = 825
) -> Issued:
    """A TLS server certificate for the Central System, valid for `hosts` (IPs or names)."""
    key = _key()
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    pem = _issue(ca, _name(hosts[0]), key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH, sans, days)
    return Issued(pem, _pem_key(key))


def make_client_cert(
    ca: Issued, charge_point_id: str, organization: str | None = None, days: int = 825
) -> Issued:
    """A TLS client certificate for a charge point (profile 3)."""
    key = _key()
    pem = _issue(
        ca,
        _name(charge_point_id, organization),
        key.public_key(),
        ExtendedKeyUsageOID.CLIENT_AUTH,
        [],
        days,
    )
    return Issued(pem, _pem_key(key))


def sign_csr(ca: Issued, csr_pem: bytes, days: int = 825) -> bytes:
    """A client certificate for a certificate signing request (SignCertificate), as PEM."""
    csr = x509.load_pem_x509_csr(csr_pem)
    if not csr.is_signature_valid:
        raise ValueError("the CSR's signature does not verify")
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise ValueError("only EC keys are signed")
    return _issue(ca, csr.subject, public_key, ExtendedKeyUsageOID.CLIENT_AUTH, [], days)


@attrs.frozen
class DevelopmentPki:
    """A CA with a server certificate and one client certificate, written to a folder."""

    folder: Path
    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    @classmethod
    def create(
        cls, folder: Path, charge_point_id: str, organization: str | None = None
    ) -> DevelopmentPki:
        folder.mkdir(parents=True, exist_ok=True)
        ca = make_ca()
        server = make_server_cert(ca)
        client = make_client_cert(ca, charge_point_id, organization)
        pki = cls(
            folder,
            folder / "ca.pem",
            folder / "csms.pem",
            folder / "csms.key",
            folder / f"{charge_point_id}.pem",
            folder / f"{charge_point_id}.key",
        )
        pki.ca_file.write_bytes(ca.cert_pem)
        (folder / "ca.key").touch(mode=0o600)
        (folder / "ca.key").write_bytes(ca.key_pem)
        server.write(pki.server_cert, pki.server_key)
        client.write(pki.client_cert, pki.client_key)
        return pki
