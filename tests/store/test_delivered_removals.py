"""Delivered MeterValues leave the SQLite queue at once, their DELETEs committed in batches.

A delivered MeterValues at the head is gone for every reader of the store at
once, but its DELETE may wait (at most `_REMOVE_BATCH` of them) to be
committed with others: when the batch is full, with any other write's commit
(a queue that ran dry included: its next message's commit takes them), and
when the store closes. A StartTransaction's or
StopTransaction's removal, and a dropped message's, commits at once (taking
the waiting ones with it). When the process dies, at most the batch's
MeterValues are sent again after the restart, with their first message ids.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chargebox.store import _REMOVE_BATCH, Store

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def statements_of(store: Store) -> list[str]:
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    return seen


def deletes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.startswith("DELETE FROM outbox")]


def rows_in_file(path: Path) -> list[int]:
    """The queue's rows as the file holds them, read by a second connection."""
    reader = sqlite3.connect(str(path))
    try:
        return [seq for (seq,) in reader.execute("SELECT seq FROM outbox ORDER BY seq")]
    finally:
        reader.close()


def test_a_drain_of_meter_values_commits_their_removals_in_batches(tmp_path: Path) -> None:
    store = Store(tmp_path / "cp.db")
    for n in range(100):
        store.enqueue("MeterValues", {"n": n}, None)
    seen = statements_of(store)
    got = []
    while (head := store.head()) is not None:
        got.append(head.payload["n"])
        store.remove(head.seq, delivered=True)
        assert store.queue_length() == 99 - head.payload["n"]
    assert got == list(range(100))  # oldest first, none lost, none twice
    # three full batches; the rest wait, though the queue ran dry, for the next write
    assert len(deletes(seen)) == 100 // _REMOVE_BATCH
    rest = 100 % _REMOVE_BATCH
    assert rows_in_file(tmp_path / "cp.db") == list(range(101 - rest, 101))
    new = store.enqueue("MeterValues", {"n": 100}, None)
    assert len(deletes(seen)) == 100 // _REMOVE_BATCH + 1  # joined the enqueue's commit
    assert rows_in_file(tmp_path / "cp.db") == [new]
    store.close()


def test_the_removals_wait_until_the_batch_is_full(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    store = Store(path)
    seqs = [store.enqueue("MeterValues", {"n": n}, None) for n in range(_REMOVE_BATCH + 2)]
    for seq in seqs[: _REMOVE_BATCH - 1]:
        assert store.head().seq == seq  # type: ignore[union-attr]
        store.remove(seq, delivered=True)
    assert rows_in_file(path) == seqs  # in the file still, gone for the store's readers
    assert store.queue_length() == 3
    assert [m.seq for m in store.queued()] == seqs[_REMOVE_BATCH - 1 :]
    assert store.queued_count("MeterValues") == 3
    store.remove(store.head().seq, delivered=True)  # type: ignore[union-attr]
    assert rows_in_file(path) == seqs[_REMOVE_BATCH:]
    store.close()


def test_a_start_or_stop_transaction_removal_commits_at_once_with_the_waiting_ones(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cp.db"
    store = Store(path)
    ref = store.begin_transaction(1, "TAG", 0, T0, None, None, {"connectorId": 1})
    store.set_transaction_id(ref, 9)
    store.remove(store.head().seq, delivered=True)  # type: ignore[union-attr]
    assert rows_in_file(path) == []  # the StartTransaction: at once
    for n in range(3):
        store.queue_meter_values(ref, {"connectorId": 1, "n": n})
    store.end_transaction(ref, T0, "Local", {"meterStop": 5})
    store.enqueue("MeterValues", {"after": True}, None)
    for _ in range(3):
        store.remove(store.head().seq, delivered=True)  # type: ignore[union-attr]
    assert len(rows_in_file(path)) == 5  # the three MeterValues wait
    stop = store.head()
    assert stop is not None and stop.action == "StopTransaction"
    store.remove(stop.seq, delivered=True)
    remaining = rows_in_file(path)
    assert len(remaining) == 1 and store.head().seq == remaining[0]  # type: ignore[union-attr]
    store.close()


def test_another_write_takes_the_waiting_removals_into_its_commit(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    store = Store(path)
    for n in range(5):
        store.enqueue("MeterValues", {"n": n}, None)
    for _ in range(2):
        store.remove(store.head().seq, delivered=True)  # type: ignore[union-attr]
    seen = statements_of(store)
    store.set_meta("note", "x")
    assert seen.index("BEGIN IMMEDIATE") < seen.index(deletes(seen)[0]) < seen.index("COMMIT")
    assert len(deletes(seen)) == 1
    assert len(rows_in_file(path)) == 3
    assert int(store._db.execute("PRAGMA synchronous").fetchone()[0]) == 2  # FULL, no switch
    assert store.queue_length() == 3


def test_a_dropped_meter_values_removal_commits_at_once(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    store = Store(path)
    for n in range(3):
        store.enqueue("MeterValues", {"n": n}, None)
    store.remove(store.head().seq)  # type: ignore[union-attr]
    assert len(rows_in_file(path)) == 2


def test_closing_the_store_commits_the_waiting_removals(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    store = Store(path)
    for n in range(5):
        store.enqueue("MeterValues", {"n": n}, None)
    store.remove(store.head().seq, delivered=True)  # type: ignore[union-attr]
    assert len(rows_in_file(path)) == 5
    store.close()
    assert len(rows_in_file(path)) == 4
    assert [m.payload["n"] for m in Store(path).queued()] == [1, 2, 3, 4]


KILLED = """
import os, signal, sys
from chargebox.store import Store
store = Store(__import__("pathlib").Path(sys.argv[1]))
for n in range(int(sys.argv[2])):
    store.remove(store.head().seq, delivered=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_process_sends_at_most_the_batch_again_with_the_same_ids(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cp.db"
    store = Store(path)
    ref = store.begin_transaction(1, "TAG", 0, T0, None, None, {"connectorId": 1})
    store.set_transaction_id(ref, 3)
    for n in range(100):
        store.queue_meter_values(ref, {"connectorId": 1, "n": n})
    store.end_transaction(ref, T0, "Local", {"meterStop": 5})
    before = store.queued()
    store.close()
    delivered = 1 + 95  # the Start and 95 MeterValues: 5 and the Stop remain
    done = subprocess.run(
        [sys.executable, "-c", KILLED, str(path), str(delivered)], capture_output=True
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    after = Store(path).queued()
    assert after[-6:] == before[-6:]  # nothing lost: 5 MeterValues and the Stop
    again = after[:-6]
    assert len(again) <= _REMOVE_BATCH
    assert all(m.action == "MeterValues" for m in again)
    assert again == before[delivered - len(again) : delivered]  # same rows and message ids


OPERATIONS = st.lists(
    st.sampled_from(
        [
            *("begin", "meter", "meter", "meter", "stop", "deliver", "deliver", "deliver"),
            *("drop", "set_id", "write", "thin", "close", "kill"),
        ]
    ),
    max_size=80,
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(OPERATIONS)
@example(["meter"] * 40 + ["deliver"] * 35 + ["kill"])
@example(["begin", "meter", "deliver", "deliver", "kill", "deliver", "deliver"])
@example(["meter", "meter", "meter", "deliver", "thin", "deliver", "kill"])
def test_delivered_removals_keep_the_queue_and_resend_at_most_the_batch_after_a_kill(
    tmp_path: Path, operations: list[str]
) -> None:
    """Whatever the writes, the store's queue is the model's: order kept, nothing lost,
    nothing delivered twice in a run; after a kill (the file as the process left it)
    only delivered MeterValues come back, at most _REMOVE_BATCH, at the front, with
    their first message ids; never a StartTransaction or StopTransaction."""
    path = tmp_path / f"cp-{uuid.uuid4().hex}.db"
    store = Store(path)
    queue: list[tuple[int, str, str]] = []  # (seq, action, message id), oldest first
    delivered: list[tuple[int, str, str]] = []  # in this run
    refs: list[int] = []
    ids = iter(range(100, 1000))

    def enqueued(seq: int) -> None:
        message = next(m for m in store.queued() if m.seq == seq)
        queue.append((seq, message.action, message.message_id))

    for op in operations:
        if op == "begin":
            refs.append(store.begin_transaction(1, "TAG", 0, T0, None, None, {}))
            enqueued(store.queued()[-1].seq)
        elif op == "meter":
            enqueued(store.queue_meter_values(refs[-1] if refs else None, {"connectorId": 1}))
        elif op == "stop" and refs:
            store.end_transaction(refs.pop(), T0, "Local", {"meterStop": 1})
            enqueued(store.queued()[-1].seq)
        elif op in ("deliver", "drop") and queue:
            head = store.head()
            assert head is not None
            store.remove(head.seq, delivered=op == "deliver")
            taken = queue.pop(0)
            if op == "deliver":
                assert taken not in delivered  # never delivered twice within a run
                delivered.append(taken)
        elif op == "set_id" and refs:
            store.set_transaction_id(refs[-1], next(ids))
        elif op == "write":
            store.set_meta("note", op)
        elif op == "thin":
            head = store.head()
            store.thin_queue(3, spare=head.seq if head is not None else None)
            kept = {m.seq for m in store.queued()}
            queue = [m for m in queue if m[0] in kept]
        elif op == "close":
            store.close()
            store = Store(path)
            delivered = []
        elif op == "kill":
            store._db.close()  # what a killed process leaves: its commits, nothing more
            store = Store(path)
            rows = [(m.seq, m.action, m.message_id) for m in store.queued()]
            again = rows[: len(rows) - len(queue)]
            assert rows[len(again) :] == queue  # nothing lost, in order
            assert len(again) <= _REMOVE_BATCH
            assert all(action == "MeterValues" for _, action, _ in again)
            assert again == delivered[len(delivered) - len(again) :]  # their first ids
            queue = rows
            delivered = []
        head = store.head()
        assert (head.seq if head else None) == (queue[0][0] if queue else None), op
        assert store.queue_length() == len(queue), op
        assert [m.seq for m in store.queued()] == [m[0] for m in queue], op
    store.close()
    assert rows_in_file(path) == [m[0] for m in queue]


class FullDisk:
    """The store's connection on a disk that is full: every write fails."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.full = True

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if self.full and sql.startswith(("DELETE", "INSERT", "UPDATE", "BEGIN", "COMMIT")):
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_waiting_removals_that_cannot_be_committed_wait_for_the_next_write_that_works(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cp.db"
    store = Store(path)
    seqs = [store.enqueue("MeterValues", {"n": n}, None) for n in range(_REMOVE_BATCH + 3)]
    disk = FullDisk(store._db)
    store._db = disk  # type: ignore[assignment]
    for seq in seqs[:_REMOVE_BATCH]:  # the batch is full: its commit fails
        assert store.head().seq == seq  # type: ignore[union-attr]
        store.remove(seq, delivered=True)
    assert store.failure is not None and store.deferred_writes == 1
    assert store.queue_length() == 3
    assert [m.seq for m in store.queued()] == seqs[_REMOVE_BATCH:]
    assert store.head().seq == seqs[_REMOVE_BATCH]  # type: ignore[union-attr]
    disk.full = False
    store.set_meta("note", "x")  # the next write that works takes them along
    assert store.failure is None and store.deferred_writes == 0
    assert rows_in_file(path) == seqs[_REMOVE_BATCH:]
    assert store.queue_length() == 3
    store.close()
