"""A store file that is not a sound chargebox store: one clear error, and the file is left alone.

open_charge_point raises StoreDamaged itself (not inside an ExceptionGroup),
naming the file and what to do; `chargebox sim` prints it as one line and
exits non-zero. The file's bytes are the same afterwards.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chargebox.cli import main as cli_main
from chargebox.config import ChargePointConfig
from chargebox.station import StoreDamaged, StoreError, open_charge_point
from tests.support import config_file, make_host, running

ENERGY = "Energy.Active.Import.Register"


async def a_store_with_data(tmp_path: Path) -> Path:
    """A real store: a transaction running when the engine stopped, its messages queued."""
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        await rig.cp.session_started(1)
        await rig.cp.transaction_started(1, meter_start=10, id_tag="TAG-1")
        for wh in range(20, 400, 20):
            await rig.cp.meter_values(1, {ENERGY: wh})
        await rig.cut()  # what follows stays queued
        await rig.cp.transaction_stopped(1, meter_stop=400)
    path = data / "CP-1.db"
    assert path.is_file() and not (data / "CP-1.db-wal").exists()
    return path


async def open_it(tmp_path: Path, data: Path) -> None:
    cfg = ChargePointConfig.load(config_file(tmp_path, "127.0.0.1:9/ocpp/"))
    async with open_charge_point(cfg, make_host(), data_dir=data):
        pytest.fail("the engine started on a damaged store")


async def test_a_truncated_store_is_refused_and_left_as_it_is(tmp_path):
    path = await a_store_with_data(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    truncated = path.read_bytes()
    with pytest.raises(StoreDamaged) as refused:
        await open_it(tmp_path, path.parent)
    message = str(refused.value)
    assert message.startswith(f"the store {path} is ")
    assert "(sqlite: " in message and "move it aside to start with an empty store" in message
    assert "\n" not in message
    assert path.read_bytes() == truncated


@pytest.mark.parametrize(
    "content",
    [b"chargebox? no: a text file\n" * 200, bytes(range(256)) * 64],
    ids=["text", "binary"],
)
async def test_a_file_of_garbage_is_refused_and_left_as_it_is(tmp_path, content):
    data = tmp_path / "data"
    data.mkdir()
    path = data / "CP-1.db"
    path.write_bytes(content)
    with pytest.raises(StoreDamaged) as refused:
        await open_it(tmp_path, data)
    assert str(refused.value) == (
        f"the store {path} is not a chargebox database or is damaged (sqlite: file is not a "
        "database): move it aside to start with an empty store (its queued messages and open "
        "transactions are lost then), or put a sound copy in its place"
    )
    assert path.read_bytes() == content
    assert sorted(p.name for p in data.iterdir()) == ["CP-1.db"]


async def test_another_programs_database_is_not_taken_over(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = data / "CP-1.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreDamaged, match="is an SQLite database but not a chargebox store"):
        await open_it(tmp_path, data)
    assert path.read_bytes() == before


async def test_a_store_of_a_newer_version_is_refused(tmp_path):
    path = await a_store_with_data(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreDamaged, match="was written by a newer chargebox"):
        await open_it(tmp_path, path.parent)
    assert path.read_bytes() == before


def test_chargebox_sim_says_it_in_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    garbage = b"\x00\xffnot sqlite" * 500
    path = data / "CP-1.db"
    path.write_bytes(garbage)
    config = config_file(tmp_path, "127.0.0.1:9/ocpp/")
    status = cli_main(["sim", "--config", str(config), "--data-dir", str(data), "--script", "-"])
    out, err = capsys.readouterr()
    assert status != 0
    assert err.splitlines() == [
        f"chargebox sim: the store {path} is not a chargebox database or is damaged (sqlite: "
        "file is not a database): move it aside to start with an empty store (its queued "
        "messages and open transactions are lost then), or put a sound copy in its place"
    ]
    assert "Traceback" not in out + err
    assert path.read_bytes() == garbage
    assert issubclass(StoreDamaged, StoreError)
