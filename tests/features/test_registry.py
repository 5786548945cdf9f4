"""The feature registry: every call the Central System may make has exactly one handler."""

from __future__ import annotations

import attrs
import pytest

from chargebox.features.logs import Logs
from chargebox.ocpp.v16 import ACTIONS, Initiator
from tests.support import running

#: the actions a Central System sends to a Charge Point (1.6 and the security whitepaper)
CENTRAL_SYSTEM_CALLS = {
    a for a, spec in ACTIONS.items() if spec.initiator is not Initiator.ChargePoint
}


async def test_every_central_system_call_has_a_handler(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        features = rig.cp.station.features
        handlers = features.handlers()
        assert set(handlers) == CENTRAL_SYSTEM_CALLS
        assert handlers["GetLog"] == features.logs.get_log
        assert handlers["Reset"] == features.core.reset
        # the station routes with the same table
        # the station routes each call to the same handler, through the table every
        # station with these features shares
        assert {action: features.handler(action) for action in handlers} == handlers
        assert features.handler("Heartbeat") is None  # a Charge Point's CALL


async def test_two_features_may_not_answer_one_action(tmp_path, autojump_clock):
    class Greedy(Logs):
        def handlers(self):
            return {**super().handlers(), "Reset": self.get_log}

    async with running(tmp_path) as rig:
        features = rig.cp.station.features
        logs = features.logs
        greedy = Greedy(logs.ctx, logs.actors)
        with pytest.raises(ValueError, match="two features answer Reset"):
            attrs.evolve(features, logs=greedy).handlers()


async def test_services_start_in_the_order_of_the_profiles(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        f = rig.cp.station.features
        assert f.services() == [
            f.smart_charging.run,
            f.firmware.watch_registration,
            f.security.run,
        ]
