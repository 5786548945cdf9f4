"""The connection events in the message log of a running station, on real loopback TLS.

A station with security profile 2 whose Central System presents a certificate
from a CA it does not trust: the text log and the HTML page say "connecting",
then the TLS failure with its reason, then (after the reconnect backoff) the
next attempt. A station that trusts the CA: connected, a disconnect by the
Central System with its close code and reason, the reconnect, and the close at
shutdown with its reason.

Real sockets and real time: every wait is bounded by `trio.fail_after`, and the
test waits for the station's own state (its reconnect backoff), never for a
duration.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest
import trio

from chargebox import pki
from chargebox.config import ChargePointConfig
from chargebox.csms import CentralSystem, CsmsSettings, server_tls_context
from chargebox.station import Options, TlsSettings, open_charge_point
from tests.support import config_file, make_host

from .support import read_page

KEY = "00112233445566778899aabbccddeeff"  # AuthorizationKey: 16 bytes as hex pairs
BACKOFF = 1  # RetryBackoffWaitMinimum, in seconds: no doubling, no random part
LIMIT = 30  # seconds any one test may take on loopback

# One entry of the .log file: "<time> SYS <kind>: <reason>" (a frame has other directions)
TEXT_EVENT = re.compile(r"^(\S+) SYS ([^:\n]+)(?:: (.*))?$")


@attrs.frozen
class Event:
    time: datetime
    kind: str
    reason: str


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """The development PKI, and a Central System certificate from a CA nobody here trusts."""
    folder = tmp_path_factory.mktemp("pki")
    dev = pki.DevelopmentPki.create(folder, "CP-1", "chargebox test")
    stranger_ca = pki.make_ca("a CA the station does not trust")
    pki.make_server_cert(stranger_ca).write(folder / "rogue.pem", folder / "rogue.key")
    return dev


def _station_config(tmp_path: Path, url: str) -> ChargePointConfig:
    path = config_file(
        tmp_path,
        url.split("://", 1)[1],  # no scheme: security profile 2 chooses wss://
        Security={"SecurityProfile": 2, "AuthorizationKey": KEY},
        Internal={
            "LogMessagesFormat": ["log", "html"],
            "RetryBackoffWaitMinimum": BACKOFF,
            "RetryBackoffRandomRange": 0,
            "RetryBackoffRepeatTimes": 0,
        },
    )
    return ChargePointConfig.load(path)


def _options(certs, log_path: Path) -> Options:
    tls = TlsSettings(ca_file=certs.ca_file, use_default_verify_paths=False)
    return Options(tls=tls, message_log_path=log_path, jitter=lambda: 0.0)


def _text_events(path: Path) -> list[Event]:
    """The connection events of the .log file, in order (the log's own notes left out)."""
    events = []
    for entry in path.read_text(encoding="utf-8").split("\n\n"):
        match = TEXT_EVENT.match(entry)
        if match and not match.group(2).startswith("log "):
            time = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
            events.append(Event(time, match.group(2), match.group(3) or ""))
    return events


def _page_events(path: Path) -> list[Event]:
    """The connection events of the HTML page (parsed with html.parser), in order."""
    events = []
    for row in read_page(path).rows:
        if row.direction == "sys" and not row.action.startswith("log "):
            time = datetime.fromisoformat(row.cells[0].replace("Z", "+00:00"))
            events.append(Event(time, row.action, row.message))
    return events


async def test_a_tls_failure_is_logged_with_its_reason_and_the_retry_after_the_backoff(
    tmp_path, certs
):
    rogue = server_tls_context(str(certs.folder / "rogue.pem"), str(certs.folder / "rogue.key"))
    csms = CentralSystem(CsmsSettings(known_ids={"CP-1": KEY}), ssl_context=rogue)
    logs = tmp_path / "logs"
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            cfg = _station_config(tmp_path, csms.url())
            async with open_charge_point(cfg, make_host(), options=_options(certs, logs)) as cp:
                link = cp.station.link
                # three failed attempts: each one logged before the link armed its backoff
                await cp.wait_until(lambda: link.model.backoff_attempt >= 3)
                assert not cp.registered and csms.all_sessions == []
            nursery.cancel_scope.cancel()

    url = f"{csms.url()}CP-1"
    for events in (_text_events(logs / "CP-1.log"), _page_events(logs / "CP-1.html")):
        kinds = [e.kind for e in events]
        assert kinds[:6] == ["connecting", "tls_failure"] * 3, events
        connecting, failure, again = events[0], events[1], events[2]
        assert connecting.reason == f"{url} (security profile 2)"
        # the reason: which server, and why it was refused
        assert failure.reason.startswith("TLS to 127.0.0.1:")
        assert "the server certificate is not trusted" in failure.reason
        assert "unable to get local issuer certificate" in failure.reason
        assert again.reason == connecting.reason
        # the next attempt waited for the backoff (station clock: trio's clock)
        assert again.time - failure.time >= timedelta(seconds=BACKOFF)
        # nothing but attempts and failures: it never got as far as a websocket
        assert "connected" not in kinds and "disconnected" not in kinds
    assert KEY not in (logs / "CP-1.log").read_text(encoding="utf-8")


async def test_a_disconnect_is_logged_with_its_close_code_and_reason(tmp_path, certs):
    tls = server_tls_context(str(certs.server_cert), str(certs.server_key))
    csms = CentralSystem(CsmsSettings(known_ids={"CP-1": KEY}), ssl_context=tls)
    logs = tmp_path / "logs"
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            cfg = _station_config(tmp_path, csms.url())
            async with open_charge_point(cfg, make_host(), options=_options(certs, logs)) as cp:
                await csms.wait_until(lambda: cp.registered)
                first = await csms.session("CP-1")
                # the Central System closes the websocket; the station answers the close
                await first.close(1001, "CSMS going down for maintenance")
                # the station reconnects by itself and registers again
                await cp.wait_until(lambda: len(csms.all_sessions) == 2 and cp.registered)
            nursery.cancel_scope.cancel()

    url = f"{csms.url()}CP-1"
    for events in (_text_events(logs / "CP-1.log"), _page_events(logs / "CP-1.html")):
        assert [(e.kind, e.reason) for e in events[:6]] == [
            ("connecting", f"{url} (security profile 2)"),
            ("connected", f"{url} (subprotocol ocpp1.6)"),
            ("disconnected", "code 1001, CSMS going down for maintenance"),
            ("connecting", f"{url} (security profile 2)"),
            ("connected", f"{url} (subprotocol ocpp1.6)"),
            ("closing", "stopping"),
        ], events
        # our own close is logged with the code and reason we sent, whenever the Central
        # System's answer arrives
        assert len(events) == 7 and events[6].kind == "disconnected", events
        assert events[6].reason == "code 1000, stopping", events
        # the reconnect waited for the backoff too
        assert events[3].time - events[2].time >= timedelta(seconds=BACKOFF)
