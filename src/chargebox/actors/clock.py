"""The station clock: trio's clock read as aware UTC datetimes.

All waiting in the engine happens on trio's clock, so a test with trio's
MockClock (autojump) runs a day of timers in milliseconds. The station clock
gives that clock a calendar: it maps trio time to UTC and back, and can be set
(for instance from BootNotification.conf's currentTime) without disturbing
timers already armed, which wait on trio time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import trio


class StationClock:
    """Calendar time on top of trio's clock. Create it inside `trio.run`."""

    #: a set that moves the clock by more than this (seconds) is announced to the observers
    JUMP = 0.5

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("the station clock needs an aware datetime (UTC)")
        self._origin = trio.current_time()
        self._epoch = (start or datetime.now(UTC)).astimezone(UTC)
        #: called after the clock jumped: whoever waits for a calendar time re-arms
        self.observers: list[Callable[[], None]] = []

    def now(self) -> datetime:
        """The current UTC time."""
        return self._epoch + timedelta(seconds=trio.current_time() - self._origin)

    def set(self, moment: datetime) -> None:
        """Make `now()` read `moment` from this instant on (observers hear of a jump)."""
        if moment.tzinfo is None:
            raise ValueError("the station clock needs an aware datetime (UTC)")
        jump = abs((moment - self.now()).total_seconds())
        self._epoch = moment.astimezone(UTC)
        self._origin = trio.current_time()
        if jump > self.JUMP:
            for observer in list(self.observers):
                observer()

    def deadline(self, moment: datetime) -> float:
        """The trio time at which the UTC time will be `moment` (in the past: already due)."""
        if moment.tzinfo is None:
            raise ValueError("deadlines need an aware datetime (UTC)")
        return self._origin + (moment - self._epoch).total_seconds()

    async def sleep_until(self, moment: datetime) -> None:
        """Wait until the UTC time is `moment`."""
        await trio.sleep_until(self.deadline(moment))
