"""Plug&Charge in the development CSMS: the PnC DataTransfers of the OCA application note,
answered and sent over a real websocket, every payload checked against the 2.0.1 schemas."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import trio
from cryptography.hazmat.primitives import serialization

from chargebox.certstore import FileCertificateStore
from chargebox.csms import CentralSystem, CsmsSettings, console
from chargebox.csms.pnc import PncRefused
from chargebox.host import CertificateUse, InvalidCertificate
from chargebox.ocpp import v16
from chargebox.ocpp.errors import ValidationError
from chargebox.ocpp.pnc import (
    AuthorizationStatusEnumType as Auth,
)
from chargebox.ocpp.pnc import (
    AuthorizeCertificateStatusEnumType as Cert,
)
from chargebox.ocpp.pnc import (
    AuthorizeRequest,
    CertificateActionEnumType,
    CertificateSignedRequest,
    CertificateSignedResponse,
    CertificateSignedStatusEnumType,
    CertificateSigningUseEnumType,
    DeleteCertificateRequest,
    Get15118EVCertificateRequest,
    GetCertificateStatusRequest,
    GetInstalledCertificateIdsRequest,
    IdTokenEnumType,
    IdTokenType,
    InstallCertificateRequest,
    MessageTriggerEnumType,
    SignCertificateRequest,
    TriggerMessageRequest,
)
from chargebox.pki import ev_certificate as ev
from chargebox.pki.iso15118 import Pki15118
from chargebox.pki.ocsp import CertId, CertStatus, decode_result, ocsp_request_data, read_response

from .pnc_station import PncStation, default_answer

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
EMAID = "DEFRAC123456789"
SCHEMA_VERSION = "urn:iso:15118:2:2013:MsgDef"


@pytest.fixture
async def csms():
    csms = CentralSystem(CsmsSettings(), clock=lambda: NOW)
    async with trio.open_nursery() as nursery:
        await nursery.start(csms.serve)
        yield csms
        nursery.cancel_scope.cancel()


def _token(emaid: str = EMAID) -> IdTokenType:
    return IdTokenType(id_token=emaid, type=IdTokenEnumType.eMAID)


async def _authorize(csms, **fields):
    async with PncStation.connect(csms) as station:
        status, response = await station.pnc(AuthorizeRequest(**fields))
    assert status == "Accepted"
    return response


# -- Authorize ------------------------------------------------------------------------------------


async def test_authorize_a_valid_contract_chain(csms):
    csms.settings.parent_id_tags = {"DE-FRA-C12345678-9": "FLEET-1"}
    contract = csms.pnc.pki.issue_contract(EMAID)
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            status, response = await station.pnc(
                AuthorizeRequest(id_token=_token(), certificate=contract.chain_pem)
            )
            assert station.checked == ["AuthorizeRequest", "AuthorizeResponse"]
    assert status == "Accepted"
    assert response.id_token_info.status is Auth.Accepted
    assert response.certificate_status is Cert.Accepted
    assert response.id_token_info.group_id_token == IdTokenType(
        id_token="FLEET-1", type=IdTokenEnumType.Central
    )
    # on the wire: a DataTransfer of the PnC vendor, its data the 2.0.1 JSON text
    session = csms.sessions["CP-1"]
    request = session.calls("DataTransfer")[0]
    assert (request.vendor_id, request.message_id) == (
        "org.openchargealliance.iso15118pnc",
        "Authorize",
    )
    assert orjson.loads(request.data)["idToken"] == {"idToken": EMAID, "type": "eMAID"}


def _revoked_contract(pki):
    contract = pki.issue_contract(EMAID)
    pki.revoke(contract)
    return contract


def _foreign_contract():
    return Pki15118.create("elsewhere", now=NOW, mo="Other MO").issue_contract(EMAID)


@pytest.mark.parametrize(
    ("make", "token", "status", "certificate_status"),
    [
        (
            lambda pki: pki.issue_contract(
                EMAID, not_before=NOW - timedelta(days=9), not_after=NOW - timedelta(days=1)
            ),
            EMAID,
            Auth.Expired,
            Cert.CertificateExpired,
        ),
        (lambda pki: _revoked_contract(pki), EMAID, Auth.Invalid, Cert.CertificateRevoked),
        (lambda pki: _foreign_contract(), EMAID, Auth.Invalid, Cert.CertChainError),
        (
            lambda pki: pki.forge(pki.issue_contract(EMAID)),
            EMAID,
            Auth.Invalid,
            Cert.SignatureError,
        ),
        (
            lambda pki: pki.issue_contract(EMAID),
            "DEFRAC999999999",
            Auth.Invalid,
            Cert.CertChainError,
        ),
    ],
    ids=["expired", "revoked", "unknown root", "bad signature", "another eMAID"],
)
async def test_authorize_refuses_bad_contracts(csms, make, token, status, certificate_status):
    contract = make(csms.pnc.pki)
    with trio.fail_after(10):
        response = await _authorize(csms, id_token=_token(token), certificate=contract.chain_pem)
    assert response.id_token_info.status is status
    assert response.certificate_status is certificate_status


async def test_authorize_applies_the_idtag_rules_to_the_emaid(csms):
    csms.settings.blocked_id_tags = frozenset({"DE-FRA-C12345678-9"})
    contract = csms.pnc.pki.issue_contract(EMAID)
    with trio.fail_after(10):
        response = await _authorize(csms, id_token=_token(), certificate=contract.chain_pem)
        assert response.id_token_info.status is Auth.Blocked
        assert response.certificate_status is Cert.Accepted
        csms.settings.blocked_id_tags = frozenset()
        csms.settings.authorize_all = False
        response = await _authorize(csms, id_token=_token(), certificate=contract.chain_pem)
        assert response.id_token_info.status is Auth.Invalid
        csms.settings.accepted_id_tags = frozenset({EMAID})
        response = await _authorize(csms, id_token=_token(), certificate=contract.chain_pem)
        assert response.id_token_info.status is Auth.Accepted
        # no certificate, no OCSP data: the eMAID alone, no certificate status
        response = await _authorize(csms, id_token=_token())
        assert response.id_token_info.status is Auth.Accepted
        assert response.certificate_status is None


async def test_authorize_with_ocsp_data(csms):
    pki = csms.pnc.pki
    roots = [pki.mo_root.certificate]
    good = pki.issue_contract(EMAID)
    revoked = pki.issue_contract(EMAID)
    pki.revoke(revoked)
    expired = pki.issue_contract(
        EMAID, not_before=NOW - timedelta(days=9), not_after=NOW - timedelta(days=1)
    )
    foreign = _foreign_contract()
    other = pki.issue_contract("DEFRAC999999999")
    cases = [
        (ocsp_request_data(good.chain, roots), Auth.Accepted, Cert.Accepted),
        (ocsp_request_data(revoked.chain, roots), Auth.Invalid, Cert.CertificateRevoked),
        (ocsp_request_data(expired.chain, roots), Auth.Expired, Cert.CertificateExpired),
        (ocsp_request_data(foreign.chain), Auth.Invalid, Cert.CertChainError),
        (ocsp_request_data(other.chain, roots), Auth.Invalid, Cert.CertChainError),
        # a serial the MO sub-CA 2 never issued
        (
            [
                CertId(
                    **{**_fields(ocsp_request_data(good.chain, roots)[0]), "serial_number": "AB"}
                ).request_data("http://127.0.0.1:8180/ocsp")
            ],
            Auth.Invalid,
            Cert.CertChainError,
        ),
    ]
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            for data, status, certificate_status in cases:
                _, response = await station.pnc(
                    AuthorizeRequest(id_token=_token(), iso15118_certificate_hash_data=data)
                )
                assert (response.id_token_info.status, response.certificate_status) == (
                    status,
                    certificate_status,
                ), data


def _fields(data) -> dict[str, str]:
    return {
        "hash_algorithm": str(data.hash_algorithm),
        "issuer_name_hash": data.issuer_name_hash,
        "issuer_key_hash": data.issuer_key_hash,
        "serial_number": data.serial_number,
    }


# -- GetCertificateStatus -------------------------------------------------------------------------


async def test_get_certificate_status_answers_real_ocsp(csms):
    pki = csms.pnc.pki
    secc = pki.issue_secc("CP-1")
    requests = ocsp_request_data(secc.chain, [pki.v2g_root.certificate])
    pki.revoke(pki.cpo_sub_ca_2.certificate)
    foreign = Pki15118.create("elsewhere", now=NOW, cpo="Other CPO").issue_secc("CP-1")
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            answers = [
                await station.pnc(GetCertificateStatusRequest(ocsp_request_data=r))
                for r in requests
            ]
            _, failed = await station.pnc(
                GetCertificateStatusRequest(ocsp_request_data=ocsp_request_data(foreign.chain)[0])
            )
    issuers = [pki.cpo_sub_ca_2, pki.cpo_sub_ca_1, pki.v2g_root]
    statuses = []
    for (status, response), request, issuer in zip(answers, requests, issuers, strict=True):
        assert status == "Accepted" and str(response.status) == "Accepted"
        der = decode_result(response.ocsp_result)
        statuses.append(
            read_response(der, CertId.from_wire(request), issuer.certificate, NOW).status
        )
    assert statuses == [CertStatus.good, CertStatus.revoked, CertStatus.good]
    assert str(failed.status) == "Failed"
    assert failed.ocsp_result is None and failed.status_info.reason_code == "UnknownIssuer"


# -- SignCertificate and CertificateSigned --------------------------------------------------------


def _v2g_store(tmp_path, pki) -> FileCertificateStore:
    store = FileCertificateStore(tmp_path / "certs", now=lambda: NOW)
    store.install_ca(CertificateUse.V2GRootCertificate, pki.v2g_root.pem)
    return store


def _installing(store: FileCertificateStore):
    """A station answer that installs CertificateSigned's chain in the store."""

    def answer(request):
        if not isinstance(request, CertificateSignedRequest):
            return default_answer(request)
        try:
            store.install_v2g(request.certificate_chain)
        except InvalidCertificate:
            return "Accepted", CertificateSignedResponse(
                status=CertificateSignedStatusEnumType.Rejected
            )
        return "Accepted", CertificateSignedResponse(
            status=CertificateSignedStatusEnumType.Accepted
        )

    return answer


async def test_sign_v2g_certificate_and_certificate_signed(csms, tmp_path):
    store = _v2g_store(tmp_path, csms.pnc.pki)
    csr = store.v2g_signing_request("CP-1", "Example CPO", "DE")
    with trio.fail_after(10):
        async with PncStation.connect(csms, answer=_installing(store)) as station:
            status, response = await station.pnc(
                SignCertificateRequest(
                    csr=csr, certificate_type=CertificateSigningUseEnumType.V2GCertificate
                )
            )
            assert (status, str(response.status)) == ("Accepted", "Accepted")
            [signed] = await station.wait_received(1)
            await csms.wait_until(lambda: csms.pnc.certificate_signed_results)
    assert isinstance(signed, CertificateSignedRequest)
    assert signed.certificate_type is CertificateSigningUseEnumType.V2GCertificate
    assert csms.pnc.certificate_signed_results == [("CP-1", "Accepted")]
    assert store.v2g_certificate_files() is not None
    assert signed.certificate_chain == csms.pnc.signed_v2g["CP-1"].chain_pem
    # the answer to SignCertificate went out before CertificateSigned
    out = [(ex.kind, ex.action) for ex in csms.sessions["CP-1"].exchanges if ex.direction == "out"]
    assert out == [("CALLRESULT", "DataTransfer"), ("CALL", "DataTransfer")]


async def test_a_pending_certificate_signed_ends_with_the_session(csms, tmp_path, caplog):
    """The CertificateSigned that follows SignCertificate is the session's: when the station
    goes away before it answers, the call is cancelled, not left to time out."""
    csr = _v2g_store(tmp_path, csms.pnc.pki).v2g_signing_request("CP-1", "CPO", "DE")
    with trio.fail_after(10):
        async with PncStation.connect(csms, answer=lambda r: ("NoAnswer", None)) as station:
            await station.pnc(
                SignCertificateRequest(
                    csr=csr, certificate_type=CertificateSigningUseEnumType.V2GCertificate
                )
            )
            await station.wait_received(1)
        # the CertificateSigned call waits up to 30 s for its answer; the session ends first
        await csms.sessions["CP-1"].closed.wait()
    assert csms.pnc.certificate_signed_results == []
    assert "failed" not in caplog.text


@pytest.mark.parametrize(
    ("csr", "certificate_type", "reason_code"),
    [
        ("not a CSR", CertificateSigningUseEnumType.V2GCertificate, "InvalidCSR"),
        ("valid", CertificateSigningUseEnumType.ChargingStationCertificate, "UnsupportedType"),
        ("valid", None, "UnsupportedType"),
    ],
)
async def test_sign_certificate_refusals(csms, tmp_path, csr, certificate_type, reason_code):
    if csr == "valid":
        csr = _v2g_store(tmp_path, csms.pnc.pki).v2g_signing_request("CP-1", "CPO", "DE")
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            _, response = await station.pnc(
                SignCertificateRequest(csr=csr, certificate_type=certificate_type)
            )
    assert str(response.status) == "Rejected"
    assert response.status_info.reason_code == reason_code
    assert csms.pnc.signed_v2g == {}


async def test_sign_certificate_rejected_by_setting_sends_nothing(csms, tmp_path):
    csms.pnc.settings.sign_status = "Rejected"
    csr = _v2g_store(tmp_path, csms.pnc.pki).v2g_signing_request("CP-1", "CPO", "DE")
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            _, response = await station.pnc(
                SignCertificateRequest(
                    csr=csr, certificate_type=CertificateSigningUseEnumType.V2GCertificate
                )
            )
            assert str(response.status) == "Rejected"
            # a Heartbeat round trip later, still no CertificateSigned
            await station.call(v16.HeartbeatRequest())
    assert station.received == [] and csms.pnc.signed_v2g == {}


# -- Get15118EVCertificate ------------------------------------------------------------------------


async def test_get_15118_ev_certificate_installs_a_contract(csms):
    pki = csms.pnc.pki
    oem = pki.issue_oem_provisioning("WMIV1234567890ABC")
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            status, response = await station.pnc(
                Get15118EVCertificateRequest(
                    iso15118_schema_version=SCHEMA_VERSION,
                    action=CertificateActionEnumType.Install,
                    exi_request=ev.installation_request(oem.chain),
                )
            )
            assert (status, str(response.status)) == ("Accepted", "Accepted")
            answer = ev.read_response(response.exi_response)
            emaid = csms.pnc.emaid_for("WMIV1234567890ABC")
            assert answer.response_code is ev.ResponseCode.OK and answer.emaid == emaid
            key = answer.private_key(oem.key)
            assert key.public_key() == answer.chain[0].public_key()
            # the new contract authorizes
            chain_pem = "".join(
                c.public_bytes(serialization.Encoding.PEM).decode() for c in answer.chain
            )
            _, authorized = await station.pnc(
                AuthorizeRequest(id_token=_token(emaid), certificate=chain_pem)
            )
            assert authorized.id_token_info.status is Auth.Accepted
            # and renews
            _, renewed = await station.pnc(
                Get15118EVCertificateRequest(
                    iso15118_schema_version=SCHEMA_VERSION,
                    action=CertificateActionEnumType.Update,
                    exi_request=ev.update_request(answer.chain, emaid),
                )
            )
            update = ev.read_response(renewed.exi_response)
            assert update.message == "CertificateUpdateRes" and update.emaid == emaid
            assert update.private_key(key).public_key() == update.chain[0].public_key()
    assert csms.pnc.issued_contracts[emaid].chain == update.chain
    assert len(emaid) == 14 and emaid.startswith("DECBX")


async def test_get_15118_ev_certificate_refusals(csms):
    foreign_oem = Pki15118.create("elsewhere", now=NOW, oem="Other OEM").issue_oem_provisioning(
        "WMIV1234567890ABC"
    )
    revoked = csms.pnc.pki.issue_contract(EMAID)
    csms.pnc.pki.revoke(revoked)
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:

            async def ask(action, exi):
                _, response = await station.pnc(
                    Get15118EVCertificateRequest(
                        iso15118_schema_version=SCHEMA_VERSION, action=action, exi_request=exi
                    )
                )
                return response

            foreign = await ask(
                CertificateActionEnumType.Install, ev.installation_request(foreign_oem.chain)
            )
            renew_revoked = await ask(
                CertificateActionEnumType.Update, ev.update_request(revoked.chain, EMAID)
            )
            garbage = await ask(
                CertificateActionEnumType.Install, base64.b64encode(b"EXI").decode()
            )
            mismatch = await ask(
                CertificateActionEnumType.Update, ev.installation_request(foreign_oem.chain)
            )
    assert str(foreign.status) == "Accepted"
    assert ev.read_response(foreign.exi_response).response_code is (
        ev.ResponseCode.FAILED_CertChainError
    )
    assert foreign.status_info.reason_code == "UnknownRoot"
    assert ev.read_response(renew_revoked.exi_response).response_code is (
        ev.ResponseCode.FAILED_CertificateRevoked
    )
    assert str(garbage.status) == "Failed" and garbage.exi_response == ""
    assert garbage.status_info.reason_code == "InvalidExiRequest"
    assert "real EXI is not supported" in garbage.status_info.additional_info
    assert str(mismatch.status) == "Failed"
    assert mismatch.status_info.reason_code == "ActionMismatch"
    assert csms.pnc.issued_contracts == {}


# -- what the Central System sends ----------------------------------------------------------------


async def test_csms_initiated_pnc_messages(csms):
    pki = csms.pnc.pki
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            session = csms.sessions["CP-1"]
            installed = await csms.pnc.install_certificate(
                session, "V2GRootCertificate", pki.v2g_root.pem
            )
            root = pki.mo_root.certificate
            hash_data = CertId.of(root, root).to_wire()
            deleted = await csms.pnc.delete_certificate(session, hash_data)
            listed = await csms.pnc.get_installed_certificate_ids(
                session, "V2GCertificateChain", "MORootCertificate"
            )
            triggered = await csms.pnc.trigger_sign_v2g_certificate(session)
            signed = await csms.pnc.certificate_signed(session, pki.issue_secc("CP-1").chain_pem)
    assert [str(r.status) for r in (installed, deleted, listed, triggered, signed)] == [
        "Accepted",
        "Accepted",
        "NotFound",
        "Accepted",
        "Accepted",
    ]
    received = station.received
    assert received[0] == InstallCertificateRequest(
        certificate_type="V2GRootCertificate", certificate=pki.v2g_root.pem
    )
    assert received[1] == DeleteCertificateRequest(certificate_hash_data=hash_data)
    assert received[2] == GetInstalledCertificateIdsRequest(
        certificate_type=("V2GCertificateChain", "MORootCertificate")
    )
    assert received[3] == TriggerMessageRequest(
        requested_message=MessageTriggerEnumType.SignV2GCertificate
    )
    assert received[4].certificate_type is CertificateSigningUseEnumType.V2GCertificate
    # each request and each answer was checked against its 2.0.1 schema
    assert station.checked == [
        name
        for action in (
            "InstallCertificate",
            "DeleteCertificate",
            "GetInstalledCertificateIds",
            "TriggerMessage",
            "CertificateSigned",
        )
        for name in (f"{action}Request", f"{action}Response")
    ]


async def test_a_station_without_pnc_or_with_a_bad_answer(csms):
    def refuse(request):
        return "UnknownVendorId", None

    with trio.fail_after(10):
        async with PncStation.connect(csms, answer=refuse):
            session = csms.sessions["CP-1"]
            with pytest.raises(PncRefused, match="answered DataTransfer UnknownVendorId"):
                await csms.pnc.trigger_sign_v2g_certificate(session)
        # data that is not a 2.0.1 TriggerMessageResponse: a ValidationError names it

        async with PncStation.connect(csms, "CP-2", answer=lambda r: ("Accepted", None)):
            session = csms.sessions["CP-2"]
            with pytest.raises(ValidationError, match="data is missing"):
                await csms.pnc.trigger_sign_v2g_certificate(session)


# -- bad input, switched off ----------------------------------------------------------------------


async def test_bad_pnc_data_transfers(csms):
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            not_json = await station.data_transfer("Authorize", "{not json")
            invalid = await station.data_transfer("Authorize", '{"idToken": {"idToken": "x"}}')
            missing = await station.data_transfer("GetCertificateStatus", None)
            unknown = await station.data_transfer("Brew", "{}")
            wrong_way = await station.data_transfer(
                "CertificateSigned", '{"certificateChain": "x"}'
            )
    assert [str(a.status) for a in (not_json, invalid, missing, unknown, wrong_way)] == [
        "Rejected",
        "Rejected",
        "Rejected",
        "UnknownMessageId",
        "UnknownMessageId",
    ]
    assert all(a.data is None for a in (not_json, invalid, missing))
    assert [action for action, _ in csms.pnc.refusals] == [
        "Authorize",
        "Authorize",
        "GetCertificateStatus",
    ]
    assert "data is not JSON" in csms.pnc.refusals[0][1]
    assert "type" in csms.pnc.refusals[1][1]


async def test_pnc_switched_off(csms):
    csms.pnc.settings.enabled = False
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            status, response = await station.pnc(AuthorizeRequest(id_token=_token()))
    assert (status, response) == ("UnknownVendorId", None)


# -- the console ----------------------------------------------------------------------------------


async def test_console_sends_pnc_messages(csms):
    with trio.fail_after(10):
        async with PncStation.connect(csms) as station:
            parsed = console.parse(
                "pnc InstallCertificate CP-1 certificateType=V2GRootCertificate "
                "certificate=@v2g-root"
            )
            assert parsed.action == "pnc InstallCertificate"
            response = await console.execute(csms, parsed)
            assert str(response.status) == "Accepted"
            parsed = console.parse('pnc TriggerMessage {"requestedMessage": "SignV2GCertificate"}')
            assert str((await console.execute(csms, parsed)).status) == "Accepted"
    assert station.received[0].certificate == csms.pnc.pki.v2g_root.pem
    assert str(station.received[1].requested_message) == "SignV2GCertificate"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("pnc", "pnc needs an operation: CertificateSigned, DeleteCertificate"),
        ("pnc Authorize", "Authorize is sent by a charge point"),
        ("pnc Brew", "unknown Plug&Charge operation 'Brew'"),
        ("pnc InstallCertificate certificateType=Nope certificate=x", "certificateType"),
    ],
)
def test_console_pnc_errors(line, error):
    with pytest.raises(console.ConsoleError, match=error):
        console.parse(line)


def test_console_help_names_pnc():
    assert "pnc <Action> [<charge point id>]" in console.help_text()
