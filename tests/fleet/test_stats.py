"""What a fleet counts: a station's frames through its probe, latency percentiles, the
engines' log lines by kind, and the merge of shards' summaries."""

from __future__ import annotations

import json
import logging

import pytest

from chargebox.fleet.stats import FleetStats, LatencyHistogram, LogCounter, Probe
from chargebox.fleet.summary import Summary, merge, summarize


def frame(*parts: object) -> str:
    return json.dumps(list(parts))


def test_a_probe_counts_a_stations_frames():
    stats = FleetStats(ledger=True)
    stats.expected = 1
    probe = Probe(stats, "cp1")
    probe.connection("connecting", "ws://csms/cp1")
    probe.connection("connected", "ws://csms/cp1")
    probe.frame("out", frame(2, "a", "BootNotification", {"chargePointVendor": "x"}))
    probe.frame("in", frame(3, "a", {"status": "Accepted", "currentTime": "", "interval": 300}))
    assert (stats.connected, stats.accepted, stats.ever_accepted) == (1, 1, 1)
    assert stats.all_accepted_at is not None
    probe.frame("out", frame(2, "b", "StartTransaction", {"connectorId": 1}))
    probe.frame("in", frame(3, "b", {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}))
    probe.frame("out", frame(2, "c", "DataTransfer", {"vendorId": "v"}))
    probe.frame("in", frame(4, "c", "NotImplemented", "no", {}))
    probe.frame("in", frame(2, "d", "RemoteStopTransaction", {"transactionId": 7}))
    probe.frame("out", frame(3, "d", {"status": "Accepted"}))
    probe.frame("out", frame(2, "e", "StopTransaction", {"transactionId": 7, "meterStop": 5}))
    probe.frame("in", frame(3, "e", {}))
    probe.frame("in", frame(3, "zz", {}))  # an answer to no call of ours: not counted
    assert (stats.sent, stats.received) == (5, 6)
    assert stats.latency.count == 4
    assert stats.errors == {"CALLERROR NotImplemented to DataTransfer": 1}
    assert stats.remote_operations == {"RemoteStopTransaction": 1}
    assert stats.ledger == [("cp1", "start", 7), ("cp1", "stop", 7)]
    assert stats.open_ids == {}
    probe.connection("tcp_failure", "cannot reach the Central System at csms:80: refused")
    assert stats.errors["connection: tcp failure"] == 1
    assert stats.last_failure == "cannot reach the Central System at csms:80: refused"
    probe.connection("disconnected", "code 1006")
    assert (stats.connected, stats.accepted, stats.ever_accepted) == (0, 0, 1)


def test_a_transaction_id_given_twice_is_a_duplicate():
    stats = FleetStats()
    for station in ("cp1", "cp2"):
        probe = Probe(stats, station)
        probe.frame("out", frame(2, "s", "StartTransaction", {"connectorId": 1}))
        probe.frame("in", frame(3, "s", {"transactionId": 3, "idTagInfo": {"status": "Accepted"}}))
    assert stats.duplicate_ids == 1
    assert stats.errors == {"StartTransaction.conf gave a transactionId already in use": 1}


def test_latency_percentiles_and_merge():
    one, two = LatencyHistogram(), LatencyHistogram()
    for ms in range(1, 101):  # 1 .. 100 ms
        one.add(ms / 1000)
    for _ in range(100):
        two.add(1.0)
    assert one.percentile(50) == pytest.approx(0.050, rel=0.02)
    assert one.percentile(99) == pytest.approx(0.099, rel=0.02)
    assert one.max == 0.1
    one.merge(two)
    assert one.count == 200
    assert one.percentile(50) == pytest.approx(0.100, rel=0.02)
    assert one.percentile(99) == pytest.approx(1.0, rel=0.02)
    assert LatencyHistogram().percentile(50) is None


def test_the_engines_log_lines_are_counted_by_kind():
    stats = FleetStats()
    counter = LogCounter(stats)
    logger = logging.getLogger("chargebox.test.fleet")
    logger.addHandler(counter)
    logger.propagate = False
    try:
        logger.warning("connector %d: meterStop %d Wh is below", 1, 98)
        logger.warning("connector %d: meterStop %d Wh is below", 2, 7)
        logger.info("not counted")
        counter.closing = True
        logger.warning("an answer to no pending call (%s)", "0b6bd2a4-3e4e-4a5b-9f1c-0e2f1a2b3c4d")
    finally:
        logger.removeHandler(counter)
        logger.propagate = True
    assert stats.errors == {
        "warning: connector N: meterStop N Wh is below": 2,
        "while winding down, warning: an answer to no pending call (<id>)": 1,
    }


def test_the_summaries_of_shards_merge():
    shards = []
    for i, latency in enumerate((0.01, 0.5)):
        stats = FleetStats()
        stats.started = stats.ever_accepted = 5
        stats.sent = stats.received = 10
        stats.tx_started = stats.tx_stopped = 2
        stats.latency.add(latency)
        stats.errors["connection: tcp failure"] = i + 1
        shards.append(
            summarize(
                stats,
                shard=f"{i}/2",
                stations=5,
                connected=5,
                accepted=5,
                duration_s=10.0 + i,
                simulated_s=10.0,
                shutdown_s=1.0,
            )
        )
    merged = merge(shards)
    assert merged.shards == ["0/2", "1/2"] and merged.shard == "all"
    assert (merged.stations, merged.started, merged.ever_accepted) == (10, 10, 10)
    assert merged.transactions.started == 4
    assert merged.messages.sent == 20
    assert merged.calls.answered == 2
    assert merged.calls.p99_ms == pytest.approx(500, rel=0.02)
    assert merged.errors == {"connection: tcp failure": 3}
    assert merged.duration_s == 11.0
    assert Summary.from_json(json.loads(json.dumps(merged.to_json()))) == merged
