"""A handle call that does not fit the engine's state: a clear StateError, the engine runs on."""

from __future__ import annotations

import re

import pytest

from chargebox.station import StateError, StationError
from tests.support import running


async def a_session_works(rig, connector_id: int = 1) -> None:
    """The engine still takes a whole session after the refused calls."""
    cp, csms = rig.cp, rig.csms
    await cp.session_started(connector_id)
    await cp.token_presented("TAG-OK", connector_id)
    await rig.evse.wait_for("authorize", connector_id, "TAG-OK")
    await cp.transaction_started(connector_id, meter_start=100)
    start = await csms.wait_for("StartTransaction")
    assert (start.connector_id, start.meter_start) == (connector_id, 100)
    await cp.transaction_stopped(connector_id, meter_stop=200, reason="Local")
    stop = await csms.wait_for("StopTransaction")
    assert stop.meter_stop == 200
    await cp.session_stopped(connector_id)
    assert cp.status(connector_id) == "Available"


async def test_transaction_started_before_any_authorization(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        cp = rig.cp
        await cp.session_started(1)
        with pytest.raises(StateError) as refused:
            await cp.transaction_started(1, meter_start=1200)
        message = str(refused.value)
        assert message.startswith(
            "connector 1: transaction_started is not possible while the transaction is Idle; "
        )
        assert "token_presented" in message and "id_tag=" in message
        assert cp.transaction_state(1) == "Idle" and rig.cp.registered
        assert rig.csms.received("CP-1", "StartTransaction") == []
        await cp.session_stopped(1)
        await a_session_works(rig)


async def test_calls_on_a_connector_that_does_not_exist(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"NumberOfConnectors": 2}) as rig:
        cp = rig.cp
        expected = re.escape(
            "connector 99 does not exist: connectors are 1 to 2 (NumberOfConnectors)"
        )
        for call in (
            cp.transaction_started(99, meter_start=0, id_tag="FREE"),
            cp.transaction_stopped(99, meter_stop=0),
            cp.meter_values(99, {"Energy.Active.Import.Register": 5}),
            cp.session_started(99),
            cp.error_cleared(99),
            cp.resumed(99),
            cp.ev_disconnected(99),
        ):
            with pytest.raises(StateError, match=expected):
                await call
        with pytest.raises(StateError, match="connector 3 does not exist"):
            await cp.transaction_started(3, meter_start=0, id_tag="FREE")
        await a_session_works(rig, 2)


async def test_calls_whose_event_the_chart_refuses(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        cp = rig.cp
        with pytest.raises(StateError) as no_transaction:
            await cp.transaction_stopped(1, meter_stop=10)
        assert str(no_transaction.value).startswith(
            "connector 1: transaction_stopped is not possible while the transaction is Idle; "
            "it needs a transaction running on the connector"
        )
        with pytest.raises(StateError, match="ev_disconnected is not possible while the "):
            await cp.ev_disconnected(1)
        # a connector chart refusal names the states in which the call fits
        with pytest.raises(StateError) as no_session:
            await cp.session_stopped(1)
        assert str(no_session.value) == (
            "connector 1: session_stopped is not possible while the connector is Available; "
            "it is possible when the connector is Charging or Faulted or Finishing or "
            "Preparing or SuspendedEV or SuspendedEVSE or Unavailable"
        )
        with pytest.raises(StateError, match="suspended_evse is not possible while the conn"):
            await cp.error_raised(1, "GroundFailure")  # Faulted
            await cp.suspended_evse(1)
        await cp.error_cleared(1)
        assert cp.status(1) == "Available"
        # a StateError is a StationError (and a ValueError, as the unknown connector was)
        assert issubclass(StateError, StationError) and issubclass(StateError, ValueError)
        await a_session_works(rig)


async def test_a_transaction_started_twice(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        cp = rig.cp
        await cp.session_started(1)
        await cp.transaction_started(1, meter_start=0, id_tag="FREE")
        with pytest.raises(StateError, match="while the transaction is Starting"):
            await cp.transaction_started(1, meter_start=5, id_tag="FREE")
        await rig.csms.wait_for("StartTransaction")
        await cp.transaction_stopped(1, meter_stop=50)
        stop = await rig.csms.wait_for("StopTransaction")
        assert stop.meter_stop == 50
        assert len(rig.csms.received("CP-1", "StartTransaction")) == 1


async def test_an_id_tag_at_a_connector_that_does_not_exist(tmp_path, autojump_clock):
    """The station's chart names no connector it does not have; the handle says which exist."""
    async with running(tmp_path, Core={"NumberOfConnectors": 2}) as rig:
        for connector in (3, 0, "one"):
            with pytest.raises(StateError, match=r"connectors are 1 to 2 \(NumberOfConnectors\)"):
                await rig.cp.token_presented("TAG", connector)  # type: ignore[arg-type]
        await a_session_works(rig, 2)
