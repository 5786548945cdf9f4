"""The ISO 15118 test PKI: certificate profiles, determinism, validity windows, CSRs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from chargebox.pki.iso15118 import CsrRefused, Pki15118, Validity
from chargebox.pki.ocsp import CertStatus

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki() -> Pki15118:
    return Pki15118.create(now=NOW)


def _subject(cert: x509.Certificate) -> dict[str, str]:
    return {a.oid._name: str(a.value) for a in cert.subject}


def _basic(cert: x509.Certificate) -> x509.Extension[x509.BasicConstraints]:
    return cert.extensions.get_extension_for_class(x509.BasicConstraints)


def _usage(cert: x509.Certificate) -> x509.Extension[x509.KeyUsage]:
    return cert.extensions.get_extension_for_class(x509.KeyUsage)


def _ocsp_url(cert: x509.Certificate) -> str | None:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    return next(
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
    )


def _all_cas(pki: Pki15118):
    return [
        (pki.v2g_root, None, None),
        (pki.cpo_sub_ca_1, pki.v2g_root, 1),
        (pki.cpo_sub_ca_2, pki.cpo_sub_ca_1, 0),
        (pki.mo_root, None, None),
        (pki.mo_sub_ca_1, pki.mo_root, 1),
        (pki.mo_sub_ca_2, pki.mo_sub_ca_1, 0),
        (pki.oem_root, None, None),
        (pki.oem_sub_ca_1, pki.oem_root, 1),
        (pki.oem_sub_ca_2, pki.oem_sub_ca_1, 0),
    ]


def _is_iso15118_key_and_signature(cert: x509.Certificate) -> bool:
    key = cert.public_key()
    return (
        cert.version is x509.Version.v3
        and isinstance(key, ec.EllipticCurvePublicKey)
        and isinstance(key.curve, ec.SECP256R1)
        and isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    )


def test_the_cas_follow_the_iso15118_profiles(pki):
    for authority, parent, path_length in _all_cas(pki):
        cert = authority.certificate
        assert _is_iso15118_key_and_signature(cert)
        basic = _basic(cert)
        assert basic.critical and basic.value.ca
        assert basic.value.path_length == path_length
        usage = _usage(cert)
        assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
        assert not usage.value.digital_signature
        if parent is None:  # a root: self-signed, no responder of its own
            cert.verify_directly_issued_by(cert)
            assert _ocsp_url(cert) is None
            assert cert.not_valid_after_utc - cert.not_valid_before_utc == Validity().root
        else:
            cert.verify_directly_issued_by(parent.certificate)
            assert _ocsp_url(cert) == pki.ocsp_url
            assert pki.status_of(cert) is CertStatus.good
        assert cert.not_valid_before_utc == NOW - Validity().backdate
    assert _subject(pki.v2g_root.certificate) == {
        "commonName": "chargebox CPO V2G Root CA",
        "organizationName": "chargebox CPO",
        "countryName": "DE",
        "domainComponent": "V2G",
    }
    assert _subject(pki.cpo_sub_ca_2.certificate)["domainComponent"] == "V2G"
    assert _subject(pki.mo_sub_ca_2.certificate)["domainComponent"] == "MO"
    assert _subject(pki.oem_sub_ca_1.certificate)["domainComponent"] == "OEM"


def test_the_leaves_follow_the_iso15118_profiles(pki):
    secc = pki.issue_secc("CP-1")
    contract = pki.issue_contract("DEFRAC123456789")
    oem = pki.issue_oem_provisioning("WMIV1234567890ABC")
    for credential, issuer, domain in [
        (secc, pki.cpo_sub_ca_2, "CPO"),
        (contract, pki.mo_sub_ca_2, "MO"),
        (oem, pki.oem_sub_ca_2, "OEM"),
    ]:
        leaf = credential.certificate
        assert _is_iso15118_key_and_signature(leaf)
        assert _basic(leaf).critical and not _basic(leaf).value.ca
        assert _usage(leaf).critical
        assert _subject(leaf)["domainComponent"] == domain
        assert _ocsp_url(leaf) == pki.ocsp_url
        leaf.verify_directly_issued_by(issuer.certificate)
        # the chain: leaf, sub-CA 2, sub-CA 1 (not the root)
        assert len(credential.chain) == 3
        credential.chain[1].verify_directly_issued_by(credential.chain[2])
        assert credential.key.public_key() == leaf.public_key()
        assert pki.status_of(credential) is CertStatus.good
    assert _subject(secc.certificate) == {
        "commonName": "CP-1",
        "organizationName": "chargebox CPO",
        "countryName": "DE",
        "domainComponent": "CPO",
    }
    assert _subject(contract.certificate)["commonName"] == "DEFRAC123456789"
    secc_usage = _usage(secc.certificate).value
    assert secc_usage.digital_signature and secc_usage.key_agreement
    assert not secc_usage.content_commitment and not secc_usage.key_cert_sign
    contract_usage = _usage(contract.certificate).value
    assert contract_usage.digital_signature and contract_usage.content_commitment
    assert not contract_usage.key_agreement
    oem_usage = _usage(oem.certificate).value
    assert oem_usage.digital_signature and oem_usage.key_agreement
    # PEM forms: the chain in order, and the key
    assert x509.load_pem_x509_certificates(contract.chain_pem.encode()) == list(contract.chain)
    key = serialization.load_pem_private_key(contract.key_pem, None)
    assert key.public_key() == contract.certificate.public_key()


def test_validity_windows_are_parameters(pki):
    default = pki.issue_contract("DEFRAC123456789")
    assert default.certificate.not_valid_before_utc == NOW - timedelta(hours=1)
    assert default.certificate.not_valid_after_utc == NOW - timedelta(hours=1) + Validity().contract
    expired = pki.issue_contract(
        "DEFRAC123456789", not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1)
    )
    assert expired.certificate.not_valid_after_utc == NOW - timedelta(days=1)
    short = Pki15118.create(now=NOW, validity=Validity(secc=timedelta(days=60)))
    secc = short.issue_secc("CP-1").certificate
    assert secc.not_valid_after_utc - secc.not_valid_before_utc == timedelta(days=60)
    with pytest.raises(ValueError, match="must end after it starts"):
        pki.issue_contract("DEFRAC123456789", not_before=NOW, not_after=NOW - timedelta(days=1))


def test_a_seed_makes_the_same_keys_names_and_serials():
    one = Pki15118.create("seed-1", now=NOW)
    again = Pki15118.create("seed-1", now=NOW + timedelta(days=3))
    other = Pki15118.create("seed-2", now=NOW)
    for a, b, c in zip(_all_cas(one), _all_cas(again), _all_cas(other), strict=True):
        ca, cb, cc = a[0].certificate, b[0].certificate, c[0].certificate
        assert ca.public_key() == cb.public_key() and ca.subject == cb.subject
        assert ca.serial_number == cb.serial_number
        assert ca.public_key() != cc.public_key()
    # what one issues verifies against the other's CAs
    contract = one.issue_contract("DEFRAC123456789")
    contract.certificate.verify_directly_issued_by(again.mo_sub_ca_2.certificate)
    # issued leaves get distinct serials
    assert one.issue_contract("DEFRAC123456789").certificate.serial_number != (
        contract.certificate.serial_number
    )
    random = Pki15118.create(None, now=NOW)
    assert random.v2g_root.certificate.public_key() != (
        Pki15118.create(None, now=NOW).v2g_root.certificate.public_key()
    )


def _csr(key, name: x509.Name) -> bytes:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def test_sign_secc_csr_keeps_the_subject_and_the_key(pki):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "CP-7"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example CPO"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "CPO"),
        ]
    )
    signed = pki.sign_secc_csr(_csr(key, name).decode())
    assert signed.key is None
    assert signed.certificate.subject == name
    assert signed.certificate.public_key() == key.public_key()
    assert signed.chain[1:] == (pki.cpo_sub_ca_2.certificate, pki.cpo_sub_ca_1.certificate)
    assert _usage(signed.certificate).value.key_agreement
    with pytest.raises(ValueError, match="key is not here"):
        signed.key_pem  # noqa: B018


def _bad_signature_csr() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CP-1")])
    der = bytearray(
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    der[-1] ^= 0x01  # the last octet of the signature's s
    return x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    ("csr", "reason"),
    [
        (lambda: b"not a CSR", "not a readable PEM certificate request"),
        (_bad_signature_csr, "signature does not verify"),
        (
            lambda: _csr(
                rsa.generate_private_key(65537, 2048),
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CP-1")]),
            ),
            "not an ECDSA secp256r1 key",
        ),
        (
            lambda: _csr(
                ec.generate_private_key(ec.SECP384R1()),
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CP-1")]),
            ),
            "not an ECDSA secp256r1 key",
        ),
        (
            lambda: _csr(
                ec.generate_private_key(ec.SECP256R1()),
                x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example CPO")]),
            ),
            "no common name",
        ),
    ],
)
def test_sign_secc_csr_refuses(pki, csr, reason):
    with pytest.raises(CsrRefused, match=reason):
        pki.sign_secc_csr(csr())


def test_revoke_and_forge(pki):
    contract = pki.issue_contract("DEFRAC123456789")
    pki.revoke(contract, at=NOW - timedelta(minutes=1))
    assert pki.status_of(contract) is CertStatus.revoked
    entry = pki.statuses.entry_of(contract.certificate)
    assert entry.revoked_at == NOW - timedelta(minutes=1)
    assert entry.reason is x509.ReasonFlags.key_compromise
    forged = pki.forge(contract)
    leaf = forged.certificate
    assert leaf.subject == contract.certificate.subject
    assert leaf.issuer == pki.mo_sub_ca_2.certificate.subject
    with pytest.raises(InvalidSignature):
        leaf.verify_directly_issued_by(pki.mo_sub_ca_2.certificate)
    assert forged.chain[1:] == contract.chain[1:]
    outsider = Pki15118.create("other", now=NOW).issue_contract("DEFRAC123456789")
    with pytest.raises(KeyError, match="not in the status list"):
        pki.revoke(outsider)
