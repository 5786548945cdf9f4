"""A really full disk: the store on a small tmpfs that a file fills up.

Mounting a tmpfs needs no root in a user and mount namespace of its own
(`unshare --user --map-root-user --mount`): the outer test runs the inner one
in such a namespace, and skips, saying why, where that is not allowed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chargebox.station import Options, StoreWriteError
from tests.support import REPO, running

from .test_full_disk import authorized, connector0

SMALL_FS = "CHARGEBOX_TEST_SMALL_FS"


def test_the_engine_on_a_filesystem_that_fills_up(tmp_path):
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("a small real filesystem needs unshare (util-linux) to mount a tmpfs")
    mount = tmp_path / "small"
    mount.mkdir()
    inner = f"{Path(__file__).relative_to(REPO)}::test_inside_the_small_filesystem"
    script = 'mount -t tmpfs -o size=1m tmpfs "$1" || exit 97; shift; exec "$@"'
    command = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh"]
    command += [str(mount), sys.executable, "-m", "pytest", inner, "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, SMALL_FS: str(mount)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode == 97 or "unshare:" in done.stderr:
        pytest.skip(
            "a small real filesystem needs unprivileged user namespaces to mount a tmpfs "
            f"(unshare said: {done.stderr.strip() or done.returncode})"
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.mark.skipif(SMALL_FS not in os.environ, reason="run by the test above, on a small tmpfs")
async def test_inside_the_small_filesystem(tmp_path, autojump_clock):
    data = Path(os.environ[SMALL_FS]) / "data"
    options = Options(message_log_path=tmp_path / "message-log")
    async with running(tmp_path, data_dir=data, options=options) as rig:
        cp, csms = rig.cp, rig.csms
        await authorized(rig)
        filler = data.parent / "filler"
        with filler.open("wb") as f:
            try:
                for size in (65536, 4096, 512, 1):
                    while True:
                        f.write(b"\0" * size)
                        f.flush()
            except OSError:
                pass  # no space left on the device
        full = r"cannot be written \(database or disk is full\)"
        with pytest.raises(StoreWriteError, match=full):
            await cp.transaction_started(1, meter_start=10)
        assert cp.transaction_state(1) == "Authorized"
        await csms.wait_until(lambda: ("Available", "InternalError") in connector0(csms))
        filler.unlink()
        await cp.transaction_started(1, meter_start=10)
        assert (await csms.wait_for("StartTransaction")).meter_start == 10
        await csms.wait_until(lambda: connector0(csms)[-1] == ("Available", "NoError"))
