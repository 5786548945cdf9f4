"""The development CSMS under load: it can keep no message history (keep_exchanges), forgets
closed sessions, counts what it served, and `chargebox csms --load` prints counts instead of a
line per message."""

from __future__ import annotations

import re

import trio

from chargebox.cli import main
from chargebox.csms import CsmsSettings
from chargebox.fleet import Fleet, FleetSpec
from tests.fleet.support import ground, template
from tests.interop.processes import CHARGEBOX, Process


async def test_a_csms_that_keeps_no_history_still_counts(tmp_path, autojump_clock):
    async with ground(CsmsSettings(keep_exchanges=0)) as g:
        spec = FleetSpec(config=template(tmp_path), count=20, duration=600, options=g.options)
        summary = await Fleet(spec).run()
        csms = g.csms
        assert summary.ever_accepted == 20
        # nothing kept, every session forgotten once closed
        assert csms.all_sessions == [] and csms.sessions == {}
        counts = csms.counts
        assert (counts.open, counts.connections, counts.accepted) == (0, 20, 20)
        assert counts.received == counts.sent == summary.messages.sent


async def test_a_session_keeps_its_last_exchanges(tmp_path, autojump_clock):
    async with ground(CsmsSettings(keep_exchanges=3)) as g:
        spec = FleetSpec(config=template(tmp_path), count=2, options=g.options)
        fleet = Fleet(spec)
        async with trio.open_nursery() as nursery:
            await nursery.start(fleet.run)
            await g.csms.wait_until(lambda: g.csms.counts.accepted == 2)
            session = await g.csms.session("cp00001")
            assert len(session.exchanges) == 3  # the last three of more
            assert g.csms.counts.received > 3
            fleet.stop()


def start_csms(*options: str) -> tuple[Process, str]:
    csms = Process([*CHARGEBOX, "csms", "--port", "0", *options])
    line = csms.wait_line(lambda s: "listening on" in s, 20)
    port = re.search(r"ws://127\.0\.0\.1:(\d+)", line).group(1)  # type: ignore[union-attr]
    return csms, f"ws://127.0.0.1:{port}/steve/websocket/CentralSystemService/"


def run_fleet(tmp_path, url: str, count: int) -> None:
    config = str(template(tmp_path))
    options = ["--count", str(count), "--csms", url, "--duration", "2", "--progress", "none"]
    assert main(["fleet", "--config", config, *options]) == 0


def test_csms_load_prints_counts_not_messages(tmp_path):
    csms, url = start_csms("--load", "--report", "0.2")
    with csms:
        run_fleet(tmp_path, url, 3)
        csms.wait_line(
            lambda s: (
                "0 charge points connected (3 connections in all), 3 BootNotifications "
                "Accepted" in s
            ),
            20,
        )
    assert not [line for line in csms.out if " -> " in line or " <- " in line]
    assert not [line for line in csms.out if "disconnected" in line]


def test_csms_prints_each_message_and_each_disconnection(tmp_path):
    csms, url = start_csms("--quiet")
    with csms:
        run_fleet(tmp_path, url, 2)
        for station in ("cp00001", "cp00002"):
            csms.wait_line(lambda s, station=station: s.endswith(f"{station} disconnected"), 20)
    shown = [line.split(" ", 1)[1] for line in csms.out[1:]]
    assert "cp00001 connected" in shown
    assert "cp00001 -> CALL BootNotification" in shown
    assert shown.index("cp00001 connected") < shown.index("cp00001 disconnected")
