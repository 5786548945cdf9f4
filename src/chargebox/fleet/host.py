"""One simulated station of a fleet: its connectors, the host ports the engine calls, and the
single task that drives its engine.

Much lighter than chargebox.sim.Simulator (no state files, no status line, no
physics beyond an energy register and a constant power): what a fleet needs to
load a Central System the way real stations do. The ports (`authorize`,
`stop_transaction`, `reset`, ...) only note what the engine asked and wake the
station's task; that task makes every call into the engine, in order, and
sleeps until the next thing a connector has to do (a profile's arrival, a meter
reading, the end of a charge) or until the engine asks something. So a station
adds one task to its engine, whatever its number of connectors.
"""

from __future__ import annotations

import logging
import random
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import trio

from chargebox.errors import StationError
from chargebox.fleet.profiles import Profile
from chargebox.host import Host, ResetKind, UnlockResult

if TYPE_CHECKING:
    from chargebox.fleet.stats import FleetStats
    from chargebox.station import ChargePoint

log = logging.getLogger(__name__)

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"

# what is happening at a connector (its phase; the engine has its own states)
IDLE = 0  # free; `due` is the next arrival (inf: none)
AUTHORIZING = 1  # an EV is plugged in, its driver presented an idTag; `due`: gives up
CHARGING = 2  # a transaction runs; `due`: the next meter reading or the end
FINISHING = 3  # the transaction stopped; `due`: the EV leaves

#: seconds a driver waits for the authorization before leaving
AUTHORIZATION_WAIT = 120.0
#: simulated seconds a Reset takes (Soft, Hard)
RESTART_DELAY = {ResetKind.Soft: 1.0, ResetKind.Hard: 3.0}

#: why drive() returned
CLOSING = "closing"
RESET = "reset"

_CONNECTOR = re.compile(r"connector \d+")


class Bay:
    """One connector and whoever is at it."""

    __slots__ = (
        "charge_until",
        "connector",
        "due",
        "enabled",
        "id_tag",
        "last",
        "paused",
        "phase",
        "power_w",
        "register_wh",
        "sessions",
    )

    def __init__(self, connector: int) -> None:
        self.connector = connector
        self.phase = IDLE
        self.due = float("inf")
        self.enabled = True
        self.id_tag: str | None = None
        #: the meter's register (Wh), and when energy was last added to it
        self.register_wh = 0.0
        self.last = 0.0
        self.power_w = 0.0
        self.paused = False
        self.charge_until = 0.0
        self.sessions = 0


class FleetStation:
    """A fleet's station: host ports for its engine, and the task that drives it."""

    __slots__ = (
        "_inbox",
        "_wake",
        "bays",
        "closing",
        "profile",
        "reset_kind",
        "rng",
        "station_id",
        "stats",
    )

    def __init__(
        self,
        station_id: str,
        connectors: int,
        profile: Profile,
        stats: FleetStats,
        rng: random.Random,
    ) -> None:
        self.station_id = station_id
        self.profile = profile
        self.stats = stats
        self.rng = rng
        self.bays = [Bay(c) for c in range(1, connectors + 1)]
        #: what the engine asked through the ports: (what, connector, detail)
        self._inbox: list[tuple[str, int, Any]] = []
        self._wake = trio.Event()
        self.closing = False
        self.reset_kind: ResetKind | None = None

    def host(self) -> Host:
        return Host(evse=self, system=self)  # type: ignore[arg-type]

    def close(self) -> None:
        """The fleet winds down: sessions end, then the engine stops."""
        self.closing = True
        self._wake.set()

    # -- the ports (called by the engine; they only take note) ---------------------------

    def _note(self, what: str, connector: int, detail: Any = None) -> None:
        self._inbox.append((what, connector, detail))
        self._wake.set()

    async def authorize(self, connector_id: int, id_tag: str) -> None:
        self._note("authorize", connector_id, id_tag)

    async def withdraw_authorization(self, connector_id: int) -> None:
        self._note("withdraw", connector_id)

    async def stop_transaction(self, connector_id: int, reason: str) -> None:
        self._note("stop", connector_id, str(reason))

    async def pause_charging(self, connector_id: int) -> None:
        self._note("pause", connector_id)

    async def resume_charging(self, connector_id: int) -> None:
        self._note("resume", connector_id)

    async def unlock(self, connector_id: int) -> UnlockResult:
        return UnlockResult.Unlocked

    async def set_enabled(self, connector_id: int, enabled: bool) -> None:
        for bay in self.bays:
            if connector_id in (0, bay.connector):
                bay.enabled = enabled

    async def reset(self, kind: ResetKind) -> None:
        self.reset_kind = kind
        self._wake.set()

    async def set_system_time(self, moment: datetime) -> None:
        pass

    def resume_session(self, connector_id: int, session_id: str | None) -> bool:
        return False  # a transaction cut by a restart is stopped (PowerLoss), as in 1.6

    # -- driving the engine ----------------------------------------------------------------

    async def drive(self, cp: ChargePoint) -> str:
        """Make the connectors' sessions happen until the fleet closes or the engine resets."""
        now = trio.current_time()
        for bay in self.bays:
            if bay.phase != IDLE:  # after a restart: the EVs left, the next ones come
                bay.phase = IDLE
            bay.last = now
            self._schedule_arrival(bay, now)
        while True:
            if self.reset_kind is not None:
                return RESET
            if self.closing:
                return CLOSING
            if self._inbox:
                inbox, self._inbox = self._inbox, []
                for what, connector, detail in inbox:
                    bay = self._bay(connector)
                    if bay is not None:
                        await self._react(cp, bay, what, detail)
                continue
            now = trio.current_time()
            due = [bay for bay in self.bays if bay.due <= now]
            for bay in due:
                await self._step(cp, bay, now)
            if due:
                continue
            self._wake = trio.Event()
            due = min(bay.due for bay in self.bays)
            if due == float("inf"):
                # nothing due (the idle profile): no deadline, so no cancel scope kept for
                # it (five objects a station fewer for the collector to walk)
                await self._wake.wait()
                continue
            with trio.move_on_at(due):
                await self._wake.wait()

    def _bay(self, connector: int) -> Bay | None:
        return self.bays[connector - 1] if 1 <= connector <= len(self.bays) else None

    def _schedule_arrival(self, bay: Bay, now: float) -> None:
        wait = self.profile.next_arrival(self.rng)
        bay.due = float("inf") if wait is None else now + wait

    async def _call(self, cp: ChargePoint, what: str, *args: Any, **kwargs: Any) -> bool:
        """One call into the engine; False when it was refused (counted by kind)."""
        try:
            await getattr(cp, what)(*args, **kwargs)
            return True
        except StationError as e:
            text = _CONNECTOR.sub("connector N", str(e)).split(";")[0]
            self.stats.error(f"{what} refused: {text}")
            return False

    async def _step(self, cp: ChargePoint, bay: Bay, now: float) -> None:
        """The connector's due moment came."""
        if bay.phase == IDLE:
            await self._arrive(cp, bay, now)
        elif bay.phase == AUTHORIZING:
            await self._leave(cp, bay, now)  # nobody authorized the driver
        elif bay.phase == CHARGING:
            await self._meter(cp, bay, now)
            if now >= bay.charge_until:
                await self._stop(cp, bay, now, "Local")
            else:
                bay.due = min(now + self.profile.meter_interval, bay.charge_until)
        else:
            await self._leave(cp, bay, now)

    async def _arrive(self, cp: ChargePoint, bay: Bay, now: float) -> None:
        """An EV plugs in and its driver presents an idTag."""
        if not bay.enabled or cp.status(bay.connector) != "Available":
            self._schedule_arrival(bay, now)  # busy or out of service: the EV goes elsewhere
            return
        bay.sessions += 1
        if not await self._call(cp, "session_started", bay.connector):
            self._schedule_arrival(bay, now)
            return
        bay.phase = AUTHORIZING
        bay.due = now + AUTHORIZATION_WAIT
        bay.id_tag = self._id_tag(bay)
        await self._call(cp, "token_presented", bay.id_tag, bay.connector)

    def _id_tag(self, bay: Bay) -> str:
        tags = self.profile.id_tags
        if tags:
            in_use = {b.id_tag for b in self.bays if b is not bay and b.phase != IDLE}
            free = [t for t in tags if t not in in_use] or list(tags)
            return self.rng.choice(free)
        # unique in the station: a card presented at one connector never stops another's
        return f"C{bay.connector}S{bay.sessions}"[:20]

    async def _start(self, cp: ChargePoint, bay: Bay, now: float) -> None:
        """Authorized: the contactor closes, the transaction starts, energy flows."""
        bay.last = now
        if not await self._call(
            cp, "transaction_started", bay.connector, meter_start=int(bay.register_wh)
        ):
            await self._leave(cp, bay, now)
            return
        self.stats.tx_started += 1
        bay.phase = CHARGING
        bay.paused = False
        bay.power_w = self.profile.power_kw * 1000.0
        bay.charge_until = now + self.profile.charge_seconds(self.rng)
        bay.due = min(now + self.profile.meter_interval, bay.charge_until)
        await self._call(cp, "resumed", bay.connector)

    async def _meter(self, cp: ChargePoint, bay: Bay, now: float) -> None:
        """The meter's reading: the energy since the last one added to the register."""
        if not bay.paused:
            bay.register_wh += bay.power_w * (now - bay.last) / 3600.0
        bay.last = now
        power = 0 if bay.paused else int(bay.power_w)
        await self._call(
            cp, "meter_values", bay.connector, {ENERGY: int(bay.register_wh), POWER: power}
        )

    async def _stop(self, cp: ChargePoint, bay: Bay, now: float, reason: str) -> None:
        await self._meter(cp, bay, now)
        if await self._call(
            cp,
            "transaction_stopped",
            bay.connector,
            meter_stop=int(bay.register_wh),
            reason=reason,
        ):
            self.stats.tx_stopped += 1
        bay.power_w = 0.0
        bay.phase = FINISHING
        bay.due = now + self.profile.leave_minutes * 60.0

    async def _leave(self, cp: ChargePoint, bay: Bay, now: float) -> None:
        """The EV unplugs and leaves."""
        bay.phase = IDLE
        bay.id_tag = None
        await self._call(cp, "session_stopped", bay.connector)
        self._schedule_arrival(bay, now)

    async def _react(self, cp: ChargePoint, bay: Bay, what: str, detail: Any) -> None:
        """What the engine asked (through a port)."""
        now = trio.current_time()
        if what == "authorize":
            if bay.phase == IDLE:
                # RemoteStartTransaction: an EV is brought and plugged in for it
                bay.sessions += 1
                bay.id_tag = str(detail)
                if not await self._call(cp, "session_started", bay.connector):
                    self._schedule_arrival(bay, now)
                    return
                bay.phase = AUTHORIZING
            if bay.phase == AUTHORIZING:
                await self._start(cp, bay, now)
        elif what == "withdraw":
            if bay.phase == AUTHORIZING:
                await self._leave(cp, bay, now)
        elif what == "stop":
            if bay.phase == CHARGING:
                await self._stop(cp, bay, now, detail)
        elif what == "pause":
            if bay.phase == CHARGING and not bay.paused:
                await self._meter(cp, bay, now)
                bay.paused = True
                await self._call(cp, "suspended_evse", bay.connector)
        elif what == "resume" and bay.phase == CHARGING and bay.paused:
            await self._meter(cp, bay, now)
            bay.paused = False
            await self._call(cp, "resumed", bay.connector)

    async def wind_down(self, cp: ChargePoint, timeout: float) -> bool:
        """The end of the run: every transaction stops, every EV leaves, and what the engine
        has to send goes out (at most `timeout` station seconds). True if all was sent."""
        now = trio.current_time()
        for bay in self.bays:
            if bay.phase == CHARGING:
                await self._stop(cp, bay, now, "Local")
            if bay.phase != IDLE:
                await self._leave(cp, bay, now)
        # a transaction the engine stops on its own (a Reset's, say) is told through a port
        with trio.move_on_after(timeout):
            while self._inbox:
                inbox, self._inbox = self._inbox, []
                for what, connector, detail in inbox:
                    bay = self._bay(connector)
                    if bay is not None and what == "stop" and bay.phase == CHARGING:
                        await self._stop(cp, bay, trio.current_time(), detail)
                        await self._leave(cp, bay, trio.current_time())
            return await cp.station.drained()
        return False
