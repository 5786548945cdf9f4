"""The SQLite store drains its queue cheaply: the head is read ahead, a removal is one statement.

A draining queue asks for the head and removes it once per message. The store
reads the next rows in one SELECT and keeps them until a write could change one
of them (a transaction's id filled in, the queue thinned, a write rolled back);
a removal is a single DELETE at synchronous=NORMAL (not synced, see
`Store.remove`), and the connection goes back to synchronous=FULL before any
other write begins, so what the engine acknowledges is still synced.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chargebox.store import QueuedMessage, Store

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def statements_of(store: Store) -> list[str]:
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    return seen


def synchronous(store: Store) -> int:
    return int(store._db.execute("PRAGMA synchronous").fetchone()[0])


def test_a_draining_queue_reads_its_rows_once_and_removes_each_with_one_statement(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "cp.db")
    for n in range(100):
        store.enqueue("MeterValues", {"n": n}, None)
    seen = statements_of(store)
    got = []
    while (head := store.head()) is not None:
        got.append(head.payload["n"])
        store.remove(head.seq)
    assert got == list(range(100))  # oldest first, none lost, none twice
    selects = [s for s in seen if s.startswith("SELECT")]
    assert len(selects) <= 100 // 32 + 2
    # one DELETE a message, and the switch to synchronous=NORMAL once for the whole drain
    assert len(seen) - len(selects) <= 100 + 1
    assert store.queue_length() == 0
    store.close()
    assert Store(tmp_path / "cp.db").queued() == []


def test_the_write_after_a_removal_is_synced_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "cp.db")
    store.enqueue("MeterValues", {"n": 1}, None)
    store.remove(store.head().seq)  # type: ignore[union-attr]
    assert synchronous(store) == 1  # NORMAL: a delivered message's removal is not synced
    seen = statements_of(store)
    store.enqueue("MeterValues", {"n": 2}, None)
    assert seen[0] == "PRAGMA synchronous=FULL" and seen[1] == "BEGIN IMMEDIATE"
    assert synchronous(store) == 2  # FULL


def test_a_transaction_id_filled_in_reaches_the_messages_read_ahead(tmp_path: Path) -> None:
    store = Store(tmp_path / "cp.db")
    ref = store.begin_transaction(1, "TAG", 0, T0, None, None, {"connectorId": 1})
    for n in range(3):
        store.queue_meter_values(ref, {"connectorId": 1, "n": n})
    start = store.head()
    assert start is not None and start.action == "StartTransaction"
    store.set_transaction_id(ref, 77)
    store.remove(start.seq)
    following = store.head()
    assert following is not None and following.payload["transactionId"] == 77


def test_thinning_the_queue_is_seen_by_the_next_head(tmp_path: Path) -> None:
    store = Store(tmp_path / "cp.db")
    for n in range(6):
        store.enqueue("Heartbeat", {"n": n}, None)
    first = store.head()
    assert first is not None
    store.thin_queue(2, spare=first.seq)
    store.remove(first.seq)
    rest = []
    while (head := store.head()) is not None:
        rest.append(head.payload["n"])
        store.remove(head.seq)
    assert rest == [5]  # thinned: only the spared head and the newest were kept


def test_messages_queued_after_the_rows_read_ahead_come_after_them(tmp_path: Path) -> None:
    store = Store(tmp_path / "cp.db")
    store.enqueue("MeterValues", {"n": 0}, None)
    got = []
    for n in range(1, 40):
        head = store.head()
        assert head is not None
        store.enqueue("MeterValues", {"n": n}, None)
        got.append(head.payload["n"])
        store.remove(head.seq)
    while (head := store.head()) is not None:
        got.append(head.payload["n"])
        store.remove(head.seq)
    assert got == list(range(40))


def test_removing_a_message_that_is_not_the_head_forgets_the_rows_read_ahead(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "cp.db")
    seqs = [store.enqueue("MeterValues", {"n": n}, None) for n in range(3)]
    assert store.head().seq == seqs[0]  # type: ignore[union-attr]
    store.remove(seqs[1])
    store.remove(seqs[0])
    assert store.head().seq == seqs[2]  # type: ignore[union-attr]


def outbox_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if s.startswith("SELECT") and "FROM outbox" in s]


def test_a_queue_drained_as_fast_as_it_fills_is_read_once(tmp_path: Path) -> None:
    """A transaction's MeterValues, each delivered before the next is queued (a station
    online): the queue is read once to its end, then every new row joins the rows read
    ahead, and the transaction's id is read once."""
    store = Store(tmp_path / "cp.db")
    seen = statements_of(store)
    ref = store.begin_transaction(1, "TAG", 0, T0, None, None, {"connectorId": 1})
    start = store.head()
    assert start is not None and start.action == "StartTransaction"
    store.set_transaction_id(ref, 41)
    store.remove(start.seq)
    assert store.head() is None
    reads = len(outbox_reads(seen))
    for n in range(50):
        assert store.transaction_id_of(ref) == 41
        store.queue_meter_values(ref, {"connectorId": 1, "n": n})
        head = store.head()
        assert head is not None
        assert head.payload == {"connectorId": 1, "n": n, "transactionId": 41}
        store.remove(head.seq)
        assert store.head() is None
    assert len(outbox_reads(seen)) == reads  # none for the 50 messages
    assert not [s for s in seen if s.startswith("SELECT transaction_id")]
    store.close()
    assert Store(tmp_path / "cp.db").queued() == []


def test_the_rows_read_ahead_are_forgotten_with_a_rolled_back_write(tmp_path: Path) -> None:
    """A MeterValues queued in a write that fails is not delivered (it is not in the file)."""
    store = Store(tmp_path / "cp.db")
    ref = store.begin_transaction(1, "TAG", 0, T0, None, None, {"connectorId": 1})
    store.set_transaction_id(ref, 5)
    assert store.head() is not None  # the queue read to its end: new rows join the rows read
    try:
        with store._writing("a write that fails"):
            store.queue_meter_values(ref, {"connectorId": 1, "n": 1})
            raise RuntimeError("the host's code failed mid-write")
    except RuntimeError:
        pass
    head = store.head()
    assert head is not None and head.action == "StartTransaction"
    store.remove(head.seq)
    assert store.head() is None
    assert store.queue_length() == 0


def expected_head(db: sqlite3.Connection) -> QueuedMessage | None:
    """The queue's head as the file holds it, read without the store's caches."""
    row = db.execute(
        "SELECT o.seq, o.action, o.payload, o.tx_ref, t.transaction_id, o.message_id "
        "FROM outbox o LEFT JOIN transactions t ON t.ref = o.tx_ref ORDER BY o.seq LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    payload = orjson.loads(row[2])
    if row[4] is not None and row[1] in ("MeterValues", "StopTransaction"):
        payload["transactionId"] = row[4]
    return QueuedMessage(row[0], row[1], payload, row[3], row[5])


OPERATIONS = st.lists(
    st.sampled_from(
        [
            *("begin", "meter", "heartbeat", "deliver", "drop_second"),
            *("set_id", "stop", "forget", "thin", "rollback"),
        ]
    ),
    max_size=40,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(OPERATIONS)
@example(["begin", "rollback"])  # a write rolled back while the whole queue is read ahead
@example(["begin", "heartbeat", "rollback", "meter"])
def test_the_head_and_transaction_ids_are_those_of_the_file(
    tmp_path: Path, operations: list[str]
) -> None:
    """Whatever the writes, the head the store gives and each transaction's id are those
    its file holds (read by a second connection, without the store's caches)."""
    path = tmp_path / f"cp-{uuid.uuid4().hex}.db"
    store = Store(path)
    reader = sqlite3.connect(str(path))
    refs: list[int] = []
    ids = iter(range(100, 1000))
    for op in operations:
        head = store.head()
        if op == "begin":
            refs.append(store.begin_transaction(1, "TAG", 0, T0, None, None, {"n": len(refs)}))
        elif op == "meter" and refs:
            store.queue_meter_values(refs[-1], {"connectorId": 1}, (10, T0), {"v": 1})
        elif op == "heartbeat":
            store.enqueue("Heartbeat", {}, None)
        elif op == "deliver" and head is not None:
            store.remove(head.seq)
        elif op == "drop_second":
            rows = [m.seq for m in store.queued()]
            if len(rows) > 1:
                store.remove(rows[1])
        elif op == "set_id" and refs:
            store.set_transaction_id(refs[-1], next(ids))
        elif op == "stop" and refs:
            store.end_transaction(refs[-1], T0, "Local", {"meterStop": 10})
        elif op == "forget" and refs:
            store.forget_transaction(refs.pop(0))
        elif op == "thin":
            store.thin_queue(2, spare=head.seq if head is not None else None)
        elif op == "rollback" and refs:
            try:
                with store._writing("a write that fails"):
                    store.queue_meter_values(refs[-1], {"connectorId": 1})
                    store.set_transaction_id(refs[-1], next(ids))
                    store.begin_transaction(2, "TAG", 0, T0, None, None, {})
                    raise RuntimeError("the host's code failed mid-write")
            except RuntimeError:
                pass
        assert store.head() == expected_head(reader), op
        for ref in refs:
            row = reader.execute(
                "SELECT transaction_id FROM transactions WHERE ref = ?", (ref,)
            ).fetchone()
            assert store.transaction_id_of(ref) == (row[0] if row else None), op
    reader.close()
    store.close()
