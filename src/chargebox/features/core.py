"""Core profile: the Central System's Core operations, answered from the actors' charts.

What needs the state of several actors (ChangeAvailability,
RemoteStartTransaction, RemoteStopTransaction, Reset) is the station's chart
to decide (statecharts/station.yaml): the handler asks the station's actor
with the request's typed event and turns its verdict into the response.
Handlers answer at once; whatever takes longer (stopping transactions before a
Reset, say) continues in the station's chart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import trio

from chargebox.actors.assembly import Actors
from chargebox.actors.context import StationContext
from chargebox.actors.link import backoff_settings, tls_settings
from chargebox.actors.messages import AskFailed
from chargebox.actors.outbox import retry_settings
from chargebox.actors.transaction import configured_inputs
from chargebox.charts.addresses import Address
from chargebox.charts.events import link as link_events
from chargebox.charts.events import station as station_events
from chargebox.charts.events.transaction import (
    ConnectionTimeoutChanged,
    SampleIntervalChanged,
    StopRequested,
)
from chargebox.charts.models.station import Verdict
from chargebox.config.spec import Effect
from chargebox.features import Handler
from chargebox.features.pnc import PlugAndCharge
from chargebox.features.smartcharging import SmartCharging
from chargebox.host import UnlockResult
from chargebox.ocpp import v16
from chargebox.ocpp.v16 import (
    AvailabilityStatus,
    AvailabilityType,
    ClearCacheStatus,
    ConfigurationStatus,
    DataTransferStatus,
    RemoteStartStopStatus,
    ResetStatus,
    UnlockStatus,
)

log = logging.getLogger(__name__)


class Core:
    """The Core profile. `smart_charging` takes the TxProfile of a RemoteStartTransaction;
    `rearm_aligned` starts the clock-aligned meter values over; `plug_and_charge` answers
    the Plug&Charge DataTransfers."""

    def __init__(
        self,
        ctx: StationContext,
        actors: Actors,
        *,
        smart_charging: SmartCharging,
        rearm_aligned: Callable[[], None],
        plug_and_charge: PlugAndCharge | None = None,
    ) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.actors = actors
        self.smart_charging = smart_charging
        self.rearm_aligned = rearm_aligned
        self.plug_and_charge = plug_and_charge

    def handlers(self) -> dict[str, Handler]:
        return {
            "ChangeAvailability": self.change_availability,
            "ChangeConfiguration": self.change_configuration,
            "ClearCache": self.clear_cache,
            "DataTransfer": self.data_transfer,
            "GetConfiguration": self.get_configuration,
            "RemoteStartTransaction": self.remote_start_transaction,
            "RemoteStopTransaction": self.remote_stop_transaction,
            "Reset": self.reset,
            "UnlockConnector": self.unlock_connector,
        }

    def _connector_ids(self) -> range:
        return range(1, self.cfg.number_of_connectors + 1)

    # -- configuration --------------------------------------------------------------------

    async def get_configuration(self, req: v16.GetConfigurationRequest) -> Any:
        report = self.cfg.get_configuration(list(req.key) if req.key else None)
        return v16.GetConfigurationResponse(
            configuration_key=[
                v16.KeyValue(key=kv.key, readonly=kv.readonly, value=_limit(kv.value))
                for kv in report.configuration_key
            ]
            or None,
            unknown_key=list(report.unknown_key) or None,
        )

    async def change_configuration(self, req: v16.ChangeConfigurationRequest) -> Any:
        result = self.cfg.change_configuration(
            req.key, req.value, security_prerequisites=self._security_prerequisites
        )
        if result.status in (ConfigurationStatus.Rejected, ConfigurationStatus.NotSupported):
            log.warning("ChangeConfiguration %s: %s (%s)", result.key, result.status, result.reason)
        elif result.effect is not None or result.status == ConfigurationStatus.Accepted:
            # after the answer: the change takes effect at once (a key without an effect may
            # still be one the transaction chart's guards read, such as AuthorizeRemoteTxRequests)
            self.ctx.spawn(self._apply, result, name="apply configuration")
        return v16.ChangeConfigurationResponse(status=str(result.status))

    def _security_prerequisites(self, profile: int) -> str | None:
        """Why the station cannot use `profile` now, or None (whitepaper A05.FR.03/04).
        The TLS files are those the link would use (the certificate store's first)."""
        tls = tls_settings(self.ctx)
        if profile >= 2 and tls.ca_file is None and not tls.use_default_verify_paths:
            return (
                f"profile {profile} needs the Central System's root certificate, "
                "and none is installed"
            )
        if profile == 3 and (tls.client_cert is None or tls.client_key is None):
            return "profile 3 needs a client certificate and key, and none is installed"
        return None

    async def _apply(self, result: Any) -> None:
        """What an accepted change does besides being read the next time: an event for the
        chart that must act on it, or the new inputs of the charts that read it."""
        actors = self.actors
        cfg = self.cfg
        effect = result.effect
        await trio.sleep(0)  # let the answer go first
        if effect is Effect.REARM_HEARTBEAT:
            await actors.deliver(
                Address.link(),
                link_events.HeartbeatIntervalChanged(interval=cfg.heartbeat_interval),
            )
        elif effect is Effect.REARM_SAMPLED_METER_VALUES:
            changed = SampleIntervalChanged(interval=cfg.meter_value_sample_interval)
            for c in actors.transactions:
                await actors.deliver(Address.transaction(c), changed)
        elif effect is Effect.REARM_ALIGNED_METER_VALUES:
            self.rearm_aligned()
        elif effect is Effect.TRANSACTION_RETRY:
            await actors.deliver(Address.outbox(), retry_settings(cfg))
        elif effect is Effect.CONNECTION_TIMEOUT:
            timeout = ConnectionTimeoutChanged(seconds=cfg.connection_timeout)
            for c in actors.transactions:
                await actors.deliver(Address.transaction(c), timeout)
            port = self.ctx.host.authorization
            if port is not None:
                await self.ctx.call_host(
                    "set the connection timeout",
                    port.set_connection_timeout(cfg.connection_timeout),
                )
        elif effect is Effect.SECURITY_PROFILE:
            await actors.deliver(
                Address.link(), link_events.SecurityProfileChanged(security_profile=result.value)
            )
        elif effect is Effect.AUTHORIZATION_KEY:
            # the change is logged (A01.FR.11), never the key itself (A01.FR.12)
            self.ctx.security_event(
                "ReconfigurationOfSecurityParameters", "AuthorizationKey changed"
            )
            if actors.link.model.security_profile in (1, 2):
                # the new password applies to the next connection: reconnect now
                await actors.deliver(Address.link(), link_events.Reconnect())
        elif effect is Effect.RETRY_BACKOFF:
            await actors.deliver(Address.link(), backoff_settings(cfg))
        elif effect is Effect.PING_INTERVAL:
            await actors.deliver(
                Address.link(),
                link_events.PingIntervalChanged(interval=cfg.websocket_ping_interval),
            )
        elif (
            effect in (Effect.ISO15118_CERTIFICATE_MANAGEMENT, Effect.OCSP_REQUEST_INTERVAL)
            and self.plug_and_charge is not None
        ):
            await self.plug_and_charge.configuration_changed(effect)
        # a key without an effect may still be one the transaction chart's guards read
        # (AuthorizeRemoteTxRequests, say)
        inputs = configured_inputs(cfg)
        for c in actors.transactions:
            await actors.set_inputs(Address.transaction(c), inputs)

    # -- availability ---------------------------------------------------------------------

    async def _decide(self, event: station_events.StationEvent) -> Verdict:
        """The station's verdict on a request (Rejected while the station reboots)."""
        try:
            answer = await self.actors.ask(Address.station(), event)
        except AskFailed as failed:
            raise failed.error from failed.error.__cause__
        if not answer.allowed:
            return Verdict("Rejected")
        verdict: Verdict = answer.reply
        return verdict

    async def change_availability(self, req: v16.ChangeAvailabilityRequest) -> Any:
        verdict = await self._decide(
            station_events.ChangeAvailability(
                connector_id=req.connector_id, operative=req.type == AvailabilityType.Operative
            )
        )
        return v16.ChangeAvailabilityResponse(status=AvailabilityStatus(verdict.status))

    # -- authorization cache ----------------------------------------------------------------

    async def clear_cache(self, req: v16.ClearCacheRequest) -> Any:
        if not self.cfg.get("AuthorizationCacheEnabled", False):
            return v16.ClearCacheResponse(status=ClearCacheStatus.Rejected)
        self.ctx.store.cache_clear()
        return v16.ClearCacheResponse(status=ClearCacheStatus.Accepted)

    # -- DataTransfer ---------------------------------------------------------------------

    async def data_transfer(self, req: v16.DataTransferRequest) -> Any:
        if self.plug_and_charge is not None:
            answer = await self.plug_and_charge.data_transfer(req)
            if answer is not None:
                return answer
        port = self.ctx.host.data_transfer
        if port is None:
            return v16.DataTransferResponse(status=DataTransferStatus.UnknownVendorId)
        answer = await self.ctx.call_host(
            "answer DataTransfer", port.data_transfer(req.vendor_id, req.message_id, req.data)
        )
        if answer is None:
            return v16.DataTransferResponse(status=DataTransferStatus.Rejected)
        status, data = answer
        return v16.DataTransferResponse(status=str(status), data=data)

    # -- transactions ---------------------------------------------------------------------

    async def remote_start_transaction(self, req: v16.RemoteStartTransactionRequest) -> Any:
        profile = req.charging_profile
        c = req.connector_id
        if profile is not None:
            # the connector first: the TxProfile is installed on it (spec 5.11: only a
            # TxProfile may come with RemoteStartTransaction)
            chosen = await self._decide(
                station_events.RemoteStartConnector(id_tag=req.id_tag, connector_id=c)
            )
            c = chosen.connector_id
            if (
                c is None
                or profile.charging_profile_purpose != "TxProfile"
                or "SmartCharging" not in self.cfg.supported_feature_profiles
                or not self.smart_charging.accept_remote_start_profile(c, profile)
            ):
                return v16.RemoteStartTransactionResponse(status=RemoteStartStopStatus.Rejected)
        verdict = await self._decide(station_events.RemoteStart(id_tag=req.id_tag, connector_id=c))
        if profile is not None and verdict.status != RemoteStartStopStatus.Accepted:
            assert c is not None
            self.smart_charging.drop_remote_start_profile(c)
        return v16.RemoteStartTransactionResponse(status=RemoteStartStopStatus(verdict.status))

    async def remote_stop_transaction(self, req: v16.RemoteStopTransactionRequest) -> Any:
        verdict = await self._decide(station_events.RemoteStop(transaction_id=req.transaction_id))
        return v16.RemoteStopTransactionResponse(status=RemoteStartStopStatus(verdict.status))

    # -- reset ----------------------------------------------------------------------------

    async def reset(self, req: v16.ResetRequest) -> Any:
        """Accepted: the station's chart stops every transaction, waits for them (at most
        WaitForStopTransactionsOnResetTimeout) and has the host reset."""
        verdict = await self._decide(station_events.Reset(kind=str(req.type)))
        return v16.ResetResponse(status=ResetStatus(verdict.status))

    # -- unlock ---------------------------------------------------------------------------

    async def unlock_connector(self, req: v16.UnlockConnectorRequest) -> Any:
        actors = self.actors
        c = req.connector_id
        evse = self.ctx.host.evse
        if c not in actors.connectors:
            return v16.UnlockConnectorResponse(status=UnlockStatus.NotSupported)
        tx = actors.transactions[c]
        can_unlock = hasattr(evse, "unlock")
        stop_first = can_unlock or self.cfg.get("StopTransactionIfUnlockNotSupported", False)
        if tx.active and stop_first:
            await actors.deliver(Address.transaction(c), StopRequested(reason="UnlockCommand"))
            # its stop command is queued before the unlock
            await actors.settle(Address.transaction(c))
        if not can_unlock:
            return v16.UnlockConnectorResponse(status=UnlockStatus.NotSupported)
        result = await self.ctx.host_in_order("unlock", lambda: evse.unlock(c))
        if result is None:
            return v16.UnlockConnectorResponse(status=UnlockStatus.UnlockFailed)
        return v16.UnlockConnectorResponse(status=str(UnlockResult(result)))


def _limit(value: str | None) -> str | None:
    # KeyValue.value is CiString500
    if value is not None and len(value) > 500:
        log.warning("a configuration value longer than 500 characters is cut for GetConfiguration")
        return value[:500]
    return value
