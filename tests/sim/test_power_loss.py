"""`chargebox sim` killed with SIGKILL mid-transaction, then started again on its data directory.

A real process, a real kill: nothing the simulator did at exit can help. By
default the restarted station stops the interrupted transaction with reason
PowerLoss (OCPP 1.6 and libocpp: a station that lost power ends its
transactions at the next boot); with `--resume-after-power-loss` the
transaction goes on with its id and no PowerLoss stop is sent. Either way the
meter register after the restart is not below any reading the Central
System received before the kill. The Central System is the development CSMS
in this test's process, on a loopback port; real time, every wait bounded.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from chargebox.csms import CentralSystem, CsmsSettings
from tests.support import REPO, config_file

CP_ID = "CP-KILL"
TAG = "TAG-KILL"
ENERGY = "Energy.Active.Import.Register"
TRANSACTION_ID = 71  # --first-transaction-id of the CSMS: no default would give it
# the first run charges fast (20x) so that readings grow quickly; the sample interval is
# 10 simulated seconds, half a real second
FIRST = f"wait-online 600\nplug 1\nrfid {TAG} 1\nwait 1 Charging 600\n"


def energy_readings(meter_values: list[Any], transaction_id: int) -> list[int]:
    """Every energy register value of a transaction's MeterValues, in Wh."""
    return [
        int(float(sample.value))
        for mv in meter_values
        if mv.transaction_id == transaction_id
        for value in mv.meter_value
        for sample in value.sampled_value
        if (sample.measurand or ENERGY) == ENERGY
    ]


class SimProcess:
    """`chargebox sim` as a child process; its output goes to a file (read on failure)."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        self.log = tmp_path / f"{name}.log"
        self.process: trio.Process | None = None

    async def start(self, args: list[str]) -> None:
        with self.log.open("wb") as out:
            self.process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "chargebox", "sim", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=REPO,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait(self, timeout: float) -> int:
        assert self.process is not None
        with trio.move_on_after(timeout):
            return await self.process.wait()
        raise AssertionError(f"the simulator still runs after {timeout} s:\n{self.output()}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def kill_mid_transaction(
    tmp_path: Path, csms: CentralSystem, base: list[str], script: str, resume: bool
) -> tuple[int, int, str]:
    """Run a transaction, SIGKILL the simulator, start it again with `script`.

    Returns the transaction id, the highest energy reading the CSMS received
    before the kill, and the second run's output.
    """
    first_script, second_script = tmp_path / "first.txt", tmp_path / "second.txt"
    first_script.write_text(FIRST)
    second_script.write_text(script)
    option = ["--resume-after-power-loss"] if resume else []
    first, second = SimProcess(tmp_path, "first"), SimProcess(tmp_path, "second")
    try:
        await first.start([*base, *option, "--speed", "20", "--script", str(first_script)])
        with trio.move_on_after(60) as waiting:
            start = await csms.wait_for("StartTransaction")
            transaction_id = TRANSACTION_ID  # the CSMS's answer to the first start
            # two samples of the transaction with energy flowing, then the kill: well
            # before the simulator's periodic save of its state (every 5 real seconds)
            await csms.wait_until(
                lambda: (
                    len(
                        [
                            r
                            for r in energy_readings(
                                csms.received(CP_ID, "MeterValues"), transaction_id
                            )
                            if r > start.meter_start
                        ]
                    )
                    >= 2
                )
            )
        assert not waiting.cancelled_caught, first.output()
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        assert await first.wait(10) == -signal.SIGKILL
        reported = max(energy_readings(csms.received(CP_ID, "MeterValues"), transaction_id))
        await second.start([*base, *option, "--script", str(second_script)])
        assert await second.wait(90) == 0, second.output()
        return transaction_id, reported, second.output()
    finally:
        await first.stop()
        await second.stop()


@pytest.fixture
async def csms_and_args(tmp_path, nursery):
    csms = CentralSystem(CsmsSettings(heartbeat_interval=3600, first_transaction_id=TRANSACTION_ID))
    port = await nursery.start(csms.serve, "127.0.0.1", 0)
    config = config_file(
        tmp_path,
        f"127.0.0.1:{port}/ocpp/",
        Core={"MeterValueSampleInterval": 10, "ClockAlignedDataInterval": 0},
        Internal={"ChargePointId": CP_ID},
    )
    base = ["--config", str(config), "--data-dir", str(tmp_path / "data")]
    return csms, base


@pytest.mark.slow
async def test_by_default_the_killed_transaction_is_stopped_with_power_loss(
    tmp_path, csms_and_args
):
    csms, base = csms_and_args
    # after the restart the EV is still plugged in: the card starts a new transaction
    script = f"wait-online 60\nwait 1 Preparing 20\nrfid {TAG} 1\nwait 1 Charging 20\nquit\n"
    with trio.fail_after(200):
        transaction_id, reported, output = await kill_mid_transaction(
            tmp_path, csms, base, script, resume=False
        )
        stop = await csms.wait_for("StopTransaction", lambda s: s.reason == "PowerLoss")
    assert stop.transaction_id == transaction_id, output
    starts = csms.received(CP_ID, "StartTransaction")
    assert len(starts) == 2, output
    # the register did not go back: the new transaction starts at or above every reading
    # the Central System received before the kill
    assert starts[1].meter_start >= reported, (starts[1].meter_start, reported, output)


@pytest.mark.slow
async def test_with_the_option_the_killed_transaction_resumes(tmp_path, csms_and_args):
    csms, base = csms_and_args
    # the transaction goes on after the restart; the card stops it at once
    script = f"wait-online 60\nwait 1 Charging 20\nrfid {TAG} 1\nwait 1 Finishing 20\nquit\n"
    with trio.fail_after(200):
        transaction_id, reported, output = await kill_mid_transaction(
            tmp_path, csms, base, script, resume=True
        )
        stop = await csms.wait_for("StopTransaction")
    assert (stop.transaction_id, stop.reason) == (transaction_id, "Local"), output
    assert len(csms.received(CP_ID, "StartTransaction")) == 1
    assert [s.reason for s in csms.received(CP_ID, "StopTransaction")] == ["Local"]
    assert stop.meter_stop >= reported, (stop.meter_stop, reported, output)
