"""OCSP for Plug&Charge: certificate ids, request data from chains, real responses, their check."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from chargebox.ocpp import codec
from chargebox.ocpp.pnc import (
    AuthorizeRequest,
    GetCertificateStatusRequest,
    IdTokenEnumType,
    IdTokenType,
)
from chargebox.pki.iso15118 import Pki15118
from chargebox.pki.ocsp import (
    CertId,
    CertStatus,
    OcspError,
    StatusList,
    decode_result,
    ocsp_request_data,
    read_response,
    responder_url,
    unauthorized_response,
)

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki() -> Pki15118:
    return Pki15118.create(now=NOW)


def _key_bits(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def test_cert_id_is_rfc6960s(pki):
    contract = pki.issue_contract("DEFRAC123456789").certificate
    issuer = pki.mo_sub_ca_2.certificate
    cid = CertId.of(contract, issuer)
    assert cid.hash_algorithm == "SHA256"
    assert cid.issuer_name_hash == hashlib.sha256(contract.issuer.public_bytes()).hexdigest()
    assert cid.issuer_key_hash == hashlib.sha256(_key_bits(issuer)).hexdigest()
    assert cid.serial_number == format(contract.serial_number, "X")
    assert cid.serial == contract.serial_number
    sha512 = CertId.of(contract, issuer, "sha512")
    assert sha512.issuer_key_hash == hashlib.sha512(_key_bits(issuer)).hexdigest()
    # CiStrings: case and leading zeroes do not matter; the algorithm does
    loose = CertId(
        "SHA256",
        cid.issuer_name_hash.upper(),
        cid.issuer_key_hash,
        "00" + cid.serial_number.lower(),
    )
    assert loose.matches(cid) and not sha512.matches(cid)
    assert CertId.from_wire(cid.to_wire()) == cid
    with pytest.raises(ValueError, match="allowed are SHA256, SHA384, SHA512"):
        CertId.of(contract, issuer, "MD5")
    with pytest.raises(ValueError, match="not a hexadecimal number"):
        CertId("SHA256", "aa", "bb", "xyz").serial  # noqa: B018


def test_request_data_of_a_chain(pki):
    contract = pki.issue_contract("DEFRAC123456789")
    roots = [pki.mo_root.certificate]
    data = ocsp_request_data(contract.chain, roots)
    # the leaf and both sub-CAs, each with its own issuer, in chain order
    issuers = [pki.mo_sub_ca_2, pki.mo_sub_ca_1, pki.mo_root]
    assert [d.serial_number for d in data] == [format(c.serial_number, "X") for c in contract.chain]
    for entry, cert, issuer in zip(data, contract.chain, issuers, strict=True):
        assert CertId.from_wire(entry) == CertId.of(cert, issuer.certificate)
        assert entry.responder_url == pki.ocsp_url == responder_url(cert)
    # a root sent along is left out; a chain without its root's issuer loses its last entry
    assert ocsp_request_data([*contract.chain, pki.mo_root.certificate], roots) == data
    assert ocsp_request_data(contract.chain) == data[:2]
    # a certificate without a responder URL is left out
    assert responder_url(pki.mo_root.certificate) is None
    # what OCPP carries: Authorize and GetCertificateStatus stay within the 2.0.1 schemas
    token = IdTokenType(id_token="DEFRAC123456789", type=IdTokenEnumType.eMAID)
    codec.encode(AuthorizeRequest(id_token=token, iso15118_certificate_hash_data=data))
    codec.encode(GetCertificateStatusRequest(ocsp_request_data=data[0]))


def _independent_check(der: bytes, issuer: x509.Certificate) -> ocsp.OCSPResponse:
    """Parse and verify the signature with cryptography alone."""
    response = ocsp.load_der_ocsp_response(der)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    issuer.public_key().verify(
        response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256())
    )
    return response


def test_responses_good_revoked_and_unknown():
    pki = Pki15118.create(now=NOW)
    good = pki.issue_contract("DEFRAC123456789")
    revoked = pki.issue_contract("DEFRAC987654321")
    pki.revoke(revoked, at=NOW - timedelta(hours=2), reason=x509.ReasonFlags.superseded)
    issuer = pki.mo_sub_ca_2.certificate
    statuses = pki.statuses

    cid = CertId.of(good.certificate, issuer)
    response = _independent_check(statuses.response(cid, NOW), issuer)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == good.certificate.serial_number
    assert response.this_update_utc == NOW
    assert response.next_update_utc == NOW + statuses.validity
    assert read_response(statuses.response(cid, NOW), cid, issuer, NOW).status is CertStatus.good

    rid = CertId.of(revoked.certificate, issuer, "SHA384")
    response = _independent_check(statuses.response(rid, NOW), issuer)
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == NOW - timedelta(hours=2)
    assert response.revocation_reason is x509.ReasonFlags.superseded
    answer = read_response(statuses.response(rid, NOW), rid, issuer, NOW)
    assert answer.status is CertStatus.revoked and answer.revoked_at == NOW - timedelta(hours=2)

    # a serial the issuer never issued: unknown; a foreign issuer: no answer at all
    unknown = CertId(cid.hash_algorithm, cid.issuer_name_hash, cid.issuer_key_hash, "ABCDEF")
    assert statuses.status(unknown) is CertStatus.unknown
    answer = read_response(statuses.response(unknown, NOW), unknown, issuer, NOW)
    assert answer.status is CertStatus.unknown
    foreign = Pki15118.create("elsewhere", now=NOW, mo="Other MO")
    fid = CertId.of(
        foreign.issue_contract("DEFRAC123456789").certificate, foreign.mo_sub_ca_2.certificate
    )
    assert statuses.status(fid) is None and statuses.response(fid, NOW) is None
    # the sub-CAs are in the list too, answered by their own issuer
    sub = CertId.of(pki.mo_sub_ca_2.certificate, pki.mo_sub_ca_1.certificate)
    assert statuses.status(sub) is CertStatus.good
    assert statuses.find(sub).issuer == pki.mo_sub_ca_1.certificate


def test_read_response_refuses_what_it_cannot_trust(pki):
    contract = pki.issue_contract("DEFRAC123456789")
    issuer = pki.mo_sub_ca_2.certificate
    cid = CertId.of(contract.certificate, issuer)
    der = pki.statuses.response(cid, NOW)
    with pytest.raises(OcspError, match="stale"):
        read_response(der, cid, issuer, NOW + timedelta(days=8))
    with pytest.raises(OcspError, match="from the future"):
        read_response(der, cid, issuer, NOW - timedelta(hours=1))
    with pytest.raises(OcspError, match="not about serial"):
        other = CertId.of(pki.issue_contract("DEFRAC123456789").certificate, issuer)
        read_response(der, other, issuer, NOW)
    # the response names its signer by key hash: another issuer is neither it nor delegated
    with pytest.raises(OcspError, match="neither by the issuer"):
        read_response(der, cid, pki.mo_sub_ca_1.certificate, NOW)
    tampered = bytearray(der)
    tampered[-1] ^= 0x01
    with pytest.raises(OcspError, match="does not verify"):
        read_response(bytes(tampered), cid, issuer, NOW)
    with pytest.raises(OcspError, match="answered UNAUTHORIZED"):
        read_response(unauthorized_response(), cid, issuer, NOW)
    with pytest.raises(OcspError, match="not a DER OCSP response"):
        read_response(b"nonsense", cid, issuer, NOW)
    assert decode_result(base64.b64encode(der).decode()) == der
    with pytest.raises(OcspError, match="not base64"):
        decode_result("not base64!")


def _responder(issuer, key, *, usage):
    responder_key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "OCSP responder")]))
        .issuer_name(issuer.subject)
        .public_key(responder_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(key, hashes.SHA256()), responder_key


@pytest.mark.parametrize(
    "usage",
    [x509.ExtendedKeyUsageOID.OCSP_SIGNING, x509.ExtendedKeyUsageOID.SERVER_AUTH, None],
)
def test_a_delegated_responder_needs_the_ocsp_signing_usage(pki, usage):
    contract = pki.issue_contract("DEFRAC123456789").certificate
    issuer = pki.mo_sub_ca_2
    responder, responder_key = _responder(issuer.certificate, issuer.key, usage=usage)
    der = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=contract,
            issuer=issuer.certificate,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=NOW,
            next_update=NOW + timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.NAME, responder)
        .certificates([responder])
        .sign(responder_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    cid = CertId.of(contract, issuer.certificate)
    if usage == x509.ExtendedKeyUsageOID.OCSP_SIGNING:
        assert read_response(der, cid, issuer.certificate, NOW).status is CertStatus.good
    else:
        with pytest.raises(OcspError, match="neither by the issuer nor by its responder"):
            read_response(der, cid, issuer.certificate, NOW)


def test_a_status_list_without_the_pki():
    """The list stands alone: issuers with their keys, certificates, statuses."""
    pki = Pki15118.create(now=NOW)
    statuses = StatusList(validity=timedelta(hours=4))
    statuses.add_issuer(pki.cpo_sub_ca_2.certificate, pki.cpo_sub_ca_2.key)
    secc = pki.issue_secc("CP-1").certificate
    cid = CertId.of(secc, pki.cpo_sub_ca_2.certificate)
    assert statuses.status(cid) is CertStatus.unknown
    statuses.add(secc, pki.cpo_sub_ca_2.certificate)
    assert statuses.status(cid) is CertStatus.good
    answer = read_response(statuses.response(cid, NOW), cid, pki.cpo_sub_ca_2.certificate, NOW)
    assert answer.next_update == NOW + timedelta(hours=4)
    assert [e.certificate for e in statuses.entries()] == [secc]
