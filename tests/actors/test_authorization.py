"""Authorization rules (spec 3.5, 3.10): expiry, LocalPreAuthorize, LocalAuthorizeOffline,
AllowOfflineTxForUnknownId, stopping by a group's idTag, and the cache fed by every idTagInfo."""

from __future__ import annotations

from datetime import timedelta

import pytest
import trio

from chargebox.csms import CentralSystem, CsmsSettings
from chargebox.csms.handlers import id_tag_info, start_transaction
from chargebox.ocpp import v16
from tests.support import CSMS_ADDRESS, running

CACHE = {"AuthorizationCacheEnabled": True}


async def present(rig, id_tag, connector_id=1):
    """Present an idTag at a connector; True when the engine authorized it for the host."""
    cp = rig.cp
    await cp.token_presented(id_tag, connector_id)
    state = await cp.wait_until(
        lambda: (s := cp.transaction_state(connector_id)) != "Authorizing" and s
    )
    authorized = state == "Authorized"
    if authorized:
        await rig.evse.wait_for("authorize", connector_id, id_tag)
        await cp.session_stopped(connector_id)  # the driver walks away: ready for the next one
        rig.evse.calls.clear()
    return authorized


def authorize_requests(rig):
    return [a.id_tag for a in rig.csms.received("CP-1", "Authorize")]


async def go_offline(rig):
    rig.net.unlisten(*CSMS_ADDRESS)
    await rig.cut()
    await rig.cp.wait_until(lambda: not rig.cp.registered)


async def go_online(rig):
    rig.net.listen(*CSMS_ADDRESS, rig.csms)
    await rig.cp.wait_until(lambda: rig.cp.registered)


def expiring_in(seconds):
    """An Authorize handler whose idTagInfo expires `seconds` from the CSMS's now."""

    def handler(session, request):
        info = id_tag_info(session, request.id_tag)
        expiry = session.csms.clock() + timedelta(seconds=seconds)
        return v16.AuthorizeResponse(
            id_tag_info=v16.IdTagInfo(
                status=info.status, parent_id_tag=info.parent_id_tag, expiry_date=expiry
            )
        )

    return handler


async def send_local_list(rig, *entries):
    session = await rig.session()
    answer = await session.call(
        v16.SendLocalListRequest(
            list_version=1, update_type="Full", local_authorization_list=list(entries)
        )
    )
    assert answer.status == "Accepted"


def entry(id_tag, status="Accepted", expiry=None, parent=None):
    info = v16.IdTagInfo(status=status, expiry_date=expiry, parent_id_tag=parent)
    return v16.AuthorizationData(id_tag=id_tag, id_tag_info=info)


# -- expiry ------------------------------------------------------------------------------


async def test_an_expired_cache_entry_is_checked_with_the_central_system(tmp_path, autojump_clock):
    core = {**CACHE, "LocalPreAuthorize": True}
    async with running(tmp_path, Core=core) as rig:
        rig.csms.on("Authorize", expiring_in(600))
        assert await present(rig, "TAG-E")
        assert authorize_requests(rig) == ["TAG-E"]
        cached = rig.cp.station.ctx.store.cache_get("TAG-E")
        assert cached["status"] == "Accepted" and cached["expiryDate"]
        # still valid: the cache authorizes without Authorize.req (LocalPreAuthorize)
        assert await present(rig, "TAG-E")
        assert authorize_requests(rig) == ["TAG-E"]
        # expired: not used; the Central System is asked again (spec 3.5.1)
        await trio.sleep(700)
        assert await present(rig, "TAG-E")
        assert authorize_requests(rig) == ["TAG-E", "TAG-E"]


async def test_an_expired_cache_entry_is_refused_offline(tmp_path, autojump_clock):
    core = {**CACHE, "LocalAuthorizeOffline": True, "AllowOfflineTxForUnknownId": True}
    async with running(tmp_path, Core=core) as rig:
        rig.csms.on("Authorize", expiring_in(600))
        assert await present(rig, "TAG-E")
        await go_offline(rig)
        assert await present(rig, "TAG-E")  # valid in the cache
        await trio.sleep(700)
        # valid once but expired by the passage of time: MUST be rejected (spec 3.5.4),
        # although an idTag nobody knows is accepted
        assert not await present(rig, "TAG-E")
        assert await present(rig, "STRANGER")
        assert authorize_requests(rig) == ["TAG-E"]


async def test_an_expired_local_list_entry_is_refused_online_and_offline(tmp_path, autojump_clock):
    core = {"LocalPreAuthorize": True, "LocalAuthorizeOffline": True}
    core["AllowOfflineTxForUnknownId"] = True
    async with running(tmp_path, Core=core) as rig:
        now = rig.cp.clock.now()
        await send_local_list(
            rig,
            entry("SOON", expiry=now + timedelta(seconds=600)),
            entry("PAST", expiry=now - timedelta(hours=1)),
        )
        assert await present(rig, "SOON")
        assert not await present(rig, "PAST")
        # the list speaks for its idTags: no Authorize.req for either
        assert authorize_requests(rig) == []
        await go_offline(rig)
        assert await present(rig, "SOON")
        assert not await present(rig, "PAST")
        await trio.sleep(700)
        assert not await present(rig, "SOON")
        assert await present(rig, "STRANGER")  # unknown idTags are allowed offline
        await go_online(rig)
        assert not await present(rig, "SOON")
        assert authorize_requests(rig) == []


# -- LocalPreAuthorize ---------------------------------------------------------------------


@pytest.mark.parametrize("source", ["cache", "list"])
@pytest.mark.parametrize("pre_authorize", [True, False])
async def test_local_pre_authorize(tmp_path, autojump_clock, source, pre_authorize):
    core = {**CACHE, "LocalPreAuthorize": pre_authorize}
    settings = CsmsSettings()
    async with running(tmp_path, csms_settings=settings, Core=core) as rig:
        if source == "cache":
            assert await present(rig, "TAG-P")
            assert authorize_requests(rig) == ["TAG-P"]
        else:
            await send_local_list(rig, entry("TAG-P"))
        # the Central System has blocked the idTag since
        settings.blocked_id_tags = frozenset({"TAG-P"})
        asked_before = len(authorize_requests(rig))
        authorized = await present(rig, "TAG-P")
        asked = authorize_requests(rig)[asked_before:]
        if pre_authorize:
            # the local entry authorizes at once, without waiting for the Central System
            assert authorized and asked == []
        else:
            assert not authorized and asked == ["TAG-P"]


async def test_a_disabled_cache_is_not_read(tmp_path, autojump_clock):
    core = {"AuthorizationCacheEnabled": False, "LocalPreAuthorize": True}
    core["LocalAuthorizeOffline"] = True
    async with running(tmp_path, Core=core) as rig:
        assert await present(rig, "TAG-C")
        assert await present(rig, "TAG-C")
        assert authorize_requests(rig) == ["TAG-C", "TAG-C"]
        await go_offline(rig)
        assert not await present(rig, "TAG-C")


# -- offline: LocalAuthorizeOffline and AllowOfflineTxForUnknownId --------------------------


@pytest.mark.parametrize("source", ["cache", "list"])
@pytest.mark.parametrize("local_authorize_offline", [True, False])
async def test_local_authorize_offline(tmp_path, autojump_clock, source, local_authorize_offline):
    core = {**CACHE, "LocalAuthorizeOffline": local_authorize_offline}
    core["AllowOfflineTxForUnknownId"] = False
    async with running(tmp_path, Core=core) as rig:
        cp = rig.cp
        if source == "cache":
            assert await present(rig, "TAG-O")
        else:
            await send_local_list(rig, entry("TAG-O"))
        await go_offline(rig)
        if not local_authorize_offline:
            assert not await present(rig, "TAG-O")
            return
        # the local entry starts a transaction while offline; it is delivered afterwards
        await cp.token_presented("TAG-O", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-O")
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=10)
        assert cp.transaction_state(1) == "StartedOffline"
        await go_online(rig)
        start = await rig.csms.wait_for("StartTransaction")
        assert (start.id_tag, start.meter_start) == ("TAG-O", 10)


@pytest.mark.parametrize("allow_unknown", [True, False])
async def test_allow_offline_tx_for_unknown_id(tmp_path, autojump_clock, allow_unknown):
    core = {"LocalAuthorizeOffline": True, "AllowOfflineTxForUnknownId": allow_unknown}
    async with running(tmp_path, Core=core) as rig:
        await send_local_list(rig, entry("BANNED", "Blocked"), entry("GOOD"))
        await go_offline(rig)
        assert await present(rig, "UNKNOWN") is allow_unknown
        # an idTag of the list that is not Accepted is refused all the same (spec 3.5.4)
        assert not await present(rig, "BANNED")
        assert await present(rig, "GOOD")


async def test_unknown_offline_applies_when_local_entries_are_not_used_offline(
    tmp_path, autojump_clock
):
    # LocalAuthorizeOffline false: a valid local entry does not authorize by itself, but
    # the idTag is then no worse off than one nobody knows (as in libocpp)
    core = {**CACHE, "LocalAuthorizeOffline": False, "AllowOfflineTxForUnknownId": True}
    async with running(tmp_path, Core=core) as rig:
        await send_local_list(rig, entry("LISTED"), entry("BANNED", "Blocked"))
        assert await present(rig, "CACHED")
        await go_offline(rig)
        assert await present(rig, "LISTED")
        assert await present(rig, "CACHED")
        assert await present(rig, "STRANGER")
        assert not await present(rig, "BANNED")


# -- stopping by the group's idTag (parentIdTag) ------------------------------------------


GROUPS = {"ALICE": "FAMILY", "BOB": "FAMILY", "EVE": "OTHERS"}


@pytest.mark.parametrize("cache_enabled", [True, False])
async def test_an_idtag_of_the_same_group_stops_the_transaction(
    tmp_path, autojump_clock, cache_enabled
):
    settings = CsmsSettings(parent_id_tags=dict(GROUPS))
    core = {"AuthorizationCacheEnabled": cache_enabled}
    async with running(tmp_path, csms_settings=settings, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await cp.token_presented("ALICE", 1)
        await rig.evse.wait_for("authorize", 1, "ALICE")
        await cp.transaction_started(1, meter_start=0)
        await cp.resumed(1)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        # another group's idTag does not stop it
        await cp.token_presented("EVE")
        assert "EVE" in authorize_requests(rig)  # its group had to be asked
        await cp.settled("transaction/1")
        assert not any(call[0] == "stop_transaction" for call in rig.evse.calls)
        assert cp.transaction_state(1) == "Active" and cp.status(1) == "Charging"
        # the same group's does
        await cp.token_presented("BOB")
        await rig.evse.wait_for("stop_transaction", 1, "Local")
        await cp.transaction_stopped(1, meter_stop=700, reason="Local")
        stop = await csms.wait_for("StopTransaction")
        assert (stop.id_tag, stop.reason, stop.meter_stop) == ("BOB", "Local", 700)


async def alice_charging(rig) -> None:
    cp = rig.cp
    await cp.session_started(1)
    await cp.token_presented("ALICE", 1)
    await rig.evse.wait_for("authorize", 1, "ALICE")
    await cp.transaction_started(1, meter_start=0)
    await cp.resumed(1)
    await rig.csms.wait_until(lambda: cp.transaction_id(1) is not None)


@pytest.mark.parametrize("cache_enabled", [True, False])
async def test_an_idtag_of_the_group_that_is_not_valid_stops_nothing(
    tmp_path, autojump_clock, cache_enabled
):
    # the Central System blocks BOB, and still names his group in the answer
    settings = CsmsSettings(parent_id_tags=dict(GROUPS), blocked_id_tags=frozenset({"BOB"}))
    core = {"AuthorizationCacheEnabled": cache_enabled}
    async with running(tmp_path, csms_settings=settings, Core=core) as rig:
        cp = rig.cp
        await alice_charging(rig)
        for presentation in (1, 2):  # asked, then (with a cache) known as Blocked
            await cp.token_presented("BOB")
            await cp.settled("transaction/1")
            assert authorize_requests(rig) == ["ALICE"] + ["BOB"] * presentation
            assert not any(call[0] == "stop_transaction" for call in rig.evse.calls)
            assert cp.transaction_state(1) == "Active" and cp.status(1) == "Charging"
        if cache_enabled:
            cached = cp.station.ctx.store.cache_get("BOB")
            assert (cached["status"], cached["parentIdTag"]) == ("Blocked", "FAMILY")


async def test_after_clear_cache_the_group_of_an_idtag_is_asked_again(tmp_path, autojump_clock):
    settings = CsmsSettings(parent_id_tags=dict(GROUPS))
    async with running(tmp_path, csms_settings=settings, Core=CACHE) as rig:
        cp, csms = rig.cp, rig.csms
        assert await present(rig, "BOB")  # BOB's group is known (cached)
        answer = await csms.sessions["CP-1"].call(v16.ClearCacheRequest())
        assert answer.status == "Accepted"
        await alice_charging(rig)
        await cp.token_presented("BOB")
        await rig.evse.wait_for("stop_transaction", 1, "Local")
        # nothing of the cleared cache was used: the Central System was asked again
        assert authorize_requests(rig) == ["BOB", "ALICE", "BOB"]


async def test_the_starting_idtag_stops_without_asking_the_central_system(tmp_path, autojump_clock):
    settings = CsmsSettings(parent_id_tags=dict(GROUPS))
    async with running(tmp_path, csms_settings=settings) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await cp.token_presented("ALICE", 1)
        await rig.evse.wait_for("authorize", 1, "ALICE")
        await cp.transaction_started(1, meter_start=0)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        await cp.token_presented("alice")  # idTags compare without case
        await rig.evse.wait_for("stop_transaction", 1, "Local")
        # spec 4.1: Authorize.req only for a different idTag than the one that started
        assert authorize_requests(rig) == ["ALICE"]


# -- the cache is fed by every idTagInfo ----------------------------------------------------


async def test_the_cache_takes_the_idtaginfo_of_authorize_start_and_stop_answers(
    tmp_path, autojump_clock
):
    core = {
        **CACHE,
        "LocalPreAuthorize": True,
        "LocalAuthorizeOffline": True,
        "AllowOfflineTxForUnknownId": True,
    }
    settings = CsmsSettings(
        blocked_id_tags=frozenset({"STOPPER"}), parent_id_tags={"STARTER": "FLEET"}
    )
    async with running(tmp_path, csms_settings=settings, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        store = cp.station.ctx.store
        # Authorize.conf
        assert await present(rig, "ASKED")
        assert store.cache_get("ASKED") == {"status": "Accepted"}
        # StartTransaction.conf: the host started with an idTag the engine never authorized
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0, id_tag="STARTER")
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        assert store.cache_get("STARTER") == {"status": "Accepted", "parentIdTag": "FLEET"}
        # StopTransaction.conf: the idTag that stopped it is Blocked
        await cp.transaction_stopped(1, meter_stop=50, reason="Local", id_tag="STOPPER")
        await cp.session_stopped(1)
        stop = await csms.wait_for("StopTransaction")
        assert stop.id_tag == "STOPPER"
        await cp.wait_until(lambda: store.cache_get("STOPPER") is not None)
        assert store.cache_get("STOPPER") == {"status": "Blocked"}
        assert authorize_requests(rig) == ["ASKED"]
        # what the cache learnt decides: STARTER at once, without Authorize.req ...
        assert await present(rig, "STARTER")
        assert authorize_requests(rig) == ["ASKED"]
        # ... and offline STOPPER is refused, though an unknown idTag would be accepted
        await go_offline(rig)
        assert not await present(rig, "STOPPER")
        assert await present(rig, "STRANGER")


async def test_an_idtag_of_the_local_list_is_never_cached(tmp_path, autojump_clock):
    core = {**CACHE, "LocalPreAuthorize": False}
    async with running(tmp_path, Core=core) as rig:
        await send_local_list(rig, entry("LISTED"))
        assert await present(rig, "LISTED")
        assert authorize_requests(rig) == ["LISTED"]  # LocalPreAuthorize false: asked
        assert rig.cp.station.ctx.store.cache_get("LISTED") is None


# -- the Local Authorization List against the Central System's answers ------------------------


async def test_a_list_entry_the_central_system_contradicts_is_reported_local_list_conflict(
    tmp_path, autojump_clock
):
    csms = CentralSystem(CsmsSettings(blocked_id_tags=frozenset({"LISTED"})))

    def start(session, request):
        answer = start_transaction(session, request)
        if request.id_tag != "AGREED":
            return answer
        # ConcurrentTx is as valid as the list's Accepted (3.5.2): no conflict
        concurrent = v16.IdTagInfo(status="ConcurrentTx")
        return v16.StartTransactionResponse(
            transaction_id=answer.transaction_id, id_tag_info=concurrent
        )

    csms.on("StartTransaction", start)
    core = {"LocalPreAuthorize": True}  # (LocalAuthListEnabled: true by default)
    async with running(tmp_path, csms=csms, Core=core) as rig:
        cp = rig.cp
        session = await rig.session()
        entries = [
            v16.AuthorizationData(id_tag=tag, id_tag_info=v16.IdTagInfo(status=status))
            for tag, status in (("LISTED", "Accepted"), ("AGREED", "Accepted"))
        ]
        sent = v16.SendLocalListRequest(
            list_version=1, update_type="Full", local_authorization_list=entries
        )
        assert (await session.call(sent)).status == "Accepted"

        def connector0():
            return [
                (str(s.status), str(s.error_code), s.info)
                for s in csms.received("CP-1", "StatusNotification")
                if s.connector_id == 0
            ]

        before = len(connector0())
        # the list agrees with the Central System (both valid): nothing to report
        await cp.session_started(1)
        await cp.token_presented("AGREED", 1)
        await rig.evse.wait_for("authorize", 1, "AGREED")
        await cp.transaction_started(1, meter_start=0)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        await cp.transaction_stopped(1, meter_stop=10)
        await cp.session_stopped(1)
        await cp.drain(30)
        assert len(connector0()) == before
        # authorized by the list (LocalPreAuthorize), Blocked in StartTransaction.conf
        await cp.session_started(1)
        await cp.token_presented("LISTED", 1)
        await rig.evse.wait_for("authorize", 1, "LISTED")
        assert "LISTED" not in authorize_requests(rig)
        await cp.transaction_started(1, meter_start=0)
        await csms.wait_until(lambda: len(connector0()) >= before + 2)
        assert connector0()[before:] == [
            ("Available", "LocalListConflict", "list Accepted, Central System Blocked"),
            ("Available", "NoError", None),
        ]
        # the list stays as the Central System sent it (it may send another)
        assert cp.station.ctx.store.local_get("LISTED")["status"] == "Accepted"
