"""LocalAuthListManagement profile: SendLocalList and GetLocalListVersion, every answer status."""

from __future__ import annotations

from chargebox.csms import CsmsSettings
from chargebox.ocpp import v16
from chargebox.ocpp.frames import CallError
from tests.support import running

SMALL = {"LocalAuthListManagement": {"SendLocalListMaxLength": 3, "LocalAuthListMaxLength": 4}}


def entry(id_tag, status="Accepted", parent=None):
    info = None if status is None else v16.IdTagInfo(status=status, parent_id_tag=parent)
    return v16.AuthorizationData(id_tag=id_tag, id_tag_info=info)


async def send(session, version, update_type, *entries):
    answer = await session.call(
        v16.SendLocalListRequest(
            list_version=version,
            update_type=update_type,
            local_authorization_list=list(entries) if entries else None,
        )
    )
    return str(answer.status)


async def version(session):
    return (await session.call(v16.GetLocalListVersionRequest())).list_version


async def test_full_and_differential_updates_and_their_versions(tmp_path, autojump_clock):
    async with running(tmp_path, **SMALL) as rig:
        store = rig.cp.station.ctx.store
        session = await rig.session()
        assert await version(session) == 0  # empty
        assert await send(session, 5, "Full", entry("A"), entry("B", "Blocked")) == "Accepted"
        assert await version(session) == 5
        # differential: C added, A updated, B removed (no idTagInfo)
        assert (
            await send(
                session, 6, "Differential", entry("C"), entry("A", "Expired"), entry("B", None)
            )
            == "Accepted"
        )
        assert await version(session) == 6
        assert store.local_get("A")["status"] == "Expired"
        assert store.local_get("B") is None and store.local_get("C")["status"] == "Accepted"
        # a differential without a list changes only the version
        assert await send(session, 7, "Differential") == "Accepted"
        assert await version(session) == 7 and store.local_count() == 2
        # a full update replaces everything; an empty one empties the list (version 0)
        assert await send(session, 8, "Full", entry("Z")) == "Accepted"
        assert store.local_get("A") is None and store.local_get("z") is not None
        assert await send(session, 9, "Full") == "Accepted"
        assert await version(session) == 0 and store.local_count() == 0


async def test_a_differential_update_must_be_newer(tmp_path, autojump_clock):
    async with running(tmp_path, **SMALL) as rig:
        session = await rig.session()
        assert await send(session, 5, "Full", entry("A")) == "Accepted"
        assert await send(session, 5, "Differential", entry("B")) == "VersionMismatch"
        assert await send(session, 4, "Differential", entry("B")) == "VersionMismatch"
        # a full update may go back to any version
        assert await send(session, 2, "Full", entry("A")) == "Accepted"
        assert await version(session) == 2
        assert rig.cp.station.ctx.store.local_get("B") is None


async def test_updates_that_fail_change_nothing(tmp_path, autojump_clock):
    async with running(tmp_path, **SMALL) as rig:
        store = rig.cp.station.ctx.store
        session = await rig.session()
        assert await send(session, 1, "Full", entry("A"), entry("B"), entry("C")) == "Accepted"
        failing = [
            # more entries than SendLocalListMaxLength (3)
            (2, "Full", [entry(t) for t in "DEFG"]),
            # the list would hold 5 > LocalAuthListMaxLength (4)
            (2, "Differential", [entry("D"), entry("E")]),
            # the same idTag twice (idTags are case-insensitive)
            (2, "Full", [entry("D"), entry("d")]),
            # a full list needs every idTagInfo
            (2, "Full", [entry("D", None)]),
            # 0 and -1 have special meanings (errata 3.52)
            (0, "Full", [entry("D")]),
            (-1, "Full", [entry("D")]),
        ]
        for list_version, update_type, entries in failing:
            assert await send(session, list_version, update_type, *entries) == "Failed", entries
        assert await version(session) == 1 and store.local_count() == 3
        # replacing one and adding one stays within 4
        assert (
            await send(session, 2, "Differential", entry("A", None), entry("D"), entry("E"))
            == "Accepted"
        )
        assert store.local_count() == 4


async def test_not_supported_while_disabled(tmp_path, autojump_clock):
    async with running(tmp_path, LocalAuthListManagement={"LocalAuthListEnabled": False}) as rig:
        session = await rig.session()
        assert await send(session, 1, "Full", entry("A")) == "NotSupported"
        assert await version(session) == -1
        change = await session.call(
            v16.ChangeConfigurationRequest(key="LocalAuthListEnabled", value="true")
        )
        assert change.status == "Accepted"
        assert await send(session, 1, "Full", entry("A")) == "Accepted"
        assert await version(session) == 1
    profiles = {"Core": {"SupportedFeatureProfiles": "Core"}}
    async with running(tmp_path, **profiles) as rig:
        session = await rig.session()
        answer = await session.call_raw("GetLocalListVersion", {})
        assert isinstance(answer, CallError) and answer.error_code == "NotSupported"


async def test_the_list_survives_a_restart(tmp_path, autojump_clock):
    data = tmp_path / "data"
    async with running(tmp_path, data_dir=data) as rig:
        session = await rig.session()
        assert await send(session, 3, "Full", entry("KEEP", "Blocked")) == "Accepted"
    async with running(tmp_path, data_dir=data) as rig:
        session = await rig.session()
        assert await version(session) == 3
        assert rig.cp.station.ctx.store.local_get("KEEP")["status"] == "Blocked"


async def test_the_list_takes_precedence_over_the_cache(tmp_path, autojump_clock):
    # the CSMS would accept everyone: what the list says decides, and it is not cached
    core = {"AuthorizationCacheEnabled": True, "LocalPreAuthorize": True}
    async with running(tmp_path, csms_settings=CsmsSettings(), Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        store = cp.station.ctx.store
        session = await rig.session()
        store.cache_put("LISTED", {"status": "Blocked"}, cp.clock.now())
        assert (
            await send(session, 1, "Full", entry("LISTED"), entry("BANNED", "Blocked"))
            == "Accepted"
        )
        await cp.token_presented("BANNED", 1)
        # the authorization is decided in a task of the transaction actor's own
        await cp.wait_until(lambda: cp.transaction_state(1) != "Authorizing")
        assert cp.transaction_state(1) == "Idle"
        await cp.token_presented("LISTED", 1)
        await rig.evse.wait_for("authorize", 1, "LISTED")
        # both decided from the list, without Authorize.req
        assert csms.received("CP-1", "Authorize") == []
        await cp.transaction_started(1, meter_start=0)
        await csms.wait_for("StartTransaction")
        await cp.wait_until(lambda: cp.transaction_id(1) is not None)
        # the StartTransaction.conf's idTagInfo did not go to the cache (spec 3.5.3)
        assert store.cache_get("LISTED") == {"status": "Blocked"}
