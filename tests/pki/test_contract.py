"""Contract certificates: the eMAID and the validation of a contract chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from chargebox.ocpp.pnc import AuthorizationStatusEnumType as Auth
from chargebox.ocpp.pnc import AuthorizeCertificateStatusEnumType as Cert
from chargebox.pki.contract import (
    ContractProblem,
    normalize_emaid,
    parse_emaid,
    same_emaid,
    validate_chain,
    validate_contract,
)
from chargebox.pki.iso15118 import Authority, Pki15118, name
from chargebox.pki.ocsp import CertId

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
EMAID = "DEFRAC123456789"


@pytest.fixture(scope="module")
def pki() -> Pki15118:
    return Pki15118.create(now=NOW)


@pytest.fixture(scope="module")
def roots(pki) -> list[x509.Certificate]:
    return [pki.mo_root.certificate]


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("DEFRAC123456789", "DEFRAC123456789"),
        ("DE-FRA-C12345678-9", "DEFRAC123456789"),
        ("de-fra-c12345678", "DEFRAC12345678"),
        ("NL8EAABCDEFGHI", "NL8EAABCDEFGHI"),
        (" DEFRAC12345678 ", "DEFRAC12345678"),
    ],
)
def test_emaids(text, normal):
    assert normalize_emaid(text) == normal


@pytest.mark.parametrize(
    "text",
    [
        "",
        "DE",
        "D1FRAC12345678",
        "DEFRA-C12345678",
        "DE-FRAC12345678",
        "DEFRAC1234567",
        "DEFRAC1234567890",
        "DE*FRA*C12345678",
    ],
)
def test_not_emaids(text):
    with pytest.raises(ValueError, match="is not an eMAID: 2 letters"):
        parse_emaid(text)


def test_same_emaid():
    assert same_emaid("DE-FRA-C12345678-9", "defrac123456789")
    assert same_emaid("DEFRAC12345678", "DEFRAC123456789")  # the check digit may be left out
    assert not same_emaid("DEFRAC123456789", "DEFRAC123456788")
    assert not same_emaid("DEFRAC12345678", "DEFRAC12345679")
    assert same_emaid("not an emaid", "NOT AN EMAID")


def test_a_valid_contract(pki, roots):
    contract = pki.issue_contract("DE-FRA-C12345678-9")
    verdict = validate_contract(contract.chain_pem, roots, NOW, emaid="defrac123456789")
    assert verdict.ok, verdict.reason
    assert verdict.emaid == EMAID
    assert verdict.path == (*contract.chain, pki.mo_root.certificate)
    assert verdict.certificate_status is Cert.Accepted
    assert verdict.authorization_status is Auth.Accepted
    # certificates as well as PEM; the root sent along is accepted when it is installed
    assert validate_contract(list(contract.chain), roots, NOW).ok
    assert validate_contract([*contract.chain, pki.mo_root.certificate], roots, NOW).ok
    # a V2G root may be installed for contracts issued under it
    assert not validate_contract(contract.chain_pem, [pki.v2g_root.certificate], NOW).ok


def _expect(verdict, problem, certificate_status, authorization_status, reason):
    assert verdict.problem is problem, verdict.reason
    assert verdict.certificate_status is certificate_status
    assert verdict.authorization_status is authorization_status
    assert reason in verdict.reason
    assert "\n" not in verdict.reason


def test_expired_and_not_yet_valid(pki, roots):
    expired = pki.issue_contract(
        EMAID, not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1)
    )
    _expect(
        validate_contract(expired.chain_pem, roots, NOW),
        ContractProblem.Expired,
        Cert.CertificateExpired,
        Auth.Expired,
        f"'{EMAID}' (serial {expired.certificate.serial_number:X}) expired on 2030-01-14",
    )
    future = pki.issue_contract(EMAID, not_before=NOW + timedelta(days=1))
    _expect(
        validate_contract(future.chain_pem, roots, NOW),
        ContractProblem.NotYetValid,
        Cert.CertificateExpired,
        Auth.Invalid,
        "is not valid before 2030-01-16",
    )
    # a sub-CA out of its validity: the contract is expired too
    later = NOW + timedelta(days=5 * 365)
    valid_then = pki.issue_contract(EMAID, not_before=later - timedelta(days=1))
    _expect(
        validate_contract(valid_then.chain_pem, roots, later),
        ContractProblem.Expired,
        Cert.CertificateExpired,
        Auth.Expired,
        "'chargebox MO Sub-CA 2'",
    )


def test_unknown_root(pki, roots):
    other = Pki15118.create("elsewhere", now=NOW, mo="Other MO")
    contract = other.issue_contract(EMAID)
    _expect(
        validate_contract(contract.chain_pem, roots, NOW),
        ContractProblem.UnknownRoot,
        Cert.CertChainError,
        Auth.Invalid,
        "issuer 'DC=MO,C=DE,O=Other MO,CN=Other MO Root CA' of 'Other MO Sub-CA 1'",
    )
    _expect(
        validate_contract([*contract.chain, other.mo_root.certificate], roots, NOW),
        ContractProblem.UnknownRoot,
        Cert.CertChainError,
        Auth.Invalid,
        "ends in the root 'Other MO Root CA'",
    )
    _expect(
        validate_contract(contract.chain_pem, [], NOW),
        ContractProblem.UnknownRoot,
        Cert.CertChainError,
        Auth.Invalid,
        "neither in the chain nor an installed root",
    )


def test_bad_signature(pki, roots):
    forged = pki.forge(pki.issue_contract(EMAID))
    _expect(
        validate_contract(forged.chain_pem, roots, NOW),
        ContractProblem.BadSignature,
        Cert.SignatureError,
        Auth.Invalid,
        "does not verify with the key of its issuer 'chargebox MO Sub-CA 2'",
    )
    # the same name, another key: a root that is not the installed one
    impostor = Pki15118.create("impostor", now=NOW)
    _expect(
        validate_contract(impostor.issue_contract(EMAID).chain_pem, roots, NOW),
        ContractProblem.BadSignature,
        Cert.SignatureError,
        Auth.Invalid,
        "'chargebox MO Sub-CA 1'",
    )


def test_revoked_when_the_status_is_known(pki, roots):
    contract = pki.issue_contract(EMAID)
    pki.revoke(contract)

    def status(cert, issuer):
        return pki.statuses.status(CertId.of(cert, issuer))

    _expect(
        validate_contract(contract.chain_pem, roots, NOW, status=status),
        ContractProblem.Revoked,
        Cert.CertificateRevoked,
        Auth.Invalid,
        "is revoked",
    )
    # without a status source, nothing is known of it
    assert validate_contract(contract.chain_pem, roots, NOW).ok
    assert validate_contract(contract.chain_pem, roots, NOW, status=lambda c, i: None).ok


def test_emaid_problems(pki, roots):
    _expect(
        validate_contract(pki.issue_contract(EMAID).chain_pem, roots, NOW, emaid="DEFRAC999999999"),
        ContractProblem.EmaidMismatch,
        Cert.CertChainError,
        Auth.Invalid,
        "the eMAID presented, 'DEFRAC999999999', is not the contract certificate's "
        "'DEFRAC123456789'",
    )
    _expect(
        validate_contract(pki.issue_contract("not-an-emaid").chain_pem, roots, NOW),
        ContractProblem.NoEmaid,
        Cert.CertChainError,
        Auth.Invalid,
        "common name 'not-an-emaid' is not an eMAID",
    )


def _cert(issuer: Authority, subject: str, *, ca: bool, path_length: int | None = None):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(subject, "chargebox MO", "DE", "MO"))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )
    return Authority(cert, key)


def test_chain_structure(pki, roots):
    # a CA where the contract certificate should be
    _expect(
        validate_contract([pki.mo_sub_ca_2.certificate], roots, NOW),
        ContractProblem.InvalidChain,
        Cert.CertChainError,
        Auth.Invalid,
        "is a CA, not a contract certificate",
    )
    # a leaf that signs another leaf
    not_ca = _cert(pki.mo_sub_ca_2, "not a CA", ca=False)
    below = _cert(not_ca, EMAID, ca=False)
    _expect(
        validate_contract(
            [below.certificate, not_ca.certificate, *pki.issue_contract(EMAID).chain[1:]],
            roots,
            NOW,
        ),
        ContractProblem.InvalidChain,
        Cert.CertChainError,
        Auth.Invalid,
        "'not a CA' (serial",
    )
    # a third sub-CA under sub-CA 2, whose path length is 0
    sub_3 = _cert(pki.mo_sub_ca_2, "MO Sub-CA 3", ca=True)
    leaf = _cert(sub_3, EMAID, ca=False)
    _expect(
        validate_contract(
            [leaf.certificate, sub_3.certificate, *pki.issue_contract(EMAID).chain[1:]],
            roots,
            NOW,
        ),
        ContractProblem.InvalidChain,
        Cert.CertChainError,
        Auth.Invalid,
        "'chargebox MO Sub-CA 2' (serial",
    )


@pytest.mark.parametrize(
    ("chain", "reason"),
    [
        ("", "not PEM"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a readable PEM"),
        ([], "no contract certificate"),
    ],
)
def test_unreadable(roots, chain, reason):
    _expect(
        validate_contract(chain, roots, NOW),
        ContractProblem.Unreadable,
        Cert.NoCertificateAvailable,
        Auth.Invalid,
        reason,
    )


def test_validate_chain_checks_any_leaf(pki):
    """The same checks without an eMAID: the OEM provisioning certificate of an EV."""
    oem = pki.issue_oem_provisioning("WMIV1234567890ABC")
    verdict = validate_chain(oem.chain, [pki.oem_root.certificate], NOW)
    assert verdict.ok and verdict.emaid is None
    assert verdict.path[-1] == pki.oem_root.certificate
    refused = validate_chain(oem.chain, [pki.mo_root.certificate], NOW)
    assert refused.problem is ContractProblem.UnknownRoot
    unreadable = validate_chain("", [], NOW, what="OEM provisioning certificate")
    assert unreadable.reason == (
        "the OEM provisioning certificate chain is not PEM: no '-----BEGIN CERTIFICATE-----' line"
    )
    # a contract whose common name is not an eMAID is still a valid chain
    assert validate_chain(
        pki.issue_contract("not-an-emaid").chain, [pki.mo_root.certificate], NOW
    ).ok
