"""Full charging sessions: plug first, token first, remote start; meter values; stop by token."""

from __future__ import annotations

import trio

from chargebox.ocpp import v16
from tests.support import running


async def statuses_of(csms, connector_id, count):
    """The first `count` statuses the CSMS received for a connector (waiting for them)."""

    def seen():
        found = [
            str(s.status)
            for s in csms.received("CP-1", "StatusNotification")
            if s.connector_id == connector_id
        ]
        return found[:count] if len(found) >= count else None

    return await csms.wait_until(seen)


CORE = {"Core": {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}}


async def test_plug_first_session(tmp_path, autojump_clock):
    async with running(tmp_path, **CORE) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        assert cp.status(1) == "Preparing"
        await cp.token_presented("TAG-1", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-1")
        auth = await csms.wait_for("Authorize")
        assert auth.id_tag == "TAG-1"
        await cp.meter_values(
            1, {"Energy.Active.Import.Register": 1000, "Power.Active.Import": 7400}
        )
        await cp.transaction_started(1, meter_start=1000)
        start = await csms.wait_for("StartTransaction")
        assert (start.connector_id, start.id_tag, start.meter_start) == (1, "TAG-1", 1000)
        await cp.resumed(1)
        assert cp.status(1) == "Charging"
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        tx_id = cp.transaction_id(1)
        for minute in range(1, 4):
            await cp.meter_values(1, {"Energy.Active.Import.Register": 1000 + 120 * minute})
            await trio.sleep(60)
        sampled = await csms.wait_for("MeterValues", count=3)
        assert sampled.transaction_id == tx_id
        value = sampled.meter_value[0].sampled_value[0]
        assert (value.measurand, value.context, value.unit) == (
            "Energy.Active.Import.Register",
            "Sample.Periodic",
            "Wh",
        )
        # the same idTag stops the transaction
        await cp.token_presented("TAG-1")
        await rig.evse.wait_for("stop_transaction", 1, "Local")
        await cp.transaction_stopped(1, meter_stop=1400, reason="Local")
        assert cp.status(1) == "Finishing"
        stop = await csms.wait_for("StopTransaction")
        assert stop.transaction_id == tx_id and stop.meter_stop == 1400
        assert stop.reason == "Local" and stop.id_tag == "TAG-1"
        contexts = [mv.sampled_value[0].context for mv in stop.transaction_data]
        assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
        assert "Sample.Periodic" in contexts
        await cp.session_stopped(1)
        assert cp.status(1) == "Available"
        assert await statuses_of(csms, 1, 5) == [
            "Available",
            "Preparing",
            "Charging",
            "Finishing",
            "Available",
        ]


async def test_token_first_session_and_connection_timeout(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"ConnectionTimeOut": 30}) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.token_presented("TAG-2")
        await rig.evse.wait_for("authorize", 1, "TAG-2")
        assert cp.status(1) == "Preparing"
        await trio.sleep(31)  # nobody plugged in
        assert ("withdraw_authorization", 1) in rig.evse.calls
        assert cp.status(1) == "Available"
        assert (await statuses_of(csms, 1, 3))[-2:] == ["Preparing", "Available"]
        assert csms.received("CP-1", "StartTransaction") == []


async def test_remote_start_and_stop(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"AuthorizeRemoteTxRequests": False}) as rig:
        cp, csms = rig.cp, rig.csms
        session = await rig.session()
        answer = await session.call(
            v16.RemoteStartTransactionRequest(id_tag="APP-1", connector_id=1)
        )
        assert answer.status == "Accepted"
        await rig.evse.wait_for("authorize", 1, "APP-1")
        assert csms.received("CP-1", "Authorize") == []  # AuthorizeRemoteTxRequests false
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0)
        await cp.resumed(1)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        # a second remote start on the busy connector is refused
        again = await session.call(
            v16.RemoteStartTransactionRequest(id_tag="APP-2", connector_id=1)
        )
        assert again.status == "Rejected"
        stop = await session.call(
            v16.RemoteStopTransactionRequest(transaction_id=cp.transaction_id(1))
        )
        assert stop.status == "Accepted"
        await rig.evse.wait_for("stop_transaction", 1, "Remote")
        await cp.transaction_stopped(1, meter_stop=500)
        final = await csms.wait_for("StopTransaction")
        assert final.reason == "Remote" and final.id_tag is None
        unknown = await session.call(v16.RemoteStopTransactionRequest(transaction_id=99999))
        assert unknown.status == "Rejected"


async def test_remote_start_authorized_when_configured(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"AuthorizeRemoteTxRequests": True}) as rig:
        session = await rig.session()
        answer = await session.call(v16.RemoteStartTransactionRequest(id_tag="APP-1"))
        assert answer.status == "Accepted"
        assert (await rig.csms.wait_for("Authorize")).id_tag == "APP-1"
        await rig.evse.wait_for("authorize", 1, "APP-1")


async def test_calls_go_out_in_the_order_the_charts_decided_them(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        await csms.wait_for("StatusNotification", count=2)
        # three decisions in a row, each recorded by a different actor
        await cp.session_started(1)
        await cp.token_presented("TAG-7", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-7")
        await cp.transaction_started(1, meter_start=0)
        await cp.resumed(1)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        await csms.wait_for("StatusNotification", lambda s: s.status == "Charging")
        order = [
            a
            for a in csms.actions("CP-1")[3:]
            if a in ("StatusNotification", "Authorize", "StartTransaction")
        ]
        assert order == [
            "StatusNotification",
            "Authorize",
            "StartTransaction",
            "StatusNotification",
        ]


async def test_an_authorization_answered_after_its_session_ended_is_dropped_quietly(
    tmp_path, autojump_clock, caplog
):
    async with running(tmp_path) as rig:
        cp = rig.cp
        authorizer = cp.station.authorizer
        answer_now = authorizer.authorize
        slow: list[str] = []

        async def authorize_slowly(id_tag: str, *, ticket: int | None = None):
            if id_tag == "SLOW":
                slow.append(id_tag)
                await trio.sleep(30)  # the Central System takes its time
            return await answer_now(id_tag, ticket=ticket)

        authorizer.authorize = authorize_slowly
        transaction = cp.station.transactions[1]
        await cp.session_started(1)
        await cp.token_presented("SLOW", 1)
        await cp.wait_until(lambda: slow)
        await cp.session_stopped(1)  # the driver leaves before the answer
        await trio.sleep(10)
        # a new session is authorizing when the old answer comes: it is not that answer
        await cp.session_started(1)
        await cp.token_presented("SLOW", 1)
        await trio.sleep(21)
        assert transaction.model.state == "Authorizing"  # still waiting for its own answer
        await trio.sleep(10)
        assert transaction.model.state == "Authorized"
        assert transaction.refused == 0
        assert "not allowed" not in caplog.text
