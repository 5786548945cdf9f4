"""Core profile: the Central System's Core operations, answered from the actors' charts.

Each handler decides its answer from the current states (read, never written,
here) and then sends the triggers that make the charts act: the behaviour
itself is in the charts. Handlers answer at once; whatever takes longer
(stopping transactions before a Reset, say) continues in the background.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from chargebox.charts.effects import CancelTimer, StartTimer, Trigger
from chargebox.charts.models.connector import SESSION_STATUSES
from chargebox.charts.models.transaction import SAMPLE
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
from chargebox.station.host import ResetKind, UnlockResult

if TYPE_CHECKING:
    from chargebox.station.station import Station

log = logging.getLogger(__name__)

# statuses in which a connector can take a new user
_FREE = frozenset({"Available", "Preparing"})


def install(station: Station) -> None:
    core = Core(station)
    station.handlers.update(
        {
            "ChangeAvailability": core.change_availability,
            "ChangeConfiguration": core.change_configuration,
            "ClearCache": core.clear_cache,
            "DataTransfer": core.data_transfer,
            "GetConfiguration": core.get_configuration,
            "RemoteStartTransaction": core.remote_start_transaction,
            "RemoteStopTransaction": core.remote_stop_transaction,
            "Reset": core.reset,
            "UnlockConnector": core.unlock_connector,
        }
    )
    station.core = core  # type: ignore[attr-defined]


class Core:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.cfg = station.cfg

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
            self.station.ctx.spawn(self._apply, result, name="apply configuration")
        return v16.ChangeConfigurationResponse(status=str(result.status))

    def _security_prerequisites(self, profile: int) -> str | None:
        """Why the station cannot use `profile` now, or None (whitepaper A05.FR.03/04).
        The TLS files are those the link would use (the certificate store's first)."""
        from chargebox.station.link import tls_settings

        tls = tls_settings(self.station.ctx)
        if profile >= 2 and tls.ca_file is None and not tls.use_default_verify_paths:
            return (
                f"profile {profile} needs the Central System's root certificate, "
                "and none is installed"
            )
        if profile == 3 and (tls.client_cert is None or tls.client_key is None):
            return "profile 3 needs a client certificate and key, and none is installed"
        return None

    async def _apply(self, result: Any) -> None:
        from chargebox.config.spec import Effect

        st = self.station
        cfg = self.cfg
        effect = result.effect
        await trio.sleep(0)  # let the answer go first
        if effect is Effect.REARM_HEARTBEAT:
            await st.deliver(
                "link", Trigger("heartbeat_interval_changed", {"interval": cfg.heartbeat_interval})
            )
        elif effect is Effect.REARM_SAMPLED_METER_VALUES:
            # the sample timer of each running transaction starts over with the new interval
            # (no sample at the change itself); 0 disarms it
            interval = cfg.meter_value_sample_interval
            rearm = StartTimer(SAMPLE, seconds=interval) if interval > 0 else CancelTimer(SAMPLE)
            for tx in st.transactions.values():
                tx.refresh_inputs()
                if tx.active:
                    await tx.perform(rearm)
        elif effect is Effect.REARM_ALIGNED_METER_VALUES:
            st.rearm_aligned()
        elif effect is Effect.TRANSACTION_RETRY:
            st.outbox.apply_settings()
        elif effect is Effect.CONNECTION_TIMEOUT:
            for tx in st.transactions.values():
                tx.refresh_inputs()
            port = st.host.authorization
            if port is not None:
                await st.ctx.call_host(
                    "set the connection timeout",
                    port.set_connection_timeout(cfg.connection_timeout),
                )
        elif effect is Effect.SECURITY_PROFILE:
            await st.deliver(
                "link", Trigger("security_profile_changed", {"security_profile": result.value})
            )
        elif effect is Effect.AUTHORIZATION_KEY:
            if st.link.model.security_profile in (1, 2):
                # the new password applies to the next connection: reconnect now
                await st.deliver("link", Trigger("reconnect"))
        elif effect is Effect.RETRY_BACKOFF:
            st.link.apply_backoff_settings()
        elif effect is Effect.PING_INTERVAL:
            st.link.ping_settings_changed()
        for tx in st.transactions.values():
            tx.refresh_inputs()

    # -- availability ---------------------------------------------------------------------

    async def change_availability(self, req: v16.ChangeAvailabilityRequest) -> Any:
        st = self.station
        c = req.connector_id
        if c != 0 and c not in st.connectors:
            return v16.ChangeAvailabilityResponse(status=AvailabilityStatus.Rejected)
        operative = req.type == AvailabilityType.Operative
        targets = list(st.connectors) if c == 0 else [c]
        if not operative and any(st.connectors[t].model.state == "Preparing" for t in targets):
            # no Preparing -> Unavailable in the spec's table (4.9), nor a transaction to wait for
            return v16.ChangeAvailabilityResponse(status=AvailabilityStatus.Rejected)
        busy = any(
            st.connectors[t].model.state in SESSION_STATUSES
            or (
                st.connectors[t].model.state == "Faulted"
                and st.connectors[t].model.before_fault in SESSION_STATUSES
            )
            for t in targets
        )
        for key in [0, *targets] if c == 0 else [c]:
            st.ctx.store.set_operative(key, operative)
        trigger = Trigger("become_operative" if operative else "become_inoperative")
        if c == 0:
            await st.deliver("connector/0", trigger)
        for t in targets:
            await st.deliver(f"connector/{t}", trigger)
        status = (
            AvailabilityStatus.Scheduled if busy and not operative else AvailabilityStatus.Accepted
        )
        return v16.ChangeAvailabilityResponse(status=status)

    # -- authorization cache ----------------------------------------------------------------

    async def clear_cache(self, req: v16.ClearCacheRequest) -> Any:
        if not self.cfg.get("AuthorizationCacheEnabled", False):
            return v16.ClearCacheResponse(status=ClearCacheStatus.Rejected)
        self.station.ctx.store.cache_clear()
        return v16.ClearCacheResponse(status=ClearCacheStatus.Accepted)

    # -- DataTransfer ---------------------------------------------------------------------

    async def data_transfer(self, req: v16.DataTransferRequest) -> Any:
        port = self.station.host.data_transfer
        if port is None:
            return v16.DataTransferResponse(status=DataTransferStatus.UnknownVendorId)
        answer = await self.station.ctx.call_host(
            "answer DataTransfer", port.data_transfer(req.vendor_id, req.message_id, req.data)
        )
        if answer is None:
            return v16.DataTransferResponse(status=DataTransferStatus.Rejected)
        status, data = answer
        return v16.DataTransferResponse(status=str(status), data=data)

    # -- transactions ---------------------------------------------------------------------

    def _remote_start_connector(self, req: v16.RemoteStartTransactionRequest) -> int | None:
        st = self.station
        reservations = getattr(st, "reservations", None)
        if req.connector_id is not None:
            candidates = [req.connector_id]
        else:
            candidates = list(st.connectors)
            reserved = reservations.reserved_connector_for(req.id_tag) if reservations else None
            if reserved is not None:
                # the idTag's own reservation first, so that it is used rather than left waiting
                candidates.remove(reserved)
                candidates.insert(0, reserved)
        for c in candidates:
            connector = st.connectors.get(c)
            if connector is None or c == 0:
                continue
            state = connector.model.state
            tx = st.transactions[c]
            if tx.active or tx.pending:
                continue
            # a Reserved connector only for its reservation's identity (spec 5.13)
            if (state in _FREE or state == "Reserved") and (
                reservations is None or reservations.admit_now(c, req.id_tag).allowed
            ):
                return c
        return None

    async def remote_start_transaction(self, req: v16.RemoteStartTransactionRequest) -> Any:
        st = self.station
        if st.link.model.state != "Accepted":
            # registration Pending: remote start and stop are refused (spec 4.2.1)
            return v16.RemoteStartTransactionResponse(status=RemoteStartStopStatus.Rejected)
        c = self._remote_start_connector(req)
        if c is None:
            return v16.RemoteStartTransactionResponse(status=RemoteStartStopStatus.Rejected)
        profile = req.charging_profile
        if profile is not None:
            # only a TxProfile may come with RemoteStartTransaction (spec 5.11)
            sc = getattr(st, "smart_charging", None)
            if (
                profile.charging_profile_purpose != "TxProfile"
                or "SmartCharging" not in self.cfg.supported_feature_profiles
                or sc is None
                or not sc.accept_remote_start_profile(c, profile)
            ):
                return v16.RemoteStartTransactionResponse(status=RemoteStartStopStatus.Rejected)
        params: dict[str, Any] = {"id_tag": req.id_tag}
        reservations = getattr(st, "reservations", None)
        if reservations is not None:
            params.update(reservations.admit_now(c, req.id_tag).params)
        await st.deliver(f"transaction/{c}", Trigger("remote_start", params))
        return v16.RemoteStartTransactionResponse(status=RemoteStartStopStatus.Accepted)

    async def remote_stop_transaction(self, req: v16.RemoteStopTransactionRequest) -> Any:
        st = self.station
        if st.link.model.state != "Accepted":
            return v16.RemoteStopTransactionResponse(status=RemoteStartStopStatus.Rejected)
        for c, tx in st.transactions.items():
            if tx.active and tx.model.transaction_id == req.transaction_id:
                await st.deliver(
                    f"transaction/{c}", Trigger("stop_requested", {"reason": "Remote"})
                )
                return v16.RemoteStopTransactionResponse(status=RemoteStartStopStatus.Accepted)
        return v16.RemoteStopTransactionResponse(status=RemoteStartStopStatus.Rejected)

    # -- reset ----------------------------------------------------------------------------

    async def reset(self, req: v16.ResetRequest) -> Any:
        st = self.station
        system = st.host.system
        if system is None or not hasattr(system, "reset"):
            return v16.ResetResponse(status=ResetStatus.Rejected)
        kind = ResetKind(str(req.type))
        st.ctx.spawn(self._reset, kind, name="Reset")
        return v16.ResetResponse(status=ResetStatus.Accepted)

    async def _reset(self, kind: ResetKind) -> None:
        """Stop every transaction (SoftReset/HardReset), wait for their StopTransaction.conf
        up to WaitForStopTransactionsOnResetTimeout, then let the host reset."""
        st = self.station
        reason = "SoftReset" if kind is ResetKind.Soft else "HardReset"
        for c, tx in st.transactions.items():
            if tx.active:
                await st.deliver(f"transaction/{c}", Trigger("stop_requested", {"reason": reason}))
        timeout = self.cfg.get("WaitForStopTransactionsOnResetTimeout", 60)
        with trio.move_on_after(timeout):
            while any(tx.active for tx in st.transactions.values()) or any(
                m.action == "StopTransaction" for m in st.ctx.store.queued()
            ):
                await st.progress.wait()
        st.security_event("ResetOrReboot", f"{kind} reset requested by the Central System")
        await st.ctx.call_host("reset", st.host.system.reset(kind))

    # -- unlock ---------------------------------------------------------------------------

    async def unlock_connector(self, req: v16.UnlockConnectorRequest) -> Any:
        st = self.station
        c = req.connector_id
        evse = st.host.evse
        if c not in st.connectors:
            return v16.UnlockConnectorResponse(status=UnlockStatus.NotSupported)
        tx = st.transactions[c]
        can_unlock = hasattr(evse, "unlock")
        stop_first = can_unlock or self.cfg.get("StopTransactionIfUnlockNotSupported", False)
        if tx.active and stop_first:
            await st.deliver(
                f"transaction/{c}", Trigger("stop_requested", {"reason": "UnlockCommand"})
            )
            await st.settle(f"transaction/{c}")  # its stop command is queued before the unlock
        if not can_unlock:
            return v16.UnlockConnectorResponse(status=UnlockStatus.NotSupported)
        result = await st.ctx.host_in_order("unlock", lambda: evse.unlock(c))
        if result is None:
            return v16.UnlockConnectorResponse(status=UnlockStatus.UnlockFailed)
        return v16.UnlockConnectorResponse(status=str(UnlockResult(result)))


def _limit(value: str | None) -> str | None:
    # KeyValue.value is CiString500
    if value is not None and len(value) > 500:
        log.warning("a configuration value longer than 500 characters is cut for GetConfiguration")
        return value[:500]
    return value
