"""What the station must not forget, in one SQLite file per charge point.

    outbox         the transaction messages not yet delivered, in order
    transactions   every transaction since the last confirmed StopTransaction
                   (for the queued messages' transactionId and power-loss recovery)
    auth_cache     idTagInfo of every idTag the Central System told us about
    local_list     the Local Authorization List and its version
    reservations   the reservation each connector holds (created on first use)
    availability   connectors set Inoperative by ChangeAvailability
    profiles       charging profiles (chargebox.smartcharging)
    registers      the highest energy register (Wh) each connector reported, so
                   that no lower meterStart, meterStop or reading goes out after a
                   restart
    meta "firmware" the firmware update under way (chargebox.actors.firmware), kept
                   across the reboot that installs it

Every write commits before the method returns, in WAL mode, but one: a
delivered MeterValues' removal from the queue, which is gone for every reader
at once and committed with the next others (at most 32 wait; see
`Store.remove`). How far a commit is synced is the store's durability
(`DURABILITIES`, chosen with `Options.durability`):

    power-safe    synchronous=FULL (the default): every commit is synced to the
                  disk before the method returns; what the engine acknowledged to
                  the host survives a kill -9 and a power cut.
    crash-safe    synchronous=NORMAL: a commit is in the operating system's hands
                  when the method returns, synced at WAL checkpoints. Nothing is
                  lost when the process dies (a kill -9, a crash); a power cut may
                  lose the last commits. For a simulation, whose power cannot fail,
                  and for a station that would rather spare its flash one sync a
                  commit. Never synchronous=OFF: a crash there can damage the file.

The store is synchronous on purpose: a commit takes milliseconds, and a
transition must not be interleaved with another actor's write half-way.

A file that is not a chargebox store, or a damaged one, is never written to:
opening it raises StoreDamaged, and the file stays as it was. A write that
fails (the disk is full) raises StoreWriteError, except for the bookkeeping
of what was already taken in (a delivered message leaving the queue, a
transaction's id, the authorization cache, reservations, the firmware
procedure, a removed charging profile): those are kept in memory and written
with the next write that succeeds, or when the store closes (a close on a disk
still full logs what is lost). `failure` says why writes fail (None while they
work); `observers` hear each change of it.

`Storage` is the interface the engine uses (a typing Protocol): this Store,
and the MemoryStore and SharedStore of simulated stations, implement it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import orjson

from chargebox.errors import StoreDamaged, StoreWriteError
from chargebox.ocpp.frames import new_message_id
from chargebox.ocpp.timestamps import format_datetime, parse_datetime

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # bump with a migration when a table changes

#: the store's durabilities -> the synchronous setting of its commits
DURABILITIES = {"power-safe": "FULL", "crash-safe": "NORMAL"}


def check_durability(value: object, where: str = "durability") -> str:
    """`value` if it names a durability; a ValueError naming `where` and the choices otherwise."""
    if not isinstance(value, str) or value not in DURABILITIES:
        raise ValueError(
            f"{where}: {value!r} is not a store durability; use 'power-safe' (every commit "
            "synced, the default) or 'crash-safe' (WAL with synchronous=NORMAL: nothing lost "
            "when the process dies, the last commits may be lost at a power cut)"
        )
    return value


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    payload BLOB NOT NULL,
    tx_ref INTEGER,
    message_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    ref INTEGER PRIMARY KEY AUTOINCREMENT,
    connector INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    meter_start INTEGER NOT NULL,
    start_time TEXT NOT NULL,
    reservation_id INTEGER,
    transaction_id INTEGER,
    last_meter INTEGER NOT NULL,
    last_meter_time TEXT NOT NULL,
    stop_time TEXT,
    stop_reason TEXT,
    session_id TEXT
);
CREATE TABLE IF NOT EXISTS tx_data (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ref INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS tx_data_ref ON tx_data(ref);
CREATE TABLE IF NOT EXISTS auth_cache (
    id_tag TEXT PRIMARY KEY COLLATE NOCASE,
    info BLOB NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS local_list (
    id_tag TEXT PRIMARY KEY COLLATE NOCASE,
    info BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS availability (
    connector INTEGER PRIMARY KEY,
    operative INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS profiles (
    id INTEGER PRIMARY KEY,
    connector INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS registers (
    connector INTEGER PRIMARY KEY,
    wh INTEGER NOT NULL
);
"""

# the tables a chargebox store has had since its first schema
_CORE_TABLES = frozenset({"meta", "outbox", "transactions", "tx_data"})

# raises the stored register of a transaction's connector (never lowers it)
_RAISE_REGISTER = (
    "INSERT INTO registers(connector, wh) SELECT connector, ? FROM transactions WHERE ref = ? "
    "ON CONFLICT(connector) DO UPDATE SET wh = max(wh, excluded.wh)"
)


_RESERVATIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    connector INTEGER PRIMARY KEY,
    reservation_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry TEXT NOT NULL
)
"""


@attrs.frozen
class StoredReservation:
    """A reservation as the store keeps it (connector 0: a reservation for any connector)."""

    connector: int
    reservation_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry_date: datetime


@attrs.frozen
class QueuedMessage:
    seq: int
    action: str
    payload: dict[str, Any]  # wire (camelCase) payload, transactionId filled in when known
    tx_ref: int | None
    message_id: str


@attrs.frozen
class TransactionRecord:
    ref: int
    connector: int
    id_tag: str
    meter_start: int
    start_time: datetime
    reservation_id: int | None
    transaction_id: int | None
    last_meter: int
    last_meter_time: datetime
    stop_time: datetime | None
    stop_reason: str | None
    session_id: str | None
    tx_data: list[dict[str, Any]]  # MeterValue objects (wire form) for StopTransaction

    @property
    def stopped(self) -> bool:
        return self.stop_time is not None


class Store:
    """The station's SQLite file (or an in-memory database when `path` is None), its
    commits synced as `durability` says (`DURABILITIES`)."""

    def __init__(self, path: Path | None, *, durability: str = "power-safe") -> None:
        self.path = path
        self.durability = check_durability(durability)
        #: the synchronous setting of its commits (a delivered message's removal excepted)
        self._synchronous = DURABILITIES[durability]
        #: why the last write failed (None while writes work)
        self.failure: str | None = None
        #: called with `failure` each time it changes (a write failed, or worked again)
        self.observers: list[Callable[[str | None], None]] = []
        # writes of what was already taken in that failed: retried with the next write
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []
        self._removed: set[int] = set()  # queue rows delivered, their DELETE not committed
        # delivered MeterValues whose DELETE waits to join a commit (at most _REMOVE_BATCH;
        # each is in `_removed` too): see `remove`
        self._pending: list[int] = []
        self._ids: dict[int, int] = {}  # transaction ids whose UPDATE is deferred
        # the oldest queued rows, read ahead in one SELECT so that a draining queue does
        # not read its head once per message; a prefix of the queue (INSERTs only append),
        # forgotten whenever a write could change one of them (a transaction's id, thinning)
        self._ahead: deque[tuple[Any, ...]] = deque()
        # True while `_ahead` holds every queued row (the last SELECT reached the queue's
        # end, and each INSERT since was appended): an empty queue is then known without
        # reading, and a queue that is drained as fast as it fills is never read
        self._ahead_all = False
        # transaction ids as committed (None: not known yet), by transaction ref, so that
        # each MeterValues of a long transaction does not read its id again
        self._tx_ids: dict[int, int | None] = {}
        self._db = self._open(path)
        # False while a power-safe connection is left at synchronous=NORMAL after a
        # removal; every other write sets FULL again before it begins
        self._synced = True
        #: rows in the outbox table, counted once at start and then kept with every
        #: INSERT and DELETE (committed ones: a rolled-back write puts it back), so that
        #: queue_length costs nothing however long the queue (count(*) reads every row)
        self._queued = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def _open(self, path: Path | None) -> sqlite3.Connection:
        existing = path is not None and path.is_file() and path.stat().st_size > 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            str(path) if path is not None else ":memory:",
            isolation_level=None,  # autocommit; explicit BEGIN for multi-statement writes
            check_same_thread=False,
        )
        try:
            if existing:
                # read only, before anything could write to a file that is not ours
                _check_existing(db, path)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={self._synchronous}")
                db.executescript(_SCHEMA)
                version = _meta(db, "schema_version")
                if version is None:
                    db.execute(
                        "INSERT INTO meta(key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
            except sqlite3.OperationalError as e:
                raise StoreWriteError(path, "the store's tables", str(e)) from None
            if int(version or SCHEMA_VERSION) > SCHEMA_VERSION:
                raise StoreDamaged(
                    path,
                    f"was written by a newer chargebox (schema {version}, this one knows "
                    f"{SCHEMA_VERSION})",
                    advice="run that version, or move the file aside to start with an empty store",
                )
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        """Commit the removals still waiting (`remove`) and the writes deferred while the
        disk said no (`_defer`), then close the file (closed even when that commit raises).
        What still cannot be written is lost with the process's memory, and logged."""
        try:
            if self._pending:
                self._commit_removals()
            elif self._deferred:
                try:
                    with self._writing("the deferred writes"):
                        pass  # (`_writing` writes them first)
                except StoreWriteError:
                    pass  # (logged below)
            if self._deferred:
                log.error(
                    "the store %s closes with %d writes it could not make (%s): they are lost",
                    self.path,
                    len(self._deferred),
                    self.failure,
                )
        finally:
            self._db.close()

    # -- writing, and what happens when the disk says no -----------------------------------

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """One commit: the deferred writes and the delivered messages' removals that
        wait (`remove`) first, then the block's statements.

        A write that fails raises StoreWriteError naming `what`; the first
        success after failures clears `failure`. Within another write's block,
        the statements simply join that commit.
        """
        if self._db.in_transaction:
            yield
            return
        queued = self._queued
        if not self._synced:
            self._db.execute(f"PRAGMA synchronous={self._synchronous}")
            self._synced = True
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for statement, params in self._deferred:
                self._execute(statement, params)
            pending = self._pending
            if pending:
                self._execute(_remove_statement(len(pending)), tuple(pending))
            yield
            self._db.execute("COMMIT")
        except sqlite3.Error as e:
            self._queued = queued
            self._rollback()
            if not _is_storage_failure(e):
                raise
            self._failed(e)
            raise StoreWriteError(self.path, what, str(e)) from None
        except BaseException:
            self._queued = queued
            self._rollback()
            raise
        if self._pending:
            self._removed.difference_update(self._pending)
            self._pending.clear()
        if self._deferred:
            log.info("%d deferred writes of the store are done", len(self._deferred))
            self._deferred.clear()
            self._removed.clear()
            if self._ids:
                # rows read ahead while an id waited carry none (`head` filled it in from
                # `_ids`): read again, the id is in the file now
                self._forget_ahead()
                self._ids.clear()
        self._succeeded()

    def _defer(self, what: str, statement: str, params: tuple[Any, ...], *more: Any) -> bool:
        """Write the statements (each followed by its parameters) now, in one commit, or
        (when that fails) with the next write that works; True if now."""
        statements = [(statement, params), *zip(more[::2], more[1::2], strict=True)]
        try:
            with self._writing(what):
                for sql, values in statements:
                    self._execute(sql, values)
            return True
        except StoreWriteError as e:
            log.warning("%s; it is kept and written once the store can be written", e)
            self._deferred.extend(statements)
            return False

    def _execute(self, statement: str, params: tuple[Any, ...]) -> None:
        """Run a statement of a write; a DELETE from the outbox is taken off its count."""
        cursor = self._db.execute(statement, params)
        if statement.startswith(_DELETE_FROM_OUTBOX):
            self._queued -= cursor.rowcount

    def _forget_ahead(self) -> None:
        self._ahead.clear()
        self._ahead_all = False

    def _rollback(self) -> None:
        self._forget_ahead()  # rows read or queued within the rolled-back write may be gone
        self._tx_ids.clear()  # a transaction begun, or an id set, within it is gone
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # already rolled back by SQLite itself (a full disk, an I/O error)

    def _failed(self, error: sqlite3.Error) -> None:
        first = self.failure is None
        self.failure = str(error)
        if first:
            log.error("the store %s cannot be written: %s", self.path, error)
            for observer in list(self.observers):
                observer(self.failure)

    def _succeeded(self) -> None:
        if self.failure is not None:
            self.failure = None
            log.warning("the store %s can be written again", self.path)
            for observer in list(self.observers):
                observer(None)

    @property
    def deferred_writes(self) -> int:
        """How many writes wait for the store to work again (for inspection and tests)."""
        return len(self._deferred)

    # -- meta -------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        return _meta(self._db, key)

    def set_meta(self, key: str, value: str) -> None:
        with self._writing(f"the value of {key}"):
            self._db.execute(_SET_META, (key, value))

    # -- the firmware update under way ---------------------------------------------------

    def firmware_procedure(self) -> dict[str, Any] | None:
        """The firmware update procedure saved with `save_firmware_procedure`, if any."""
        value = self.meta("firmware")
        return orjson.loads(value) if value else None

    def save_firmware_procedure(self, data: dict[str, Any] | None) -> None:
        """Keep the procedure's data (JSON values); None: no update under way."""
        what = "the firmware update procedure"
        if data is None:
            self._defer(what, "DELETE FROM meta WHERE key = 'firmware'", ())
        else:
            self._defer(what, _SET_META, ("firmware", orjson.dumps(data).decode()))

    # -- outbox -----------------------------------------------------------------------

    def enqueue(self, action: str, payload: dict[str, Any], tx_ref: int | None) -> int:
        # The message id is fixed here: every transmission of this message carries it, so a
        # Central System can tell a retransmission from a new message.
        with self._writing(f"the {action}"):
            row = (action, orjson.dumps(payload), tx_ref, new_message_id())
            cur = self._db.execute(
                "INSERT INTO outbox(action, payload, tx_ref, message_id) VALUES (?, ?, ?, ?)", row
            )
            self._queued += 1
            seq = int(cur.lastrowid or 0)
            if self._ahead_all:
                # the rows read ahead are the whole queue: this one joins them (a rollback
                # of the commit it is part of forgets them all)
                if tx_ref is None:
                    self._ahead.append((seq, action, row[1], None, None, row[3]))
                elif tx_ref in self._tx_ids:
                    self._ahead.append((seq, action, row[1], tx_ref, self._tx_ids[tx_ref], row[3]))
                else:
                    self._forget_ahead()  # its transaction's id is read with the next head
        return seq

    def queue_length(self) -> int:
        """The messages queued (without those delivered whose removal waits for the disk)."""
        return self._queued - len(self._removed)

    def queued_count(self, action: str) -> int:
        """How many messages of `action` are queued (read from the file's rows, without
        decoding any: a restart with a long backlog asks this once)."""
        return sum(
            1
            for (seq,) in self._db.execute("SELECT seq FROM outbox WHERE action = ?", (action,))
            if seq not in self._removed
        )

    def head(self) -> QueuedMessage | None:
        """The oldest queued message (its transactionId filled in when known).

        Read ahead: one SELECT brings the next _READ_AHEAD rows, and `remove` of the
        head takes the next one from them, so a draining queue reads the file once
        per _READ_AHEAD messages.
        """
        ahead = self._ahead
        while ahead and ahead[0][0] in self._removed:
            ahead.popleft()
        if not ahead:
            if self._ahead_all:  # nothing was queued since the queue was read to its end
                return None
            limit = len(self._removed) + _READ_AHEAD
            rows = self._db.execute(
                "SELECT o.seq, o.action, o.payload, o.tx_ref, t.transaction_id, "
                "o.message_id FROM outbox o LEFT JOIN transactions t ON t.ref = o.tx_ref "
                "ORDER BY o.seq LIMIT ?",
                (limit,),
            ).fetchall()
            # delivered rows whose removal waits for the disk are left out
            ahead.extend(row for row in rows if row[0] not in self._removed)
            self._ahead_all = len(rows) < limit
            if not ahead:
                return None
        row = ahead[0]
        payload = orjson.loads(row[2])
        transaction_id = row[4] if row[4] is not None else self._ids.get(row[3])
        if transaction_id is not None and row[1] in ("MeterValues", "StopTransaction"):
            payload["transactionId"] = transaction_id
        return QueuedMessage(row[0], row[1], payload, row[3], row[5])

    def remove(self, seq: int, *, delivered: bool = False) -> None:
        """A message leaves the queue: `delivered` (its CALLRESULT came), or dropped.

        Not synced to the disk on its own: after a power cut the last few delivered
        messages may go again, each with its first message id, so the Central System
        can recognise them; a stored message is never lost. (The next synced commit
        makes the removal durable too.) This saves a flash write per message. The
        connection stays at synchronous=NORMAL until the next other write, which sets
        FULL again before it begins, so a draining queue switches once, not twice a
        message; and the DELETE is its own commit (one statement, no BEGIN and COMMIT).

        A delivered MeterValues at the head leaves the queue at once for every reader
        (`head`, `queue_length`, `queued`, thinning) but its DELETE may wait, to be
        committed with others in one statement: once _REMOVE_BATCH of them wait, with
        any other write's commit (they join it: a removal that commits at once, a
        StartTransaction's or StopTransaction's, and the next message queued after the
        queue ran dry, whose commit then needs no switch of synchronous), and when the
        store closes. So when the process dies (killed, crashed) at most
        _REMOVE_BATCH delivered MeterValues are sent again after the restart, with their
        first message ids; never a StartTransaction or a StopTransaction.
        """
        ahead = self._ahead
        if ahead and ahead[0][0] == seq:
            action = ahead.popleft()[1]
        else:
            action = None
            self._forget_ahead()
        if self._db.in_transaction:  # part of a larger commit: that one decides
            self._execute(_REMOVE, (seq,))
            return
        self._pending.append(seq)
        self._removed.add(seq)
        if delivered and action == "MeterValues" and len(self._pending) < _REMOVE_BATCH:
            return
        self._commit_removals()

    def _commit_removals(self) -> None:
        """The removals that wait (`_pending`), in one commit at synchronous=NORMAL."""
        seqs, self._pending = self._pending, []
        statement, params = _remove_statement(len(seqs)), tuple(seqs)
        if self._synced and self._synchronous != "NORMAL":
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._synced = False
        if self._deferred:  # the writes waiting for the disk go first, in one commit
            if self._defer("a delivered message's removal", statement, params):
                self._removed.difference_update(seqs)
            return
        try:
            self._execute(statement, params)
        except sqlite3.Error as e:
            self._rollback()
            if not _is_storage_failure(e):
                raise
            self._failed(e)
            error = StoreWriteError(self.path, "a delivered message's removal", str(e))
            log.warning("%s; it is kept and written once the store can be written", error)
            self._deferred.append((statement, params))
            return
        self._removed.difference_update(seqs)
        self._succeeded()

    def queued(self) -> list[QueuedMessage]:
        """Every queued message, oldest first (for inspection and tests)."""
        return [
            QueuedMessage(seq, action, orjson.loads(payload), tx_ref, message_id)
            for seq, action, payload, tx_ref, message_id in self._db.execute(
                "SELECT seq, action, payload, tx_ref, message_id FROM outbox ORDER BY seq"
            )
            if seq not in self._removed
        ]

    def thin_queue(self, keep: int, *, spare: int | None = None) -> int:
        """Make room when the queue passes MessageQueueSizeThreshold; returns how many went.

        Non-transaction messages go first; then every other MeterValues of a
        transaction, oldest first. StartTransaction and StopTransaction stay, and
        so does the message `spare` (the one being transmitted).
        """
        removed = 0
        excess = self.queue_length() - keep
        if excess <= 0:
            return 0
        spare = -1 if spare is None else spare
        self._forget_ahead()
        with self._writing("the thinned queue (MessageQueueSizeThreshold)"):
            rows = self._db.execute(
                "SELECT seq FROM outbox WHERE tx_ref IS NULL AND action NOT IN "
                "('StartTransaction', 'StopTransaction') AND seq != ? ORDER BY seq LIMIT ?",
                (spare, excess),
            ).fetchall()
            for (seq,) in rows:
                self._execute(_REMOVE, (seq,))
            removed += len(rows)
            excess -= len(rows)
            if excess > 0:
                meter = [
                    seq
                    for (seq,) in self._db.execute(
                        "SELECT seq FROM outbox WHERE action = 'MeterValues' AND seq != ? "
                        "ORDER BY seq",
                        (spare,),
                    )
                ]
                # every second one, oldest first, so what remains still spans the session
                for seq in meter[::2][:excess]:
                    self._execute(_REMOVE, (seq,))
                    removed += 1
        return removed

    # -- transactions -------------------------------------------------------------------

    def begin_transaction(
        self,
        connector: int,
        id_tag: str,
        meter_start: int,
        start_time: datetime,
        reservation_id: int | None,
        session_id: str | None,
        start_payload: dict[str, Any],
        tx_data: dict[str, Any] | None = None,
    ) -> int:
        """Record a transaction and queue its StartTransaction, in one commit.

        `tx_data`: its first meter value for StopTransaction (Transaction.Begin).
        """
        with self._writing("the StartTransaction"):
            cur = self._db.execute(
                "INSERT INTO transactions(connector, id_tag, meter_start, start_time, "
                "reservation_id, last_meter, last_meter_time, session_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    connector,
                    id_tag,
                    meter_start,
                    format_datetime(start_time),
                    reservation_id,
                    meter_start,
                    format_datetime(start_time),
                    session_id,
                ),
            )
            ref = int(cur.lastrowid or 0)
            self._db.execute(_RAISE_REGISTER, (meter_start, ref))
            if tx_data is not None:
                self._keep(ref, tx_data)
            self._tx_ids[ref] = None  # known within the commit (a rollback forgets it)
            self.enqueue("StartTransaction", start_payload, ref)
        return ref

    def set_transaction_id(self, ref: int, transaction_id: int) -> None:
        self._forget_ahead()  # the rows read ahead carry the transaction's id of before
        if not self._defer(
            "a transaction's id",
            "UPDATE transactions SET transaction_id = ? WHERE ref = ?",
            (transaction_id, ref),
        ):
            self._ids[ref] = transaction_id
        self._tx_ids[ref] = transaction_id  # (a rolled-back write forgets it: `_rollback`)

    def record_meter(
        self, ref: int, meter_wh: int, when: datetime, tx_data: dict[str, Any] | None
    ) -> None:
        """The last energy reading of a transaction (for PowerLoss), and data for its stop."""
        with self._writing("the transaction's meter reading"):
            self._record(ref, meter_wh, when, tx_data)

    def _record(
        self, ref: int, meter_wh: int, when: datetime, tx_data: dict[str, Any] | None
    ) -> None:
        # never lower: a PowerLoss meterStop is at least every reading reported before
        self._db.execute(
            "UPDATE transactions SET last_meter = max(last_meter, ?), last_meter_time = ? "
            "WHERE ref = ?",
            (meter_wh, format_datetime(when), ref),
        )
        self._db.execute(_RAISE_REGISTER, (meter_wh, ref))
        if tx_data is not None:
            self._keep(ref, tx_data)

    def _keep(self, ref: int, tx_data: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO tx_data(ref, payload) VALUES (?, ?)", (ref, orjson.dumps(tx_data))
        )

    def queue_meter_values(
        self,
        ref: int | None,
        payload: dict[str, Any],
        meter: tuple[int, datetime] | None = None,
        tx_data: dict[str, Any] | None = None,
    ) -> int:
        """Queue a transaction's MeterValues; `meter` (Wh, when) and `tx_data` are recorded
        with it (record_meter), in the same commit."""
        with self._writing("the MeterValues"):
            if ref is not None and meter is not None:
                self._record(ref, *meter, tx_data)
            return self.enqueue("MeterValues", payload, ref)

    def end_transaction(
        self,
        ref: int,
        stop_time: datetime,
        reason: str | None,
        stop_payload: dict[str, Any],
        meter_stop: int | None = None,
        tx_data: dict[str, Any] | None = None,
    ) -> None:
        """Mark the transaction stopped and queue its StopTransaction, in one commit.

        `meter_stop` and `tx_data` (its Transaction.End value) are recorded with it.
        """
        with self._writing("the StopTransaction"):
            if meter_stop is not None:
                self._record(ref, meter_stop, stop_time, tx_data)
            self._db.execute(
                "UPDATE transactions SET stop_time = ?, stop_reason = ? WHERE ref = ?",
                (format_datetime(stop_time), reason, ref),
            )
            self.enqueue("StopTransaction", stop_payload, ref)

    def forget_transaction(self, ref: int) -> None:
        """StopTransaction delivered (or given up): nothing more will refer to it."""
        unused = "NOT EXISTS (SELECT 1 FROM outbox WHERE tx_ref = ?)"
        self._tx_ids.pop(ref, None)
        self._defer(
            "a finished transaction's removal",
            f"DELETE FROM tx_data WHERE ref = ? AND {unused}",
            (ref, ref),
            f"DELETE FROM transactions WHERE ref = ? AND {unused}",
            (ref, ref),
        )

    def transaction(self, ref: int) -> TransactionRecord | None:
        row = self._db.execute(
            f"SELECT {_TX_COLUMNS} FROM transactions WHERE ref = ?", (ref,)
        ).fetchone()
        return self._tx_record(row) if row else None

    def transaction_id_of(self, ref: int) -> int | None:
        if ref in self._ids:
            return self._ids[ref]
        if ref in self._tx_ids:
            return self._tx_ids[ref]
        row = self._db.execute(
            "SELECT transaction_id FROM transactions WHERE ref = ?", (ref,)
        ).fetchone()
        if row is None:
            return None
        if not self._db.in_transaction:  # committed: it stays so until set_transaction_id
            self._tx_ids[ref] = row[0]
        return row[0]

    def open_transactions(self) -> list[TransactionRecord]:
        """Transactions not stopped (after a power loss: to stop or to resume)."""
        return [
            self._tx_record(row)
            for row in self._db.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE stop_time IS NULL ORDER BY ref"
            ).fetchall()
        ]

    def _tx_record(self, row: tuple[Any, ...]) -> TransactionRecord:
        data = [
            orjson.loads(payload)
            for (payload,) in self._db.execute(
                "SELECT payload FROM tx_data WHERE ref = ? ORDER BY seq", (row[0],)
            )
        ]
        record = _tx_record(row, data)
        if record.transaction_id is None and record.ref in self._ids:
            record = attrs.evolve(record, transaction_id=self._ids[record.ref])
        return record

    # -- energy registers ----------------------------------------------------------------

    def registers(self) -> dict[int, int]:
        """The highest energy register (Wh) each connector reported."""
        return dict(self._db.execute("SELECT connector, wh FROM registers").fetchall())

    def note_register(self, connector: int, wh: int) -> None:
        """A connector reported its energy register at `wh` (kept if higher than before)."""
        kept = self._db.execute(
            "SELECT wh FROM registers WHERE connector = ?", (connector,)
        ).fetchone()
        if kept is not None and kept[0] >= wh:
            # on disk already (a queued MeterValue raised it in its own commit): reading
            # costs microseconds, a synced commit that changes nothing a flash write
            return
        self._defer(
            "a connector's energy register",
            "INSERT INTO registers(connector, wh) VALUES (?, ?) "
            "ON CONFLICT(connector) DO UPDATE SET wh = max(wh, excluded.wh)",
            (connector, wh),
        )

    # -- authorization cache and local list -------------------------------------------

    def cache_get(self, id_tag: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT info FROM auth_cache WHERE id_tag = ?", (id_tag,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def cache_put(self, id_tag: str, info: dict[str, Any], now: datetime) -> None:
        self._defer(
            "an authorization cache entry",
            "INSERT INTO auth_cache(id_tag, info, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(id_tag) DO UPDATE SET info = excluded.info, updated = excluded.updated",
            (id_tag, orjson.dumps(info), format_datetime(now)),
        )

    def cache_clear(self) -> None:
        with self._writing("the cleared authorization cache"):
            self._db.execute("DELETE FROM auth_cache")

    def local_get(self, id_tag: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT info FROM local_list WHERE id_tag = ?", (id_tag,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def local_version(self) -> int:
        return int(self.meta("local_list_version") or 0)

    def local_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM local_list").fetchone()[0])

    def local_replace(
        self, version: int, entries: dict[str, dict[str, Any] | None], full: bool
    ) -> None:
        """Full: the list becomes `entries`; differential: add/update, None removes."""
        with self._writing("the Local Authorization List"):
            if full:
                self._db.execute("DELETE FROM local_list")
            for id_tag, info in entries.items():
                if info is None:
                    self._db.execute("DELETE FROM local_list WHERE id_tag = ?", (id_tag,))
                else:
                    self._db.execute(
                        "INSERT INTO local_list(id_tag, info) VALUES (?, ?) "
                        "ON CONFLICT(id_tag) DO UPDATE SET info = excluded.info",
                        (id_tag, orjson.dumps(info)),
                    )
            self.set_meta("local_list_version", str(version))

    # -- reservations (chargebox.actors.reservation) ----------------------------------
    #
    # One row per connector that holds a reservation (0: the one for any connector).
    # The table is created on first use, so stores written before it existed open as
    # they are (no schema migration needed).

    def _reservations_table(self) -> None:
        if not getattr(self, "_has_reservations", False):
            with self._writing("the reservations table"):
                self._db.execute(_RESERVATIONS_SCHEMA)
            self._has_reservations = True

    def reservations(self) -> list[StoredReservation]:
        """Every stored reservation, by connector."""
        self._reservations_table()
        return [
            StoredReservation(connector, reservation_id, id_tag, parent, parse_datetime(expiry))
            for connector, reservation_id, id_tag, parent, expiry in self._db.execute(
                "SELECT connector, reservation_id, id_tag, parent_id_tag, expiry "
                "FROM reservations ORDER BY connector"
            )
        ]

    def put_reservation(self, reservation: StoredReservation) -> None:
        self._reservations_table()
        self._defer(
            "a reservation",
            "INSERT INTO reservations(connector, reservation_id, id_tag, parent_id_tag, expiry) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(connector) DO UPDATE SET "
            "reservation_id = excluded.reservation_id, id_tag = excluded.id_tag, "
            "parent_id_tag = excluded.parent_id_tag, expiry = excluded.expiry",
            (
                reservation.connector,
                reservation.reservation_id,
                reservation.id_tag,
                reservation.parent_id_tag,
                format_datetime(reservation.expiry_date),
            ),
        )

    def delete_reservation(self, connector: int) -> None:
        self._reservations_table()
        self._defer(
            "a reservation's end", "DELETE FROM reservations WHERE connector = ?", (connector,)
        )

    # -- availability -----------------------------------------------------------------

    def inoperative_connectors(self) -> set[int]:
        return {
            c for (c,) in self._db.execute("SELECT connector FROM availability WHERE operative = 0")
        }

    def set_operative(self, connector: int, operative: bool) -> None:
        with self._writing("the connector's availability"):
            self._db.execute(
                "INSERT INTO availability(connector, operative) VALUES (?, ?) "
                "ON CONFLICT(connector) DO UPDATE SET operative = excluded.operative",
                (connector, int(operative)),
            )

    # -- charging profiles --------------------------------------------------------------

    def profiles(self) -> Iterator[tuple[int, int, dict[str, Any]]]:
        for pid, connector, payload in self._db.execute(
            "SELECT id, connector, payload FROM profiles ORDER BY id"
        ):
            yield pid, connector, orjson.loads(payload)

    def put_profile(self, profile_id: int, connector: int, payload: dict[str, Any]) -> None:
        with self._writing("the charging profile"):
            self._db.execute(
                "INSERT INTO profiles(id, connector, payload) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET connector = excluded.connector, "
                "payload = excluded.payload",
                (profile_id, connector, orjson.dumps(payload)),
            )

    def delete_profile(self, profile_id: int) -> None:
        self._defer(
            "a charging profile's removal", "DELETE FROM profiles WHERE id = ?", (profile_id,)
        )


_SET_META = (
    "INSERT INTO meta(key, value) VALUES (?, ?) "  # one row per key
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
)
_READ_AHEAD = 32  # queued rows read in one SELECT (a few KB)
_DELETE_FROM_OUTBOX = "DELETE FROM outbox "
_REMOVE = _DELETE_FROM_OUTBOX + "WHERE seq = ?"
#: delivered MeterValues whose removal may wait to be committed with others (`Store.remove`)
_REMOVE_BATCH = 32


def _remove_statement(count: int) -> str:
    """The DELETE of `count` queue rows (their seqs its parameters)."""
    if count == 1:
        return _REMOVE
    return _DELETE_FROM_OUTBOX + "WHERE seq IN (" + ",".join("?" * count) + ")"


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _check_existing(db: sqlite3.Connection, path: Path | None) -> None:
    """An existing file must be a sound SQLite database with a chargebox store's tables.

    Only reads: a file that fails is left exactly as it was.
    """
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as e:
        raise StoreDamaged(
            path, f"is not a chargebox database or is damaged (sqlite: {e})"
        ) from None
    if problems != ["ok"]:
        raise StoreDamaged(path, f"is damaged (sqlite: {'; '.join(problems)})")
    if tables and not tables >= _CORE_TABLES:
        raise StoreDamaged(
            path, f"is an SQLite database but not a chargebox store (its tables: {sorted(tables)})"
        )


def _is_storage_failure(error: sqlite3.Error) -> bool:
    """The disk or the file refused (full, I/O error, read-only), not a bug in a statement."""
    return isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError


_TX_COLUMNS = (
    "ref, connector, id_tag, meter_start, start_time, reservation_id, transaction_id, "
    "last_meter, last_meter_time, stop_time, stop_reason, session_id"
)


def _tx_record(row: tuple[Any, ...], tx_data: list[dict[str, Any]]) -> TransactionRecord:
    return TransactionRecord(
        ref=row[0],
        connector=row[1],
        id_tag=row[2],
        meter_start=row[3],
        start_time=parse_datetime(row[4]),
        reservation_id=row[5],
        transaction_id=row[6],
        last_meter=row[7],
        last_meter_time=parse_datetime(row[8]),
        stop_time=parse_datetime(row[9]) if row[9] else None,
        stop_reason=row[10],
        session_id=row[11],
        tx_data=tx_data,
    )


@runtime_checkable
class Storage(Protocol):
    """What the engine needs of a store: implemented by `Store` (SQLite), and by
    `store.memory.MemoryStore` and `store.shared.SharedStore` for simulated stations
    (tests/store/test_store_contract.py holds them to the same behaviour)."""

    #: why the last write failed (None: writes work)
    failure: str | None
    #: called with `failure` when it changes
    observers: list[Callable[[str | None], None]]

    def close(self) -> None: ...

    @property
    def deferred_writes(self) -> int: ...

    def meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def firmware_procedure(self) -> dict[str, Any] | None: ...

    def save_firmware_procedure(self, data: dict[str, Any] | None) -> None: ...

    def enqueue(self, action: str, payload: dict[str, Any], tx_ref: int | None) -> int: ...

    def queue_length(self) -> int: ...

    def queued_count(self, action: str) -> int: ...

    def head(self) -> QueuedMessage | None: ...

    def remove(self, seq: int, *, delivered: bool = False) -> None: ...

    def queued(self) -> list[QueuedMessage]: ...

    def thin_queue(self, keep: int, *, spare: int | None = None) -> int: ...

    def begin_transaction(
        self,
        connector: int,
        id_tag: str,
        meter_start: int,
        start_time: datetime,
        reservation_id: int | None,
        session_id: str | None,
        start_payload: dict[str, Any],
        tx_data: dict[str, Any] | None = None,
    ) -> int: ...

    def set_transaction_id(self, ref: int, transaction_id: int) -> None: ...

    def record_meter(
        self, ref: int, meter_wh: int, when: datetime, tx_data: dict[str, Any] | None
    ) -> None: ...

    def queue_meter_values(
        self,
        ref: int | None,
        payload: dict[str, Any],
        meter: tuple[int, datetime] | None = None,
        tx_data: dict[str, Any] | None = None,
    ) -> int: ...

    def end_transaction(
        self,
        ref: int,
        stop_time: datetime,
        reason: str | None,
        stop_payload: dict[str, Any],
        meter_stop: int | None = None,
        tx_data: dict[str, Any] | None = None,
    ) -> None: ...

    def forget_transaction(self, ref: int) -> None: ...

    def transaction(self, ref: int) -> TransactionRecord | None: ...

    def transaction_id_of(self, ref: int) -> int | None: ...

    def open_transactions(self) -> list[TransactionRecord]: ...

    def registers(self) -> dict[int, int]: ...

    def note_register(self, connector: int, wh: int) -> None: ...

    def cache_get(self, id_tag: str) -> dict[str, Any] | None: ...

    def cache_put(self, id_tag: str, info: dict[str, Any], now: datetime) -> None: ...

    def cache_clear(self) -> None: ...

    def local_get(self, id_tag: str) -> dict[str, Any] | None: ...

    def local_version(self) -> int: ...

    def local_count(self) -> int: ...

    def local_replace(
        self, version: int, entries: dict[str, dict[str, Any] | None], full: bool
    ) -> None: ...

    def reservations(self) -> list[StoredReservation]: ...

    def put_reservation(self, reservation: StoredReservation) -> None: ...

    def delete_reservation(self, connector: int) -> None: ...

    def inoperative_connectors(self) -> set[int]: ...

    def set_operative(self, connector: int, operative: bool) -> None: ...

    def profiles(self) -> Iterator[tuple[int, int, dict[str, Any]]]: ...

    def put_profile(self, profile_id: int, connector: int, payload: dict[str, Any]) -> None: ...

    def delete_profile(self, profile_id: int) -> None: ...
