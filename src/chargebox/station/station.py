"""The station: builds the context, the actors and the features, restores what was stored,
and routes the Central System's calls.

The actors (chargebox.actors.assembly) and the feature profiles
(chargebox.features.registry) are built here, in that order, and handed what
they need; the Central System's calls go to the handler the features register
for their action.

Startup follows the order of EVerest's OCPP module: the configuration (with
the user overlay) is loaded, the store opened, the persisted availability
restored, unfinished transactions closed with reason PowerLoss (unless the
host resumes them), and only then does the link connect and send
BootNotification. The station's chart (statecharts/station.yaml) does the
recovery: it is told what the store holds, and the handle opens once it runs.

While the store cannot be written (a full disk), the Central System hears it:
connector 0's StatusNotification carries errorCode InternalError (its status
unchanged: the station still charges), and a SecurityEventNotification
MemoryExhaustion goes out once, directly, since it cannot be queued. The first
write that works again clears the error (NoError).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import attrs
import trio

from chargebox.actors import meter as metering
from chargebox.actors.assembly import ASK_ORDER, Actors
from chargebox.actors.clock import StationClock
from chargebox.actors.connector import Status
from chargebox.actors.context import Options, StationContext
from chargebox.actors.endpoint import (
    CallFailed,
    CallTimeout,
    ConnectionLost,
    Endpoint,
    Offline,
    not_supported,
)
from chargebox.actors.supervision import ActorGroup
from chargebox.actors.timers import Alarm
from chargebox.charts.addresses import Address
from chargebox.charts.events import ChartEvent
from chargebox.charts.events import station as events
from chargebox.charts.events.link import Close
from chargebox.charts.events.outbox import Enqueued
from chargebox.config import ChargePointConfig
from chargebox.errors import StoreWriteError
from chargebox.features.registry import build_features
from chargebox.host import Host
from chargebox.ocpp import codec
from chargebox.ocpp.errors import ErrorCode, OcppError
from chargebox.ocpp.v16 import (
    ACTIONS,
    ActionSpec,
    FeatureProfile,
    MeterValuesRequest,
    SecurityEventNotificationRequest,
)
from chargebox.store import Storage

log = logging.getLogger(__name__)

E = TypeVar("E", bound=ChartEvent)


class Station:
    """One charge point's engine. Use `open_charge_point`, which runs it."""

    def __init__(
        self,
        cfg: ChargePointConfig,
        host: Host,
        store: Storage,
        options: Options,
        clock: StationClock,
        message_log: Any,
        nursery: trio.Nursery,
    ) -> None:
        self.cfg = cfg
        self.host = host
        listening = list(clock.observers)
        try:
            self.endpoint = Endpoint(
                self.route, call_timeout=options.call_timeout, message_log=message_log
            )
            self.ctx = StationContext(
                cfg=cfg,
                clock=clock,
                store=store,
                host=host,
                endpoint=self.endpoint,
                options=options,
                nursery=nursery,
                message_log=message_log,
                deliver=self.deliver,
            )
            self.ctx.security_event = self.security_event
            #: every actor of the station (chargebox.actors.assembly)
            self.actors = actors = Actors(self.ctx)
            store.observers.append(self._store_failure_changed)
            actors.restore()
            self.meter = actors.meter
            self.authorizer = actors.authorizer
            self.authorizer.on_list_conflict = self._local_list_conflict
            self.endpoint.answers_nothing = self._answers_nothing
            self.reporter = actors.reporter
            self.connector0 = actors.connector0
            self.connectors = actors.connectors
            self.transactions = actors.transactions
            self.link = actors.link
            self.outbox = actors.outbox
            #: the coordinator (statecharts/station.yaml)
            self.coordinator = actors.station
            self.group: ActorGroup | None = None
            self._ended = False
            #: the clock-aligned meter values: due at each multiple of ClockAlignedDataInterval
            self._aligned = Alarm(self._sample_aligned, name="clock-aligned meter values")
            clock.observers.append(self.rearm_aligned)
            #: the feature profiles (chargebox.features.registry)
            self.features = build_features(self.ctx, actors, rearm_aligned=self.rearm_aligned)
        except BaseException:
            # a station that could not be built leaves nothing on a store or a clock that
            # outlives it (passed in)
            _stop_hearing(store.observers, [self._store_failure_changed])
            _stop_hearing(clock.observers, [o for o in clock.observers if o not in listening])
            raise
        #: what the station and its features listen to on the clock, which may outlive it
        #: (a simulator's, through its station's resets): taken off by `detach`
        self._clock_observers = [o for o in clock.observers if o not in listening]

    # -- running ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the station in its nursery (the context's): its actors, queues and alarms,
        the features' services; returns once the recovery is done (the link connects)."""
        # the actors run in the station's own nursery, as its queues, alarms and the
        # features' services do: a nursery of their own (and a task to hold it) would be
        # one more for every station to keep, and for its end to go through
        group = ActorGroup(self.ctx.nursery, None, ASK_ORDER)
        self.group = group
        # a move of the endpoint's calls chart wakes the station's waiters too (drained)
        self.endpoint.on_change = group.changed
        # the deadline of the CALL on the wire is a timer of the station's
        self.endpoint.timers = group.timers
        await self.actors.start(group)
        nursery = self.ctx.nursery
        self.reporter.queue.attach(nursery)
        self.ctx.host_queue.attach(nursery)
        self._aligned.attach(nursery, group.timers)
        self._arm_aligned()
        for service in self.features.services():
            nursery.start_soon(service)
        await self._recover()

    def stop(self) -> None:
        """Its actors stop at once and take no message any more (the engine is cancelled)."""
        if self.group is not None:
            self.group.close()

    def detach(self) -> None:
        """Stop hearing the store's failures and the clock's changes (once the station's
        nursery is closed: what they would start could not run). Idempotent."""
        _stop_hearing(self.ctx.store.observers, [self._store_failure_changed])
        _stop_hearing(self.ctx.clock.observers, self._clock_observers)

    async def end(self) -> None:
        """End the station: its actors stop and refuse messages, their timers are dropped
        and the timers' task returns (nothing is cancelled: each task of an actor ends in
        its own cancel scope). Close its websocket first (close_websocket)."""
        group = self.group
        if group is None or self._ended:
            return
        self._ended = True
        await group.end()

    async def _recover(self) -> None:
        """The station's chart hears what the store kept (transactions a power loss
        interrupted, StopTransactions queued); the handle opens once the recovery is done
        (the station runs, the link connects)."""
        store = self.ctx.store
        station = Address.station()
        for record in store.open_transactions():
            await self.deliver(
                station,
                events.OpenTransactionFound(
                    tx_ref=record.ref,
                    connector_id=record.connector,
                    id_tag=record.id_tag,
                    session_id=record.session_id,
                    transaction_id=record.transaction_id,
                ),
            )
        # counted without reading every queued message: a long backlog must not delay the start
        stops = store.queued_count("StopTransaction")
        await self.deliver(station, events.RecoveryListed(stops_queued=stops))
        await self.wait_until(lambda: self.coordinator.model.recovered)

    async def deliver(self, address: Address[E], event: E) -> None:
        """Put `event` into the inbox of the actor at `address` (or the station's own)."""
        await self.actors.deliver(address, event)

    def security_event(self, kind: str, tech_info: str | None = None) -> None:
        """A security event (whitepaper 2.7 / SecurityEventNotification): logged to the
        security log and queued for the Central System like a transaction message,
        unless DisableSecurityEventNotifications."""
        now = self.ctx.clock.now()
        if self.ctx.message_log is not None:
            try:
                self.ctx.message_log.security_event(kind, tech_info, now)
            except OSError as e:
                log.warning("the security log cannot be written: %s", e)
        log.info("security event %s%s", kind, f": {tech_info}" if tech_info else "")
        if self.cfg.get("DisableSecurityEventNotifications", False):
            return
        if not self.ctx.security_events_to_csms:
            return  # this Central System does not process them (it said NotImplemented)
        request = SecurityEventNotificationRequest(
            type=kind, timestamp=now, tech_info=tech_info[:255] if tech_info else None
        )
        try:
            self.ctx.store.enqueue("SecurityEventNotification", codec.encode(request), None)
        except StoreWriteError as e:
            log.warning(
                "security event %s not queued (%s): sent at once if the link is up", kind, e
            )
            self.ctx.spawn(self._send_now, request, name="security event")
            return
        self.ctx.spawn(self.deliver, Address.outbox(), Enqueued(), name="security event")

    async def _send_now(self, request: Any) -> None:
        """A message that could not be queued: sent if the link is up, else lost (logged)."""
        try:
            await self.endpoint.call(request)
        except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
            log.warning("%s not delivered: %s", type(request).__name__, e)

    # -- the store ------------------------------------------------------------------------

    #: StatusNotification.info of connector 0 while the store cannot be written
    STORE_FAILURE_INFO = Actors.STORE_FAILURE_INFO

    def _store_failure_changed(self, failure: str | None) -> None:
        """The store stopped (or resumed) taking writes: the Central System hears it.

        InternalError on connector 0 with its status unchanged, not Faulted: the
        connectors still deliver energy and the link still works; what is missing is
        durability (a transaction message the host hands over is refused, so the host
        knows). MemoryExhaustion is the security whitepaper's critical event for a
        flash that is full; it goes once per episode, directly.
        """
        self.reporter.notify(self.actors.connector0_status())
        if failure is not None:
            self.security_event("MemoryExhaustion", f"data store: {failure}")

    def _local_list_conflict(self, listed: str, answered: str) -> None:
        """The Central System's idTagInfo contradicts the Local Authorization List (spec
        3.5.2): a StatusNotification for connector 0 with errorCode LocalListConflict, its
        status unchanged, then its status as it is (the conflict is news, not a state)."""
        log.warning(
            "the Local Authorization List says %s for an idTag, the Central System %s: "
            "LocalListConflict reported",
            listed,
            answered,
        )
        status = self.actors.connector0_status()
        info = f"list {listed}, Central System {answered}"[:50]  # (CiString50)
        self.reporter.notify(attrs.evolve(status, error_code="LocalListConflict", info=info))
        self.reporter.notify(status)

    async def wait_until(self, predicate: Callable[[], Any]) -> Any:
        """Wait until `predicate()` is truthy, checked after every message an actor handled."""
        return await self.actors.wait_until(predicate)

    async def settle(self, address: Address[Any]) -> None:
        """Wait until the actor at `address` handled everything sent to it so far."""
        await self.actors.settle(address)

    async def close(self) -> None:
        await self.deliver(Address.link(), Close())

    async def drained(self) -> bool:
        """Wait until everything decided so far was delivered: no CALL in flight or waiting
        its turn, the transaction-message queue empty (True); False as soon as the link is
        not Accepted. It looks again whenever an actor handled a message or the endpoint's
        calls moved: nothing else changes what it reads."""
        endpoint, store = self.endpoint, self.ctx.store
        while endpoint.accepted:
            await self.settle(Address.outbox())
            if endpoint.idle and store.queue_length() == 0:
                return True
            assert self.group is not None
            await self.group.wait_changed()
        return False

    def statuses(self) -> list[Status]:
        return self.actors.statuses()

    # -- clock-aligned meter values ---------------------------------------------------------

    def _arm_aligned(self) -> None:
        """Sample.Clock MeterValues at the next multiple of ClockAlignedDataInterval after
        00:00 UTC (none while it is 0)."""
        interval = self.cfg.clock_aligned_data_interval
        if interval <= 0:
            self._aligned.at(None)
            return
        now = self.ctx.clock.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = (now - midnight).total_seconds()
        next_at = midnight + timedelta(seconds=(int(elapsed // interval) + 1) * interval)
        self._aligned.at(self.ctx.clock.deadline(next_at))

    async def _sample_aligned(self) -> None:
        self._sample_main_meter()
        for tx in self.transactions.values():
            await tx.sample("Sample.Clock", aligned=True)
        self._arm_aligned()

    def _sample_main_meter(self) -> None:
        """Connector 0's clock-aligned values, when the host reports a main meter (spec 3.16.3).

        Not a transaction message: sent if the link is up, never queued.
        """
        selected = metering.selectors(self.cfg.get("MeterValuesAlignedData"))
        value = self.meter.meter_value(0, selected, "Sample.Clock", self.ctx.clock.now())
        if value is not None:
            request = MeterValuesRequest(connector_id=0, meter_value=[value])
            self.ctx.spawn(self._send_meter_values, request, name="MeterValues")

    async def _send_meter_values(self, request: MeterValuesRequest) -> None:
        try:
            await self.endpoint.call(request)
        except (Offline, ConnectionLost, CallFailed, CallTimeout) as e:
            log.info("MeterValues of connector 0 not delivered: %s", e)

    def rearm_aligned(self) -> None:
        """The interval or the clock changed: the next sample is due at another time."""
        if self._aligned.attached:
            self._arm_aligned()

    # -- the Central System's calls -----------------------------------------------------------

    def _answers_nothing(self) -> bool:
        """Spec 4.2.1: while Rejected, the Charge Point does not respond to the Central
        System (the endpoint asks before it decodes a CALL: no CALLERROR either)."""
        return self.link.model.rejected

    async def route(self, spec: ActionSpec, request: Any) -> Any:
        profile = spec.profile
        supported = self.cfg.supported_feature_profiles
        if profile is not FeatureProfile.Security and str(profile) not in supported:
            raise not_supported(spec.action, str(profile))
        handler = self.features.handler(spec.action)
        if handler is None:
            if spec.initiator.value == "ChargePoint":
                raise OcppError(
                    ErrorCode.NotSupported, f"{spec.action} is sent by a Charge Point, not to one"
                )
            raise OcppError(ErrorCode.NotSupported, f"{spec.action} is not supported yet")
        return await handler(request)


KNOWN_ACTIONS = frozenset(ACTIONS)


def _stop_hearing(observers: list[Any], mine: list[Any]) -> None:
    """Take `mine` off `observers` (those still there)."""
    for observer in mine:
        if observer in observers:
            observers.remove(observer)
