"""The SQLite store counts its queue in memory: read once at start, kept with every write;
and a connector's energy register is written only when it rises.

queue_length() is asked for on every drain check and every thinning; a count(*)
reads every row, so with a long backlog every question got slower. The count is
taken from the file when the store opens and follows each committed INSERT and
DELETE; a write that fails leaves it as it was.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chargebox.errors import StoreWriteError
from chargebox.store import Store
from tests.store.test_full_disk import FillingDisk

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def in_file(store: Store) -> int:
    """What the file holds, counted the slow way (delivered rows whose DELETE waits excluded)."""
    rows = store._db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return int(rows) - len(store._removed)


def statements_of(store: Store) -> list[str]:
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    return seen


def test_a_restart_with_messages_queued_starts_with_their_count(tmp_path: Path) -> None:
    store = Store(tmp_path / "cp.db")
    for n in range(250):
        store.enqueue("Heartbeat" if n % 2 else "MeterValues", {"n": n}, None)
    store.remove(store.head().seq)  # type: ignore[union-attr]
    store.close()

    again = Store(tmp_path / "cp.db")
    seen = statements_of(again)
    length = again.queue_length()
    assert seen == []  # answered from memory: no statement ran
    assert length == 249 == in_file(again)
    seen.clear()
    again.enqueue("MeterValues", {}, None)
    assert again.queue_length() == 250 and not any("count(" in s for s in seen)
    again.close()


def test_the_count_follows_every_write_and_every_failed_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "cp.db")
    disk = FillingDisk(store._db)
    store._db = disk  # type: ignore[assignment]
    ref = store.begin_transaction(1, "TAG", 0, T0, None, None, {"connectorId": 1})
    for n in range(10):
        store.queue_meter_values(ref, {"connectorId": 1, "n": n})
    assert store.queue_length() == 11 == in_file(store)

    disk.full = True
    with pytest.raises(StoreWriteError):
        store.enqueue("Heartbeat", {}, None)  # refused: not counted
    assert store.queue_length() == 11 == in_file(store)
    store.remove(store.head().seq)  # type: ignore[union-attr]  # delivered; DELETE deferred
    assert store.queue_length() == 10 == in_file(store)

    disk.full = False
    store.enqueue("Heartbeat", {}, None)  # takes the deferred DELETE along
    assert store.deferred_writes == 0
    assert store.queue_length() == 11 == in_file(store)
    assert store.thin_queue(6) == 5
    assert store.queue_length() == 6 == in_file(store)
    # a larger write that fails after an enqueue puts the count back with its rollback
    with pytest.raises(RuntimeError), store._writing("two messages"):
        store.enqueue("MeterValues", {}, ref)
        raise RuntimeError("power cut")
    assert store.queue_length() == 6 == in_file(store)


def test_a_file_changed_behind_the_stores_back_is_counted_at_the_next_start(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "cp.db")
    store.enqueue("Heartbeat", {}, None)
    store.close()
    other = sqlite3.connect(tmp_path / "cp.db")
    with other:
        other.execute("DELETE FROM outbox")
    other.close()
    assert Store(tmp_path / "cp.db").queue_length() == 0


def test_a_register_already_on_disk_is_not_written_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "cp.db")
    store.note_register(1, 500)
    seen = statements_of(store)
    store.note_register(1, 500)  # what a queued MeterValue raised it to: nothing to write
    store.note_register(1, 400)
    assert [s for s in seen if not s.startswith("SELECT")] == []
    store.note_register(1, 600)
    assert "COMMIT" in seen and store.registers() == {1: 600}
