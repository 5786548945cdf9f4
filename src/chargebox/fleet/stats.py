"""What a fleet counts: connections, registrations, transactions, messages, CALL latency
as each station measures it, and errors by kind.

Each station's `Probe` is its message log: the engine hands it every frame and
every connection event (the interface of chargebox.messagelog.MessageLog), and
it counts them into the fleet's one `FleetStats` instead of writing files. A
CALL's latency is the time from the frame going out to its answer coming in,
measured on the machine's monotonic clock (real time, also on a virtual
clock), kept in a histogram of logarithmic buckets (2 % wide) so that p50 and
p99 are known without keeping every sample, and shards can be merged.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

#: the histogram's bucket width: each bucket is 2 % wider than the one before
_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
#: the smallest latency told apart (seconds)
_FLOOR = 1e-5


class LatencyHistogram:
    """Latencies in logarithmic buckets; percentiles within 2 %."""

    def __init__(self, buckets: Mapping[int, int] | None = None) -> None:
        self.buckets: Counter[int] = Counter(buckets or {})
        self.count = sum(self.buckets.values())
        self.max = max((self.value(b) for b in self.buckets), default=0.0)

    def add(self, seconds: float) -> None:
        bucket = int(math.log(max(seconds, _FLOOR) / _FLOOR) / _LOG_GROWTH)
        self.buckets[bucket] += 1
        self.count += 1
        if seconds > self.max:
            self.max = seconds

    @staticmethod
    def value(bucket: int) -> float:
        """The middle of a bucket (seconds)."""
        return _FLOOR * _GROWTH ** (bucket + 0.5)

    def percentile(self, p: float) -> float | None:
        """The latency below which `p` percent of the calls were answered (None: no calls)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(self.count * p / 100.0))
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return self.value(bucket)
        return self.max

    def merge(self, other: LatencyHistogram) -> None:
        self.buckets.update(other.buckets)
        self.count += other.count
        self.max = max(self.max, other.max)


class FleetStats:
    """The counters of one fleet (one process). Stations' probes add to them."""

    def __init__(self, *, ledger: bool = False) -> None:
        self.started = 0
        self.connected = 0
        self.accepted = 0
        self.ever_connected = 0
        self.ever_accepted = 0
        #: monotonic time of the first station start, and when the last one was Accepted
        self.first_start: float | None = None
        self.all_accepted_at: float | None = None
        self.expected = 0
        self.sent = 0
        self.received = 0
        self.latency = LatencyHistogram()
        self.errors: Counter[str] = Counter()
        self.remote_operations: Counter[str] = Counter()
        #: the host's transaction_started / transaction_stopped calls the engine took in
        self.tx_started = 0
        self.tx_stopped = 0
        #: transactionIds of StartTransaction.conf received, and of StopTransaction.conf
        self.tx_confirmed = 0
        self.tx_stop_confirmed = 0
        self.duplicate_ids = 0
        #: transactionIds started and not yet stopped -> the station
        self.open_ids: dict[int, str] = {}
        #: every (station, "start" | "stop", transactionId), when asked for (tests)
        self.ledger: list[tuple[str, str, int]] | None = [] if ledger else None
        #: monotonic time of the last websocket that closed
        self.last_disconnect: float | None = None
        #: the reason of the last failed connection attempt
        self.last_failure: str | None = None
        self.failed_attempts = 0

    def error(self, kind: str) -> None:
        self.errors[kind] += 1

    def station_started(self) -> None:
        if self.first_start is None:
            self.first_start = time.monotonic()
        self.started += 1

    def transaction_confirmed(self, station: str, transaction_id: int) -> None:
        self.tx_confirmed += 1
        if transaction_id in self.open_ids:
            self.duplicate_ids += 1
            self.error("StartTransaction.conf gave a transactionId already in use")
        self.open_ids[transaction_id] = station
        if self.ledger is not None:
            self.ledger.append((station, "start", transaction_id))

    def stop_confirmed(self, station: str, transaction_id: int) -> None:
        # (a transaction started before this run, stopped with PowerLoss at a restart on a
        # durable store, was never open here)
        self.tx_stop_confirmed += 1
        self.open_ids.pop(transaction_id, None)
        if self.ledger is not None:
            self.ledger.append((station, "stop", transaction_id))


class Probe:
    """One station's message log: counts its frames and connection events into FleetStats."""

    __slots__ = ("_pending", "accepted", "connected", "ever", "station", "stats")

    def __init__(self, stats: FleetStats, station: str) -> None:
        self.stats = stats
        self.station = station
        self.connected = False
        self.accepted = False
        #: the station connected (bit 1) and was Accepted (bit 2) at least once
        self.ever = 0
        #: our CALLs waiting for their answer: message id -> (action, sent at, transactionId)
        self._pending: dict[str, tuple[str, float, Any]] | None = None

    # -- what the engine calls (the message log's interface) ---------------------------

    @property
    def paths(self) -> dict[str, Path]:
        return {}

    def frame(self, direction: str, text: str | bytes) -> None:
        stats = self.stats
        if direction == "out":
            stats.sent += 1
        else:
            stats.received += 1
        try:
            frame = orjson.loads(text)
            kind = frame[0]
        except (orjson.JSONDecodeError, TypeError, IndexError, KeyError):
            if direction == "in":
                stats.error("a broken frame from the Central System")
            return
        if direction == "out":
            if kind == 2:
                action = frame[2]
                tx_id = frame[3].get("transactionId") if action == "StopTransaction" else None
                if self._pending is None:
                    self._pending = {}
                self._pending[frame[1]] = (action, time.monotonic(), tx_id)
            return
        if kind == 2:
            stats.remote_operations[str(frame[2])] += 1
            return
        pending = self._pending.pop(frame[1], None) if self._pending else None
        if pending is None:
            return  # an answer to no call of ours (the engine says so in its log)
        action, sent, tx_id = pending
        stats.latency.add(time.monotonic() - sent)
        if kind == 4:
            stats.error(f"CALLERROR {frame[2]} to {action}")
            return
        payload = frame[2]
        if action == "BootNotification":
            status = payload.get("status")
            if status == "Accepted":
                self._accepted()
            else:
                stats.error(f"BootNotification {status}")
        elif action == "StartTransaction":
            transaction_id = payload.get("transactionId")
            if isinstance(transaction_id, int):
                stats.transaction_confirmed(self.station, transaction_id)
        elif action == "StopTransaction" and isinstance(tx_id, int):
            stats.stop_confirmed(self.station, tx_id)

    def _accepted(self) -> None:
        stats = self.stats
        if self.accepted:
            return
        self.accepted = True
        stats.accepted += 1
        if not self.ever & 2:
            self.ever |= 2
            stats.ever_accepted += 1
            if stats.ever_accepted == stats.expected:
                stats.all_accepted_at = time.monotonic()

    def connection(self, kind: str, reason: str = "") -> None:
        stats = self.stats
        if kind == "connected":
            if not self.connected:
                self.connected = True
                stats.connected += 1
                if not self.ever & 1:
                    self.ever |= 1
                    stats.ever_connected += 1
            return
        if kind == "disconnected":
            stats.last_disconnect = time.monotonic()
            self._down()
            return
        if kind.endswith("failure") or kind == "pong_timeout":
            stats.error(f"connection: {kind.replace('_', ' ')}")
            if kind != "pong_timeout":
                stats.failed_attempts += 1
                stats.last_failure = reason

    def _down(self) -> None:
        stats = self.stats
        if self.connected:
            self.connected = False
            stats.connected -= 1
        if self.accepted:
            self.accepted = False
            stats.accepted -= 1
        self._pending = None

    def security_event(self, *args: Any, **kwargs: Any) -> None:
        pass

    def session_started(self, session_id: str, folder: Any) -> None:
        return None

    def session_stopped(self, session_id: str) -> None:
        return None

    def close(self) -> None:
        self._down()


#: what differs between two log lines of one kind: message ids, numbers
_MESSAGE_ID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def kind_of(text: str) -> str:
    """What a message says without what differs from one station to another (its message
    ids and numbers: `connector N: ...`), at most 160 characters."""
    return _NUMBER.sub("N", _MESSAGE_ID.sub("<id>", text))[:160]


class LogCounter(logging.Handler):
    """Counts the engines' warnings and errors by kind, silently: the message with its
    message ids and numbers left out (`connector N: ...`)."""

    def __init__(self, stats: FleetStats) -> None:
        super().__init__(logging.WARNING)
        self.stats = stats
        #: the fleet is winding down: what is logged now is told apart (a late answer to a
        #: heartbeat that went out as the websocket closed is not the same news as before)
        self.closing = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message
            text = str(record.msg)
        kind = kind_of(text)
        when = "while winding down, " if self.closing else ""
        self.stats.error(f"{when}{record.levelname.lower()}: {kind}")
