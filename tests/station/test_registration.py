"""Registration: BootNotification Accepted, Pending and Rejected; heartbeats; statuses."""

from __future__ import annotations

import trio

from chargebox.csms import CsmsSettings

from .support import running


async def test_boot_accepted_then_statuses_and_heartbeats(tmp_path, autojump_clock):
    async with running(tmp_path, csms_settings=CsmsSettings(heartbeat_interval=60)) as rig:
        cp, csms = rig.cp, rig.csms
        boot = await csms.wait_for("BootNotification")
        assert boot.charge_point_vendor == "Pionix" and boot.charge_point_model == "Yeti"
        statuses = await csms.wait_for("StatusNotification", count=2)
        assert cp.registered
        await trio.sleep(60 * 5 + 1)
        assert len(csms.received("CP-1", "Heartbeat")) == 5
        assert statuses is not None
        actions = csms.actions("CP-1")
        assert actions[0] == "BootNotification"
        assert actions[1:3] == ["StatusNotification", "StatusNotification"]
