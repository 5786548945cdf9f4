"""Plug&Charge certificate management through the engine against the development CSMS: the V2G
certificate (its signing, repeats, CertificateSigned), its OCSP answers, and the Central
System's root certificates over DataTransfer; every PnC payload checked against the 2.0.1
schemas both ways."""

from __future__ import annotations

import itertools
import logging

import orjson
import pytest
import trio
from cryptography import x509
from cryptography.x509.oid import NameOID

from chargebox.charts.models.v2g import FIRST_DELAY, ROUND_INTERVAL
from chargebox.csms.pnc import PncRefused
from chargebox.ocpp import pnc, v16
from chargebox.ocpp.pnc import (
    CertificateSignedRequest,
    CertificateSigningUseEnumType,
    GenericStatusEnumType,
    MessageTriggerEnumType,
    TriggerMessageRequest,
)
from chargebox.station import DataTransferHandlers
from tests.features.pnc_support import MO, PNC, V2G, pnc_exchanges, pnc_station

MANAGED = {**PNC, "ISO15118CertificateManagementEnabled": True}


def _names(chain_file) -> dict:
    leaf = x509.load_pem_x509_certificates(chain_file.read_bytes())[0]
    return {a.oid: str(a.value) for a in leaf.subject}


async def _v2g_installed(p) -> None:
    await p.csms.wait_until(lambda: p.csms.pnc.certificate_signed_results)


def _times(p, message_id: str) -> list:
    """When the PnC DataTransfers of `message_id` went (the CSMS's clock is the station's)."""
    return [
        e.time
        for s in p.csms.all_sessions
        for e in s.exchanges
        if e.kind == "CALL"
        and e.action == "DataTransfer"
        and e.payload.get("messageId") == message_id
    ]


def _status_requests(p) -> list[str]:
    return [
        orjson.loads(r.data)["ocspRequestData"]["serialNumber"]
        for r in p.csms.received("CP-1", "DataTransfer")
        if r.message_id == "GetCertificateStatus"
    ]


async def test_a_station_without_a_v2g_certificate_gets_one_and_its_ocsp_answers(
    tmp_path, autojump_clock
):
    async with pnc_station(tmp_path, PnC=MANAGED) as p:
        start = p.clock.now()
        await _v2g_installed(p)
        assert p.csms.pnc.certificate_signed_results == [("CP-1", "Accepted")]
        # the first round comes a minute after the registration: no V2G certificate, so
        # the signing procedure starts
        sign = next(
            r for r in p.csms.received("CP-1", "DataTransfer") if r.message_id == "SignCertificate"
        )
        assert orjson.loads(sign.data)["certificateType"] == "V2GCertificate"
        signed_at = _times(p, "SignCertificate")[0]
        assert (signed_at - start).total_seconds() == pytest.approx(FIRST_DELAY, abs=1)
        chain, key = p.store.current_v2g_certificate()
        # CN ChargeBoxSerialNumber, O CpoName (no SeccLeafSubject* keys), C DE
        names = _names(chain)
        assert names[NameOID.COMMON_NAME] == "cp001"
        assert names[NameOID.ORGANIZATION_NAME] == "Pionix"
        assert names[NameOID.COUNTRY_NAME] == "DE"
        # the ISO 15118 stack hears of it
        await p.cp.wait_until(lambda: p.iso15118.v2g_certificates)
        assert p.iso15118.v2g_certificates == [(chain, key)]
        # a round at once: GetCertificateStatus for the leaf and both sub-CAs, cached
        await p.csms.wait_until(lambda: len(_status_requests(p)) == 3)
        installed_at = _times(p, "CertificateSigned")[0]
        assert all(
            (t - installed_at).total_seconds() < 1 for t in _times(p, "GetCertificateStatus")
        )
        requests = p.store.v2g_ocsp_requests()
        assert sorted(_status_requests(p)) == sorted(r.hash_data.serial_number for r in requests)
        await p.cp.wait_until(
            lambda: all(p.store.cached_ocsp(r.hash_data) is not None for r in requests)
        )
        # 12 hours on: a round, and nothing is due (OcspRequestInterval is a week)
        await trio.sleep(ROUND_INTERVAL + 1)
        assert len(_status_requests(p)) == 3
        # a week after the answers: they are due again, all three
        await trio.sleep(7 * 86400)
        assert len(_status_requests(p)) == 6
        assert pnc_exchanges(p.csms) == [
            ("station", "SignCertificate"),
            ("csms", "CertificateSigned"),
            *[("station", "GetCertificateStatus")] * 6,
        ]


async def test_the_secc_leaf_subject_keys_name_the_v2g_certificate(tmp_path, autojump_clock):
    secc = {
        "SeccLeafSubjectCommonName": "DEPNX100001",
        "SeccLeafSubjectOrganization": "Example CPO",
        "SeccLeafSubjectCountry": "NL",
    }
    async with pnc_station(tmp_path, PnC=MANAGED, Internal=secc) as p:
        await _v2g_installed(p)
        chain, _ = p.store.current_v2g_certificate()
        names = _names(chain)
        assert names[NameOID.COMMON_NAME] == "DEPNX100001"
        assert names[NameOID.ORGANIZATION_NAME] == "Example CPO"
        assert names[NameOID.COUNTRY_NAME] == "NL"


async def test_without_certificate_management_nothing_runs_and_pnc_messages_are_unknown(
    tmp_path, autojump_clock
):
    async with pnc_station(tmp_path) as p:
        await trio.sleep(3 * FIRST_DELAY)
        assert pnc_exchanges(p.csms) == []
        session = await p.session()
        with pytest.raises(PncRefused, match="UnknownVendorId"):
            await p.csms.pnc.trigger_sign_v2g_certificate(session)
        # the key set to true: the rounds start (a minute later)
        answer = await session.call(
            v16.ChangeConfigurationRequest(key="ISO15118CertificateManagementEnabled", value="true")
        )
        assert str(answer.status) == "Accepted"
        await _v2g_installed(p)
        # and false again: the rounds stop
        await session.call(
            v16.ChangeConfigurationRequest(
                key="ISO15118CertificateManagementEnabled", value="false"
            )
        )
        await trio.sleep(1)
        count = len(pnc_exchanges(p.csms))
        await trio.sleep(3 * ROUND_INTERVAL)
        assert len(pnc_exchanges(p.csms)) == count


async def test_without_a_pnc_section_the_host_port_answers_the_vendor(tmp_path, autojump_clock):
    handlers = DataTransferHandlers()
    handlers.on(pnc.VENDOR_ID, None, lambda message_id, data: ("Rejected", "host"))
    async with pnc_station(tmp_path, PnC=None) as p:
        p.rig.host.data_transfer = handlers
        session = await p.session()
        answer = await session.call(
            pnc.to_data_transfer(
                TriggerMessageRequest(requested_message=MessageTriggerEnumType.SignV2GCertificate)
            )
        )
        assert (str(answer.status), answer.data) == ("Rejected", "host")


async def test_trigger_sign_v2g_certificate(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, PnC=MANAGED) as p:
        await _v2g_installed(p)
        session = await p.session()
        answer = await p.csms.pnc.trigger_sign_v2g_certificate(session)
        assert str(answer.status) == "Accepted"
        await p.csms.wait_until(lambda: len(p.csms.pnc.certificate_signed_results) == 2)
        assert p.csms.pnc.certificate_signed_results[1] == ("CP-1", "Accepted")
        assert len(p.store.v2g_certificates()) == 2
        other = await p.csms.pnc.call(
            session,
            TriggerMessageRequest(requested_message=MessageTriggerEnumType.BootNotification),
        )
        assert str(other.status) == "NotImplemented"


async def test_trigger_sign_v2g_certificate_needs_an_organization(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, PnC=MANAGED, Security={"CpoName": None}) as p:
        session = await p.session()
        answer = await p.csms.pnc.trigger_sign_v2g_certificate(session)
        assert str(answer.status) == "Rejected"
        assert answer.status_info.reason_code == "NoOrganization"
        # nor does the round ask for one
        await trio.sleep(2 * FIRST_DELAY)
        assert ("station", "SignCertificate") not in pnc_exchanges(p.csms)


async def test_sign_certificate_repeats_until_certificate_signed(tmp_path, autojump_clock):
    keys = {**MANAGED, "CertSigningWaitMinimum": 60, "CertSigningRepeatTimes": 2}
    async with pnc_station(tmp_path, PnC=keys) as p:
        p.csms.pnc.settings.sign_status = GenericStatusEnumType.Rejected
        await trio.sleep(FIRST_DELAY + 60 + 120 + 240 + 10)
        times = _times(p, "SignCertificate")
        # the first, then 60 s and 120 s later (CertSigningWaitMinimum doubling), no more
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert gaps == [pytest.approx(60, abs=1), pytest.approx(120, abs=1)]
        # each with a new key: the CSRs differ
        csrs = {
            orjson.loads(r.data)["csr"]
            for r in p.csms.received("CP-1", "DataTransfer")
            if r.message_id == "SignCertificate"
        }
        assert len(csrs) == 3


async def test_certificate_signed_refusals(tmp_path, autojump_clock, caplog):
    async with pnc_station(
        tmp_path, PnC=MANAGED, Security={"CertificateSignedMaxChainSize": 2000}
    ) as p:
        session = await p.session()
        pki = p.csms.pnc.pki
        secc = pki.issue_secc("CP-1")
        for request, code in (
            (
                CertificateSignedRequest(
                    certificate_chain=secc.certificate_pem,
                    certificate_type=CertificateSigningUseEnumType.ChargingStationCertificate,
                ),
                "UnsupportedType",
            ),
            (CertificateSignedRequest(certificate_chain=secc.chain_pem), "ChainTooLong"),
            (
                CertificateSignedRequest(certificate_chain=secc.certificate_pem),
                "InvalidCertificate",
            ),
        ):
            with caplog.at_level(logging.WARNING, logger="chargebox.features.pnc"):
                answer = await p.csms.pnc.call(session, request)
            assert str(answer.status) == "Rejected", code
            assert answer.status_info.reason_code == code
        assert "CertificateSigned: Rejected" in caplog.text
        last = await p.csms.wait_for(
            "SecurityEventNotification",
            lambda e: e.type == "InvalidChargePointCertificate",
            count=3,
        )
        # no V2G signing request is pending: the certificate has no key here
        assert "no V2G certificate signing request is pending" in last.tech_info
        assert p.store.current_v2g_certificate() is None


async def test_roots_installed_listed_and_deleted_over_pnc(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, roots=(), PnC=MANAGED) as p:
        session = await p.session()
        pki = p.csms.pnc.pki
        none = await p.csms.pnc.get_installed_certificate_ids(session)
        assert str(none.status) == "NotFound"
        for use, root in (("V2GRootCertificate", pki.v2g_root), ("MORootCertificate", pki.mo_root)):
            answer = await p.csms.pnc.install_certificate(session, use, root.pem)
            assert str(answer.status) == "Accepted"
        bad = await p.csms.pnc.install_certificate(session, "MORootCertificate", "garbage")
        assert str(bad.status) == "Rejected" and "not PEM" in bad.status_info.additional_info
        listed = await p.csms.pnc.get_installed_certificate_ids(session, "MORootCertificate")
        assert str(listed.status) == "Accepted"
        (chain,) = listed.certificate_hash_data_chain
        assert str(chain.certificate_type) == "MORootCertificate"
        assert chain.certificate_hash_data.serial_number == format(
            pki.mo_root.certificate.serial_number, "X"
        )
        every = await p.csms.pnc.get_installed_certificate_ids(session)
        assert sorted(str(c.certificate_type) for c in every.certificate_hash_data_chain) == [
            "MORootCertificate",
            "V2GRootCertificate",
        ]
        # the V2G chain appears once there is a V2G certificate: the leaf, its sub-CAs below
        await _v2g_installed(p)
        v2g = await p.csms.pnc.get_installed_certificate_ids(session, "V2GCertificateChain")
        (chain,) = v2g.certificate_hash_data_chain
        assert len(chain.child_certificate_hash_data) == 2
        mo_root = listed.certificate_hash_data_chain[0].certificate_hash_data
        deleted = await p.csms.pnc.delete_certificate(session, mo_root)
        assert str(deleted.status) == "Accepted"
        again = await p.csms.pnc.delete_certificate(session, mo_root)
        assert str(again.status) == "NotFound"
        assert p.store.installed(MO) == []
        assert len(p.store.installed(V2G)) == 1
        assert pnc_exchanges(p.csms)[:4] == [
            ("csms", "GetInstalledCertificateIds"),
            ("csms", "InstallCertificate"),
            ("csms", "InstallCertificate"),
            ("csms", "InstallCertificate"),
        ]
        sent = [e for e in pnc_exchanges(p.csms) if e[0] == "csms"]
        assert sent[-2:] == [("csms", "DeleteCertificate"), ("csms", "DeleteCertificate")]


async def test_pnc_messages_a_station_does_not_take_and_bad_data(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, PnC=MANAGED) as p:
        session = await p.session()
        for message_id, data, status in (
            ("Authorize", '{"idToken": {"idToken": "X", "type": "eMAID"}}', "UnknownMessageId"),
            ("NoSuchMessage", "{}", "UnknownMessageId"),
            ("InstallCertificate", "not json", "Rejected"),
            ("InstallCertificate", '{"certificateType": "V2GRootCertificate"}', "Rejected"),
        ):
            answer = await session.call(
                v16.DataTransferRequest(vendor_id=pnc.VENDOR_ID, message_id=message_id, data=data)
            )
            assert (str(answer.status), answer.data) == (status, None), message_id
        # the vendorId is a CiString: any case
        answer = await session.call(
            v16.DataTransferRequest(
                vendor_id=pnc.VENDOR_ID.upper(),
                message_id="GetInstalledCertificateIds",
                data="{}",
            )
        )
        assert str(answer.status) == "Accepted"


async def test_the_rounds_stop_offline_and_start_again_online(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, PnC=MANAGED) as p:
        await _v2g_installed(p)
        await p.csms.wait_until(lambda: len(_status_requests(p)) == 3)
        v2g = p.cp.station.actors.v2g
        seen: list[bool] = []
        v2g.observers.append(lambda actor, outcome: seen.append(actor.model.running))
        await p.rig.cut()
        await p.cp.wait_until(lambda: seen[-1:] == [True] and False in seen)
        # stopped while the link was down, running again once it is Accepted
        assert seen[seen.index(False) :] == [False, True]


async def test_a_new_ocsp_request_interval_decides_what_the_next_rounds_ask(
    tmp_path, autojump_clock
):
    async with pnc_station(tmp_path, PnC=MANAGED) as p:
        await _v2g_installed(p)
        await p.csms.wait_until(lambda: len(_status_requests(p)) == 3)
        session = await p.session()
        answer = await session.call(
            v16.ChangeConfigurationRequest(key="OcspRequestInterval", value="86400")
        )
        assert str(answer.status) == "Accepted"
        # the round 12 hours on: the answers are half a day old, not due
        await trio.sleep(ROUND_INTERVAL + 60)
        assert len(_status_requests(p)) == 3
        # the round a day after them: due (a week with the default)
        await trio.sleep(ROUND_INTERVAL)
        assert len(_status_requests(p)) == 6
