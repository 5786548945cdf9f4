"""The store's durability (Options.durability): the synchronous setting each mode commits
with, the error for a value that is not one, and a crash-safe store killed mid-day.

power-safe commits at synchronous=FULL (a delivered message's removal at NORMAL, as
before); crash-safe at NORMAL, never FULL; neither ever at OFF. A process killed with
SIGKILL while it takes in readings loses nothing it acknowledged in crash-safe mode.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chargebox.station import Options, open_charge_point
from chargebox.store import Store
from tests.support import config_file, make_host

REPO = Path(__file__).resolve().parents[2]

#: PRAGMA synchronous's answer for each setting
LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class Trace:
    """The synchronous setting in effect at each COMMIT of a store's connection (and at
    each DELETE committed on its own, a delivered message's removal)."""

    def __init__(self, store: Store) -> None:
        db = store._db
        self.setting = LEVELS[db.execute("PRAGMA synchronous").fetchone()[0]]
        self.commits: list[str] = []
        self.removals: list[str] = []
        db.set_trace_callback(self._statement)

    def _statement(self, sql: str) -> None:
        text = sql.strip().upper()
        if text.startswith("PRAGMA SYNCHRONOUS="):
            self.setting = text.split("=", 1)[1]
        elif text == "COMMIT":
            self.commits.append(self.setting)
        elif text.startswith("DELETE FROM OUTBOX"):
            self.removals.append(self.setting)


def a_day_of_writes(store: Store) -> None:
    """Queue messages, deliver some, write more: the store's ordinary life."""
    for _ in range(3):
        store.enqueue("Heartbeat", {}, None)
    for _ in range(2):
        head = store.head()
        assert head is not None
        store.remove(head.seq)
    store.enqueue("Heartbeat", {}, None)


@pytest.mark.parametrize(
    ("durability", "commits", "removals"),
    [("power-safe", "FULL", "NORMAL"), ("crash-safe", "NORMAL", "NORMAL")],
)
def test_each_durability_commits_with_its_synchronous_setting(
    tmp_path, durability, commits, removals
):
    store = Store(tmp_path / "cp.db", durability=durability)
    try:
        assert store.durability == durability
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        trace = Trace(store)
        assert trace.setting == commits
        a_day_of_writes(store)
        assert trace.commits and set(trace.commits) == {commits}
        assert trace.removals and set(trace.removals) == {removals}
    finally:
        store.close()


def test_the_default_is_power_safe(tmp_path):
    assert Options().durability == "power-safe"
    store = Store(tmp_path / "cp.db")
    try:
        assert store.durability == "power-safe"
        assert LEVELS[store._db.execute("PRAGMA synchronous").fetchone()[0]] == "FULL"
    finally:
        store.close()


@pytest.mark.parametrize("value", ["off", "OFF", "FULL", "", None, 2])
def test_a_bad_durability_is_refused_in_one_line_naming_the_choices(tmp_path, value):
    with pytest.raises(ValueError) as refused:
        Options(durability=value)
    message = str(refused.value)
    assert message.startswith(f"Options.durability: {value!r} is not a store durability")
    assert "'power-safe'" in message and "'crash-safe'" in message and "\n" not in message
    options = Options()
    with pytest.raises(ValueError, match=r"^Options\.durability: "):
        options.durability = value
    assert options.durability == "power-safe"
    with pytest.raises(ValueError, match=r"^durability: .* is not a store durability"):
        Store(tmp_path / "cp.db", durability=value)
    assert not (tmp_path / "cp.db").exists()


async def test_the_engine_opens_its_store_with_the_options_durability(tmp_path):
    data = tmp_path / "data"
    cfg = config_file(tmp_path, "127.0.0.1:9/ocpp/")
    for durability, setting in [("crash-safe", 1), ("power-safe", 2)]:
        async with open_charge_point(
            cfg, make_host(), data_dir=data, options=Options(durability=durability)
        ) as cp:
            store = cp._station.ctx.store
            assert store.durability == durability
            assert store._db.execute("PRAGMA synchronous").fetchone()[0] == setting


#: a station offline on trio's MockClock, a reading a simulated minute, MeterValues sampled
#: every minute and queued; it prints each reading once the engine acknowledged it
STATION = """
import sys
from pathlib import Path

import trio
import trio.testing

from chargebox.station import Options, open_charge_point
from tests.support import config_file, make_host

folder = Path(sys.argv[1])
ENERGY = "Energy.Active.Import.Register"


async def refused(host, port):
    raise OSError("no Central System here")


async def day():
    cfg = config_file(
        folder,
        "127.0.0.1:9/ocpp/",
        Core={"MeterValueSampleInterval": 60, "MeterValuesSampledData": ENERGY},
    )
    options = Options(durability="crash-safe", open_stream=refused, blocking_inline=True)
    async with open_charge_point(cfg, make_host(), data_dir=folder / "data", options=options) as cp:
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0, id_tag="DAY-TAG")
        print("started", flush=True)
        for minute in range(1, 100_000):
            await trio.sleep(60)
            await cp.meter_values(1, {ENERGY: minute * 100})
            print("acked", minute * 100, flush=True)


trio.run(day, clock=trio.testing.MockClock(autojump_threshold=0))
"""


def test_a_crash_safe_station_killed_mid_day_loses_nothing_it_acknowledged(tmp_path):
    log = tmp_path / "stderr.txt"  # a file, not a pipe: its reconnection attempts log a lot
    with log.open("w") as stderr:
        station = subprocess.Popen(
            [sys.executable, "-c", STATION, str(tmp_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        acked = 0
        try:
            assert station.stdout is not None
            for line in station.stdout:  # bounded: killed after 200 readings, or at its end
                words = line.split()
                if words[0] == "acked":
                    acked = int(words[1])
                    if acked >= 200 * 100:
                        break
        finally:
            station.send_signal(signal.SIGKILL)
            station.communicate(timeout=60)
    errors = log.read_text()[-2000:]
    assert station.returncode == -signal.SIGKILL, errors
    assert acked >= 200 * 100, errors

    path = tmp_path / "data" / "CP-1.db"
    assert Path(f"{path}-wal").exists()  # killed: the WAL was never checkpointed away
    db = sqlite3.connect(path)
    try:
        ((last_meter, stop_time),) = db.execute(
            "SELECT last_meter, stop_time FROM transactions"
        ).fetchall()
    finally:
        db.close()
    assert stop_time is None and last_meter >= acked  # the last acknowledged reading
    store = Store(path, durability="crash-safe")
    try:
        queued = store.queued()
    finally:
        store.close()
    # the transaction's messages (a SecurityEventNotification of the start may be queued too)
    transaction = [m for m in queued if m.action in ("StartTransaction", "MeterValues")]
    assert transaction[0].action == "StartTransaction"
    readings = [  # the sampled ones (clock-aligned values come every 15 minutes too)
        int(value["sampledValue"][0]["value"])
        for message in transaction[1:]
        for value in message.payload["meterValue"]
        if value["sampledValue"][0].get("context") == "Sample.Periodic"
    ]
    assert all(message.action == "MeterValues" for message in transaction[1:])
    # every acknowledged minute's sample is queued, in order, none twice
    assert readings[: acked // 100] == list(range(100, acked + 1, 100))
