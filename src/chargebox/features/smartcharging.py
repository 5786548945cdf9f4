"""SmartCharging profile: charging profiles from the Central System, and the limits they set.

The rules are in chargebox.smartcharging (pure); this module keeps the one
ProfileSet of the station, persists what each call adds and removes, answers
SetChargingProfile, ClearChargingProfile and GetCompositeSchedule, takes the
TxProfile of a RemoteStartTransaction, drops a connector's TxProfiles when its
transaction ends, and pushes the limit in force to the host's energy sink:
whenever a profile is set or cleared, a transaction starts or stops, the link
goes up or down, and at every moment a profile's schedule may change it (one
timer on the station clock, re-armed after each change).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.actors.timers import Alarm
from chargebox.features import Handler, Service
from chargebox.ocpp import codec
from chargebox.ocpp.errors import ErrorCode, OcppError
from chargebox.ocpp.v16 import (
    ChargingProfile,
    ChargingRateUnitType,
    ClearChargingProfileRequest,
    ClearChargingProfileResponse,
    SetChargingProfileRequest,
    SetChargingProfileResponse,
)
from chargebox.smartcharging import (
    ActiveTransaction,
    ChargingContext,
    ProfileSet,
    SmartChargingSettings,
    parse_purposes,
    parse_rate_units,
)
from chargebox.smartcharging.validation import check_profile

log = logging.getLogger(__name__)


def settings_from(cfg: Any) -> SmartChargingSettings:
    """The smart-charging settings of a configuration (the keys of docs/smartcharging.md)."""
    values: dict[str, Any] = {}
    for field, key in (
        ("max_stack_level", "ChargeProfileMaxStackLevel"),
        ("max_profiles_installed", "MaxChargingProfilesInstalled"),
        ("max_periods", "ChargingScheduleMaxPeriods"),
        ("allowed_units", "ChargingScheduleAllowedChargingRateUnit"),
        ("supported_purposes", "SupportedChargingProfilePurposeTypes"),
        ("max_composite_duration", "MaxCompositeScheduleDuration"),
        ("default_limit_amps", "CompositeScheduleDefaultLimitAmps"),
        ("default_limit_watts", "CompositeScheduleDefaultLimitWatts"),
        ("default_number_phases", "CompositeScheduleDefaultNumberPhases"),
        ("supply_voltage", "SupplyVoltage"),
        ("allow_without_start_schedule", "AllowChargingProfileWithoutStartSchedule"),
        ("ignored_purposes_offline", "IgnoredProfilePurposesOffline"),
    ):
        value = cfg.get(key)
        if value is None:
            continue
        if field == "allowed_units":
            value = parse_rate_units(value if isinstance(value, str) else ",".join(value))
        elif field in ("supported_purposes", "ignored_purposes_offline"):
            value = parse_purposes(value if isinstance(value, str) else ",".join(value))
        values[field] = value
    return SmartChargingSettings(**values)


class SmartCharging:
    def __init__(self, ctx: StationContext, actors: Actors) -> None:
        self.ctx = ctx
        self.actors = actors
        self.profiles = ProfileSet()
        #: pushes the limits in force, again at the next moment one may change
        self._update = Alarm(self._push_limits, name="smart charging limits")
        #: the last push was of no profile at all (nothing changes until one comes)
        self._pushed_without_profiles = False
        self._seen: dict[int, tuple[bool, int | None]] = {}
        #: the TxProfile of a RemoteStartTransaction, by connector, until a transaction
        #: starts there (it is then that transaction's) or the authorization ends without one
        self._remote_profiles: dict[int, int] = {}
        #: the connectors whose RemoteStart authorization began (its profile waits there)
        self._remote_authorized: set[int] = set()
        self._accepted = False
        #: the last limit pushed per connector: (amps, watts)
        self.pushed: dict[int, tuple[Any, Any]] = {}
        self._load()
        for tx in actors.transactions.values():
            tx.observers.append(self._transaction_changed)
        # a transaction the power-loss recovery stops never ran in this start
        actors.station.power_loss_stops.append(self.transaction_ended)
        actors.link.observers.append(self._link_changed)
        ctx.clock.observers.append(self.limits_changed)

    def handlers(self) -> dict[str, Handler]:
        return {
            "SetChargingProfile": self.set_charging_profile,
            "ClearChargingProfile": self.clear_charging_profile,
            "GetCompositeSchedule": self.get_composite_schedule,
        }

    def services(self) -> list[Service]:
        return [self.run]

    # -- state --------------------------------------------------------------------------

    def context(self, *, remote_start: bool = False, stored: bool = False) -> ChargingContext:
        """What the rules depend on now. `stored`: the transactions are those the store
        holds open (at start-up, before power-loss recovery decides their fate)."""
        running: dict[int, ActiveTransaction] = {}
        if stored:
            for record in self.ctx.store.open_transactions():
                running[record.connector] = ActiveTransaction(
                    record.start_time, record.transaction_id
                )
        for c, tx in self.actors.transactions.items():
            if tx.active and tx.ref is not None:
                record = self.ctx.store.transaction(tx.ref)
                if record is not None:
                    running[c] = ActiveTransaction(record.start_time, record.transaction_id)
        return ChargingContext(
            number_of_connectors=self.ctx.cfg.number_of_connectors,
            transactions=running,
            remote_start=remote_start,
            offline=not self.ctx.endpoint.accepted,
            settings=settings_from(self.ctx.cfg),
        )

    def _load(self) -> None:
        """Profiles from the store, each judged again by today's rules; the rest removed.

        A TxProfile stays only while the store holds its transaction open; if power-loss
        recovery then stops that transaction, `transaction_ended` removes it.
        """
        now = self.ctx.clock.now()
        context = self.context(stored=True)
        kept: list[tuple[int, ChargingProfile]] = []
        for profile_id, connector, payload in list(self.ctx.store.profiles()):
            try:
                profile = codec.decode(ChargingProfile, payload)
            except OcppError as e:
                log.warning("stored charging profile %d is unreadable (%s): removed", profile_id, e)
                self.ctx.store.delete_profile(profile_id)
                continue
            verdict = check_profile(connector, profile, now, context, len(kept) + 1)
            if not verdict.accepted:
                log.warning(
                    "stored charging profile %d no longer valid (%s): removed",
                    profile_id,
                    verdict.reason,
                )
                self.ctx.store.delete_profile(profile_id)
                continue
            kept.append((connector, profile))
        self.profiles = ProfileSet.of(*kept)
        self._purge(now)

    def _purge(self, now: datetime) -> None:
        removal = self.profiles.purge_expired(now)
        for item in removal.removed:
            self.ctx.store.delete_profile(item.id)
        self.profiles = removal.profiles

    def _install(self, installed: Any, replaced: Any) -> None:
        for item in replaced:
            self.ctx.store.delete_profile(item.id)
        self.ctx.store.put_profile(
            installed.id, installed.connector_id, codec.encode(installed.profile)
        )

    def limits_changed(self) -> None:
        """Something that decides the limits changed: compute and push them again now."""
        if self._update.attached:
            self._update.now()

    # -- the Central System's calls -----------------------------------------------------

    async def set_charging_profile(self, request: SetChargingProfileRequest) -> Any:
        outcome = self.profiles.set_charging_profile(request, self.ctx.clock.now(), self.context())
        verdict = outcome.verdict
        if verdict.call_error is not None:
            raise OcppError(ErrorCode(verdict.call_error), verdict.reason or "invalid profile")
        if not verdict.accepted:
            log.warning("SetChargingProfile %s: %s", verdict.status, verdict.reason)
            return SetChargingProfileResponse(status=verdict.status)
        self._install(outcome.installed, outcome.replaced)
        self.profiles = outcome.profiles
        self.limits_changed()
        return SetChargingProfileResponse(status=verdict.status)

    async def clear_charging_profile(self, request: Any) -> Any:
        outcome = self.profiles.clear(request)
        for item in outcome.removed:
            self.ctx.store.delete_profile(item.id)
        self.profiles = outcome.profiles
        if outcome.removed:
            self.limits_changed()
        return ClearChargingProfileResponse(status=outcome.status)

    async def get_composite_schedule(self, request: Any) -> Any:
        return self.profiles.get_composite_schedule(request, self.ctx.clock.now(), self.context())

    def accept_remote_start_profile(self, connector_id: int, profile: ChargingProfile) -> bool:
        """The TxProfile of a RemoteStartTransaction, installed on the connector chosen for it."""
        request = SetChargingProfileRequest(connector_id=connector_id, cs_charging_profiles=profile)
        verdict = self.profiles.validate_set(
            request, self.ctx.clock.now(), self.context(remote_start=True)
        )
        if not verdict.accepted or verdict.profile is None:
            log.warning("RemoteStartTransaction profile refused: %s", verdict.reason)
            return False
        outcome = self.profiles.install(connector_id, verdict.profile)
        self._install(outcome.installed, outcome.replaced)
        self.profiles = outcome.profiles
        self._remote_profiles[connector_id] = verdict.profile.charging_profile_id
        self.limits_changed()
        return True

    def drop_remote_start_profile(self, connector_id: int) -> None:
        """No transaction comes of the RemoteStartTransaction whose TxProfile waits on the
        connector (refused, or its authorization ended): the profile goes (3.13.1: a
        TxProfile is for the duration of a transaction; it must not limit the next one)."""
        profile_id = self._remote_profiles.pop(connector_id, None)
        self._remote_authorized.discard(connector_id)
        if profile_id is None:
            return
        outcome = self.profiles.clear(ClearChargingProfileRequest(id=profile_id))
        for item in outcome.removed:
            log.info(
                "connector %d: TxProfile %d of a RemoteStartTransaction removed: no "
                "transaction started",
                connector_id,
                item.id,
            )
            self.ctx.store.delete_profile(item.id)
        self.profiles = outcome.profiles
        if outcome.removed:
            self.limits_changed()

    # -- what moves the limits ------------------------------------------------------------

    def _transaction_changed(self, actor: Any, outcome: Any) -> None:
        c = actor.connector_id
        if c in self._remote_profiles:
            model = actor.model
            if model.active:  # the transaction's now (removed at its end)
                del self._remote_profiles[c]
                self._remote_authorized.discard(c)
            elif model.pending:  # the RemoteStart's idTag is being authorized, or waits
                self._remote_authorized.add(c)
            elif c in self._remote_authorized:  # that is over, and no transaction came
                self.drop_remote_start_profile(c)
        now = (actor.active, actor.model.transaction_id)
        before = self._seen.get(c, (False, None))
        if now == before:
            return
        self._seen[c] = now
        if before[0] and not now[0]:
            self.transaction_ended(c, before[1])
        self.limits_changed()

    def transaction_ended(self, connector_id: int, transaction_id: int | None) -> None:
        """A transaction ended (normally, or stopped by power-loss recovery): its
        TxProfiles go (spec 3.13.4)."""
        removal = self.profiles.remove_tx_profiles(connector_id, transaction_id)
        for item in removal.removed:
            log.info(
                "connector %d: TxProfile %d removed with its transaction", connector_id, item.id
            )
            self.ctx.store.delete_profile(item.id)
        self.profiles = removal.profiles
        if removal.removed:
            self.limits_changed()

    def _link_changed(self, actor: Any, outcome: Any) -> None:
        if self.ctx.ending:
            return  # the engine ends with its link: no limits to push any more
        accepted = actor.model.accepted
        if accepted != self._accepted:
            self._accepted = accepted
            self.limits_changed()  # IgnoredProfilePurposesOffline

    # -- the energy sink ---------------------------------------------------------------------

    async def run(self) -> None:
        """Push the limits in force now, and again at each moment one may change (an alarm
        of the station's timers: no task while it waits)."""
        assert self.actors.group is not None
        self._update.attach(self.ctx.nursery, self.actors.group.timers)
        self._update.now()

    async def _push_limits(self) -> None:
        if not self.profiles and self._pushed_without_profiles:
            # no profile: the limits (none) do not depend on the time, the transactions or
            # the link, and they went out already
            self._update.at(None)
            return
        now = self.ctx.clock.now()
        self._purge(now)
        context = self.context()
        await self._push(now, context)
        moments = [
            moment
            for c in range(context.number_of_connectors + 1)
            if (moment := self.profiles.next_change_after(c, now, context)) is not None
        ]
        self._update.at(self.ctx.clock.deadline(min(moments)) if moments else None)
        self._pushed_without_profiles = not self.profiles

    async def _push(self, now: datetime, context: ChargingContext) -> None:
        sink = self.ctx.host.energy
        for c in range(context.number_of_connectors + 1):
            amps = self.profiles.limit_at(c, now, context, ChargingRateUnitType.A)
            watts = self.profiles.limit_at(c, now, context, ChargingRateUnitType.W)
            if amps is None or watts is None:
                continue
            limit = (amps.value, watts.value) if amps.limited else (None, None)
            if self.pushed.get(c) == limit:
                continue
            self.pushed[c] = limit
            if sink is not None:
                await self.ctx.call_host("set a limit", sink.set_limit(c, *limit))
