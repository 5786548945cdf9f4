"""The file certificate store (chargebox.certstore): CA certificates, hash data, the charge
point and V2G certificates and their CSRs, contract validation and the OCSP cache."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chargebox import pki
from chargebox.certstore import FileCertificateStore, hash_data
from chargebox.host import (
    CertificateHashDataChain,
    CertificateIdUse,
    CertificateStore,
    CertificateUse,
    HashAlgorithm,
    InvalidCertificate,
    Iso15118CertificateStore,
)
from chargebox.pki.contract import ContractProblem
from chargebox.pki.iso15118 import Pki15118
from chargebox.pki.ocsp import CertId
from tests.certstore.support import cert_of, expired_ca, pem_of, sub_ca

ROOT = CertificateUse.CentralSystemRootCertificate
MANUFACTURER = CertificateUse.ManufacturerRootCertificate


@pytest.fixture(scope="module")
def ca():
    return pki.make_ca("chargebox test CSMS root")


@pytest.fixture(scope="module")
def other_ca():
    return pki.make_ca("a foreign root")


# -- the store alone ---------------------------------------------------------------------


def test_hash_data_is_what_the_whitepaper_defines(ca):
    """6.1: SHA256 of the issuer name's DER, of the issuer key's BIT STRING value; hex serial."""
    root = cert_of(ca)
    data = hash_data(root, root)
    assert data.hash_algorithm == HashAlgorithm.SHA256
    assert data.issuer_name_hash == hashlib.sha256(root.issuer.public_bytes()).hexdigest()
    point = root.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert data.issuer_key_hash == hashlib.sha256(point).hexdigest()
    assert data.serial_number == format(root.serial_number, "X")
    assert not data.serial_number.startswith("0")
    # serial 4095 is "FFF" (the whitepaper's example)
    expired = x509.load_pem_x509_certificate(expired_ca().encode())
    assert hash_data(expired, expired).serial_number == "FFF"
    # a leaf's issuer key is its CA's
    client = cert_of(pki.make_client_cert(ca, "CP-1"))
    assert hash_data(client, root).issuer_key_hash == data.issuer_key_hash
    sha384 = hash_data(root, root, HashAlgorithm.SHA384)
    assert sha384.issuer_name_hash == hashlib.sha384(root.issuer.public_bytes()).hexdigest()


def test_store_installs_lists_and_deletes_ca_certificates(tmp_path, ca, other_ca):
    store = FileCertificateStore(tmp_path / "certs")
    assert store.installed(ROOT) == [] and store.tls_files().ca_bundle is None
    data = store.install_ca(ROOT, pem_of(ca))
    assert data == hash_data(cert_of(ca), cert_of(ca))
    store.install_ca(MANUFACTURER, pem_of(other_ca))
    assert store.installed(ROOT) == [data]
    assert len(store.installed(MANUFACTURER)) == 1
    bundle = store.tls_files().ca_bundle
    assert bundle is not None and x509.load_pem_x509_certificates(bundle.read_bytes()) == [
        cert_of(ca)
    ]
    # a sub-CA issued by an installed root gets its root's key in its hash data
    sub = sub_ca(ca)
    sub_data = store.install_ca(ROOT, pem_of(sub))
    assert sub_data.issuer_key_hash == data.issuer_key_hash
    assert sub_data.serial_number == format(sub.certificate.serial_number, "X")
    # a reopened store sees the same
    again = FileCertificateStore(tmp_path / "certs")
    assert sorted(d.serial_number for d in again.installed(ROOT)) == sorted(
        [data.serial_number, sub_data.serial_number]
    )
    # deleting: case-insensitive fields, another hash algorithm works too
    upper = type(data)(
        data.hash_algorithm,
        data.issuer_name_hash.upper(),
        data.issuer_key_hash.upper(),
        data.serial_number.lower(),
    )
    assert store.delete(upper) is ROOT
    assert store.delete(upper) is None
    manufacturer = hash_data(cert_of(other_ca), cert_of(other_ca), HashAlgorithm.SHA512)
    assert store.delete(manufacturer) is MANUFACTURER
    assert store.installed(MANUFACTURER) == []


@pytest.mark.parametrize(
    ("pem", "reason"),
    [
        ("not a certificate", "not PEM"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a readable"),
        ("expired", "expired"),
        ("leaf", "not a CA certificate"),
        ("orphan", "neither self-signed nor issued by an installed CA"),
    ],
)
def test_store_refuses_invalid_ca_certificates(tmp_path, ca, other_ca, pem, reason):
    store = FileCertificateStore(tmp_path / "certs")
    pem = {
        "expired": expired_ca(),
        "leaf": pem_of(pki.make_client_cert(ca, "CP-1")),
        "orphan": pem_of(sub_ca(other_ca)),
    }.get(pem, pem)
    with pytest.raises(InvalidCertificate, match=reason):
        store.install_ca(ROOT, pem)
    assert store.installed(ROOT) == []


def test_store_csr_round_trip_and_chain_checks(tmp_path, ca, other_ca):
    store = FileCertificateStore(tmp_path / "certs")
    assert isinstance(store, CertificateStore)
    store.install_ca(ROOT, pem_of(ca))
    csr_pem = store.signing_request("CP-1", "Example CPO")
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "CP-1"
    assert (
        csr.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == "Example CPO"
    )
    assert (store.pending_key_path.stat().st_mode & 0o777) == 0o600
    # signed by a root that is not installed: refused, the pending key stays
    foreign = pki.sign_csr(other_ca, csr_pem.encode())
    with pytest.raises(InvalidCertificate, match="does not chain"):
        store.install_leaf(foreign)
    # a certificate for another key: refused
    with pytest.raises(InvalidCertificate, match="not for the key"):
        store.install_leaf(pki.make_client_cert(ca, "CP-1").cert_pem)
    # through a sub-CA sent along with it
    sub = sub_ca(ca)
    leaf = pki.sign_csr(sub, csr_pem.encode())
    path = store.install_leaf(leaf + sub.cert_pem)
    files = store.tls_files()
    assert files.client_cert == path
    assert x509.load_pem_x509_certificates(files.client_cert.read_bytes())[0] == (
        x509.load_pem_x509_certificate(leaf)
    )
    key = serialization.load_pem_private_key(files.client_key.read_bytes(), None)
    assert key.public_key() == csr.public_key()
    assert (files.client_key.stat().st_mode & 0o777) == 0o600
    assert not store.pending_key_path.exists()
    # no signing request pending any more
    with pytest.raises(InvalidCertificate, match="no certificate signing request"):
        store.install_leaf(leaf)


def test_store_uses_the_newest_valid_charge_point_certificate(tmp_path, ca):
    """A02.FR.08/09: the newest by the start of validity, once it is valid."""
    later = datetime.now(UTC) + timedelta(hours=1)
    clock = {"now": datetime.now(UTC)}
    store = FileCertificateStore(tmp_path / "certs", now=lambda: clock["now"])
    store.install_ca(ROOT, pem_of(ca))
    first = pki.make_client_cert(ca, "CP-1")
    store.install_leaf(first.cert_pem, first.key_pem)
    # a certificate valid from an hour on
    key = ec.generate_private_key(ec.SECP256R1())
    future = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "CP-1")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(later)
        .not_valid_after(later + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.private_key, hashes.SHA256())
    )
    future_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(InvalidCertificate, match="not valid before"):
        store.install_leaf(future.public_bytes(serialization.Encoding.PEM), future_key)
    clock["now"] = later + timedelta(minutes=1)
    store.install_leaf(future.public_bytes(serialization.Encoding.PEM), future_key)
    current = x509.load_pem_x509_certificate(store.tls_files().client_cert.read_bytes())
    assert current == future
    assert len(store.charge_point_certificates()) == 2  # the old one kept as fallback


# -- the store for Plug&Charge (ISO 15118) ---------------------------------------------------

V2G_ROOT = CertificateUse.V2GRootCertificate
MO_ROOT = CertificateUse.MORootCertificate
PNC_NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def v2g_pki() -> Pki15118:
    return Pki15118.create(now=PNC_NOW)


def _pnc_store(tmp_path, v2g_pki, clock=None) -> FileCertificateStore:
    store = FileCertificateStore(tmp_path / "certs", now=clock or (lambda: PNC_NOW))
    store.install_ca(V2G_ROOT, v2g_pki.v2g_root.pem)
    store.install_ca(MO_ROOT, v2g_pki.mo_root.pem)
    return store


def test_store_is_an_iso15118_store_and_keeps_the_pnc_roots(tmp_path, v2g_pki, ca):
    store = _pnc_store(tmp_path, v2g_pki)
    assert isinstance(store, Iso15118CertificateStore)
    assert isinstance(store, CertificateStore)
    root = v2g_pki.v2g_root.certificate
    assert store.installed(V2G_ROOT) == [hash_data(root, root)]
    assert len(store.installed(MO_ROOT)) == 1 and store.installed(ROOT) == []
    # 2.0.1's name of the Central System's root is understood
    assert store.install_ca("CSMSRootCertificate", pem_of(ca)) == hash_data(
        cert_of(ca), cert_of(ca)
    )
    assert len(store.installed(ROOT)) == 1
    with pytest.raises(ValueError, match=r"allowed are CentralSystemRootCertificate, .*MORoot"):
        store.install_ca("V2GCertificateChain", pem_of(ca))
    # DeleteCertificate finds them like any CA certificate
    assert store.delete(hash_data(root, root)) is V2G_ROOT
    assert store.installed(V2G_ROOT) == []


def test_store_v2g_csr_round_trip(tmp_path, v2g_pki):
    store = _pnc_store(tmp_path, v2g_pki)
    csr_pem = store.v2g_signing_request("CP-1", "Example CPO", "NL")
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid
    assert {a.oid._name: a.value for a in csr.subject} == {
        "commonName": "CP-1",
        "organizationName": "Example CPO",
        "countryName": "NL",
        "domainComponent": "CPO",
    }
    assert (store.v2g_pending_key_path.stat().st_mode & 0o777) == 0o600
    # the charge point certificate's pending key is another one
    assert not store.pending_key_path.exists()
    signed = v2g_pki.sign_secc_csr(csr_pem)
    store.install_v2g(signed.chain_pem)
    chain_file, key_file = store.v2g_certificate_files()
    assert x509.load_pem_x509_certificates(chain_file.read_bytes()) == list(signed.chain)
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    assert key.public_key() == csr.public_key()
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert not store.v2g_pending_key_path.exists()
    # the V2G certificate is not the TLS client certificate
    assert store.tls_files().client_cert is None
    with pytest.raises(InvalidCertificate, match="no V2G certificate signing request is pending"):
        store.install_v2g(signed.chain_pem)


def test_store_refuses_v2g_certificates(tmp_path, v2g_pki, ca):
    store = _pnc_store(tmp_path, v2g_pki)
    csr_pem = store.v2g_signing_request("CP-1", "Example CPO", "DE")
    foreign = Pki15118.create("elsewhere", now=PNC_NOW, cpo="Other CPO")
    with pytest.raises(InvalidCertificate, match="does not chain to an installed V2GRootCert"):
        store.install_v2g(foreign.sign_secc_csr(csr_pem).chain_pem)
    # signed by the Central System's TLS root (installed, but not a V2G root); on the wall
    # clock, which that certificate's validity follows
    store.install_ca(ROOT, pem_of(ca))
    wall_clock = FileCertificateStore(tmp_path / "certs")
    with pytest.raises(InvalidCertificate, match="does not chain to an installed V2GRootCert"):
        wall_clock.install_v2g(pki.sign_csr(ca, csr_pem.encode()))
    with pytest.raises(InvalidCertificate, match="not for the key of the last V2G certificate"):
        store.install_v2g(v2g_pki.issue_secc("CP-1").chain_pem)
    expired = v2g_pki.sign_secc_csr(
        csr_pem, not_before=PNC_NOW - timedelta(days=9), not_after=PNC_NOW - timedelta(days=1)
    )
    with pytest.raises(InvalidCertificate, match="expired"):
        store.install_v2g(expired.chain_pem)
    with pytest.raises(InvalidCertificate, match="is a CA certificate, not a V2G certificate"):
        store.install_v2g(v2g_pki.cpo_sub_ca_2.pem)
    assert store.v2g_certificate_files() is None
    assert store.v2g_pending_key_path.exists()  # still waiting for its certificate


def test_store_installed_certificate_chains(tmp_path, v2g_pki, ca):
    store = _pnc_store(tmp_path, v2g_pki)
    assert store.certificate_chains([CertificateIdUse.V2GCertificateChain]) == []
    store.install_ca(ROOT, pem_of(ca))
    secc = v2g_pki.issue_secc("CP-1")
    store.install_v2g(secc.chain_pem, secc.key_pem)
    v2g_root, mo_root = v2g_pki.v2g_root.certificate, v2g_pki.mo_root.certificate
    sub_2, sub_1 = v2g_pki.cpo_sub_ca_2.certificate, v2g_pki.cpo_sub_ca_1.certificate
    chain = CertificateHashDataChain(
        CertificateIdUse.V2GCertificateChain,
        hash_data(secc.certificate, sub_2),
        (hash_data(sub_2, sub_1), hash_data(sub_1, v2g_root)),
    )
    assert store.certificate_chains([CertificateIdUse.V2GCertificateChain]) == [chain]
    assert store.certificate_chains(
        [CertificateIdUse.MORootCertificate, CertificateIdUse.CSMSRootCertificate]
    ) == [
        CertificateHashDataChain(CertificateIdUse.MORootCertificate, hash_data(mo_root, mo_root)),
        CertificateHashDataChain(
            CertificateIdUse.CSMSRootCertificate, hash_data(cert_of(ca), cert_of(ca))
        ),
    ]
    every = store.certificate_chains([])
    assert [c.certificate_type for c in every] == [
        CertificateIdUse.V2GRootCertificate,
        CertificateIdUse.MORootCertificate,
        CertificateIdUse.CSMSRootCertificate,
        CertificateIdUse.V2GCertificateChain,
    ]
    sha384 = store.certificate_chains([CertificateIdUse.V2GCertificateChain], HashAlgorithm.SHA384)
    assert sha384[0].certificate_hash_data == hash_data(
        secc.certificate, sub_2, HashAlgorithm.SHA384
    )


def test_store_validates_contracts(tmp_path, v2g_pki):
    store = _pnc_store(tmp_path, v2g_pki)
    contract = v2g_pki.issue_contract("DEFRAC123456789")
    verdict = store.contract_validation(contract.chain_pem, "DE-FRA-C12345678-9")
    assert verdict.ok and verdict.emaid == "DEFRAC123456789"
    foreign = Pki15118.create("elsewhere", now=PNC_NOW, mo="Other MO")
    assert store.contract_validation(
        foreign.issue_contract("DEFRAC123456789").chain_pem
    ).problem == (ContractProblem.UnknownRoot)
    # the store's time decides validity
    late = FileCertificateStore(tmp_path / "certs", now=lambda: PNC_NOW + timedelta(days=800))
    assert late.contract_validation(contract.chain_pem).problem == ContractProblem.Expired
    # without an MO root, no contract is valid
    store.delete(hash_data(v2g_pki.mo_root.certificate, v2g_pki.mo_root.certificate))
    assert store.contract_validation(contract.chain_pem).problem == ContractProblem.UnknownRoot


def test_store_ocsp_requests_and_cache(tmp_path, v2g_pki):
    clock = {"now": PNC_NOW}
    store = _pnc_store(tmp_path, v2g_pki, clock=lambda: clock["now"])
    assert store.v2g_ocsp_requests() == []
    secc = v2g_pki.issue_secc("CP-1")
    store.install_v2g(secc.chain_pem, secc.key_pem)
    requests = store.v2g_ocsp_requests()
    sub_2, sub_1 = v2g_pki.cpo_sub_ca_2.certificate, v2g_pki.cpo_sub_ca_1.certificate
    assert [r.hash_data for r in requests] == [
        hash_data(secc.certificate, sub_2),
        hash_data(sub_2, sub_1),
        hash_data(sub_1, v2g_pki.v2g_root.certificate),
    ]
    assert {r.responder_url for r in requests} == {v2g_pki.ocsp_url}
    contract = v2g_pki.issue_contract("DEFRAC123456789")
    assert store.contract_ocsp_requests(contract.chain_pem)[0].hash_data == (
        hash_data(contract.certificate, v2g_pki.mo_sub_ca_2.certificate)
    )
    # every request is due until its answer is cached, then again after the interval
    interval = timedelta(days=7)
    assert store.ocsp_requests_due(interval) == requests
    for request in requests:
        cid = CertId(**{k: str(v) for k, v in attrs.asdict(request.hash_data).items()})
        store.cache_ocsp(request.hash_data, v2g_pki.statuses.response(cid, PNC_NOW))
    assert store.ocsp_requests_due(interval) == []
    entry = store.cached_ocsp(requests[0].hash_data)
    assert entry.fetched_at == PNC_NOW
    # the cache outlives the store object; the hash data's case does not matter
    data = requests[0].hash_data
    upper = attrs.evolve(data, issuer_name_hash=data.issuer_name_hash.upper())
    assert FileCertificateStore(tmp_path / "certs").cached_ocsp(upper).response == entry.response
    clock["now"] = PNC_NOW + interval
    assert store.ocsp_requests_due(interval) == requests


def test_store_revokes_contracts_its_ocsp_cache_knows(tmp_path, v2g_pki, caplog):
    clock = {"now": PNC_NOW}
    store = _pnc_store(tmp_path, v2g_pki, clock=lambda: clock["now"])
    contract = v2g_pki.issue_contract("DEFRAC123456789")
    v2g_pki.revoke(contract)
    issuer = v2g_pki.mo_sub_ca_2.certificate
    data = hash_data(contract.certificate, issuer)
    store.cache_ocsp(
        data, v2g_pki.statuses.response(CertId.of(contract.certificate, issuer), PNC_NOW)
    )
    assert store.contract_validation(contract.chain_pem).problem == ContractProblem.Revoked
    # a stale answer is not trusted: nothing is known then
    clock["now"] = PNC_NOW + timedelta(days=8)
    with caplog.at_level(logging.WARNING):
        assert store.contract_validation(contract.chain_pem).ok
    assert "the cached OCSP response" in caplog.text and "stale" in caplog.text
