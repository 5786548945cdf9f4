"""Security whitepaper certificates: the file store alone, then M03-M05 and A02 in the engine."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chargebox import pki
from chargebox.certstore import FileCertificateStore, hash_data
from chargebox.config import ChargePointConfig
from chargebox.csms import CentralSystem, CsmsSettings, server_tls_context
from chargebox.host import (
    CertificateHashDataChain,
    CertificateIdUse,
    CertificateStore,
    CertificateUse,
    HashAlgorithm,
    InvalidCertificate,
    Iso15118CertificateStore,
)
from chargebox.ocpp import v16
from chargebox.pki.contract import ContractProblem
from chargebox.pki.iso15118 import Pki15118
from chargebox.pki.ocsp import CertId
from chargebox.station import Host, Options, TlsSettings, open_charge_point

from .support import RecordingEvse, RecordingSystem, config_file, running

ROOT = CertificateUse.CentralSystemRootCertificate
MANUFACTURER = CertificateUse.ManufacturerRootCertificate


@pytest.fixture(scope="module")
def ca():
    return pki.make_ca("chargebox test CSMS root")


@pytest.fixture(scope="module")
def other_ca():
    return pki.make_ca("a foreign root")


def _cert(issued: pki.Issued) -> x509.Certificate:
    return issued.certificate


def _expired_ca() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "expired root")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(4095)
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now - timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _sub_ca(root: pki.Issued) -> pki.Issued:
    """A sub-CA certificate signed by `root`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "sub CA")]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root.private_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pki.Issued(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def _pem(issued: pki.Issued) -> str:
    return issued.cert_pem.decode()


# -- the store alone ---------------------------------------------------------------------


def test_hash_data_is_what_the_whitepaper_defines(ca):
    """6.1: SHA256 of the issuer name's DER, of the issuer key's BIT STRING value; hex serial."""
    root = _cert(ca)
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
    expired = x509.load_pem_x509_certificate(_expired_ca().encode())
    assert hash_data(expired, expired).serial_number == "FFF"
    # a leaf's issuer key is its CA's
    client = _cert(pki.make_client_cert(ca, "CP-1"))
    assert hash_data(client, root).issuer_key_hash == data.issuer_key_hash
    sha384 = hash_data(root, root, HashAlgorithm.SHA384)
    assert sha384.issuer_name_hash == hashlib.sha384(root.issuer.public_bytes()).hexdigest()


def test_store_installs_lists_and_deletes_ca_certificates(tmp_path, ca, other_ca):
    store = FileCertificateStore(tmp_path / "certs")
    assert store.installed(ROOT) == [] and store.tls_files().ca_bundle is None
    data = store.install_ca(ROOT, _pem(ca))
    assert data == hash_data(_cert(ca), _cert(ca))
    store.install_ca(MANUFACTURER, _pem(other_ca))
    assert store.installed(ROOT) == [data]
    assert len(store.installed(MANUFACTURER)) == 1
    bundle = store.tls_files().ca_bundle
    assert bundle is not None and x509.load_pem_x509_certificates(bundle.read_bytes()) == [
        _cert(ca)
    ]
    # a sub-CA issued by an installed root gets its root's key in its hash data
    sub = _sub_ca(ca)
    sub_data = store.install_ca(ROOT, _pem(sub))
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
    manufacturer = hash_data(_cert(other_ca), _cert(other_ca), HashAlgorithm.SHA512)
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
        "expired": _expired_ca(),
        "leaf": _pem(pki.make_client_cert(ca, "CP-1")),
        "orphan": _pem(_sub_ca(other_ca)),
    }.get(pem, pem)
    with pytest.raises(InvalidCertificate, match=reason):
        store.install_ca(ROOT, pem)
    assert store.installed(ROOT) == []


def test_store_csr_round_trip_and_chain_checks(tmp_path, ca, other_ca):
    store = FileCertificateStore(tmp_path / "certs")
    assert isinstance(store, CertificateStore)
    store.install_ca(ROOT, _pem(ca))
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
    sub = _sub_ca(ca)
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
    store.install_ca(ROOT, _pem(ca))
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
    assert store.install_ca("CSMSRootCertificate", _pem(ca)) == hash_data(_cert(ca), _cert(ca))
    assert len(store.installed(ROOT)) == 1
    with pytest.raises(ValueError, match=r"allowed are CentralSystemRootCertificate, .*MORoot"):
        store.install_ca("V2GCertificateChain", _pem(ca))
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
    store.install_ca(ROOT, _pem(ca))
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
    store.install_ca(ROOT, _pem(ca))
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
            CertificateIdUse.CSMSRootCertificate, hash_data(_cert(ca), _cert(ca))
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


# -- through the engine --------------------------------------------------------------------


def _host(store) -> Host:
    return Host(evse=RecordingEvse(), system=RecordingSystem(), certificates=store)


async def _call(rig, request):
    session = await rig.session()
    return await session.call(request)


def _wire(data) -> v16.CertificateHashDataType:
    return v16.CertificateHashDataType(
        hash_algorithm=str(data.hash_algorithm),
        issuer_name_hash=data.issuer_name_hash,
        issuer_key_hash=data.issuer_key_hash,
        serial_number=data.serial_number,
    )


async def test_install_get_and_delete_certificates(tmp_path, autojump_clock, ca, other_ca):
    store = FileCertificateStore(tmp_path / "certs")
    async with running(tmp_path, host=_host(store)) as rig:
        listed = await _call(rig, v16.GetInstalledCertificateIdsRequest(certificate_type=ROOT))
        assert str(listed.status) == "NotFound" and listed.certificate_hash_data is None
        for use, issued in ((ROOT, ca), (MANUFACTURER, other_ca)):
            answer = await _call(
                rig, v16.InstallCertificateRequest(certificate_type=use, certificate=_pem(issued))
            )
            assert str(answer.status) == "Accepted"
        listed = await _call(rig, v16.GetInstalledCertificateIdsRequest(certificate_type=ROOT))
        assert str(listed.status) == "Accepted"
        expected = hash_data(_cert(ca), _cert(ca))
        assert listed.certificate_hash_data == (_wire(expected),)
        deleted = await _call(
            rig, v16.DeleteCertificateRequest(certificate_hash_data=_wire(expected))
        )
        assert str(deleted.status) == "Accepted"
        again = await _call(
            rig, v16.DeleteCertificateRequest(certificate_hash_data=_wire(expected))
        )
        assert str(again.status) == "NotFound"
        listed = await _call(rig, v16.GetInstalledCertificateIdsRequest(certificate_type=ROOT))
        assert str(listed.status) == "NotFound"
        manufacturer = await _call(
            rig, v16.GetInstalledCertificateIdsRequest(certificate_type=MANUFACTURER)
        )
        assert [d.serial_number for d in manufacturer.certificate_hash_data] == [
            format(other_ca.certificate.serial_number, "X")
        ]
        event = await rig.csms.wait_for(
            "SecurityEventNotification", lambda e: e.type == "ReconfigurationOfSecurityParameters"
        )
        assert "installed" in event.tech_info


async def test_install_rejects_bad_pem_with_a_clear_log(tmp_path, autojump_clock, ca, caplog):
    store = FileCertificateStore(tmp_path / "certs")
    async with running(tmp_path, host=_host(store)) as rig:
        with caplog.at_level(logging.WARNING, logger="chargebox.features.security"):
            answer = await _call(
                rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate="garbage")
            )
        assert str(answer.status) == "Rejected"
        assert any(
            "InstallCertificate CentralSystemRootCertificate: Rejected" in r.getMessage()
            and "not PEM" in r.getMessage()
            for r in caplog.records
        )
        expired = await _call(
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=_expired_ca())
        )
        assert str(expired.status) == "Rejected"
        leaf = _pem(pki.make_client_cert(ca, "CP-1"))
        not_ca = await _call(
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=leaf)
        )
        assert str(not_ca.status) == "Rejected"
        assert store.installed(ROOT) == []


async def test_install_rejected_when_the_store_is_full(tmp_path, autojump_clock, ca, other_ca):
    store = FileCertificateStore(tmp_path / "certs")
    async with running(
        tmp_path, host=_host(store), Security={"CertificateStoreMaxLength": 1}
    ) as rig:
        first = await _call(
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=_pem(ca))
        )
        second = await _call(
            rig,
            v16.InstallCertificateRequest(
                certificate_type=MANUFACTURER, certificate=_pem(other_ca)
            ),
        )
        assert (str(first.status), str(second.status)) == ("Accepted", "Rejected")


class BrokenStore(FileCertificateStore):
    """A store whose disk fails."""

    async def install_ca_certificate(self, use, pem):
        raise OSError("disk full")

    async def delete_certificate(self, hash_data):
        raise OSError("read-only file system")


async def test_a_failing_store_answers_failed(tmp_path, autojump_clock, ca):
    store = BrokenStore(tmp_path / "certs")
    store.install_ca(MANUFACTURER, _pem(ca))
    async with running(tmp_path, host=_host(store)) as rig:
        installed = await _call(
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=_pem(ca))
        )
        assert str(installed.status) == "Failed"
        wire = _wire(hash_data(_cert(ca), _cert(ca)))
        deleted = await _call(rig, v16.DeleteCertificateRequest(certificate_hash_data=wire))
        assert str(deleted.status) == "Failed"


async def test_additional_root_certificate_check(tmp_path, autojump_clock, ca, other_ca):
    """M05.FR.10: a new root must be signed by the installed one."""
    store = FileCertificateStore(tmp_path / "certs")
    store.install_ca(ROOT, _pem(ca))
    async with running(
        tmp_path, host=_host(store), Security={"AdditionalRootCertificateCheck": True}
    ) as rig:
        foreign = await _call(
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=_pem(other_ca))
        )
        assert str(foreign.status) == "Rejected"
        signed = await _call(
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=_pem(_sub_ca(ca)))
        )
        assert str(signed.status) == "Accepted"


async def test_without_a_certificate_store(tmp_path, autojump_clock, ca):
    async with running(tmp_path) as rig:
        session = await rig.session()
        for request in (
            v16.InstallCertificateRequest(certificate_type=ROOT, certificate=_pem(ca)),
            v16.GetInstalledCertificateIdsRequest(certificate_type=ROOT),
            v16.DeleteCertificateRequest(
                certificate_hash_data=_wire(hash_data(_cert(ca), _cert(ca)))
            ),
            v16.CertificateSignedRequest(certificate_chain=_pem(ca)),
        ):
            with pytest.raises(Exception, match="NotSupported"):
                await session.call(request)
        answer = await session.call(
            v16.ExtendedTriggerMessageRequest(requested_message="SignChargePointCertificate")
        )
        assert str(answer.status) == "NotImplemented"


async def test_the_csr_round_trip(tmp_path, autojump_clock, ca):
    """A02: ExtendedTriggerMessage, SignCertificate with a CSR, CertificateSigned installs it."""
    store = FileCertificateStore(tmp_path / "certs")
    store.install_ca(ROOT, _pem(ca))
    async with running(tmp_path, host=_host(store), Security={"CpoName": "Example CPO"}) as rig:
        answer = await _call(
            rig, v16.ExtendedTriggerMessageRequest(requested_message="SignChargePointCertificate")
        )
        assert str(answer.status) == "Accepted"
        request = await rig.csms.wait_for("SignCertificate")
        csr = x509.load_pem_x509_csr(request.csr.encode())
        subject = {a.oid: a.value for a in csr.subject}
        assert subject == {
            x509.NameOID.COMMON_NAME: "CP-1",
            x509.NameOID.ORGANIZATION_NAME: "Example CPO",
        }
        signed = pki.sign_csr(ca, request.csr.encode())
        done = await _call(rig, v16.CertificateSignedRequest(certificate_chain=signed.decode()))
        assert str(done.status) == "Accepted"
        files = store.tls_files()
        assert x509.load_pem_x509_certificate(files.client_cert.read_bytes()) == (
            x509.load_pem_x509_certificate(signed)
        )
        # the link's TLS settings take the store's files
        from chargebox.actors.link import tls_settings

        tls = tls_settings(rig.cp.station.ctx)
        assert (tls.client_cert, tls.client_key, tls.ca_file) == (
            files.client_cert,
            files.client_key,
            files.ca_bundle,
        )


async def test_certificate_signed_rejected(tmp_path, autojump_clock, ca, other_ca, caplog):
    """A02.FR.07: an invalid certificate is discarded, with an InvalidChargePointCertificate."""
    store = FileCertificateStore(tmp_path / "certs")
    store.install_ca(ROOT, _pem(ca))
    async with running(tmp_path, host=_host(store)) as rig:
        await _call(
            rig, v16.ExtendedTriggerMessageRequest(requested_message="SignChargePointCertificate")
        )
        request = await rig.csms.wait_for("SignCertificate")
        with caplog.at_level(logging.WARNING, logger="chargebox.features.security"):
            bad = await _call(rig, v16.CertificateSignedRequest(certificate_chain="not a PEM"))
        assert str(bad.status) == "Rejected"
        assert any("CertificateSigned: Rejected" in r.getMessage() for r in caplog.records)
        foreign = pki.sign_csr(other_ca, request.csr.encode()).decode()
        wrong = await _call(rig, v16.CertificateSignedRequest(certificate_chain=foreign))
        assert str(wrong.status) == "Rejected"
        events = [
            await rig.csms.wait_for(
                "SecurityEventNotification",
                lambda e: e.type == "InvalidChargePointCertificate",
                count=n,
            )
            for n in (1, 2)
        ]
        assert "not PEM" in events[0].tech_info
        assert "does not chain" in events[1].tech_info
        assert store.tls_files().client_cert is None


async def test_certificate_signed_longer_than_the_maximum(tmp_path, autojump_clock, ca):
    store = FileCertificateStore(tmp_path / "certs")
    async with running(
        tmp_path, host=_host(store), Security={"CertificateSignedMaxChainSize": 100}
    ) as rig:
        answer = await _call(rig, v16.CertificateSignedRequest(certificate_chain=_pem(ca)))
        assert str(answer.status) == "Rejected"
        event = await rig.csms.wait_for(
            "SecurityEventNotification", lambda e: e.type == "InvalidChargePointCertificate"
        )
        assert "CertificateSignedMaxChainSize" in event.tech_info


async def test_sign_charge_point_certificate_needs_cpo_name(tmp_path, autojump_clock):
    store = FileCertificateStore(tmp_path / "certs")
    async with running(tmp_path, host=_host(store), Security={"CpoName": None}) as rig:
        answer = await _call(
            rig, v16.ExtendedTriggerMessageRequest(requested_message="SignChargePointCertificate")
        )
        assert str(answer.status) == "Rejected"
        await trio.sleep(5)
        assert rig.csms.received("CP-1", "SignCertificate") == []


@pytest.mark.parametrize(
    ("what", "action", "status"),
    [
        ("FirmwareStatusNotification", "SignedFirmwareStatusNotification", "Idle"),
        ("LogStatusNotification", "LogStatusNotification", "Idle"),
        ("StatusNotification", "StatusNotification", "Available"),
    ],
)
async def test_extended_trigger_message_sends(tmp_path, autojump_clock, what, action, status):
    async with running(tmp_path) as rig:
        seen = len(rig.csms.received("CP-1", action))
        answer = await _call(rig, v16.ExtendedTriggerMessageRequest(requested_message=what))
        assert str(answer.status) == "Accepted"
        sent = await rig.csms.wait_for(action, count=seen + 1)
        assert str(sent.status) == status


async def test_extended_trigger_message_heartbeat_meter_values_and_boot(tmp_path, autojump_clock):
    async with running(tmp_path, csms_settings=CsmsSettings(heartbeat_interval=86400)) as rig:
        heartbeat = await _call(
            rig, v16.ExtendedTriggerMessageRequest(requested_message="Heartbeat")
        )
        assert str(heartbeat.status) == "Accepted"
        await rig.csms.wait_for("Heartbeat")
        # no readings yet: nothing to send
        values = await _call(
            rig, v16.ExtendedTriggerMessageRequest(requested_message="MeterValues")
        )
        assert str(values.status) == "Rejected"
        await rig.cp.meter_values(1, {"Energy.Active.Import.Register": 1234})
        values = await _call(
            rig, v16.ExtendedTriggerMessageRequest(requested_message="MeterValues", connector_id=1)
        )
        assert str(values.status) == "Accepted"
        assert (await rig.csms.wait_for("MeterValues")).connector_id == 1
        # once Accepted, a BootNotification is still sent when asked for, as TriggerMessage does
        boot = await _call(
            rig, v16.ExtendedTriggerMessageRequest(requested_message="BootNotification")
        )
        assert str(boot.status) == "Accepted"
        await rig.csms.wait_for("BootNotification", count=2)
        assert rig.cp.registered
        unknown = await _call(
            rig,
            v16.ExtendedTriggerMessageRequest(
                requested_message="StatusNotification", connector_id=7
            ),
        )
        assert str(unknown.status) == "Rejected"


# -- over real TLS: the store's files are the link's ---------------------------------------


@pytest.fixture(scope="module")
def csms_pki(tmp_path_factory):
    return pki.DevelopmentPki.create(tmp_path_factory.mktemp("pki"), "CP-1", "chargebox test")


async def test_profile_2_trusts_the_store_and_keeps_the_root_in_use(tmp_path, csms_pki):
    """The CA bundle comes from the store; M04.FR.06: the root in use is not deleted."""
    store = FileCertificateStore(tmp_path / "certs")
    store.install_ca(ROOT, csms_pki.ca_file.read_text())
    ssl_context = server_tls_context(str(csms_pki.server_cert), str(csms_pki.server_key))
    key = "00112233445566778899aabbccddeeff"
    csms = CentralSystem(CsmsSettings(known_ids={"CP-1": key}), ssl_context=ssl_context)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            url = csms.url().split("://", 1)[1]
            path = config_file(
                tmp_path, url, Security={"SecurityProfile": 2, "AuthorizationKey": key}
            )
            cfg = ChargePointConfig.load(path)
            options = Options(tls=TlsSettings(use_default_verify_paths=False))
            async with open_charge_point(cfg, _host(store), options=options) as cp:
                await csms.wait_until(lambda: cp.registered)
                session = await csms.session("CP-1")
                root = store.installed(ROOT)[0]
                # named by its hash data in any of the three algorithms
                for algorithm in HashAlgorithm:
                    named = store.installed(ROOT, algorithm)[0]
                    answer = await session.call(
                        v16.DeleteCertificateRequest(certificate_hash_data=_wire(named))
                    )
                    assert str(answer.status) == "Failed", algorithm
                assert store.installed(ROOT) == [root]
            nursery.cancel_scope.cancel()


async def test_profile_3_uses_the_store_client_certificate(tmp_path, csms_pki):
    """A certificate provisioned in the store (2.6.4) is the one the TLS client presents."""
    store = FileCertificateStore(tmp_path / "certs")
    store.install_ca(ROOT, csms_pki.ca_file.read_text())
    store.install_leaf(csms_pki.client_cert.read_bytes(), csms_pki.client_key.read_bytes())
    ssl_context = server_tls_context(
        str(csms_pki.server_cert),
        str(csms_pki.server_key),
        client_ca_file=str(csms_pki.ca_file),
    )
    csms = CentralSystem(CsmsSettings(), ssl_context=ssl_context)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            url = csms.url().split("://", 1)[1]
            path = config_file(tmp_path, url, Security={"SecurityProfile": 3})
            cfg = ChargePointConfig.load(path)
            options = Options(tls=TlsSettings(use_default_verify_paths=False))
            async with open_charge_point(cfg, _host(store), options=options) as cp:
                await csms.wait_until(lambda: cp.registered)
            nursery.cancel_scope.cancel()
