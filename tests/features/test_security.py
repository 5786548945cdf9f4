"""Security whitepaper certificates through the engine: M03-M05, A02 and ExtendedTriggerMessage,
and the store's files as the link's TLS material (the store alone: tests/certstore/)."""

from __future__ import annotations

import logging

import pytest
import trio
from cryptography import x509

from chargebox import pki
from chargebox.certstore import FileCertificateStore, hash_data
from chargebox.config import ChargePointConfig
from chargebox.csms import CentralSystem, CsmsSettings, server_tls_context
from chargebox.host import (
    CertificateUse,
    HashAlgorithm,
)
from chargebox.ocpp import v16
from chargebox.station import Host, Options, TlsSettings, open_charge_point
from tests.certstore.support import cert_of, expired_ca, pem_of, sub_ca
from tests.support import RecordingEvse, RecordingSystem, config_file, running

ROOT = CertificateUse.CentralSystemRootCertificate
MANUFACTURER = CertificateUse.ManufacturerRootCertificate


@pytest.fixture(scope="module")
def ca():
    return pki.make_ca("chargebox test CSMS root")


@pytest.fixture(scope="module")
def other_ca():
    return pki.make_ca("a foreign root")


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
                rig, v16.InstallCertificateRequest(certificate_type=use, certificate=pem_of(issued))
            )
            assert str(answer.status) == "Accepted"
        listed = await _call(rig, v16.GetInstalledCertificateIdsRequest(certificate_type=ROOT))
        assert str(listed.status) == "Accepted"
        expected = hash_data(cert_of(ca), cert_of(ca))
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
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=expired_ca())
        )
        assert str(expired.status) == "Rejected"
        leaf = pem_of(pki.make_client_cert(ca, "CP-1"))
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
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=pem_of(ca))
        )
        second = await _call(
            rig,
            v16.InstallCertificateRequest(
                certificate_type=MANUFACTURER, certificate=pem_of(other_ca)
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
    store.install_ca(MANUFACTURER, pem_of(ca))
    async with running(tmp_path, host=_host(store)) as rig:
        installed = await _call(
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=pem_of(ca))
        )
        assert str(installed.status) == "Failed"
        wire = _wire(hash_data(cert_of(ca), cert_of(ca)))
        deleted = await _call(rig, v16.DeleteCertificateRequest(certificate_hash_data=wire))
        assert str(deleted.status) == "Failed"


async def test_additional_root_certificate_check(tmp_path, autojump_clock, ca, other_ca):
    """M05.FR.10: a new root must be signed by the installed one."""
    store = FileCertificateStore(tmp_path / "certs")
    store.install_ca(ROOT, pem_of(ca))
    async with running(
        tmp_path, host=_host(store), Security={"AdditionalRootCertificateCheck": True}
    ) as rig:
        foreign = await _call(
            rig, v16.InstallCertificateRequest(certificate_type=ROOT, certificate=pem_of(other_ca))
        )
        assert str(foreign.status) == "Rejected"
        signed = await _call(
            rig,
            v16.InstallCertificateRequest(certificate_type=ROOT, certificate=pem_of(sub_ca(ca))),
        )
        assert str(signed.status) == "Accepted"


async def test_without_a_certificate_store(tmp_path, autojump_clock, ca):
    async with running(tmp_path) as rig:
        session = await rig.session()
        for request in (
            v16.InstallCertificateRequest(certificate_type=ROOT, certificate=pem_of(ca)),
            v16.GetInstalledCertificateIdsRequest(certificate_type=ROOT),
            v16.DeleteCertificateRequest(
                certificate_hash_data=_wire(hash_data(cert_of(ca), cert_of(ca)))
            ),
            v16.CertificateSignedRequest(certificate_chain=pem_of(ca)),
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
    store.install_ca(ROOT, pem_of(ca))
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
    store.install_ca(ROOT, pem_of(ca))
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
        answer = await _call(rig, v16.CertificateSignedRequest(certificate_chain=pem_of(ca)))
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


@pytest.mark.parametrize(
    ("what", "action"),
    [
        ("BootNotification", "BootNotification"),
        ("Heartbeat", "Heartbeat"),
        ("FirmwareStatusNotification", "SignedFirmwareStatusNotification"),
        ("LogStatusNotification", "LogStatusNotification"),
    ],
)
async def test_extended_trigger_message_ignores_a_connector_id_the_message_is_not_about(
    tmp_path, autojump_clock, what, action
):
    """As TriggerMessage (spec 5.17): only StatusNotification and MeterValues are about a
    connector; the others are sent whatever connectorId comes with them."""
    async with running(tmp_path) as rig:
        seen = len(rig.csms.received("CP-1", action))
        answer = await _call(
            rig, v16.ExtendedTriggerMessageRequest(requested_message=what, connector_id=7)
        )
        assert str(answer.status) == "Accepted"
        await rig.csms.wait_for(action, count=seen + 1)


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
