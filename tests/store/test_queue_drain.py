"""The SQLite store drains its queue cheaply: the head is read ahead, a removal is one statement.

A draining queue asks for the head and removes it once per message. The store
reads the next rows in one SELECT and keeps them until a write could change one
of them (a transaction's id filled in, the queue thinned, a write rolled back);
a removal is a single DELETE at synchronous=NORMAL (not synced, see
`Store.remove`), and the connection goes back to synchronous=FULL before any
other write begins, so what the engine acknowledges is still synced.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from chargebox.store import Store

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
