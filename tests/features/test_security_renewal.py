"""A03 (the station renews its certificate) and the repeated SignCertificate, on MockClock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chargebox import pki
from chargebox.actors.clock import StationClock
from chargebox.certstore import FileCertificateStore
from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.features.security import RENEWAL_RETRY, RENEWAL_WINDOW
from chargebox.host import CertificateUse
from chargebox.ocpp import v16
from chargebox.station import Host
from tests.support import RecordingEvse, RecordingSystem, running

ROOT = CertificateUse.CentralSystemRootCertificate
SIGNING = {"CertSigningWaitMinimum": 60, "CertSigningRepeatTimes": 3}


@pytest.fixture(scope="module")
def ca():
    return pki.make_ca("chargebox renewal root")


def _start() -> datetime:
    # the certificates pki makes are valid from the wall clock's now on
    return datetime.now(UTC).replace(microsecond=0)


def _leaf(ca: pki.Issued, not_before: datetime, not_after: datetime) -> tuple[bytes, bytes]:
    """A charge point certificate (PEM) valid in [not_before, not_after], and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "CP-1")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.private_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class SigningCsms:
    """A CSMS that records when each SignCertificate arrives (station time) and answers it."""

    def __init__(self, clock: StationClock, status: str = "Accepted") -> None:
        self.clock = clock
        self.status = status
        self.sent: list[tuple[datetime, str]] = []
        self.csms = CentralSystem(CsmsSettings())
        self.csms.on("SignCertificate", self._sign_certificate)

    def _sign_certificate(self, session: Any, request: v16.SignCertificateRequest) -> Any:
        self.sent.append((self.clock.now(), request.csr))
        return v16.SignCertificateResponse(status=self.status)

    @property
    def times(self) -> list[datetime]:
        return [moment for moment, _ in self.sent]


def _store(tmp_path, clock: StationClock, ca: pki.Issued) -> FileCertificateStore:
    store = FileCertificateStore(tmp_path / "certs", now=clock.now)
    store.install_ca(ROOT, ca.cert_pem)
    return store


def _host(store: FileCertificateStore) -> Host:
    return Host(evse=RecordingEvse(), system=RecordingSystem(), certificates=store)


async def _sleep_until(clock: StationClock, moment: datetime) -> None:
    await trio.sleep_until(clock.deadline(moment))


async def _certificate_signed(rig, ca: pki.Issued, csr: str) -> str:
    session = await rig.session()
    signed = pki.sign_csr(ca, csr.encode()).decode()
    answer = await session.call(v16.CertificateSignedRequest(certificate_chain=signed))
    return str(answer.status)


async def test_renewal_starts_one_window_before_expiry(tmp_path, autojump_clock, ca):
    """A03.FR.02: a certificate that expires in 30 days and 2 hours is renewed after 2 hours."""
    start = _start()
    clock = StationClock(start)
    store = _store(tmp_path, clock, ca)
    expiry = start + RENEWAL_WINDOW + timedelta(hours=2)
    store.install_leaf(*_leaf(ca, start - timedelta(hours=1), expiry))
    csms = SigningCsms(clock)
    async with running(
        tmp_path,
        csms=csms.csms,
        host=_host(store),
        clock=clock,
        Security={"CpoName": "Example CPO"},
        PnC=SIGNING,
    ) as rig:
        await _sleep_until(clock, expiry - RENEWAL_WINDOW - timedelta(seconds=1))
        assert csms.sent == []
        await rig.csms.wait_for("SignCertificate")
        assert csms.times == [expiry - RENEWAL_WINDOW]
        csr = x509.load_pem_x509_csr(csms.sent[0][1].encode())
        assert {a.oid: a.value for a in csr.subject} == {
            x509.NameOID.COMMON_NAME: "CP-1",
            x509.NameOID.ORGANIZATION_NAME: "Example CPO",
        }
        assert await _certificate_signed(rig, ca, csms.sent[0][1]) == "Accepted"
        # the new certificate (825 days) is far from its end: no repeat, no new renewal
        await _sleep_until(clock, expiry - RENEWAL_WINDOW + timedelta(days=5))
        assert len(csms.sent) == 1
        current = x509.load_pem_x509_certificate(store.tls_files().client_cert.read_bytes())
        assert current.public_key() == csr.public_key()


async def test_renewal_rearmed_when_the_clock_is_set(tmp_path, autojump_clock, ca):
    """The renewal moment is station time: a clock set past it starts the renewal at once."""
    start = _start()
    clock = StationClock(start)
    store = _store(tmp_path, clock, ca)
    expiry = start + RENEWAL_WINDOW + timedelta(hours=10)
    store.install_leaf(*_leaf(ca, start - timedelta(hours=1), expiry))
    csms = SigningCsms(clock)
    async with running(
        tmp_path, csms=csms.csms, host=_host(store), clock=clock, PnC=SIGNING
    ) as rig:
        await _sleep_until(clock, start + timedelta(hours=1))
        assert csms.sent == []
        jumped = expiry - RENEWAL_WINDOW + timedelta(minutes=30)
        clock.set(jumped)
        await rig.csms.wait_for("SignCertificate")
        assert csms.times == [jumped]


async def test_renewal_at_once_when_already_due(tmp_path, autojump_clock, ca, caplog):
    """Within the window already: at registration; a renewal that gets no certificate is
    tried again RENEWAL_RETRY after it gave up."""
    start = _start()
    clock = StationClock(start)
    store = _store(tmp_path, clock, ca)
    store.install_leaf(*_leaf(ca, start - timedelta(days=300), start + timedelta(days=10)))
    csms = SigningCsms(clock, status="Rejected")
    with caplog.at_level(logging.INFO, logger="chargebox.features.security"):
        async with running(
            tmp_path,
            csms=csms.csms,
            host=_host(store),
            clock=clock,
            PnC={"CertSigningWaitMinimum": 60, "CertSigningRepeatTimes": 1},
        ) as rig:
            await rig.csms.wait_for("SignCertificate", count=3)
    first, second, third = csms.times
    assert first == start  # the registration is immediate on the in-process network
    assert second - first == timedelta(seconds=60)
    gave_up = second + timedelta(seconds=120)
    assert third == gave_up + RENEWAL_RETRY
    assert any("renewing it (A03)" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("status", ["Accepted", "Rejected"])
async def test_sign_certificate_repeated_with_a_doubling_wait(
    tmp_path, autojump_clock, ca, caplog, status
):
    """No CertificateSigned (or Rejected): again after 60, 120, 240 s; then given up."""
    start = _start()
    clock = StationClock(start)
    store = _store(tmp_path, clock, ca)
    csms = SigningCsms(clock, status=status)
    async with running(
        tmp_path, csms=csms.csms, host=_host(store), clock=clock, PnC=SIGNING
    ) as rig:
        session = await rig.session()
        t0 = clock.now()
        answer = await session.call(
            v16.ExtendedTriggerMessageRequest(requested_message="SignChargePointCertificate")
        )
        assert str(answer.status) == "Accepted"
        with caplog.at_level(logging.INFO, logger="chargebox.features.security"):
            await _sleep_until(clock, t0 + timedelta(seconds=60 + 120 + 240 + 480 - 1))
            assert not any("given up" in r.getMessage() for r in caplog.records)
            # the procedure ends at its very moment: the last wait is over
            signing = rig.cp.station.features.security
            await rig.cp.station.wait_until(lambda: not signing.signing)
            assert clock.now() == t0 + timedelta(seconds=60 + 120 + 240 + 480)
            assert any(
                "no certificate after 4 requests; given up" in r.getMessage()
                for r in caplog.records
            )
        await _sleep_until(clock, t0 + timedelta(days=2))
    gaps = [(b - a).total_seconds() for a, b in zip(csms.times, csms.times[1:], strict=False)]
    assert csms.times[0] == t0
    assert gaps == [60, 120, 240]
    # every request has a new key
    assert len({csr for _, csr in csms.sent}) == 4


async def test_certificate_signed_ends_the_repeats(tmp_path, autojump_clock, ca):
    start = _start()
    clock = StationClock(start)
    store = _store(tmp_path, clock, ca)
    csms = SigningCsms(clock)
    async with running(
        tmp_path, csms=csms.csms, host=_host(store), clock=clock, PnC=SIGNING
    ) as rig:
        session = await rig.session()
        t0 = clock.now()
        await session.call(
            v16.ExtendedTriggerMessageRequest(requested_message="SignChargePointCertificate")
        )
        await rig.csms.wait_for("SignCertificate", count=2)
        assert csms.times == [t0, t0 + timedelta(seconds=60)]
        # the first request's certificate does not fit the key of the second
        assert await _certificate_signed(rig, ca, csms.sent[0][1]) == "Rejected"
        assert await _certificate_signed(rig, ca, csms.sent[1][1]) == "Accepted"
        await _sleep_until(clock, t0 + timedelta(days=1))
        assert len(csms.sent) == 2


async def test_without_the_keys_sign_certificate_is_sent_once(tmp_path, autojump_clock, ca):
    start = _start()
    clock = StationClock(start)
    store = _store(tmp_path, clock, ca)
    csms = SigningCsms(clock)
    async with running(tmp_path, csms=csms.csms, host=_host(store), clock=clock) as rig:
        session = await rig.session()
        await session.call(
            v16.ExtendedTriggerMessageRequest(requested_message="SignChargePointCertificate")
        )
        await rig.csms.wait_for("SignCertificate")
        await _sleep_until(clock, start + timedelta(days=1))
        assert len(csms.sent) == 1


async def test_nothing_without_a_charge_point_certificate(tmp_path, autojump_clock, ca):
    """Profile below 3 and no charge point certificate: no renewal, however long it runs."""
    start = _start()
    clock = StationClock(start)
    store = _store(tmp_path, clock, ca)
    csms = SigningCsms(clock)
    async with running(
        tmp_path,
        csms=csms.csms,
        host=_host(store),
        clock=clock,
        Security={"SecurityProfile": 0, "CpoName": "Example CPO"},
        PnC=SIGNING,
    ) as rig:
        assert rig.cp.config.security_profile == 0
        await _sleep_until(clock, start + timedelta(days=3))
        assert csms.sent == []
        assert rig.csms.received(action="SignCertificate") == []
