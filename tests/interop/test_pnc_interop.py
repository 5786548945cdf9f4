"""Plug&Charge against peers built on the `ocpp` package, each in its own asyncio process.

- A charge point on the `ocpp` package (tests/interop/ocpp_pnc_station.py) against the
  development CSMS: it makes every PnC payload with the package's OCPP 2.0.1 classes and
  checks each one, both ways, with that package's 2.0.1 schemas, so what the development
  CSMS answers and sends must pass a validator that is not chargebox's.
- chargebox's station (`chargebox sim --pnc`) against a Central System on the `ocpp`
  package (tests/interop/ocpp_pnc_csms.py), which checks what the station sends and
  answers the same way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import trio
from cryptography import x509

from chargebox.certstore import FileCertificateStore
from chargebox.csms import CentralSystem
from chargebox.host import CertificateUse
from chargebox.ocpp import codec
from chargebox.ocpp.pnc import GetInstalledCertificateIdsResponse
from chargebox.pki import ev_certificate as ev
from chargebox.pki.ocsp import CertId, CertStatus, decode_result, ocsp_request_data, read_response

from .processes import CHARGEBOX, Process
from .support import station_config

HERE = Path(__file__).resolve().parent
EMAID = "DEFRAC123456789"
PEER_TIMEOUT = 60.0

pytestmark = pytest.mark.interop


async def test_pnc_with_a_charge_point_on_the_ocpp_package(tmp_path):
    csms = CentralSystem()
    pki = csms.pnc.pki
    contract = pki.issue_contract(EMAID)
    oem = pki.issue_oem_provisioning("WMIV1234567890ABC")
    store = FileCertificateStore(tmp_path / "certs")
    store.install_ca(CertificateUse.V2GRootCertificate, pki.v2g_root.pem)
    ocsp = ocsp_request_data(contract.chain, [pki.mo_root.certificate])
    inputs = {
        "emaid": EMAID,
        "contract_chain": contract.chain_pem,
        "ocsp_request_data": [codec.encode(d) for d in ocsp],
        "exi_request": ev.installation_request(oem.chain),
        "csr": store.v2g_signing_request("CP-PNC", "Example CPO", "DE"),
    }
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    script = HERE / "ocpp_pnc_station.py"
    with trio.fail_after(PEER_TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            with Process(
                [sys.executable, str(script), csms.url() + "CP-PNC", str(tmp_path)]
            ) as peer:
                session = await csms.session("CP-PNC")
                await csms.wait_until(lambda: csms.pnc.certificate_signed_results)
                root = pki.mo_root.certificate
                sent = [
                    await csms.pnc.install_certificate(
                        session, "MORootCertificate", pki.mo_root.pem
                    ),
                    await csms.pnc.delete_certificate(session, CertId.of(root, root).to_wire()),
                    await csms.pnc.get_installed_certificate_ids(session, "V2GRootCertificate"),
                    await csms.pnc.trigger_sign_v2g_certificate(session),
                ]
                result = await trio.to_thread.run_sync(peer.wait_event, "result", PEER_TIMEOUT)
            nursery.cancel_scope.cancel()
    assert result["ok"], f"{result.get('error')}\n{peer.output()}"
    events = peer.events()
    answers = [e for e in events if e["event"] == "answer"]
    assert [(a["action"], a["status"]) for a in answers] == [
        ("Authorize", "Accepted"),
        ("Authorize", "Accepted"),
        ("GetCertificateStatus", "Accepted"),
        ("Get15118EVCertificate", "Accepted"),
        ("SignCertificate", "Accepted"),
    ]
    by_certificate, by_ocsp_data = answers[0]["data"], answers[1]["data"]
    for authorized in (by_certificate, by_ocsp_data):
        assert authorized == {
            "idTokenInfo": {"status": "Accepted"},
            "certificateStatus": "Accepted",
        }
    status = answers[2]["data"]
    assert status["status"] == "Accepted"
    answer = read_response(
        decode_result(status["ocspResult"]),
        CertId.from_wire(ocsp[0]),
        pki.mo_sub_ca_2.certificate,
    )
    assert answer.status is CertStatus.good
    installed = ev.read_response(answers[3]["data"]["exiResponse"])
    assert installed.private_key(oem.key).public_key() == installed.chain[0].public_key()
    assert answers[4]["data"] == {"status": "Accepted"}
    # what the CSMS sent, as the ocpp package received it
    requests = [e for e in events if e["event"] == "request"]
    assert [r["action"] for r in requests] == [
        "CertificateSigned",
        "InstallCertificate",
        "DeleteCertificate",
        "GetInstalledCertificateIds",
        "TriggerMessage",
    ]
    signed = requests[0]["data"]
    assert signed["certificateType"] == "V2GCertificate"
    chain = x509.load_pem_x509_certificates(signed["certificateChain"].encode())
    assert chain[0].public_key() == x509.load_pem_x509_csr(inputs["csr"].encode()).public_key()
    assert csms.pnc.certificate_signed_results == [("CP-PNC", "Accepted")]
    assert [str(r.status) for r in sent] == ["Accepted", "NotFound", "Accepted", "Accepted"]
    assert isinstance(sent[2], GetInstalledCertificateIdsResponse)
    assert str(sent[2].certificate_hash_data_chain[0].certificate_type) == "V2GRootCertificate"


PNC_SCRIPT = """\
wait-online 20
plug 1
wait 1 Charging 20
sleep 2
unplug 1
wait 1 Available 20
sleep 5
quit
"""


def test_a_pnc_station_against_the_ocpp_package_csms(tmp_path):
    """chargebox's station (`chargebox sim --pnc`) against a Central System on the `ocpp`
    package: every PnC payload both ways passes that package's 2.0.1 schemas."""
    config = station_config(tmp_path, "PNC-1")
    document = json.loads(config.read_text())
    document["PnC"] = {
        "ISO15118PnCEnabled": True,
        "ISO15118CertificateManagementEnabled": True,
        "ContractValidationOffline": True,
    }
    config.write_text(json.dumps(document))
    (tmp_path / "pnc-session.txt").write_text(PNC_SCRIPT)
    with Process([sys.executable, str(HERE / "ocpp_pnc_csms.py")]) as peer:
        port = peer.wait_event("listening", 20)["port"]
        station = Process(
            [
                *CHARGEBOX,
                "sim",
                "--config",
                str(config),
                "--csms",
                f"ws://127.0.0.1:{port}/ocpp/",
                "--data-dir",
                str(tmp_path / "data"),
                "--pnc",
                "--script",
                str(tmp_path / "pnc-session.txt"),
            ]
        )
        try:
            result = peer.wait_event("result", PEER_TIMEOUT)
            status = station.wait_exit(PEER_TIMEOUT)
        finally:
            station.stop()
    assert result["ok"], f"{result.get('error')}\n{peer.output()}\n{station.output()}"
    assert status == 0, station.output()
    pnc = [(e["direction"], e["action"]) for e in peer.events() if e["event"] == "pnc"]
    for expected in (
        ("out", "InstallCertificate"),
        ("out", "GetInstalledCertificateIds"),
        ("out", "TriggerMessage"),
        ("in", "SignCertificate"),
        ("out", "CertificateSigned"),
        ("in", "GetCertificateStatus"),
        ("in", "Get15118EVCertificate"),
        ("in", "Authorize"),
    ):
        assert expected in pnc, pnc
    # the V2G certificate: triggered, signed, installed, its OCSP answers asked for
    order = [
        pnc.index(step)
        for step in (
            ("out", "TriggerMessage"),
            ("in", "SignCertificate"),
            ("out", "CertificateSigned"),
            ("in", "GetCertificateStatus"),
        )
    ]
    assert order == sorted(order), pnc
    # the EV's contract: installed, then presented
    assert pnc.index(("in", "Get15118EVCertificate")) < pnc.index(("in", "Authorize"))
    answers = {e["action"]: e for e in peer.events() if e["event"] == "pnc"}
    assert answers["CertificateSigned"]["status"] == "Accepted"
    assert answers["InstallCertificate"]["status"] == "Accepted"
    assert answers["TriggerMessage"]["status"] == "Accepted"
    listed = answers["GetInstalledCertificateIds"]["data"]["certificateHashDataChain"]
    # the root --pnc provisioned and the one installed (the same key and name) are listed
    assert {c["certificateType"] for c in listed} == {"V2GRootCertificate"}
    authorize = answers["Authorize"]
    assert authorize["answer"]["idTokenInfo"]["status"] == "Accepted"
    assert authorize["data"]["iso15118CertificateHashData"]
    assert any("contract DECBXSIMEV0001: Accepted" in line for line in station.out)
