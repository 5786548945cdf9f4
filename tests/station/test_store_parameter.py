"""open_charge_point runs on the store the caller gives (chargebox.store.Storage), left open."""

from __future__ import annotations

import pytest

from chargebox.store import Storage, Store
from chargebox.store.memory import MemoryStore
from chargebox.store.shared import SharedDatabase
from tests.support import running


async def test_the_engine_keeps_its_state_in_the_store_it_is_given(tmp_path, autojump_clock):
    store = MemoryStore()
    store.set_operative(1, False)  # what a previous run left: connector 1 Inoperative
    async with running(tmp_path, store=store) as rig:
        assert rig.cp.station.connectors[1].model.state == "Unavailable"
        assert rig.cp.station.ctx.store is store
    # left open for the caller: it still answers, with what the engine wrote
    assert store.inoperative_connectors() == {1}
    assert not list(tmp_path.glob("data/*.db"))  # no SQLite store of its own


@pytest.mark.parametrize("kind", ["sqlite", "memory", "shared"])
def test_every_store_implements_the_interface(tmp_path, kind):
    if kind == "sqlite":
        store = Store(tmp_path / "cp.db")
    elif kind == "memory":
        store = MemoryStore()
    else:
        store = SharedDatabase(tmp_path / "fleet.db").store("CP-1")
    assert isinstance(store, Storage)
    store.close()


def test_the_interface_names_every_public_method_of_the_store():
    public = {name for name in vars(Store) if not name.startswith("_")}
    assert public <= set(vars(Storage))
