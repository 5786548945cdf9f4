"""Every store keeps the same promises: the SQLite Store (in memory and in a file), the
MemoryStore, and a station's SharedStore in a file shared by many stations.

The engine only calls the interface tested here, so a station behaves the same on
each (the fleet's stations use the MemoryStore or a SharedStore).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chargebox.store import Store, StoredReservation
from chargebox.store.memory import MemoryStore
from chargebox.store.shared import SharedDatabase

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KINDS = ["sqlite-memory", "sqlite-file", "memory", "shared"]


class Opener:
    """Opens the store of one kind (again, for the kinds that keep their data)."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.folder = folder
        self.databases: list[SharedDatabase] = []

    @property
    def durable(self) -> bool:
        return self.kind in ("sqlite-file", "shared")

    def open(self, station: str = "CP-1") -> Any:
        if self.kind == "sqlite-memory":
            return Store(None)
        if self.kind == "sqlite-file":
            return Store(self.folder / f"{station}.db")
        if self.kind == "memory":
            return MemoryStore()
        database = SharedDatabase(self.folder / "fleet.db")
        self.databases.append(database)
        return database.store(station)

    def close(self) -> None:
        for database in self.databases:
            database.close()


@pytest.fixture(params=KINDS)
def opener(request, tmp_path):
    opened = Opener(request.param, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def store(opener):
    return opener.open()


def start(store: Any, connector: int = 1, meter_start: int = 100, **more: Any) -> int:
    return store.begin_transaction(
        connector,
        more.pop("id_tag", "TAG-1"),
        meter_start,
        more.pop("when", T0),
        more.pop("reservation_id", None),
        more.pop("session_id", "s-1"),
        {"connectorId": connector, "meterStart": meter_start},
        more.pop("tx_data", None),
    )


def test_the_queue_keeps_order_and_message_ids(store):
    first = store.enqueue("StatusNotification", {"connectorId": 1}, None)
    second = store.enqueue("DataTransfer", {"vendorId": "x"}, None)
    assert second > first
    head = store.head()
    assert (head.seq, head.action, head.payload, head.tx_ref) == (
        first,
        "StatusNotification",
        {"connectorId": 1},
        None,
    )
    assert store.head().message_id == head.message_id  # the same id at every transmission
    assert [m.action for m in store.queued()] == ["StatusNotification", "DataTransfer"]
    assert store.queue_length() == 2
    store.remove(first)
    assert store.head().seq == second and store.queue_length() == 1
    store.remove(second)
    assert store.head() is None and store.queued() == [] and store.queue_length() == 0
    # a number is never given twice, as SQLite's AUTOINCREMENT
    assert store.enqueue("Heartbeat", {}, None) > second


def test_queued_messages_of_one_action_are_counted(store):
    ref = start(store)
    store.queue_meter_values(ref, {"connectorId": 1})
    store.end_transaction(ref, T0, "Local", {"meterStop": 5})
    store.enqueue("StopTransaction", {"meterStop": 6}, None)
    assert store.queued_count("StopTransaction") == 2
    assert store.queued_count("StartTransaction") == 1
    assert store.queued_count("Heartbeat") == 0
    store.remove(store.head().seq)  # the StartTransaction, delivered
    assert store.queued_count("StartTransaction") == 0
    assert store.queued_count("StopTransaction") == 2


def test_what_is_read_is_a_copy(store):
    payload = {"connectorId": 1, "meterValue": [{"sampledValue": [{"value": "1"}]}]}
    store.enqueue("MeterValues", payload, None)
    payload["connectorId"] = 2  # the caller's object changes after the write
    read = store.head()
    read.payload["meterValue"].clear()
    assert store.head().payload == {
        "connectorId": 1,
        "meterValue": [{"sampledValue": [{"value": "1"}]}],
    }


def test_a_transaction_from_start_to_forgetting(store):
    begin = {"timestamp": "2025-03-01T12:00:00.000Z", "sampledValue": [{"value": "100"}]}
    ref = start(store, meter_start=100, tx_data=begin)
    record = store.transaction(ref)
    assert (record.connector, record.id_tag, record.meter_start, record.last_meter) == (
        1,
        "TAG-1",
        100,
        100,
    )
    assert record.start_time == T0 and record.session_id == "s-1" and not record.stopped
    assert record.transaction_id is None and store.transaction_id_of(ref) is None
    assert [r.ref for r in store.open_transactions()] == [ref]
    start_message = store.head()
    assert (start_message.action, start_message.tx_ref) == ("StartTransaction", ref)
    assert "transactionId" not in start_message.payload
    store.remove(start_message.seq)
    store.set_transaction_id(ref, 77)
    assert store.transaction_id_of(ref) == 77

    # readings: the last one is kept, never lower; the register follows
    store.record_meter(ref, 500, T0 + timedelta(minutes=1), {"sampledValue": [{"value": "500"}]})
    store.record_meter(ref, 400, T0 + timedelta(minutes=2), None)
    record = store.transaction(ref)
    assert (record.last_meter, record.last_meter_time) == (500, T0 + timedelta(minutes=2))
    assert store.registers() == {1: 500}
    seq = store.queue_meter_values(ref, {"connectorId": 1}, (650, T0 + timedelta(minutes=3)))
    meter_values = store.head()
    assert (meter_values.seq, meter_values.payload["transactionId"]) == (seq, 77)
    assert store.transaction(ref).last_meter == 650
    store.remove(seq)

    stop_time = T0 + timedelta(minutes=4)
    store.end_transaction(
        ref, stop_time, "Local", {"meterStop": 700}, meter_stop=700, tx_data={"end": True}
    )
    record = store.transaction(ref)
    assert record.stopped and (record.stop_time, record.stop_reason) == (stop_time, "Local")
    assert record.last_meter == 700 and store.registers() == {1: 700}
    assert record.tx_data == [begin, {"sampledValue": [{"value": "500"}]}, {"end": True}]
    assert store.open_transactions() == []
    stop = store.head()
    assert (stop.action, stop.payload) == (
        "StopTransaction",
        {"meterStop": 700, "transactionId": 77},
    )
    # still referred to by its queued StopTransaction: kept
    store.forget_transaction(ref)
    assert store.transaction(ref) is not None
    store.remove(stop.seq)
    store.forget_transaction(ref)
    assert store.transaction(ref) is None and store.transaction_id_of(ref) is None


def test_open_transactions_in_the_order_they_began(store):
    refs = [start(store, connector=c, meter_start=10 * c) for c in (2, 1, 3)]
    store.end_transaction(refs[1], T0, "Local", {})
    assert [(r.ref, r.connector) for r in store.open_transactions()] == [
        (refs[0], 2),
        (refs[2], 3),
    ]
    assert store.registers() == {1: 10, 2: 20, 3: 30}


def test_thinning_the_queue(store):
    ref = start(store)  # StartTransaction
    heartbeat = store.enqueue("StatusNotification", {}, None)
    meter = [store.queue_meter_values(ref, {"n": n}) for n in range(6)]
    store.end_transaction(ref, T0, "Local", {})
    assert store.queue_length() == 9
    # 4 must go: the non-transaction message first, then every other MeterValues from the
    # oldest, sparing the one being transmitted
    assert store.thin_queue(5, spare=meter[0]) == 4
    left = [(m.action, m.payload.get("n")) for m in store.queued()]
    assert left == [
        ("StartTransaction", None),
        ("MeterValues", 0),
        ("MeterValues", 2),
        ("MeterValues", 4),
        ("StopTransaction", None),
    ]
    assert heartbeat not in [m.seq for m in store.queued()]
    assert store.thin_queue(10) == 0


def test_registers_only_rise(store):
    store.note_register(1, 300)
    store.note_register(1, 200)
    store.note_register(2, 50)
    assert store.registers() == {1: 300, 2: 50}


def test_authorization_cache_ignores_letter_case(store):
    assert store.cache_get("tag-1") is None
    store.cache_put("TAG-1", {"status": "Accepted"}, T0)
    assert store.cache_get("tag-1") == {"status": "Accepted"}
    store.cache_put("Tag-1", {"status": "Blocked"}, T0)
    assert store.cache_get("TAG-1") == {"status": "Blocked"}
    store.cache_clear()
    assert store.cache_get("TAG-1") is None


def test_local_list_full_and_differential(store):
    assert (store.local_version(), store.local_count()) == (0, 0)
    store.local_replace(3, {"A": {"status": "Accepted"}, "B": {"status": "Blocked"}}, True)
    assert (store.local_version(), store.local_count()) == (3, 2)
    assert store.local_get("a") == {"status": "Accepted"}
    store.local_replace(4, {"b": None, "C": {"status": "Accepted"}}, False)
    assert store.local_get("B") is None and store.local_get("c") == {"status": "Accepted"}
    assert (store.local_version(), store.local_count()) == (4, 2)
    store.local_replace(5, {"D": {"status": "Expired"}}, True)
    assert store.local_count() == 1 and store.local_get("A") is None


def test_reservations_by_connector(store):
    assert store.reservations() == []
    later = T0 + timedelta(hours=1)
    store.put_reservation(StoredReservation(2, 12, "TAG-2", None, later))
    store.put_reservation(StoredReservation(0, 10, "TAG-0", "GROUP", later))
    store.put_reservation(StoredReservation(2, 13, "TAG-3", None, later))  # replaces 12
    assert store.reservations() == [
        StoredReservation(0, 10, "TAG-0", "GROUP", later),
        StoredReservation(2, 13, "TAG-3", None, later),
    ]
    store.delete_reservation(0)
    assert [r.connector for r in store.reservations()] == [2]


def test_availability_profiles_and_meta(store):
    store.set_operative(1, False)
    store.set_operative(0, False)
    store.set_operative(0, True)
    assert store.inoperative_connectors() == {1}
    store.put_profile(5, 1, {"chargingProfileId": 5})
    store.put_profile(2, 0, {"chargingProfileId": 2})
    store.put_profile(5, 2, {"chargingProfileId": 5, "stackLevel": 1})
    assert list(store.profiles()) == [
        (2, 0, {"chargingProfileId": 2}),
        (5, 2, {"chargingProfileId": 5, "stackLevel": 1}),
    ]
    store.delete_profile(2)
    assert [p[0] for p in store.profiles()] == [5]
    assert store.meta("color") is None
    store.set_meta("color", "green")
    assert store.meta("color") == "green"
    assert store.firmware_procedure() is None
    store.save_firmware_procedure({"state": "Downloading", "attempts": 2})
    assert store.firmware_procedure() == {"state": "Downloading", "attempts": 2}
    store.save_firmware_procedure(None)
    assert store.firmware_procedure() is None
    assert store.failure is None and store.deferred_writes == 0


@pytest.mark.parametrize("kind", [k for k in KINDS if Opener(k, Path()).durable])
def test_what_a_durable_store_kept_is_there_after_a_restart(kind, tmp_path):
    opener = Opener(kind, tmp_path)
    store = opener.open()
    ref = start(store, meter_start=40, tx_data={"begin": 1})
    store.set_transaction_id(ref, 9)
    store.queue_meter_values(ref, {"connectorId": 1}, (90, T0 + timedelta(minutes=1)))
    store.cache_put("TAG-1", {"status": "Accepted"}, T0)
    store.local_replace(2, {"A": {"status": "Accepted"}}, True)
    store.put_reservation(StoredReservation(1, 3, "TAG-2", None, T0))
    store.set_operative(2, False)
    store.put_profile(1, 1, {"chargingProfileId": 1})
    queued = store.queued()
    store.close()
    opener.close()

    again = opener.open()
    assert again.queued() == queued
    [record] = again.open_transactions()
    assert (record.ref, record.transaction_id, record.last_meter, record.tx_data) == (
        ref,
        9,
        90,
        [{"begin": 1}],
    )
    assert again.head().action == "StartTransaction"
    assert again.registers() == {1: 90}
    assert again.cache_get("tag-1") == {"status": "Accepted"}
    assert (again.local_version(), again.local_get("a")) == (2, {"status": "Accepted"})
    assert [r.reservation_id for r in again.reservations()] == [3]
    assert again.inoperative_connectors() == {2}
    assert [p[0] for p in again.profiles()] == [1]
    # numbering goes on after what is stored
    assert again.enqueue("Heartbeat", {}, None) > max(m.seq for m in queued)
    opener.close()


def test_a_delivered_meter_values_leaves_the_queue_at_once_for_its_readers(opener):
    """Whether or not its removal is committed at once (the SQLite file lets it wait),
    every store's reads agree: and after a close and reopen, it is gone for good."""
    store = opener.open()
    seqs = [store.enqueue("MeterValues", {"connectorId": 1, "n": n}, None) for n in range(4)]
    stop = store.enqueue("StopTransaction", {"meterStop": 1}, None)
    for n, seq in enumerate(seqs[:3]):
        head = store.head()
        assert head.seq == seq and head.payload["n"] == n
        store.remove(seq, delivered=True)
        assert store.queue_length() == 4 - n
        assert [m.seq for m in store.queued()] == [*seqs[n + 1 :], stop]
        assert store.queued_count("MeterValues") == 3 - n
    assert store.thin_queue(1, spare=seqs[3]) == 0  # only a StopTransaction besides
    assert store.head().seq == seqs[3]
    if opener.durable:
        store.close()
        store = opener.open()
    assert [m.seq for m in store.queued()] == [seqs[3], stop]
