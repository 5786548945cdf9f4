"""ClearChargingProfile (6.13, errata 3.25/3.26) and the removals the actor asks for:
expired profiles and the TxProfiles of a finished transaction."""

from __future__ import annotations

import pytest

from chargebox.ocpp.v16 import ClearChargingProfileRequest, ClearChargingProfileStatus

from .builders import T0, at, context, cp_max, daily, installed, request, tx, tx_default

Accepted = ClearChargingProfileStatus.Accepted
Unknown = ClearChargingProfileStatus.Unknown


def station():
    return installed(
        (0, cp_max(1, stack=0)),
        (0, tx_default(2, stack=0)),
        (1, tx_default(3, stack=1)),
        (1, tx(4, stack=0)),
        (2, tx(5, stack=1)),
    )


def remaining(profiles):
    return sorted(item.id for item in profiles)


@pytest.mark.parametrize(
    ("fields", "status", "left"),
    [
        pytest.param({}, Accepted, [], id="no-fields-clears-all"),
        pytest.param({"id": 3}, Accepted, [1, 2, 4, 5], id="by-id"),
        pytest.param({"id": 99}, Unknown, [1, 2, 3, 4, 5], id="unknown-id"),
        pytest.param({"connector_id": 0}, Accepted, [3, 4, 5], id="by-connector-0"),
        pytest.param({"connector_id": 1}, Accepted, [1, 2, 5], id="by-connector-1"),
        pytest.param({"connector_id": 7}, Unknown, [1, 2, 3, 4, 5], id="unknown-connector"),
        pytest.param(
            {"charging_profile_purpose": "TxProfile"}, Accepted, [1, 2, 3], id="by-purpose"
        ),
        pytest.param({"stack_level": 1}, Accepted, [1, 2, 4], id="by-stack-level"),
        pytest.param(
            {"connector_id": 1, "stack_level": 1}, Accepted, [1, 2, 4, 5], id="connector-and-stack"
        ),
        pytest.param(
            {"charging_profile_purpose": "TxProfile", "stack_level": 1},
            Accepted,
            [1, 2, 3, 4],
            id="purpose-and-stack",
        ),
        pytest.param(
            {"charging_profile_purpose": "ChargePointMaxProfile", "connector_id": 1},
            Unknown,
            [1, 2, 3, 4, 5],
            id="no-profile-matches-all-fields",
        ),
        pytest.param(
            # errata 3.26: with an id, the other fields are ignored (they name another
            # connector, purpose and stackLevel than profile 3's)
            {"id": 3, "connector_id": 2, "charging_profile_purpose": "TxProfile", "stack_level": 0},
            Accepted,
            [1, 2, 4, 5],
            id="id-ignores-the-other-fields",
        ),
        pytest.param({"id": 3, "connector_id": 1}, Accepted, [1, 2, 4, 5], id="id-and-connector"),
        pytest.param(
            {"id": 99, "connector_id": 1}, Unknown, [1, 2, 3, 4, 5], id="unknown-id-and-connector"
        ),
    ],
)
def test_clear(fields, status, left):
    before = station()
    outcome = before.clear(ClearChargingProfileRequest(**fields))
    assert outcome.status == status
    assert remaining(outcome.profiles) == left
    assert sorted(item.id for item in outcome.removed) == sorted(set(remaining(before)) - set(left))


def test_clear_all_of_nothing_is_unknown():
    """7.21: Unknown means no profile matched; libocpp answers Accepted here."""
    outcome = installed().clear(ClearChargingProfileRequest())
    assert outcome.status == Unknown
    assert len(outcome.profiles) == 0


def test_clearing_restores_the_previous_composite():
    ctx = context(transactions={1: at(-1)})
    before = station()
    added = before.set_charging_profile(request(1, tx(9, [(0, 6)], stack=5)), T0, ctx)
    assert added.profiles.composite(1, T0, 3600, "A", ctx) != before.composite(
        1, T0, 3600, "A", ctx
    )
    cleared = added.profiles.clear(ClearChargingProfileRequest(id=9))
    assert cleared.profiles == before
    assert cleared.profiles.composite(1, T0, 3600, "A", ctx) == before.composite(
        1, T0, 3600, "A", ctx
    )


def test_purge_expired():
    profiles = installed(
        (1, tx_default(1, valid_to=at(1))),  # validTo reached at 01:00
        (1, tx_default(2, stack=1, duration=1800)),  # Absolute, ended 00:30
        (1, tx_default(3, stack=2, start=at(0.5), duration=3600)),  # ends 01:30
        (1, daily(4, "TxDefaultProfile", [(0, 10)], stack=3, duration=60)),  # recurs
        (1, tx_default(5, kind="Relative", stack=4, duration=60)),  # runs per transaction
        (0, cp_max(6, valid_to=at(2))),
    )
    outcome = profiles.purge_expired(at(1))
    assert remaining(outcome.removed) == [1, 2]
    assert remaining(outcome.profiles) == [3, 4, 5, 6]
    assert remaining(profiles.purge_expired(at(0.25)).profiles) == [1, 2, 3, 4, 5, 6]
    nothing = profiles.purge_expired(T0)
    assert nothing.profiles is profiles and nothing.removed == ()


def test_remove_tx_profiles_of_a_connector():
    profiles = installed(
        (1, tx(1, stack=0)),
        (1, tx(2, stack=1, transaction_id=42)),
        (1, tx(3, stack=2, transaction_id=43)),
        (1, tx_default(4)),
        (2, tx(5)),
    )
    assert remaining(profiles.remove_tx_profiles(1).profiles) == [4, 5]
    only_42 = profiles.remove_tx_profiles(1, transaction_id=42)
    assert remaining(only_42.removed) == [1, 2]
    assert remaining(only_42.profiles) == [3, 4, 5]
    assert profiles.remove_tx_profiles(0).removed == ()


def test_set_views():
    profiles = station()
    assert len(profiles) == 5
    assert [item.id for item in profiles.on(1)] == [3, 4]
    assert profiles.on(9) == ()
    assert {item.id for item in profiles} == {1, 2, 3, 4, 5}
