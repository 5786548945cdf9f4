"""Get15118EVCertificate's content in chargebox: the JSON stand-in for EXI, the encrypted key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from chargebox.ocpp import codec
from chargebox.ocpp.pnc import (
    CertificateActionEnumType,
    Get15118EVCertificateRequest,
    Get15118EVCertificateResponse,
    Iso15118EVCertificateStatusEnumType,
)
from chargebox.pki import ev_certificate as ev
from chargebox.pki.iso15118 import Pki15118

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
EMAID = "DEFRAC123456789"


@pytest.fixture(scope="module")
def pki() -> Pki15118:
    return Pki15118.create(now=NOW)


def test_installation_round_trip(pki):
    oem = pki.issue_oem_provisioning("WMIV1234567890ABC")
    exi_request = ev.installation_request(oem.chain)
    # what OCPP carries stays within the 2.0.1 schema (exiRequest: at most 5600 characters)
    codec.encode(
        Get15118EVCertificateRequest(
            iso15118_schema_version="urn:iso:15118:2:2013:MsgDef",
            action=CertificateActionEnumType.Install,
            exi_request=exi_request,
        )
    )
    document = orjson.loads(base64.b64decode(exi_request))
    assert document["format"] == ev.FORMAT == "chargebox-iso15118-json/1"
    request = ev.read_request(exi_request)
    assert request.action == "Install" and request.chain == oem.chain

    contract = pki.issue_contract(EMAID)
    exi_response = ev.certificate_response(request, contract.chain, contract.key, EMAID)
    codec.encode(
        Get15118EVCertificateResponse(
            status=Iso15118EVCertificateStatusEnumType.Accepted, exi_response=exi_response
        )
    )
    response = ev.read_response(exi_response)
    assert response.message == "CertificateInstallationRes"
    assert response.response_code is ev.ResponseCode.OK
    assert response.chain == contract.chain and response.emaid == EMAID
    # the key is not in the clear, and only the OEM provisioning key opens it
    assert contract.key_pem.split(b"\n")[1] not in base64.b64decode(exi_response)
    key = response.private_key(oem.key)
    assert key.private_numbers() == contract.key.private_numbers()
    stranger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ev.ExchangeError):
        response.private_key(stranger)


def test_update_round_trip(pki):
    old = pki.issue_contract(EMAID)
    request = ev.read_request(ev.update_request(old.chain, EMAID))
    assert request.action == "Update" and request.emaid == EMAID and request.chain == old.chain
    new = pki.issue_contract(EMAID)
    response = ev.read_response(ev.certificate_response(request, new.chain, new.key, EMAID))
    assert response.message == "CertificateUpdateRes"
    assert response.private_key(old.key).public_key() == new.certificate.public_key()


def test_failed_response():
    exi = ev.failed_response(ev.INSTALLATION_REQ, ev.ResponseCode.FAILED_CertChainError)
    response = ev.read_response(exi)
    assert response.message == "CertificateInstallationRes"
    assert response.response_code is ev.ResponseCode.FAILED_CertChainError
    assert response.chain == ()
    with pytest.raises(ev.ExchangeError, match="carries no key"):
        response.private_key(ec.generate_private_key(ec.SECP256R1()))


def _b64(document) -> str:
    return base64.b64encode(orjson.dumps(document)).decode()


@pytest.mark.parametrize(
    ("exi", "reason"),
    [
        ("%%%", "exiRequest is not base64"),
        (base64.b64encode(b"\x80\x98\x02\x10").decode(), "real EXI is not supported"),
        (_b64({"format": "other"}), "not in the format chargebox-iso15118-json/1"),
        (_b64({"format": ev.FORMAT, "message": "Hello"}), "allowed are CertificateInstallationReq"),
        (_b64({"format": ev.FORMAT, "message": ev.INSTALLATION_REQ}), "chain is missing"),
        (
            _b64({"format": ev.FORMAT, "message": ev.UPDATE_REQ, "contractCertificateChain": "x"}),
            "the contract chain is not a PEM certificate chain",
        ),
    ],
)
def test_unreadable_requests(exi, reason):
    with pytest.raises(ev.ExchangeError, match=reason):
        ev.read_request(exi)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (
            {"format": ev.FORMAT, "message": "CertificateInstallationReq"},
            "not a certificate response",
        ),
        (
            {"format": ev.FORMAT, "message": "CertificateUpdateRes", "responseCode": "Maybe"},
            "responseCode 'Maybe' is not known",
        ),
    ],
)
def test_unreadable_responses(document, reason):
    with pytest.raises(ev.ExchangeError, match=reason):
        ev.read_response(_b64(document))


def test_encrypted_key_must_have_its_length():
    key = ec.generate_private_key(ec.SECP256R1())
    point, encrypted = ev.encrypt_private_key(key, key.public_key())
    assert len(point) == 65 and len(encrypted) == 48
    assert ev.decrypt_private_key(point, encrypted, key).private_numbers() == key.private_numbers()
    with pytest.raises(ev.ExchangeError, match="16 octets of IV and 32 of key"):
        ev.decrypt_private_key(point, encrypted[:-1], key)
    with pytest.raises(ev.ExchangeError, match="not a secp256r1 point"):
        ev.decrypt_private_key(b"\x04" + b"\x00" * 64, encrypted, key)
