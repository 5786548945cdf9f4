"""Security whitepaper L01: SignedUpdateFirmware, the signature check and every
SignedFirmwareStatusNotification, through the engine on the mock clock.

A manufacturer root, a firmware signing certificate and the firmware's signature
(SHA256; RSA-PSS or ECDSA; base64 as FirmwareType.signature) are made here with
cryptography; the root is installed in a FileCertificateStore as a
ManufacturerRootCertificate.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
import trio
import trio.testing
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from chargebox.actors import StationClock
from chargebox.actors.firmware import verify_firmware_signature
from chargebox.certstore import FileCertificateStore
from chargebox.features.firmware import check_signing_certificate
from chargebox.host import CertificateUse, InvalidCertificate
from chargebox.ocpp import v16
from chargebox.station import Host
from tests.support import RecordingEvse, RecordingSystem, running

IMAGE = b"chargebox firmware 3.0\n" * 1000
LOCATION = "https://fw.example/station-3.0.bin"


@attrs.frozen
class Pki:
    root: x509.Certificate
    root_key: object
    signing: x509.Certificate
    signing_key: object

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def signing_pem(self) -> str:
        return self.signing.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, data: bytes) -> str:
        key = self.signing_key
        if isinstance(key, rsa.RSAPrivateKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            raw = key.sign(data, pss, hashes.SHA256())
        else:
            raw = key.sign(data, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(raw).decode()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)])


def make_pki(kind: str = "rsa", *, days: int = 365) -> Pki:
    """A manufacturer root CA and a firmware signing certificate it issued."""

    def key():
        if kind == "rsa":
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return ec.generate_private_key(ec.SECP256R1())

    now = datetime.now(UTC)
    root_key, signing_key = key(), key()
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("chargebox test manufacturer root"))
        .issuer_name(_name("chargebox test manufacturer root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    signing = (
        x509.CertificateBuilder()
        .subject_name(_name("chargebox firmware signing"))
        .issuer_name(root.subject)
        .public_key(signing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return Pki(root, root_key, signing, signing_key)


@pytest.fixture(scope="module")
def maker() -> Pki:
    return make_pki("rsa")


@attrs.define
class FileFirmware:
    """A firmware port that 'downloads' IMAGE into a file and installs it."""

    folder: Path
    image: bytes = IMAGE
    install_result: bool = True
    install_blocks: bool = False
    downloads: int = 0
    installs: int = 0
    path: Path | None = None

    async def download_firmware(self, location):
        self.downloads += 1
        self.path = self.folder / "image.bin"
        self.path.write_bytes(self.image)
        return True

    async def firmware_file(self):
        return self.path

    async def install_firmware(self):
        self.installs += 1
        if self.install_blocks:
            await trio.sleep_forever()
        return self.install_result


def signed_host(tmp_path: Path, pki: Pki | None, firmware: FileFirmware) -> Host:
    store = FileCertificateStore(tmp_path / "certs")
    if pki is not None:
        store.install_ca(CertificateUse.ManufacturerRootCertificate, pki.root_pem)
    return Host(
        evse=RecordingEvse(), system=RecordingSystem(), firmware=firmware, certificates=store
    )


async def signed_update(
    rig, pki: Pki, *, request_id=1, retrieve_in=0.0, install_in=None, signature=None
) -> str:
    now = rig.cp.clock.now()
    session = await rig.session()
    answer = await session.call(
        v16.SignedUpdateFirmwareRequest(
            request_id=request_id,
            retries=0,
            firmware=v16.FirmwareType(
                location=LOCATION,
                retrieve_date_time=now + timedelta(seconds=retrieve_in),
                install_date_time=(
                    None if install_in is None else now + timedelta(seconds=install_in)
                ),
                signing_certificate=pki.signing_pem,
                signature=pki.sign(IMAGE) if signature is None else signature,
            ),
        )
    )
    return str(answer.status)


def signed_statuses(rig) -> list[tuple[str, int | None]]:
    return [
        (str(n.status), n.request_id)
        for n in rig.csms.received("CP-1", "SignedFirmwareStatusNotification")
    ]


async def until(rig, *expected: str) -> None:
    await rig.csms.wait_until(lambda: [s for s, _ in signed_statuses(rig)] == list(expected))


def security_events(rig) -> list[str]:
    return [str(e.type) for e in rig.csms.received("CP-1", "SecurityEventNotification")]


async def test_a_signed_update_is_verified_installed_and_reported_after_the_reboot(
    tmp_path, autojump_clock, maker
):
    clock = StationClock()
    firmware = FileFirmware(tmp_path)
    host = signed_host(tmp_path, maker, firmware)
    async with running(tmp_path, host=host, clock=clock) as rig:
        assert await signed_update(rig, maker, request_id=42, retrieve_in=600) == "Accepted"
        await until(
            rig,
            "DownloadScheduled",
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
            "InstallRebooting",
        )
        assert {r for _, r in signed_statuses(rig)} == {42}  # L01.FR.10
        await rig.system.reset_done.wait()
        actions = rig.csms.actions("CP-1")
        assert actions.count("FirmwareStatusNotification") == 0  # the signed messages only
        # ExtendedTriggerMessage: the last status sent (L01.FR.29)
        session = await rig.session()
        answer = await session.call(
            v16.ExtendedTriggerMessageRequest(requested_message="FirmwareStatusNotification")
        )
        assert answer.status == "Accepted"
        await rig.csms.wait_until(lambda: len(signed_statuses(rig)) == 7)
        assert signed_statuses(rig)[-1] == ("InstallRebooting", 42)
    async with running(tmp_path, host=signed_host(tmp_path, None, firmware), clock=clock) as rig:
        await until(rig, "Installed")
        assert signed_statuses(rig) == [("Installed", 42)]
        actions = rig.csms.actions("CP-1")
        assert actions.index("BootNotification") < actions.index("SignedFirmwareStatusNotification")
        await rig.csms.wait_until(lambda: "FirmwareUpdated" in security_events(rig))
        # after Installed, a triggered notification says Idle, without requestId (L01.FR.28)
        session = await rig.session()
        await session.call(
            v16.ExtendedTriggerMessageRequest(requested_message="FirmwareStatusNotification")
        )
        await rig.csms.wait_until(lambda: len(signed_statuses(rig)) == 2)
        assert signed_statuses(rig)[-1] == ("Idle", None)


async def test_a_signing_certificate_of_another_manufacturer_is_refused(
    tmp_path, autojump_clock, maker
):
    firmware = FileFirmware(tmp_path)
    async with running(tmp_path, host=signed_host(tmp_path, maker, firmware)) as rig:
        stranger = make_pki("ec")
        assert await signed_update(rig, stranger) == "InvalidCertificate"
        await rig.csms.wait_until(
            lambda: "InvalidFirmwareSigningCertificate" in security_events(rig)
        )
        await trio.sleep(120)
        assert signed_statuses(rig) == [] and firmware.downloads == 0
        assert rig.cp.station.features.firmware.status() == "Idle"


async def test_without_a_manufacturer_root_every_signed_update_is_refused(
    tmp_path, autojump_clock, maker
):
    firmware = FileFirmware(tmp_path)
    async with running(tmp_path, host=signed_host(tmp_path, None, firmware)) as rig:
        assert await signed_update(rig, maker) == "InvalidCertificate"
        await rig.csms.wait_until(
            lambda: "InvalidFirmwareSigningCertificate" in security_events(rig)
        )


@pytest.mark.parametrize("kind", ["rsa", "ec"])
async def test_a_file_that_does_not_match_its_signature_is_not_installed(
    tmp_path, autojump_clock, kind
):
    pki = make_pki(kind)
    firmware = FileFirmware(tmp_path, image=IMAGE + b"tampered")
    async with running(tmp_path, host=signed_host(tmp_path, pki, firmware)) as rig:
        assert await signed_update(rig, pki, request_id=5) == "Accepted"
        await until(rig, "Downloading", "Downloaded", "InvalidSignature")
        await rig.csms.wait_until(lambda: "InvalidFirmwareSignature" in security_events(rig))
        assert firmware.installs == 0 and rig.system.resets == []
        assert rig.cp.status(1) == "Available"


async def test_install_date_then_a_new_request_cancels_and_an_installation_is_not_cancelled(
    tmp_path, autojump_clock, maker
):
    firmware = FileFirmware(tmp_path, install_blocks=True)
    async with running(tmp_path, host=signed_host(tmp_path, maker, firmware)) as rig:
        assert await signed_update(rig, maker, request_id=1, install_in=3600) == "Accepted"
        await until(rig, "Downloading", "Downloaded", "SignatureVerified", "InstallScheduled")
        await trio.sleep(600)
        assert firmware.installs == 0
        # a new request cancels the scheduled installation (L01.FR.26)
        assert await signed_update(rig, maker, request_id=2) == "AcceptedCanceled"
        await rig.csms.wait_until(lambda: ("Installing", 2) in signed_statuses(rig))
        await trio.testing.wait_all_tasks_blocked()
        assert firmware.installs == 1
        # an installation under way cannot be cancelled (L01.FR.27)
        assert await signed_update(rig, maker, request_id=3) == "Rejected"
        assert all(r != 3 for _, r in signed_statuses(rig))


async def test_an_install_date_already_past_is_not_waited_for(tmp_path, autojump_clock, maker):
    firmware = FileFirmware(tmp_path)
    async with running(tmp_path, host=signed_host(tmp_path, maker, firmware)) as rig:
        assert await signed_update(rig, maker, request_id=4, install_in=-60) == "Accepted"
        # L01.FR.16 schedules only a future installDateTime: no InstallScheduled
        await rig.csms.wait_until(lambda: ("Installing", 4) in signed_statuses(rig))
        assert [s for s, _ in signed_statuses(rig)][:4] == [
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
        ]


def test_signature_and_certificate_checks_alone(tmp_path, maker):
    path = tmp_path / "fw.bin"
    path.write_bytes(IMAGE)
    now = datetime.now(UTC)
    check_signing_certificate(maker.signing_pem, [maker.root], now)
    with pytest.raises(InvalidCertificate, match="expired"):
        check_signing_certificate(maker.signing_pem, [maker.root], now + timedelta(days=400))
    with pytest.raises(InvalidCertificate, match="not issued"):
        check_signing_certificate(maker.signing_pem, [make_pki("ec").root], now)
    assert verify_firmware_signature(path, maker.signing_pem, maker.sign(IMAGE)) is None
    # PKCS#1 v1.5 signatures are accepted as well
    raw = maker.signing_key.sign(IMAGE, padding.PKCS1v15(), hashes.SHA256())
    assert (
        verify_firmware_signature(path, maker.signing_pem, base64.b64encode(raw).decode()) is None
    )
    assert "base64" in verify_firmware_signature(path, maker.signing_pem, "not base64!")
    assert "missing" in verify_firmware_signature(path, maker.signing_pem, "")
    assert "does not match" in verify_firmware_signature(path, maker.signing_pem, maker.sign(b"x"))
