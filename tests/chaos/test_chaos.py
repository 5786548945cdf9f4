"""Chaos: 20 transactions while the link is cut 50 times, then SIGKILL mid-session and a restart.

A real charge point process (tests/chaos/station_process.py) with a real
SQLite file talks through a loopback proxy that cuts every connection at
random moments to a recording CSMS. Afterwards the CSMS must have seen every
transaction message the station stored exactly once (retransmissions carry
their first message id, so they are recognised), in the order they were
stored, with the real transaction ids, and the killed transaction's
StopTransaction with reason PowerLoss.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest
import trio

from chargebox.csms import CentralSystem, CsmsSettings
from tests.support import REPO, config_file

from .proxy import Proxy

TRANSACTIONS = 20
CUTS = 50
SEED = int(os.environ.get("CHARGEBOX_CHAOS_SEED", "20261123"))
ACTIONS = ("StartTransaction", "MeterValues", "StopTransaction")


def received(csms: CentralSystem) -> list[tuple[str, str, dict]]:
    """(message id, action, payload) of every transaction message the CSMS received, first
    copies only, in order; and the transaction id the CSMS gave each StartTransaction."""
    seen: dict[str, tuple[str, str, dict]] = {}
    for session in csms.all_sessions:
        for ex in session.exchanges:
            if ex.direction == "in" and ex.kind == "CALL" and ex.action in ACTIONS:
                seen.setdefault(ex.unique_id, (ex.unique_id, ex.action, ex.payload))
    return list(seen.values())


def assigned_ids(csms: CentralSystem) -> dict[str, int]:
    """StartTransaction message id -> the transactionId the CSMS answered with."""
    out: dict[str, int] = {}
    for session in csms.all_sessions:
        for ex in session.exchanges:
            if (
                ex.direction == "out"
                and ex.kind == "CALLRESULT"
                and ex.action == "StartTransaction"
            ):
                out.setdefault(ex.unique_id, ex.payload["transactionId"])
    return out


async def read_until(stream, marker: bytes, lines: list[bytes]) -> None:
    buffer = b""
    while marker not in buffer:
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise AssertionError(f"the station process ended before {marker!r}: {lines}")
        buffer += chunk
        lines.extend(buffer.splitlines())


@pytest.mark.slow
async def test_no_transaction_message_is_lost_or_doubled(tmp_path):
    rng = random.Random(SEED)
    csms = CentralSystem(CsmsSettings(heartbeat_interval=3600))
    proxy_port_box: list[int] = []
    with trio.fail_after(240):
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            proxy = Proxy(csms.port)
            proxy_port_box.append(await nursery.start(proxy.serve))
            config = config_file(
                tmp_path,
                f"127.0.0.1:{proxy.port}/ocpp/",
                Core={
                    "MeterValueSampleInterval": 1,
                    "ClockAlignedDataInterval": 0,
                    "TransactionMessageAttempts": 50,
                    "TransactionMessageRetryInterval": 1,
                    "HeartbeatInterval": 3600,
                },
                Internal={
                    "RetryBackoffWaitMinimum": 1,
                    "RetryBackoffRandomRange": 1,
                    "RetryBackoffRepeatTimes": 1,
                    "LogMessages": False,
                },
            )
            data, journal = tmp_path / "data", tmp_path / "journal"
            command = [sys.executable, "-m", "tests.chaos.station_process"]
            args = [str(config), str(data), str(journal)]
            process = await trio.lowlevel.open_process(
                [*command, *args, "run", str(TRANSACTIONS)],
                stdout=subprocess.PIPE,
                cwd=REPO,
            )
            lines: list[bytes] = []

            async def cutter() -> None:
                while proxy.cuts < CUTS:
                    await trio.sleep(rng.uniform(0.05, 0.35))
                    await proxy.cut()

            try:
                nursery.start_soon(cutter)
                await read_until(process.stdout, b"started %d" % (TRANSACTIONS + 1), lines)
                while proxy.cuts < CUTS:
                    await trio.sleep(0.1)
                await trio.sleep(rng.uniform(0.2, 0.6))  # mid-session
                process.send_signal(signal.SIGKILL)
            finally:
                with trio.move_on_after(10):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
            assert process.returncode == -signal.SIGKILL
            restarted = await trio.run_process(
                [*command, *args, "recover"], capture_stdout=True, cwd=REPO
            )
            assert b"drained" in restarted.stdout
            nursery.cancel_scope.cancel()

    assert proxy.cuts == CUTS
    sessions = len(csms.all_sessions)
    assert sessions > CUTS // 2, f"only {sessions} connections: the cuts missed the link"
    stored = [line.split() for line in journal.read_text().splitlines()]
    got = received(csms)
    copies = sum(
        1
        for session in csms.all_sessions
        for ex in session.exchanges
        if ex.direction == "in" and ex.kind == "CALL" and ex.action in ACTIONS
    )
    print(f"seed {SEED}: {sessions} connections, {copies} copies of {len(got)} messages")
    # A copy beyond the first is a retransmission: the same message id and the same payload
    # (the Central System recognises it by its id, OCPP-J 4.1.1). One CALL is in flight at
    # a time, so each connection leaves at most one message unanswered to send again.
    first = {mid: payload for mid, _, payload in got}
    for session in csms.all_sessions:
        for ex in session.exchanges:
            if ex.direction == "in" and ex.kind == "CALL" and ex.action in ACTIONS:
                assert ex.payload == first[ex.unique_id], f"{ex.unique_id} changed on resend"
    assert copies - len(got) <= sessions, f"{copies - len(got)} resends over {sessions} links"
    got_ids = [mid for mid, _, _ in got]
    # everything the station stored arrived, in the order it was stored
    stored_ids = [mid for mid, _ in stored]
    assert [mid for mid in got_ids if mid in set(stored_ids)] == stored_ids, f"seed {SEED}"
    # at most one message was committed in the instant of the kill, before its journal line
    extra = [(mid, action) for mid, action, _ in got if mid not in set(stored_ids)]
    assert len(extra) <= 1 and all(action == "MeterValues" for _, action in extra), extra
    # no message arrived twice under different ids
    bodies = [(action, sorted(p.items(), key=lambda kv: kv[0]).__repr__()) for _, action, p in got]
    assert len(set(bodies)) == len(bodies)
    # transactions in order, each message with its real transaction id
    ids = assigned_ids(csms)
    current = None
    starts = stops = 0
    reasons = []
    for mid, action, payload in got:
        if action == "StartTransaction":
            assert current is None, "a StartTransaction before the previous stop"
            current = ids[mid]
            starts += 1
        elif action == "MeterValues":
            assert payload["transactionId"] == current
        else:
            assert payload["transactionId"] == current
            reasons.append(payload.get("reason"))
            current = None
            stops += 1
    assert starts == stops == TRANSACTIONS + 1
    assert reasons[:-1] == ["Local"] * TRANSACTIONS
    assert reasons[-1] == "PowerLoss"
