"""Lines from standard input for the interactive subcommands (`sim`, `csms`)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import trio


async def stdin_lines() -> AsyncIterator[str]:
    """Lines typed (or piped) on standard input, read in a worker thread; ends at EOF.

    A thread, because a terminal, a pipe and /dev/null all read the same way
    there; the thread is abandoned when the caller is cancelled.
    """
    while True:
        line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        if not line:
            return
        yield line
