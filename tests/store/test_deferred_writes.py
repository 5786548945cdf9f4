"""What the store took in while the disk said no: written with the next write that works,
or at close, and read back the same way before and after.

The disk is filled at the store layer, as in test_full_disk.py: the SQLite connection
answers every write with "database or disk is full" while `full`.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

from chargebox.store import Store
from tests.store.test_full_disk import FillingDisk

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def on_filling_disk(store: Store) -> FillingDisk:
    disk = FillingDisk(store._db)  # type: ignore[arg-type]
    store._db = disk  # type: ignore[assignment]
    return disk


def started(store: Store) -> int:
    return store.begin_transaction(1, "TAG", 0, T0, None, None, {"connectorId": 1})


def file_transaction_id(path, ref: int) -> int | None:
    db = sqlite3.connect(str(path))
    try:
        row = db.execute("SELECT transaction_id FROM transactions WHERE ref = ?", (ref,))
        return row.fetchone()[0]
    finally:
        db.close()


def drained(store: Store) -> list[tuple[str, dict]]:
    out = []
    while (message := store.head()) is not None:
        out.append((message.action, message.payload))
        store.remove(message.seq, delivered=True)
    return out


def test_messages_read_ahead_while_an_id_waited_keep_it_once_it_is_written(tmp_path):
    store = Store(tmp_path / "cp.db")
    disk = on_filling_disk(store)
    ref = started(store)
    for n in range(3):
        store.queue_meter_values(ref, {"connectorId": 1, "n": n}, (n, T0))
    store.end_transaction(ref, T0, "Local", {"meterStop": 3})
    start = store.head()
    assert start is not None and start.action == "StartTransaction"
    disk.full = True
    store.remove(start.seq, delivered=True)  # its answer came: the removal waits
    store.set_transaction_id(ref, 42)  # and so does the id it carried
    assert store.deferred_writes == 2
    first = store.head()  # read ahead, the id filled in from what waits
    assert first is not None and first.payload["transactionId"] == 42
    disk.full = False
    store.cache_put("OTHER", {"status": "Accepted"}, T0)  # a write that works: theirs too
    assert store.deferred_writes == 0
    assert file_transaction_id(tmp_path / "cp.db", ref) == 42
    messages = drained(store)
    assert [action for action, _ in messages] == ["MeterValues"] * 3 + ["StopTransaction"]
    assert all(payload["transactionId"] == 42 for _, payload in messages)
    store.close()


def test_close_writes_what_waited_for_the_disk(tmp_path):
    path = tmp_path / "cp.db"
    store = Store(path)
    disk = on_filling_disk(store)
    ref = started(store)
    store.end_transaction(ref, T0, "Local", {"meterStop": 0})
    start = store.head()
    assert start is not None
    store.remove(start.seq, delivered=True)  # a StartTransaction's removal commits at once
    disk.full = True
    store.set_transaction_id(ref, 42)  # its answer taken in; the UPDATE waits
    disk.full = False  # room again, and no other write before the station stops
    store.close()
    again = Store(path)
    try:
        assert again.transaction(ref).transaction_id == 42
        assert drained(again) == [("StopTransaction", {"meterStop": 0, "transactionId": 42})]
    finally:
        again.close()


def test_close_on_a_disk_still_full_says_what_is_lost_and_closes(tmp_path, caplog):
    path = tmp_path / "cp.db"
    store = Store(path)
    disk = on_filling_disk(store)
    ref = started(store)
    disk.full = True
    store.set_transaction_id(ref, 42)
    with caplog.at_level(logging.ERROR, logger="chargebox.store"):
        store.close()
    assert any(
        "closes with 1 writes it could not make (database or disk is full): they are lost"
        in record.getMessage()
        for record in caplog.records
    )
    # closed: the file is free and as it was before the failed write
    assert file_transaction_id(path, ref) is None
