"""SmartCharging through the engine: profiles set, persisted, cleared; limits pushed on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
import trio

from chargebox.actors.clock import StationClock
from chargebox.csms import CsmsSettings
from chargebox.ocpp import v16
from chargebox.ocpp.frames import CallError
from tests.support import make_host, running

SC = {"Core": {"NumberOfConnectors": 2}}


@attrs.define
class RecordingSink:
    limits: list[tuple[float, int, Decimal | None, Decimal | None]] = attrs.Factory(list)

    async def set_limit(self, connector_id, amps, watts):
        self.limits.append((trio.current_time(), connector_id, amps, watts))

    def of(self, connector_id):
        return [(t, a, w) for t, c, a, w in self.limits if c == connector_id]


def host_with_sink():
    host = make_host()
    host.energy = RecordingSink()
    return host


def profile(pid, purpose="TxDefaultProfile", periods=((0, 16),), start=None, **kw):
    return v16.ChargingProfile(
        charging_profile_id=pid,
        stack_level=kw.pop("stack_level", 0),
        charging_profile_purpose=purpose,
        charging_profile_kind=kw.pop("kind", "Absolute"),
        charging_schedule=v16.ChargingSchedule(
            charging_rate_unit=kw.pop("unit", "A"),
            start_schedule=start,
            charging_schedule_period=[
                v16.ChargingSchedulePeriod(start_period=s, limit=Decimal(str(limit)))
                for s, limit in periods
            ],
            duration=kw.pop("duration", None),
        ),
        **kw,
    )


async def test_limits_follow_a_schedule_to_the_second(tmp_path, autojump_clock):
    host = host_with_sink()
    async with running(tmp_path, host=host, **SC) as rig:
        session = await rig.session()
        now = rig.cp.clock.now()
        answer = await session.call(
            v16.SetChargingProfileRequest(
                connector_id=1,
                cs_charging_profiles=profile(1, periods=((0, 16), (3600, 8.5)), start=now),
            )
        )
        assert answer.status == "Accepted"
        await trio.sleep(7200)
        limits = host.energy.of(1)
        assert [entry[1:] for entry in limits] == [
            (None, None),  # at start: no profile, no limit
            (Decimal("16"), Decimal("11040")),  # 16 A x 230 V x 3 phases
            (Decimal("8.5"), Decimal("5865")),
        ]
        assert limits[2][0] - limits[1][0] == pytest.approx(3600, abs=0.01)


async def test_profiles_survive_a_restart_and_can_be_cleared(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data, **SC) as rig:
        session = await rig.session()
        answer = await session.call(
            v16.SetChargingProfileRequest(
                connector_id=0,
                cs_charging_profiles=profile(
                    7, purpose="ChargePointMaxProfile", periods=((0, 20),), start=rig.cp.clock.now()
                ),
            )
        )
        assert answer.status == "Accepted"
    host = host_with_sink()
    async with running(tmp_path, data_dir=data, host=host, **SC) as rig:
        session = await rig.session()
        composite = await session.call(
            v16.GetCompositeScheduleRequest(connector_id=0, duration=600, charging_rate_unit="A")
        )
        assert composite.status == "Accepted"
        assert composite.charging_schedule.charging_schedule_period[0].limit == Decimal("20")
        await rig.cp.wait_until(lambda: host.energy.of(0))
        assert host.energy.of(0)[-1][1] == Decimal("20")
        cleared = await session.call(v16.ClearChargingProfileRequest(id=7))
        assert cleared.status == "Accepted"
        again = await session.call(v16.ClearChargingProfileRequest(id=7))
        assert again.status == "Unknown"
        await rig.cp.wait_until(lambda: host.energy.of(0)[-1][1] is None)


async def test_tx_profile_needs_a_transaction_or_a_remote_start(tmp_path, autojump_clock):
    host = host_with_sink()
    core = {"NumberOfConnectors": 2, "AuthorizeRemoteTxRequests": False}
    async with running(tmp_path, host=host, Core=core) as rig:
        session = await rig.session()
        lonely = await session.call(
            v16.SetChargingProfileRequest(
                connector_id=1,
                cs_charging_profiles=profile(3, purpose="TxProfile", transaction_id=12345),
            )
        )
        assert lonely.status == "Rejected"
        start = await remote_start_with_tx_profile(session)
        assert start.status == "Accepted"
        await rig.evse.wait_for("authorize", 1, "APP")
        await rig.cp.transaction_started(1, meter_start=0)
        await rig.cp.wait_until(lambda: rig.cp.transaction_id(1) is not None)
        await rig.cp.wait_until(lambda: host.energy.of(1) and host.energy.of(1)[-1][1] == 10)
        # the TxProfile goes with its transaction
        await rig.cp.transaction_stopped(1, meter_stop=10)
        await rig.cp.wait_until(lambda: host.energy.of(1)[-1][1] is None)
        assert rig.cp.station.ctx.store.profiles is not None
        assert [pid for pid, _, _ in rig.cp.station.ctx.store.profiles()] == []
        # a RemoteStartTransaction with a profile that is not a TxProfile is refused
        refused = await session.call(
            v16.RemoteStartTransactionRequest(
                id_tag="APP", connector_id=2, charging_profile=profile(5, periods=((0, 10),))
            )
        )
        assert refused.status == "Rejected"


async def remote_start_with_tx_profile(session):
    """RemoteStartTransaction for APP on connector 1 carrying a 10 A TxProfile (id 4)."""
    return await session.call(
        v16.RemoteStartTransactionRequest(
            id_tag="APP",
            connector_id=1,
            charging_profile=profile(4, purpose="TxProfile", kind="Relative", periods=((0, 10),)),
        )
    )


async def _remote_start_with_tx_profile(rig):
    """RemoteStartTransaction on connector 1 carrying a 10 A TxProfile (id 4), and the
    transaction it starts."""
    session = await rig.session()
    start = await remote_start_with_tx_profile(session)
    assert start.status == "Accepted"
    await rig.evse.wait_for("authorize", 1, "APP")
    await rig.cp.transaction_started(1, meter_start=0)
    await rig.cp.wait_until(lambda: rig.cp.transaction_id(1) is not None)
    assert [pid for pid, _, _ in rig.cp.station.ctx.store.profiles()] == [4]


@pytest.mark.parametrize("ending", ["connection_timeout", "session_cancelled", "not_authorized"])
async def test_a_remote_start_profile_goes_when_no_transaction_starts(
    tmp_path, autojump_clock, ending
):
    host = host_with_sink()
    core = {
        "NumberOfConnectors": 2,
        "AuthorizeRemoteTxRequests": ending == "not_authorized",
        "ConnectionTimeOut": 30,
    }
    # with AuthorizeRemoteTxRequests, the Central System's own Authorize answer refuses APP
    settings = CsmsSettings(blocked_id_tags=frozenset({"APP"}))
    async with running(tmp_path, host=host, Core=core, csms_settings=settings) as rig:
        session = await rig.session()
        now = rig.cp.clock.now()
        default = v16.SetChargingProfileRequest(
            connector_id=1, cs_charging_profiles=profile(1, periods=((0, 16),), start=now)
        )
        assert (await session.call(default)).status == "Accepted"
        start = await remote_start_with_tx_profile(session)
        assert start.status == "Accepted"
        sc = rig.cp.station.features.smart_charging
        if ending == "not_authorized":
            await rig.csms.wait_for("Authorize")
        else:
            await rig.evse.wait_for("authorize", 1, "APP")
            assert sorted(item.id for item in sc.profiles.installed) == [1, 4]
        if ending == "connection_timeout":
            await trio.sleep(31)  # nobody plugs in within ConnectionTimeOut
        else:
            await rig.cp.session_started(1)
            await rig.cp.session_stopped(1)  # plugged in and out again, no transaction
        await rig.cp.wait_until(lambda: rig.cp.transaction_state(1) == "Idle")
        # no transaction came of it: its TxProfile goes, from memory and from the store
        assert [item.id for item in sc.profiles.installed] == [1]
        assert [pid for pid, _, _ in rig.cp.station.ctx.store.profiles()] == [1]
        # the next, unrelated transaction there has the default's 16 A, not the 10 A
        await rig.cp.token_presented("LOCAL", 1)
        await rig.evse.wait_for("authorize", 1, "LOCAL")
        await rig.cp.transaction_started(1, meter_start=0)
        await rig.cp.wait_until(lambda: rig.cp.transaction_id(1) is not None)
        await trio.sleep(5)
        assert host.energy.of(1)[-1][1] == 16
        composite = await session.call(
            v16.GetCompositeScheduleRequest(connector_id=1, duration=60, charging_rate_unit="A")
        )
        periods = composite.charging_schedule.charging_schedule_period
        assert [(p.start_period, p.limit) for p in periods] == [(0, 16)]


async def test_a_tx_profile_goes_with_a_transaction_stopped_by_power_loss(tmp_path, autojump_clock):
    data = tmp_path / "data"
    core = {"NumberOfConnectors": 2, "AuthorizeRemoteTxRequests": False}
    async with running(tmp_path, data_dir=data, Core=core) as rig:
        await _remote_start_with_tx_profile(rig)
    # power back: the interrupted transaction is stopped (PowerLoss), its TxProfile with it
    host = host_with_sink()
    async with running(tmp_path, data_dir=data, host=host, Core=core) as rig:
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.reason == "PowerLoss"
        assert [pid for pid, _, _ in rig.cp.station.ctx.store.profiles()] == []
        assert [item.id for item in rig.cp.station.features.smart_charging.profiles.installed] == []
        # the next, unrelated transaction on that connector is not limited by it
        await rig.cp.token_presented("LOCAL", 1)
        await rig.evse.wait_for("authorize", 1, "LOCAL")
        await rig.cp.transaction_started(1, meter_start=0)
        await rig.cp.wait_until(lambda: rig.cp.transaction_id(1) is not None)
        await trio.sleep(60)
        assert all(amps is None for _, amps, _ in host.energy.of(1))


async def test_a_tx_profile_stays_with_a_session_the_host_resumes(tmp_path, autojump_clock):
    data = tmp_path / "data"
    core = {"NumberOfConnectors": 2, "AuthorizeRemoteTxRequests": False}
    async with running(tmp_path, data_dir=data, Core=core) as rig:
        await _remote_start_with_tx_profile(rig)
    host = host_with_sink()
    host.system.resumable.add(1)
    async with running(tmp_path, data_dir=data, host=host, Core=core) as rig:
        assert rig.cp.transaction_id(1) is not None
        assert [pid for pid, _, _ in rig.cp.station.ctx.store.profiles()] == [4]
        await rig.cp.wait_until(lambda: host.energy.of(1) and host.energy.of(1)[-1][1] == 10)


async def test_stored_profiles_are_judged_again_at_start(tmp_path, autojump_clock):
    data = tmp_path / "data"
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    async with running(tmp_path, data_dir=data, clock=StationClock(start), **SC) as rig:
        session = await rig.session()
        now = rig.cp.clock.now()
        for request in (
            # stack level 5: valid today, not under a lower ChargeProfileMaxStackLevel
            v16.SetChargingProfileRequest(
                connector_id=2, cs_charging_profiles=profile(1, stack_level=5, start=now)
            ),
            # one hour long: over while the station is off
            v16.SetChargingProfileRequest(
                connector_id=1, cs_charging_profiles=profile(2, start=now, duration=3600)
            ),
            # valid until tomorrow: over while the station is off
            v16.SetChargingProfileRequest(
                connector_id=1,
                cs_charging_profiles=profile(
                    3, stack_level=1, start=now, valid_to=now + timedelta(days=1)
                ),
            ),
            # stays
            v16.SetChargingProfileRequest(
                connector_id=2, cs_charging_profiles=profile(8, stack_level=2, start=now)
            ),
        ):
            assert (await session.call(request)).status == "Accepted"
    later = StationClock(start + timedelta(days=2))
    async with running(
        tmp_path,
        data_dir=data,
        clock=later,
        SmartCharging={"ChargeProfileMaxStackLevel": 3},
        **SC,
    ) as rig:
        assert [pid for pid, _, _ in rig.cp.station.ctx.store.profiles()] == [8]
        installed = rig.cp.station.features.smart_charging.profiles.installed
        assert [item.id for item in installed] == [8]


async def test_composite_and_errors(tmp_path, autojump_clock):
    async with running(tmp_path, **SC) as rig:
        session = await rig.session()
        bad = await session.call(v16.GetCompositeScheduleRequest(connector_id=9, duration=60))
        assert bad.status == "Rejected"
        unknown = await session.call_raw(
            "SetChargingProfile",
            {
                "connectorId": 9,
                "csChargingProfiles": {
                    "chargingProfileId": 1,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "chargingProfileKind": "Relative",
                    "chargingSchedule": {
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}],
                    },
                },
            },
        )
        # errata 3.39: a connector that does not exist is a CALLERROR
        assert isinstance(unknown, CallError)
        assert unknown.error_code == "PropertyConstraintViolation"
        start = rig.cp.clock.now() + timedelta(hours=1)
        later = await session.call(
            v16.SetChargingProfileRequest(
                connector_id=2, cs_charging_profiles=profile(2, periods=((0, 12),), start=start)
            )
        )
        assert later.status == "Accepted"
        composite = await session.call(
            v16.GetCompositeScheduleRequest(connector_id=2, duration=7200, charging_rate_unit="A")
        )
        periods = composite.charging_schedule.charging_schedule_period
        assert [(p.start_period, p.limit) for p in periods][-1] == (3600, Decimal("12"))
