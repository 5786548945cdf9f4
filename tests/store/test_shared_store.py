"""A shared store: many stations in one SQLite file, each seeing only its own rows; a file
that is not one is refused and left alone; a full disk fails as a station's own store does."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chargebox.errors import StoreDamaged, StoreWriteError
from chargebox.store import Store
from chargebox.store.shared import SharedDatabase

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_stations_share_the_file_not_their_rows(tmp_path):
    database = SharedDatabase(tmp_path / "fleet.db")
    one, two = database.store("cp00001"), database.store("cp00002")
    one.enqueue("StatusNotification", {"connectorId": 1}, None)
    one.cache_put("TAG", {"status": "Accepted"}, T0)
    two.set_operative(1, False)
    assert two.queue_length() == 0 and two.cache_get("TAG") is None
    assert one.inoperative_connectors() == set()
    assert sorted(database.stations()) == ["cp00001", "cp00002"]
    database.close()

    again = SharedDatabase(tmp_path / "fleet.db")
    assert again.store("cp00001").queue_length() == 1
    assert again.store("cp00002").inoperative_connectors() == {1}
    assert again.store("cp00003").queue_length() == 0
    again.close()


def test_a_station_store_file_is_not_taken_for_a_shared_one(tmp_path):
    path = tmp_path / "CP-1.db"
    Store(path).close()
    before = path.read_bytes()
    with pytest.raises(StoreDamaged) as refused:
        SharedDatabase(path)
    assert str(refused.value).startswith(
        f"the store {path} is the store of one charge point, not a shared store of many"
    )
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "make",
    [
        lambda path: path.write_bytes(b"not a database at all\n" * 100),
        lambda path: sqlite3.connect(path).execute("CREATE TABLE recipes (name TEXT)"),
    ],
    ids=["garbage", "another-program"],
)
def test_another_file_is_refused_and_left_alone(tmp_path, make):
    path = tmp_path / "fleet.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreDamaged, match="not a chargebox"):
        SharedDatabase(path)
    assert path.read_bytes() == before


class FillingDisk:
    """The shared connection on a disk that can fill up: writes fail while `full`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.full = False

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if self.full and sql.lstrip().upper().startswith(("INSERT", "DELETE", "COMMIT")):
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_full_disk_refuses_what_is_handed_over_and_keeps_the_bookkeeping(tmp_path: Path):
    database = SharedDatabase(tmp_path / "fleet.db")
    store = database.store("cp00001")
    heard: list[str | None] = []
    store.observers.append(heard.append)
    first = store.enqueue("StatusNotification", {}, None)
    disk = FillingDisk(database._db)
    database._db = disk  # type: ignore[assignment]
    disk.full = True

    with pytest.raises(StoreWriteError) as refused:
        store.enqueue("DataTransfer", {}, None)
    assert str(refused.value) == (
        f"the store {tmp_path / 'fleet.db'} cannot be written (database or disk is full): "
        "the DataTransfer of cp00001 was not saved"
    )
    assert [m.seq for m in store.queued()] == [first]  # not taken in
    assert heard == ["database or disk is full"] and store.failure is not None
    # bookkeeping of what was taken in already: kept in memory, written later
    store.remove(first)
    store.note_register(1, 500)
    assert store.queue_length() == 0 and store.registers() == {1: 500}
    assert store.deferred_writes == 2

    disk.full = False
    store.set_operative(1, False)  # the next write that works takes them along
    assert store.deferred_writes == 0 and store.failure is None and heard[-1] is None
    database.close()
    again = SharedDatabase(tmp_path / "fleet.db").store("cp00001")
    assert again.queue_length() == 0 and again.registers() == {1: 500}
    assert again.inoperative_connectors() == {1}
