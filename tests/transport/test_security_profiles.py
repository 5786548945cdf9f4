"""Security profiles 0-3 against the development CSMS on loopback, with certificates made here."""

from __future__ import annotations

import base64
import ssl
from contextlib import asynccontextmanager

import pytest
import trio

from chargebox import pki, transport
from chargebox.csms import CentralSystem, CsmsSettings, server_tls_context
from chargebox.ocpp import frames, rpc
from chargebox.ocpp.v16 import HeartbeatRequest
from chargebox.transport import ConnectError, FailureKind, TlsSettings

KEY = "0123456789abcdef0123456789abcdef"  # hex pairs: 16 bytes of password


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA, the CSMS's server certificate, a charge point's client certificate; and strangers."""
    folder = tmp_path_factory.mktemp("pki")
    dev = pki.DevelopmentPki.create(folder, "CP-1", "chargebox test")
    other_ca = pki.make_ca("some other CA")
    (folder / "other-ca.pem").write_bytes(other_ca.cert_pem)
    stranger = pki.make_client_cert(other_ca, "CP-1")
    stranger.write(folder / "stranger.pem", folder / "stranger.key")
    return dev


async def _serve(nursery, csms):
    await nursery.start(csms.serve)
    return csms


async def _enter(url, **kw):
    """Connect, and close at once: for the tests where connecting must fail."""
    error = None
    async with trio.open_nursery() as nursery:
        try:
            ws = await transport.connect(nursery, url, **kw)
        except Exception as e:  # raised outside the nursery, unwrapped
            error = e
        else:
            await ws.aclose()
    if error is not None:
        raise error
    return ws


@asynccontextmanager
async def _open(url, **kw):
    async with trio.open_nursery() as nursery:
        ws = await transport.connect(nursery, url, **kw)
        try:
            yield ws
        finally:
            await ws.aclose()


async def _heartbeat(ws):
    call = rpc.call(HeartbeatRequest())
    await ws.send_message(frames.serialize(call))
    answer = frames.parse(await ws.get_message())
    return rpc.decode_result("Heartbeat", answer)


async def test_profile_0_plain_websocket_with_the_ocpp16_subprotocol(nursery):
    csms = await _serve(nursery, CentralSystem())
    url = csms.url() + "CP-1"
    async with _open(url, profile=0, charge_point_id="CP-1") as ws:
        assert ws.subprotocol == "ocpp1.6"
        assert (await _heartbeat(ws)).current_time is not None
        session = await csms.session("CP-1")
        assert session.ws.path == "/steve/websocket/CentralSystemService/CP-1"


async def test_profile_1_sends_basic_auth_with_the_decoded_key(nursery):
    csms = await _serve(nursery, CentralSystem(CsmsSettings(known_ids={"CP-1": KEY})))
    async with _open(csms.url() + "CP-1", profile=1, charge_point_id="CP-1", authorization_key=KEY):
        session = await csms.session("CP-1")
    headers = dict(session.request_headers)
    expected = base64.b64encode(b"CP-1:" + bytes.fromhex(KEY))
    assert headers[b"authorization"] == b"Basic " + expected


def test_authorization_key_hex_pairs_are_the_password_bytes():
    assert transport.basic_auth_password("DEADBEEF") == b"\xde\xad\xbe\xef"
    assert transport.basic_auth_password("not hex at all!") == b"not hex at all!"
    assert transport.basic_auth_password("ABC") == b"ABC"  # odd length: not hex pairs
    name, value = transport.basic_auth_header("cp001", "DEADBEEF")
    assert name == b"Authorization"
    assert base64.b64decode(value.split()[1]) == b"cp001:\xde\xad\xbe\xef"


async def test_profile_1_wrong_key_is_http_401_with_a_clear_message(nursery):
    csms = await _serve(nursery, CentralSystem(CsmsSettings(known_ids={"CP-1": KEY})))
    with pytest.raises(ConnectError) as e:
        await _enter(
            csms.url() + "CP-1",
            profile=1,
            charge_point_id="CP-1",
            authorization_key="ffffffffffffffffffffffffffffffff",
        )
    assert e.value.kind is FailureKind.HTTP and e.value.status == 401
    assert "HTTP 401" in str(e.value) and "AuthorizationKey" in str(e.value)
    assert "ffff" not in str(e.value)  # never the key


async def test_unknown_charge_point_is_http_404_with_a_hint(nursery):
    csms = await _serve(nursery, CentralSystem(CsmsSettings(known_ids={"CP-1": None})))
    with pytest.raises(ConnectError) as e:
        await _enter(csms.url() + "CP-9", profile=0, charge_point_id="CP-9")
    assert e.value.status == 404
    assert "registered" in str(e.value)
    assert csms.rejected == [("/steve/websocket/CentralSystemService/CP-9", 404)]


async def test_profile_2_tls_with_basic_auth(nursery, certs):
    ctx = server_tls_context(str(certs.server_cert), str(certs.server_key))
    csms = await _serve(
        nursery, CentralSystem(CsmsSettings(known_ids={"CP-1": KEY}), ssl_context=ctx)
    )
    async with _open(
        csms.url() + "CP-1",
        profile=2,
        charge_point_id="CP-1",
        authorization_key=KEY,
        tls=TlsSettings(ca_file=certs.ca_file, use_default_verify_paths=False),
    ) as ws:
        assert csms.url().startswith("wss://")
        assert (await _heartbeat(ws)).current_time is not None


async def test_profile_2_refuses_a_server_signed_by_an_unknown_ca(nursery, certs):
    ctx = server_tls_context(str(certs.server_cert), str(certs.server_key))
    csms = await _serve(nursery, CentralSystem(ssl_context=ctx))
    with pytest.raises(ConnectError) as e:
        await _enter(
            csms.url() + "CP-1",
            profile=2,
            charge_point_id="CP-1",
            authorization_key=KEY,
            tls=TlsSettings(ca_file=certs.folder / "other-ca.pem", use_default_verify_paths=False),
        )
    assert e.value.kind is FailureKind.TLS
    assert "not trusted" in str(e.value)


async def test_profile_2_checks_the_host_name(nursery, certs, tmp_path):
    # a certificate for another host, from the trusted CA
    ca = pki.Issued(certs.ca_file.read_bytes(), (certs.folder / "ca.key").read_bytes())
    elsewhere = pki.make_server_cert(ca, ("csms.example.org",))
    elsewhere.write(tmp_path / "s.pem", tmp_path / "s.key")
    ctx = server_tls_context(str(tmp_path / "s.pem"), str(tmp_path / "s.key"))
    csms = await _serve(nursery, CentralSystem(ssl_context=ctx))
    with pytest.raises(ConnectError) as e:
        await _enter(
            csms.url() + "CP-1",
            profile=2,
            charge_point_id="CP-1",
            authorization_key=KEY,
            tls=TlsSettings(ca_file=certs.ca_file, use_default_verify_paths=False),
        )
    assert e.value.kind is FailureKind.TLS
    assert "127.0.0.1" in str(e.value)


async def test_profile_3_client_certificate(nursery, certs):
    ctx = server_tls_context(
        str(certs.server_cert), str(certs.server_key), client_ca_file=str(certs.ca_file)
    )
    csms = await _serve(nursery, CentralSystem(ssl_context=ctx))
    async with _open(
        csms.url() + "CP-1",
        profile=3,
        charge_point_id="CP-1",
        tls=TlsSettings(
            ca_file=certs.ca_file,
            client_cert=certs.client_cert,
            client_key=certs.client_key,
            use_default_verify_paths=False,
        ),
    ) as ws:
        assert (await _heartbeat(ws)).current_time is not None
        session = await csms.session("CP-1")
        peer = session.ws._stream.getpeercert()  # the server saw our certificate
        assert ("commonName", "CP-1") in [item for rdn in peer["subject"] for item in rdn]


async def test_profile_3_without_or_with_a_foreign_client_certificate_is_refused(nursery, certs):
    ctx = server_tls_context(
        str(certs.server_cert), str(certs.server_key), client_ca_file=str(certs.ca_file)
    )
    csms = await _serve(nursery, CentralSystem(ssl_context=ctx))
    trust = {"ca_file": certs.ca_file, "use_default_verify_paths": False}
    with pytest.raises(ValueError, match="client certificate and key"):
        await _enter(
            csms.url() + "CP-1", profile=3, charge_point_id="CP-1", tls=TlsSettings(**trust)
        )
    # a TLS client without a certificate (as profile 2 would be) is refused by the server
    with pytest.raises(ConnectError) as e:
        await _enter(
            csms.url() + "CP-1",
            profile=2,
            charge_point_id="CP-1",
            authorization_key=KEY,
            tls=TlsSettings(**trust),
        )
    assert e.value.kind is FailureKind.TLS
    assert "client certificate" in str(e.value)
    assert "CERTIFICATE" in csms.tls_failures[-1][1].upper()  # the server said why, in its log
    with pytest.raises(ConnectError) as e:
        await _enter(
            csms.url() + "CP-1",
            profile=3,
            charge_point_id="CP-1",
            tls=TlsSettings(
                client_cert=certs.folder / "stranger.pem",
                client_key=certs.folder / "stranger.key",
                **trust,
            ),
        )
    assert e.value.kind is FailureKind.TLS


async def test_a_server_without_the_subprotocol_is_refused(nursery):
    csms = await _serve(nursery, CentralSystem(CsmsSettings(select_subprotocol=False)))
    with pytest.raises(ConnectError) as e:
        await _enter(csms.url() + "CP-1", profile=0, charge_point_id="CP-1")
    assert e.value.kind is FailureKind.SUBPROTOCOL


async def test_nothing_listening_is_refused_with_the_address(nursery):
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    await listener.aclose()
    with pytest.raises(ConnectError) as e:
        await _enter(f"ws://127.0.0.1:{port}/ocpp/CP-1", profile=0, charge_point_id="CP-1")
    assert e.value.kind is FailureKind.REFUSED and f"127.0.0.1:{port}" in str(e.value)
    # the cause in words, not only "all attempts to connect failed"
    assert str(e.value) == (
        f"cannot reach the Central System at 127.0.0.1:{port}: connection refused"
    )


async def test_scheme_and_profile_must_agree(nursery):
    with pytest.raises(ValueError, match="needs wss"):
        await _enter("ws://127.0.0.1:1/x", profile=2, charge_point_id="x")
    with pytest.raises(ValueError, match="needs an AuthorizationKey"):
        await _enter("ws://127.0.0.1:1/x", profile=1, charge_point_id="x")


async def test_the_csms_gives_a_retransmitted_start_the_same_transaction_id(nursery):
    from datetime import UTC, datetime

    from chargebox.ocpp.v16 import StartTransactionRequest

    csms = await _serve(nursery, CentralSystem())
    async with _open(csms.url() + "CP-1", profile=0, charge_point_id="CP-1") as ws:
        request = StartTransactionRequest(
            connector_id=1, id_tag="T", meter_start=0, timestamp=datetime.now(UTC)
        )
        ids = []
        for unique_id in ("first", "first", "second"):
            await ws.send_message(frames.serialize(rpc.call(request, unique_id)))
            ids.append(rpc.decode_result("StartTransaction", frames.parse(await ws.get_message())))
        assert [r.transaction_id for r in ids] == [1, 1, 2]


async def test_supported_ciphers12_are_honoured(nursery, certs):
    ctx = server_tls_context(str(certs.server_cert), str(certs.server_key))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # a TLS 1.2 Central System
    csms = await _serve(
        nursery, CentralSystem(CsmsSettings(known_ids={"CP-1": KEY}), ssl_context=ctx)
    )
    trust = {"ca_file": certs.ca_file, "use_default_verify_paths": False}
    common = {"profile": 2, "charge_point_id": "CP-1", "authorization_key": KEY}
    # the server's key is ECDSA: an RSA-only cipher list cannot agree with it
    with pytest.raises(ConnectError) as e:
        await _enter(
            csms.url() + "CP-1",
            tls=TlsSettings(ciphers12=("ECDHE-RSA-AES128-GCM-SHA256",), **trust),
            **common,
        )
    assert e.value.kind is FailureKind.TLS
    async with _open(
        csms.url() + "CP-1",
        tls=TlsSettings(ciphers12=("ECDHE-ECDSA-AES128-GCM-SHA256",), **trust),
        **common,
    ) as ws:
        assert ws._stream.inner.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"


def test_tls_is_1_2_or_newer(certs):
    ctx = transport.tls_context(2, TlsSettings(ca_file=certs.ca_file))
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def test_supported_ciphers13_that_cannot_be_applied_are_named_once(certs, caplog):
    wanted = ("TLS_AES_128_CCM_SHA256",)  # not among OpenSSL's default TLS 1.3 suites
    with caplog.at_level("WARNING", logger="chargebox.transport"):
        transport.tls_context(2, TlsSettings(ca_file=certs.ca_file, ciphers13=wanted))
        transport.tls_context(2, TlsSettings(ca_file=certs.ca_file, ciphers13=wanted))
    warnings = [r.getMessage() for r in caplog.records if "SupportedCiphers13" in r.getMessage()]
    assert len(warnings) == 1
    assert "TLS_AES_128_CCM_SHA256" in warnings[0] and "TLS_AES_256_GCM_SHA384" in warnings[0]
