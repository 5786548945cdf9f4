"""docs/embedding.md's example runs as written, against the development CSMS on loopback."""

from __future__ import annotations

import re

import trio

from chargebox.csms import CentralSystem, CsmsSettings
from tests.support import REPO, config_file

DOC = REPO / "docs" / "embedding.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_every_python_block_of_the_page_compiles() -> None:
    blocks = python_blocks()
    assert blocks
    for number, block in enumerate(blocks):
        compile(block, f"{DOC}: python block {number + 1}", "exec")


async def test_the_example_runs_a_session_against_the_development_csms(tmp_path, capsys):
    (example,) = [block for block in python_blocks() if "async def main(" in block]
    namespace: dict[str, object] = {"__name__": "embedding_example"}
    exec(compile(example, f"{DOC}: the example", "exec"), namespace)
    csms = CentralSystem(CsmsSettings())
    with trio.fail_after(30):  # a bound, should the example wait for what never comes
        async with trio.open_nursery() as nursery:
            await nursery.start(csms.serve)
            url = csms.url().split("://", 1)[1]  # no scheme: profile 0 chooses ws://
            config = config_file(tmp_path, url)
            await namespace["main"](config=str(config), data_dir=str(tmp_path / "data"))
            nursery.cancel_scope.cancel()
    (start,) = csms.received("CP-1", "StartTransaction")
    assert (start.connector_id, start.id_tag, start.meter_start) == (1, "04A2B3C4", 1200)
    (stop,) = csms.received("CP-1", "StopTransaction")
    assert (stop.meter_stop, stop.reason) == (9800, "Local")
    # the deliberate mistake was a clear error, and the session went on
    printed = capsys.readouterr().out
    assert "connector 1: transaction_started is not possible while the transaction is" in printed
    statuses = [
        s.status for s in csms.received("CP-1", "StatusNotification") if s.connector_id == 1
    ]
    assert statuses[-1] == "Available"
