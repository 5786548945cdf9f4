"""Host events seen by the Central System: plug-in timeout, enable/disable, errors and faults,
MinimumStatusDuration, and a token-first session from the first tap to the last status."""

from __future__ import annotations

import trio

from tests.support import running

CORE = {"Core": {"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}}


def notifications(csms, connector_id):
    """Every StatusNotification.req the CSMS received for a connector, in order."""
    return [
        s for s in csms.received("CP-1", "StatusNotification") if s.connector_id == connector_id
    ]


async def statuses_of(csms, connector_id, count):
    """The first `count` statuses the CSMS received for a connector (waiting for them)."""

    def seen():
        found = [str(s.status) for s in notifications(csms, connector_id)]
        return found[:count] if len(found) >= count else None

    return await csms.wait_until(seen)


async def nth_notification(csms, connector_id, n):
    """The n-th StatusNotification.req (1-based) for a connector (waiting for it)."""
    return await csms.wait_until(
        lambda: (found := notifications(csms, connector_id)) and len(found) >= n and found[n - 1]
    )


# -- a token-first session ------------------------------------------------------------------


async def test_token_first_session_ended_by_unplugging(tmp_path, autojump_clock):
    async with running(tmp_path, **CORE) as rig:
        cp, csms = rig.cp, rig.csms
        await statuses_of(csms, 1, 1)  # Available after the registration
        # the token first: Authorize.req, then the host may start and the connector is Preparing
        await cp.token_presented("TAG-F")
        auth = await csms.wait_for("Authorize")
        assert auth.id_tag == "TAG-F"
        await rig.evse.wait_for("authorize", 1, "TAG-F")
        assert cp.status(1) == "Preparing"
        # then the cable: still Preparing, no second Authorize
        await cp.session_started(1)
        assert cp.status(1) == "Preparing"
        await cp.meter_values(1, {"Energy.Active.Import.Register": 5000})
        await cp.transaction_started(1, meter_start=5000)
        start = await csms.wait_for("StartTransaction")
        assert (start.connector_id, start.id_tag, start.meter_start) == (1, "TAG-F", 5000)
        await cp.resumed(1)
        await csms.wait_until(lambda: cp.transaction_id(1) is not None)
        tx_id = cp.transaction_id(1)
        for minute in range(1, 3):
            await cp.meter_values(1, {"Energy.Active.Import.Register": 5000 + 100 * minute})
            await trio.sleep(60)
        sampled = await csms.wait_for("MeterValues", count=2)
        assert sampled.transaction_id == tx_id
        assert sampled.meter_value[0].sampled_value[0].value == "5200"
        # the driver pulls the cable at the car: the engine stops the transaction and unlocks
        await cp.session_stopped(1)
        await rig.evse.wait_for("stop_transaction", 1, "EVDisconnected")
        await rig.evse.wait_for("unlock", 1)
        await cp.transaction_stopped(1, meter_stop=5230, reason="EVDisconnected")
        stop = await csms.wait_for("StopTransaction")
        assert (stop.transaction_id, stop.meter_stop, stop.reason) == (
            tx_id,
            5230,
            "EVDisconnected",
        )
        assert stop.id_tag is None  # nobody presented an idTag to stop it
        assert cp.status(1) == "Available"
        assert await statuses_of(csms, 1, 5) == [
            "Available",
            "Preparing",
            "Charging",
            "Finishing",
            "Available",
        ]
        assert len(csms.received("CP-1", "Authorize")) == 1
        finishing = (await nth_notification(csms, 1, 4)).info
        assert finishing == "EV side disconnected"


# -- plug-in timeout -------------------------------------------------------------------------


async def test_plugin_timeout_leaves_preparing_for_finishing_until_the_cable_goes(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        assert cp.status(1) == "Preparing"
        # no idTag within ConnectionTimeOut: B6 (errata 3.20), the cable is still in
        await cp.plugin_timeout(1)
        assert cp.status(1) == "Finishing"
        timed_out = await nth_notification(csms, 1, 3)
        assert (timed_out.status, timed_out.info) == ("Finishing", "ConnectionTimeout")
        assert csms.received("CP-1", "StartTransaction") == []
        # the driver takes the cable away: Available again (F1)
        await cp.session_stopped(1)
        assert cp.status(1) == "Available"
        assert await statuses_of(csms, 1, 4) == ["Available", "Preparing", "Finishing", "Available"]


# -- enabled / disabled ----------------------------------------------------------------------


async def test_disabled_connector_is_unavailable_and_refuses_tokens_until_enabled(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        await statuses_of(csms, 1, 1)
        await cp.disabled(1)
        assert cp.status(1) == "Unavailable"
        assert (await nth_notification(csms, 1, 2)).status == "Unavailable"
        await rig.evse.wait_for("set_enabled", 1, False)
        await cp.token_presented("TAG-U", 1)
        await cp.settled("transaction/1")
        assert cp.transaction_state(1) == "Idle"
        assert csms.received("CP-1", "Authorize") == []
        await cp.enabled(1)
        assert cp.status(1) == "Available"
        await rig.evse.wait_for("set_enabled", 1, True)
        assert await statuses_of(csms, 1, 3) == ["Available", "Unavailable", "Available"]
        # and usable again
        await cp.token_presented("TAG-U", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-U")


async def test_disabled_during_a_transaction_takes_effect_when_the_session_ends(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await cp.token_presented("TAG-D", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-D")
        await cp.transaction_started(1, meter_start=0)
        await cp.resumed(1)
        await cp.disabled(1)
        assert cp.status(1) == "Charging"  # scheduled: the transaction goes on
        await cp.token_presented("TAG-D")
        await rig.evse.wait_for("stop_transaction", 1, "Local")
        await cp.transaction_stopped(1, meter_stop=100, reason="Local")
        await cp.session_stopped(1)
        assert cp.status(1) == "Unavailable"
        assert await statuses_of(csms, 1, 5) == [
            "Available",
            "Preparing",
            "Charging",
            "Finishing",
            "Unavailable",
        ]


# -- errors and faults -----------------------------------------------------------------------


async def test_an_error_that_is_not_a_fault_is_reported_with_the_current_status(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await nth_notification(csms, 1, 2)  # Preparing
        await cp.error_raised(
            1,
            "HighTemperature",
            info="derating to 16 A",
            vendor_id="com.example",
            vendor_error_code="T-42",
            is_fault=False,
        )
        assert cp.status(1) == "Preparing"
        warning = await nth_notification(csms, 1, 3)
        assert (warning.status, warning.error_code) == ("Preparing", "HighTemperature")
        assert (warning.info, warning.vendor_id, warning.vendor_error_code) == (
            "derating to 16 A",
            "com.example",
            "T-42",
        )
        # charging is still possible
        await cp.token_presented("TAG-W", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-W")
        # the warning ends: the Central System hears the status without it
        await cp.error_cleared(1, "HighTemperature")
        cleared = await nth_notification(csms, 1, 4)
        assert (cleared.status, cleared.error_code) == ("Preparing", "NoError")
        assert (cleared.info, cleared.vendor_id, cleared.vendor_error_code) == (None, None, None)
        assert cp.status(1) == "Preparing"


async def test_a_fault_makes_the_connector_faulted_until_every_fault_clears(
    tmp_path, autojump_clock
):
    async with running(tmp_path) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await cp.token_presented("TAG-X", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-X")
        await cp.transaction_started(1, meter_start=0)
        await cp.resumed(1)
        assert (await nth_notification(csms, 1, 3)).status == "Charging"
        await cp.error_raised(
            1,
            "GroundFailure",
            info="RCD tripped",
            vendor_id="com.example",
            vendor_error_code="E17",
        )
        assert cp.status(1) == "Faulted"
        fault = await nth_notification(csms, 1, 4)
        assert (fault.status, fault.error_code) == ("Faulted", "GroundFailure")
        assert (fault.info, fault.vendor_id, fault.vendor_error_code) == (
            "RCD tripped",
            "com.example",
            "E17",
        )
        # a second fault; clearing the first leaves the connector Faulted
        await cp.error_raised(1, "OverCurrentFailure")
        second = await nth_notification(csms, 1, 5)
        assert (second.status, second.error_code) == ("Faulted", "OverCurrentFailure")
        await cp.error_cleared(1, "GroundFailure")
        assert cp.status(1) == "Faulted"
        await cp.error_cleared(1, "OverCurrentFailure")
        # back to the status the fault hid (I3), without an error
        assert cp.status(1) == "Charging"
        back = await nth_notification(csms, 1, 6)
        assert (back.status, back.error_code, back.vendor_id, back.vendor_error_code) == (
            "Charging",
            "NoError",
            None,
            None,
        )
        assert len(notifications(csms, 1)) == 6
        assert cp.transaction_id(1) is not None  # the transaction went on


# -- MinimumStatusDuration -------------------------------------------------------------------


async def test_minimum_status_duration_reports_only_statuses_that_held(tmp_path, autojump_clock):
    core = {"MinimumStatusDuration": 5, "MeterValueSampleInterval": 0}
    async with running(tmp_path, Core=core) as rig:
        cp, csms = rig.cp, rig.csms
        await statuses_of(csms, 1, 1)  # every status goes out at registration, at once
        plugged = trio.current_time()
        await cp.session_started(1)
        preparing = await nth_notification(csms, 1, 2)
        # not before it held for MinimumStatusDuration
        assert trio.current_time() - plugged >= 5
        assert preparing.status == "Preparing"
        await cp.token_presented("TAG-M", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-M")
        await cp.transaction_started(1, meter_start=0)
        await cp.suspended_ev(1)  # the EV waits a moment before it draws
        await trio.sleep(2)
        await cp.resumed(1)
        charging_from = cp.clock.now()
        await trio.sleep(3)
        assert len(notifications(csms, 1)) == 2  # Charging has not held long enough yet
        charging = await nth_notification(csms, 1, 3)
        # SuspendedEV (2 s) was never reported; Charging is, with the time it began
        assert charging.status == "Charging"
        assert charging.timestamp == charging_from
        await trio.sleep(30)
        assert [str(s.status) for s in notifications(csms, 1)] == [
            "Available",
            "Preparing",
            "Charging",
        ]


async def test_a_status_flapping_back_within_minimum_status_duration_is_not_reported(
    tmp_path, autojump_clock
):
    async with running(tmp_path, Core={"MinimumStatusDuration": 5}) as rig:
        cp, csms = rig.cp, rig.csms
        await statuses_of(csms, 1, 1)
        # a cable plugged in and out within 2 s: neither Preparing nor a second Available
        await cp.session_started(1)
        await trio.sleep(2)
        await cp.session_stopped(1)
        await trio.sleep(30)
        assert [str(s.status) for s in notifications(csms, 1)] == ["Available"]
        # a change that holds is reported as usual
        await cp.disabled(1)
        assert (await nth_notification(csms, 1, 2)).status == "Unavailable"


async def test_the_last_of_quick_changes_goes_out_once_it_held_for_the_whole_duration(
    tmp_path, autojump_clock
):
    async with running(tmp_path, Core={"MinimumStatusDuration": 5}) as rig:
        cp, csms = rig.cp, rig.csms
        await statuses_of(csms, 1, 1)
        plugged = trio.current_time()
        await cp.session_started(1)  # Preparing, which holds only 2 s
        await trio.sleep(2)
        faulted_from = cp.clock.now()
        await cp.error_raised(1, "GroundFailure", vendor_id="com.example")
        fault = await nth_notification(csms, 1, 2)
        # 5 s after the fault began, not after a wait counted from the plug
        assert trio.current_time() - plugged == 7
        assert (fault.status, fault.error_code, fault.vendor_id) == (
            "Faulted",
            "GroundFailure",
            "com.example",
        )
        assert fault.timestamp == faulted_from
        await trio.sleep(30)
        assert [str(s.status) for s in notifications(csms, 1)] == ["Available", "Faulted"]


async def test_without_minimum_status_duration_every_status_goes_out(tmp_path, autojump_clock):
    async with running(tmp_path, Core={"MinimumStatusDuration": 0}) as rig:
        cp, csms = rig.cp, rig.csms
        await cp.session_started(1)
        await cp.token_presented("TAG-M", 1)
        await rig.evse.wait_for("authorize", 1, "TAG-M")
        await cp.transaction_started(1, meter_start=0)
        await cp.suspended_ev(1)
        await cp.resumed(1)
        assert await statuses_of(csms, 1, 4) == [
            "Available",
            "Preparing",
            "SuspendedEV",
            "Charging",
        ]
