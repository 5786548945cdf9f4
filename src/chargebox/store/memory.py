"""The station's store as Python objects: the same interface and behaviour as the SQLite
`Store`, for stations whose state need not survive the process.

An in-memory SQLite database costs about 100 KB per station (its page cache and
schema); a `MemoryStore` costs a few hundred bytes until it holds something. A
fleet of simulated stations uses it by default (chargebox.fleet).

The state is kept in tables of plain values (text, numbers, tuples of them),
each a dict by key: what a write hands over is copied in (payloads as JSON
text), and every read builds fresh objects, as reading SQLite does. A write
is a `Batch` of changes applied at once; `SharedStore` (shared.py) writes the
same batch to an SQLite file first, so both share every rule here.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Hashable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from chargebox.ocpp.frames import new_message_id
from chargebox.ocpp.timestamps import format_datetime, parse_datetime
from chargebox.store import QueuedMessage, StoredReservation, TransactionRecord

# the table names (also the `kind` column of a shared store's rows)
META = "meta"
OUTBOX = "outbox"  # seq -> (action, payload JSON, tx_ref, message_id)
TRANSACTIONS = "transactions"  # ref -> _Tx fields, see _tx
TX_DATA = "tx_data"  # (ref, n) -> MeterValue JSON
AUTH_CACHE = "auth_cache"  # folded idTag -> (info JSON, updated)
LOCAL_LIST = "local_list"  # folded idTag -> info JSON
AVAILABILITY = "availability"  # connector -> 1 operative, 0 inoperative
PROFILES = "profiles"  # profile id -> (connector, payload JSON)
REGISTERS = "registers"  # connector -> Wh
RESERVATIONS = "reservations"  # connector -> (reservation_id, id_tag, parent_id_tag, expiry)

TABLES = (
    META,
    OUTBOX,
    TRANSACTIONS,
    TX_DATA,
    AUTH_CACHE,
    LOCAL_LIST,
    AVAILABILITY,
    PROFILES,
    REGISTERS,
    RESERVATIONS,
)

# the fields of a TRANSACTIONS row, in order
_CONNECTOR, _ID_TAG, _METER_START, _START, _RESERVATION, _TX_ID = range(6)
_LAST_METER, _LAST_TIME, _STOP, _REASON, _SESSION = range(6, 11)

#: SQLite's NOCASE: ASCII letters only fold (idTags are compared as the SQLite store does)
_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

#: a change that deletes its row
DELETE = None

_EMPTY: dict[Any, Any] = {}


def fold(id_tag: str) -> str:
    return id_tag.translate(_FOLD)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class Batch:
    """The changes of one write, in order; reads through them see the write's own effect."""

    __slots__ = ("_store", "changes")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        #: (table, key) -> new value, or DELETE
        self.changes: dict[tuple[str, Hashable], Any] = {}

    def get(self, table: str, key: Hashable) -> Any:
        if (table, key) in self.changes:
            return self.changes[table, key]
        return self._store._tables.get(table, _EMPTY).get(key)

    def put(self, table: str, key: Hashable, value: Any) -> None:
        self.changes[table, key] = value

    def delete(self, table: str, key: Hashable) -> None:
        self.changes[table, key] = DELETE


class MemoryStore:
    """What a station must not forget, in memory. The interface of `chargebox.store.Store`."""

    def __init__(self) -> None:
        #: a MemoryStore has no file
        self.path: Path | None = None
        #: why the last write failed (None while writes work; in memory they always do)
        self.failure: str | None = None
        #: called with `failure` each time it changes
        self.observers: list[Callable[[str | None], None]] = []
        # table name -> {key: value}; a table is created by its first row
        self._tables: dict[str, dict[Hashable, Any]] = {}
        # the next outbox seq, transaction ref, tx_data number (never reused, as AUTOINCREMENT)
        self._next = {OUTBOX: 1, TRANSACTIONS: 1, TX_DATA: 1}

    def close(self) -> None:
        """Nothing to close (the interface of Store)."""

    # -- writing ------------------------------------------------------------------------

    def _commit(self, what: str, batch: Batch, *, deferrable: bool = False) -> bool:
        """Make the batch's changes; True if they are durable now (in memory: always).

        `what` names the write for an error; a `deferrable` write that fails is kept
        and done with the next one that works (SharedStore)."""
        self._apply(batch.changes)
        return True

    def _apply(self, changes: dict[tuple[str, Hashable], Any]) -> None:
        for (table, key), value in changes.items():
            rows = self._tables.get(table)
            if value is DELETE:
                if rows is not None:
                    rows.pop(key, None)
                continue
            if rows is None:
                rows = self._tables[table] = {}
            rows[key] = value
            if table in self._next:
                number = key[1] if table == TX_DATA else key  # type: ignore[index]
                if number >= self._next[table]:
                    self._next[table] = number + 1

    def _rows(self, table: str) -> dict[Hashable, Any]:
        return self._tables.get(table, _EMPTY)

    def _write(self, what: str, fill: Callable[[Batch], Any], *, deferrable: bool = False) -> Any:
        batch = Batch(self)
        result = fill(batch)
        self._commit(what, batch, deferrable=deferrable)
        return result

    @property
    def deferred_writes(self) -> int:
        """How many writes wait for the store to work again (for inspection and tests)."""
        return 0

    # -- meta -------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        return self._rows(META).get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._write(f"the value of {key}", lambda b: b.put(META, key, str(value)))

    def firmware_procedure(self) -> dict[str, Any] | None:
        """The firmware update procedure saved with `save_firmware_procedure`, if any."""
        value = self.meta("firmware")
        return orjson.loads(value) if value else None

    def save_firmware_procedure(self, data: dict[str, Any] | None) -> None:
        """Keep the procedure's data (JSON values); None: no update under way."""
        value = DELETE if data is None else _json(data)
        self._write(
            "the firmware update procedure",
            lambda b: b.put(META, "firmware", value),
            deferrable=True,
        )

    # -- outbox -----------------------------------------------------------------------

    def _enqueue(
        self, batch: Batch, action: str, payload: dict[str, Any], tx_ref: int | None
    ) -> int:
        seq = max([self._next[OUTBOX], *(k[1] + 1 for k in batch.changes if k[0] == OUTBOX)])
        batch.put(OUTBOX, seq, (action, _json(payload), tx_ref, new_message_id()))
        return seq

    def enqueue(self, action: str, payload: dict[str, Any], tx_ref: int | None) -> int:
        # the message id is fixed here: every transmission of the message carries it
        return int(
            self._write(f"the {action}", lambda b: self._enqueue(b, action, payload, tx_ref))
        )

    def queue_length(self) -> int:
        return len(self._rows(OUTBOX))

    def queued_count(self, action: str) -> int:
        """How many messages of `action` are queued (without decoding any)."""
        return sum(1 for row in self._rows(OUTBOX).values() if row[0] == action)  # type: ignore[index]

    def _message(self, seq: int, row: tuple[Any, ...]) -> QueuedMessage:
        action, payload, tx_ref, message_id = row
        return QueuedMessage(seq, action, orjson.loads(payload), tx_ref, message_id)

    def head(self) -> QueuedMessage | None:
        for seq, row in self._rows(OUTBOX).items():
            message = self._message(seq, row)  # type: ignore[arg-type]
            if message.action in ("MeterValues", "StopTransaction"):
                transaction_id = self.transaction_id_of(message.tx_ref)  # type: ignore[arg-type]
                if transaction_id is not None:
                    message.payload["transactionId"] = transaction_id
            return message
        return None

    def remove(self, seq: int, *, delivered: bool = False) -> None:
        """A message leaves the queue: `delivered` (its CALLRESULT came), or dropped.

        At once, whatever it was: a memory store has no commit to save (the SQLite
        Store may let a delivered MeterValues' DELETE wait, unseen by every reader)."""
        self._write(
            "a delivered message's removal", lambda b: b.delete(OUTBOX, seq), deferrable=True
        )

    def queued(self) -> list[QueuedMessage]:
        """Every queued message, oldest first (for inspection and tests)."""
        return [self._message(seq, row) for seq, row in self._rows(OUTBOX).items()]  # type: ignore[arg-type]

    def thin_queue(self, keep: int, *, spare: int | None = None) -> int:
        """Make room when the queue passes MessageQueueSizeThreshold; returns how many went.

        Non-transaction messages go first; then every other MeterValues of a
        transaction, oldest first. StartTransaction and StopTransaction stay, and
        so does the message `spare` (the one being transmitted).
        """
        excess = self.queue_length() - keep
        if excess <= 0:
            return 0
        queue = self._rows(OUTBOX)
        first = [
            seq
            for seq, (action, _, tx_ref, _) in queue.items()
            if tx_ref is None
            and action not in ("StartTransaction", "StopTransaction")
            and seq != spare
        ][:excess]
        gone = set(first)
        meter = [
            seq
            for seq, (action, *_) in queue.items()
            if action == "MeterValues" and seq != spare and seq not in gone
        ]
        # every second one, oldest first, so what remains still spans the session
        removed = first + meter[::2][: excess - len(first)]

        def fill(batch: Batch) -> None:
            for seq in removed:
                batch.delete(OUTBOX, seq)

        self._write("the thinned queue (MessageQueueSizeThreshold)", fill)
        return len(removed)

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
        """Record a transaction and queue its StartTransaction, in one write."""
        started = format_datetime(start_time)

        def fill(batch: Batch) -> int:
            ref = self._next[TRANSACTIONS]
            row = (connector, id_tag, meter_start, started, reservation_id, None)
            batch.put(TRANSACTIONS, ref, (*row, meter_start, started, None, None, session_id))
            self._raise_register(batch, connector, meter_start)
            if tx_data is not None:
                self._keep(batch, ref, tx_data)
            self._enqueue(batch, "StartTransaction", start_payload, ref)
            return ref

        return int(self._write("the StartTransaction", fill))

    def set_transaction_id(self, ref: int, transaction_id: int) -> None:
        def fill(batch: Batch) -> None:
            row = batch.get(TRANSACTIONS, ref)
            if row is not None:
                batch.put(TRANSACTIONS, ref, _replace(row, _TX_ID, transaction_id))

        self._write("a transaction's id", fill, deferrable=True)

    def record_meter(
        self, ref: int, meter_wh: int, when: datetime, tx_data: dict[str, Any] | None
    ) -> None:
        """The last energy reading of a transaction (for PowerLoss), and data for its stop."""
        self._write(
            "the transaction's meter reading",
            lambda b: self._record(b, ref, meter_wh, when, tx_data),
        )

    def _record(
        self,
        batch: Batch,
        ref: int,
        meter_wh: int,
        when: datetime,
        tx_data: dict[str, Any] | None,
    ) -> None:
        row = batch.get(TRANSACTIONS, ref)
        if row is not None:
            # never lower: a PowerLoss meterStop is at least every reading reported before
            row = _replace(row, _LAST_METER, max(row[_LAST_METER], meter_wh))
            batch.put(TRANSACTIONS, ref, _replace(row, _LAST_TIME, format_datetime(when)))
            self._raise_register(batch, row[_CONNECTOR], meter_wh)
        if tx_data is not None:
            self._keep(batch, ref, tx_data)

    def _raise_register(self, batch: Batch, connector: int, wh: int) -> None:
        current = batch.get(REGISTERS, connector)
        if current is None or wh > current:
            batch.put(REGISTERS, connector, wh)

    def _keep(self, batch: Batch, ref: int, tx_data: dict[str, Any]) -> None:
        taken = [k[1][1] for k in batch.changes if k[0] == TX_DATA]  # type: ignore[index]
        n = max([self._next[TX_DATA], *(t + 1 for t in taken)])
        batch.put(TX_DATA, (ref, n), _json(tx_data))

    def queue_meter_values(
        self,
        ref: int | None,
        payload: dict[str, Any],
        meter: tuple[int, datetime] | None = None,
        tx_data: dict[str, Any] | None = None,
    ) -> int:
        """Queue a transaction's MeterValues; `meter` (Wh, when) and `tx_data` are recorded
        with it (record_meter), in the same write."""

        def fill(batch: Batch) -> int:
            if ref is not None and meter is not None:
                self._record(batch, ref, *meter, tx_data)
            return self._enqueue(batch, "MeterValues", payload, ref)

        return int(self._write("the MeterValues", fill))

    def end_transaction(
        self,
        ref: int,
        stop_time: datetime,
        reason: str | None,
        stop_payload: dict[str, Any],
        meter_stop: int | None = None,
        tx_data: dict[str, Any] | None = None,
    ) -> None:
        """Mark the transaction stopped and queue its StopTransaction, in one write."""

        def fill(batch: Batch) -> None:
            if meter_stop is not None:
                self._record(batch, ref, meter_stop, stop_time, tx_data)
            row = batch.get(TRANSACTIONS, ref)
            if row is not None:
                row = _replace(row, _STOP, format_datetime(stop_time))
                batch.put(TRANSACTIONS, ref, _replace(row, _REASON, reason))
            self._enqueue(batch, "StopTransaction", stop_payload, ref)

        self._write("the StopTransaction", fill)

    def forget_transaction(self, ref: int) -> None:
        """StopTransaction delivered (or given up): nothing more will refer to it."""
        if any(row[2] == ref for row in self._rows(OUTBOX).values()):
            return

        def fill(batch: Batch) -> None:
            for key in self._rows(TX_DATA):
                if key[0] == ref:  # type: ignore[index]
                    batch.delete(TX_DATA, key)
            batch.delete(TRANSACTIONS, ref)

        self._write("a finished transaction's removal", fill, deferrable=True)

    def transaction(self, ref: int) -> TransactionRecord | None:
        row = self._rows(TRANSACTIONS).get(ref)
        return self._tx_record(ref, row) if row is not None else None

    def transaction_id_of(self, ref: int) -> int | None:
        row = self._rows(TRANSACTIONS).get(ref)
        return row[_TX_ID] if row is not None else None

    def open_transactions(self) -> list[TransactionRecord]:
        """Transactions not stopped (after a power loss: to stop or to resume)."""
        rows = self._rows(TRANSACTIONS)
        return [
            self._tx_record(ref, rows[ref])  # type: ignore[arg-type]
            for ref in sorted(rows)  # type: ignore[type-var]
            if rows[ref][_STOP] is None
        ]

    def _tx_record(self, ref: int, row: tuple[Any, ...]) -> TransactionRecord:
        data = [
            orjson.loads(payload)
            for (owner, _), payload in sorted(self._rows(TX_DATA).items())  # type: ignore[misc]
            if owner == ref
        ]
        return TransactionRecord(
            ref=ref,
            connector=row[_CONNECTOR],
            id_tag=row[_ID_TAG],
            meter_start=row[_METER_START],
            start_time=parse_datetime(row[_START]),
            reservation_id=row[_RESERVATION],
            transaction_id=row[_TX_ID],
            last_meter=row[_LAST_METER],
            last_meter_time=parse_datetime(row[_LAST_TIME]),
            stop_time=parse_datetime(row[_STOP]) if row[_STOP] else None,
            stop_reason=row[_REASON],
            session_id=row[_SESSION],
            tx_data=data,
        )

    # -- energy registers ----------------------------------------------------------------

    def registers(self) -> dict[int, int]:
        """The highest energy register (Wh) each connector reported."""
        return dict(self._rows(REGISTERS))  # type: ignore[arg-type]

    def note_register(self, connector: int, wh: int) -> None:
        """A connector reported its energy register at `wh` (kept if higher than before)."""
        self._write(
            "a connector's energy register",
            lambda b: self._raise_register(b, connector, wh),
            deferrable=True,
        )

    # -- authorization cache and local list -------------------------------------------

    def cache_get(self, id_tag: str) -> dict[str, Any] | None:
        row = self._rows(AUTH_CACHE).get(fold(id_tag))
        return orjson.loads(row[0]) if row is not None else None

    def cache_put(self, id_tag: str, info: dict[str, Any], now: datetime) -> None:
        row = (_json(info), format_datetime(now))
        self._write(
            "an authorization cache entry",
            lambda b: b.put(AUTH_CACHE, fold(id_tag), row),
            deferrable=True,
        )

    def cache_clear(self) -> None:
        def fill(batch: Batch) -> None:
            for key in self._rows(AUTH_CACHE):
                batch.delete(AUTH_CACHE, key)

        self._write("the cleared authorization cache", fill)

    def local_get(self, id_tag: str) -> dict[str, Any] | None:
        row = self._rows(LOCAL_LIST).get(fold(id_tag))
        return orjson.loads(row) if row is not None else None

    def local_version(self) -> int:
        return int(self.meta("local_list_version") or 0)

    def local_count(self) -> int:
        return len(self._rows(LOCAL_LIST))

    def local_replace(
        self, version: int, entries: dict[str, dict[str, Any] | None], full: bool
    ) -> None:
        """Full: the list becomes `entries`; differential: add/update, None removes."""

        def fill(batch: Batch) -> None:
            if full:
                for key in self._rows(LOCAL_LIST):
                    batch.delete(LOCAL_LIST, key)
            for id_tag, info in entries.items():
                batch.put(LOCAL_LIST, fold(id_tag), DELETE if info is None else _json(info))
            batch.put(META, "local_list_version", str(version))

        self._write("the Local Authorization List", fill)

    # -- reservations -------------------------------------------------------------------

    def reservations(self) -> list[StoredReservation]:
        """Every stored reservation, by connector."""
        rows = self._rows(RESERVATIONS)
        return [
            StoredReservation(connector, r[0], r[1], r[2], parse_datetime(r[3]))  # type: ignore[arg-type]
            for connector, r in sorted(rows.items())  # type: ignore[type-var]
        ]

    def put_reservation(self, reservation: StoredReservation) -> None:
        row = (
            reservation.reservation_id,
            reservation.id_tag,
            reservation.parent_id_tag,
            format_datetime(reservation.expiry_date),
        )
        self._write(
            "a reservation",
            lambda b: b.put(RESERVATIONS, reservation.connector, row),
            deferrable=True,
        )

    def delete_reservation(self, connector: int) -> None:
        self._write(
            "a reservation's end", lambda b: b.delete(RESERVATIONS, connector), deferrable=True
        )

    # -- availability -----------------------------------------------------------------

    def inoperative_connectors(self) -> set[int]:
        return {c for c, operative in self._rows(AVAILABILITY).items() if not operative}  # type: ignore[misc]

    def set_operative(self, connector: int, operative: bool) -> None:
        self._write(
            "the connector's availability",
            lambda b: b.put(AVAILABILITY, connector, int(operative)),
        )

    # -- charging profiles --------------------------------------------------------------

    def profiles(self) -> Iterator[tuple[int, int, dict[str, Any]]]:
        for pid, (connector, payload) in sorted(self._rows(PROFILES).items()):  # type: ignore[type-var]
            yield pid, connector, orjson.loads(payload)  # type: ignore[misc]

    def put_profile(self, profile_id: int, connector: int, payload: dict[str, Any]) -> None:
        self._write(
            "the charging profile",
            lambda b: b.put(PROFILES, profile_id, (connector, _json(payload))),
        )

    def delete_profile(self, profile_id: int) -> None:
        self._write(
            "a charging profile's removal",
            lambda b: b.delete(PROFILES, profile_id),
            deferrable=True,
        )


def _replace(row: tuple[Any, ...], index: int, value: Any) -> tuple[Any, ...]:
    return (*row[:index], value, *row[index + 1 :])
