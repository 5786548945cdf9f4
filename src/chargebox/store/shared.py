"""The stores of many stations in one SQLite file: one connection, a station column.

A fleet of simulated stations (chargebox.fleet) that must survive a restart of
its process keeps them here (`chargebox fleet --shared-db FILE`) instead of a
file and a connection per station. Each station's `SharedStore` holds its
state in memory (it is a `MemoryStore`: the same rules, the same reads) and
writes every change to the file before the call returns, as rows
`(station, kind, key, value)`: the kind is a table of the station's store, the
value its row as JSON.

    database = SharedDatabase(Path("fleet.db"))
    store = database.store("cp00042")   # what cp00042 kept, loaded

The file is in WAL mode with synchronous=NORMAL: a killed process loses
nothing that was acknowledged; a power cut of the machine may lose the last
writes (one fsync per write would hold ten thousand stations back). A write
that fails (a full disk) fails as the station's own Store does: what the host
handed over raises StoreWriteError and is not taken in, bookkeeping is kept
in memory and written with the next write that works.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

import orjson

from chargebox.errors import StoreDamaged, StoreWriteError
from chargebox.store import _is_storage_failure
from chargebox.store.memory import (
    AUTH_CACHE,
    DELETE,
    META,
    OUTBOX,
    PROFILES,
    RESERVATIONS,
    TABLES,
    TRANSACTIONS,
    TX_DATA,
    Batch,
    MemoryStore,
)

log = logging.getLogger(__name__)

FORMAT = "chargebox shared store"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS station_rows (
    station TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (station, kind, key)
) WITHOUT ROWID;
"""

#: tables whose rows are tuples (JSON arrays in the file)
_TUPLES = frozenset({OUTBOX, TRANSACTIONS, AUTH_CACHE, PROFILES, RESERVATIONS})
#: tables keyed by text (the others by a number, TX_DATA by "ref/n")
_TEXT_KEYS = frozenset({META, AUTH_CACHE, "local_list"})

Row = tuple[str, str, str, bytes | None]  # station, kind, key, value (None: delete)


def _key_text(table: str, key: Hashable) -> str:
    if table == TX_DATA:
        ref, n = key  # type: ignore[misc]
        return f"{ref}/{n}"
    return str(key)


def _key_value(table: str, text: str) -> Hashable:
    if table in _TEXT_KEYS:
        return text
    if table == TX_DATA:
        ref, n = text.split("/")
        return (int(ref), int(n))
    return int(text)


class SharedDatabase:
    """One SQLite file with the stores of many stations. Not thread-safe: one trio thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        existing = self.path.is_file() and self.path.stat().st_size > 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            if existing:
                _check_existing(db, self.path)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('format', ?)", (FORMAT,))
                db.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            except sqlite3.OperationalError as e:
                raise StoreWriteError(self.path, "the shared store's tables", str(e)) from None
        except BaseException:
            db.close()
            raise
        self._db = db

    def close(self) -> None:
        self._db.close()

    def store(self, station: str) -> SharedStore:
        """The store of `station`, with what it kept in this file."""
        return SharedStore(self, station)

    def stations(self) -> list[str]:
        """The stations that have something in this file."""
        return [s for (s,) in self._db.execute("SELECT DISTINCT station FROM station_rows")]

    def rows(self, station: str) -> list[tuple[str, str, bytes]]:
        return self._db.execute(
            "SELECT kind, key, value FROM station_rows WHERE station = ?", (station,)
        ).fetchall()

    def write(self, rows: Iterable[Row]) -> None:
        """Every row in one commit (an upsert, or a delete for a None value); raises the
        sqlite3.Error of a failed write after rolling back."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            for station, kind, key, value in rows:
                if value is None:
                    db.execute(
                        "DELETE FROM station_rows WHERE station = ? AND kind = ? AND key = ?",
                        (station, kind, key),
                    )
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO station_rows(station, kind, key, value) "
                        "VALUES (?, ?, ?, ?)",
                        (station, kind, key, value),
                    )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # rolled back by SQLite itself (a full disk, an I/O error)
            raise


class SharedStore(MemoryStore):
    """One station's store in a SharedDatabase: read from memory, written through to the file."""

    def __init__(self, database: SharedDatabase, station: str) -> None:
        super().__init__()
        self.path = database.path
        self.station = station
        self._database = database
        # rows of deferrable writes that failed: written first by the next write that works
        self._pending: list[Row] = []
        self._load(database.rows(station))

    def _load(self, rows: list[tuple[str, str, bytes]]) -> None:
        loaded: dict[str, list[tuple[Any, Any]]] = {}
        for kind, key, value in rows:
            if kind not in TABLES:
                continue  # written by a newer chargebox: not ours to interpret
            data = orjson.loads(value)
            loaded.setdefault(kind, []).append(
                (_key_value(kind, key), tuple(data) if kind in _TUPLES else data)
            )
        changes = {
            (kind, key): value for kind, items in loaded.items() for key, value in sorted(items)
        }
        self._apply(changes)

    def _commit(self, what: str, batch: Batch, *, deferrable: bool = False) -> bool:
        rows: list[Row] = [
            (
                self.station,
                table,
                _key_text(table, key),
                None if value is DELETE else orjson.dumps(value),
            )
            for (table, key), value in batch.changes.items()
        ]
        try:
            self._database.write([*self._pending, *rows])
        except sqlite3.Error as e:
            if not _is_storage_failure(e):
                raise
            self._failed(e)
            if not deferrable:
                raise StoreWriteError(self.path, f"{what} of {self.station}", str(e)) from None
            log.warning(
                "%s: %s of %s is kept and written once the store can be written",
                self.path,
                what,
                self.station,
            )
            self._pending.extend(rows)
            self._apply(batch.changes)
            return False
        if self._pending:
            log.info("%d deferred writes of %s are done", len(self._pending), self.station)
            self._pending.clear()
        self._apply(batch.changes)
        self._succeeded()
        return True

    def _failed(self, error: sqlite3.Error) -> None:
        first = self.failure is None
        self.failure = str(error)
        if first:
            log.error("the store of %s in %s cannot be written: %s", self.station, self.path, error)
            for observer in list(self.observers):
                observer(self.failure)

    def _succeeded(self) -> None:
        if self.failure is not None:
            self.failure = None
            log.warning("the store of %s in %s can be written again", self.station, self.path)
            for observer in list(self.observers):
                observer(None)

    @property
    def deferred_writes(self) -> int:
        return len(self._pending)


def _check_existing(db: sqlite3.Connection, path: Path) -> None:
    """An existing file must be a sound shared store of this or an older chargebox (read only)."""
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as e:
        raise StoreDamaged(
            path, f"is not a chargebox database or is damaged (sqlite: {e})"
        ) from None
    if problems != ["ok"]:
        raise StoreDamaged(path, f"is damaged (sqlite: {'; '.join(problems)})")
    if not tables:
        return
    if "outbox" in tables:
        raise StoreDamaged(
            path,
            "is the store of one charge point, not a shared store of many",
            advice="give a new file, or use it with --data-dir as the store of that station",
        )
    found = dict(db.execute("SELECT key, value FROM meta")) if "meta" in tables else {}
    if "station_rows" not in tables or found.get("format") != FORMAT:
        raise StoreDamaged(
            path,
            f"is an SQLite database but not a chargebox shared store (its tables: "
            f"{sorted(tables)})",
        )
    version = int(found.get("schema_version", SCHEMA_VERSION))
    if version > SCHEMA_VERSION:
        raise StoreDamaged(
            path,
            f"was written by a newer chargebox (shared store schema {version}, this one knows "
            f"{SCHEMA_VERSION})",
            advice="run that version, or move the file aside to start with an empty store",
        )
