"""A charge point process for the chaos test: transactions in a loop, or recovery only.

    python -m tests.chaos.station_process CONFIG DATA_DIR JOURNAL run N
    python -m tests.chaos.station_process CONFIG DATA_DIR JOURNAL recover

`run N` makes N transactions, then starts one more and keeps it running (the
test kills the process with SIGKILL then). `recover` starts the engine on the
same data directory, lets it deliver what is queued (the interrupted
transaction's StopTransaction with reason PowerLoss included) and exits.

Every transaction message the store commits is appended to JOURNAL
(message id and action, flushed and fsynced), so the test can compare what
was queued with what the Central System received. Time runs 10 times faster
than real time (trio's MockClock with rate 10).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import trio
import trio.testing

from chargebox.station import Host, open_charge_point
from chargebox.store import Store

RATE = 10.0


class Evse:
    async def authorize(self, connector_id: int, id_tag: str) -> None:
        pass

    async def stop_transaction(self, connector_id: int, reason: str) -> None:
        pass


def journal_store(journal: Path) -> None:
    """Record every queue entry once its method committed (instrumentation of this process)."""
    for name in ("begin_transaction", "end_transaction", "queue_meter_values"):
        original = getattr(Store, name)

        def recorded(self: Store, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            result = _original(self, *args, **kwargs)
            row = self._db.execute(
                "SELECT message_id, action FROM outbox ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            with journal.open("a") as f:
                f.write(f"{row[0]} {row[1]}\n")
                f.flush()
                os.fsync(f.fileno())
            return result

        setattr(Store, name, recorded)


async def transactions(cp, count: int) -> None:
    energy = 0
    for n in range(count + 1):
        await cp.session_started(1)
        await cp.meter_values(1, {"Energy.Active.Import.Register": energy})
        await cp.transaction_started(1, meter_start=energy, id_tag=f"CHAOS-{n}")
        await cp.resumed(1)
        for _ in range(4):
            energy += 100
            await cp.meter_values(1, {"Energy.Active.Import.Register": energy})
            await trio.sleep(1)
        if n == count:
            print(f"started {n + 1}", flush=True)  # the last one runs until the kill
            await trio.sleep_forever()
        await cp.transaction_stopped(1, meter_stop=energy, reason="Local")
        await cp.session_stopped(1)
        print(f"done {n + 1}", flush=True)


async def main(config: str, data_dir: str, journal: str, mode: str, count: int) -> None:
    journal_store(Path(journal))
    async with open_charge_point(config, Host(evse=Evse()), data_dir=data_dir) as cp:
        with trio.fail_after(600):
            await cp.wait_until(lambda: cp.registered)
            if mode == "run":
                await transactions(cp, count)
            else:
                store = cp.station.ctx.store
                await cp.wait_until(lambda: store.queue_length() == 0 and cp.registered)
                print("drained", flush=True)


if __name__ == "__main__":
    config, data_dir, journal, mode = sys.argv[1:5]
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    trio.run(main, config, data_dir, journal, mode, count, clock=trio.testing.MockClock(rate=RATE))
