"""The overlay: accepted changes persist atomically and survive a restart; nothing else is."""

from __future__ import annotations

import json
import os
import stat

import pytest

from chargebox.config import (
    ChargePointConfig,
    ConfigError,
    ConfigurationStatus,
    default_overlay_path,
    write_json_atomic,
)


@pytest.fixture
def base(seed: dict, write):
    return write(seed)


def test_an_accepted_change_survives_a_restart(base, tmp_path) -> None:
    overlay = tmp_path / "data" / "user.json"
    before = base.read_bytes()
    cfg = ChargePointConfig.load(base, overlay)
    assert cfg.change_configuration("HeartbeatInterval", "300").accepted
    assert cfg.change_configuration("websocketPingInterval", "20").accepted
    assert cfg.change_configuration("AuthorizationKey", "a-new-password-of-22b").accepted

    assert base.read_bytes() == before  # the base file is never written
    assert json.loads(overlay.read_text()) == {
        "Core": {"HeartbeatInterval": 300, "WebSocketPingInterval": 20},
        "Security": {"AuthorizationKey": "a-new-password-of-22b"},
    }
    restarted = ChargePointConfig.load(base, overlay)
    assert restarted.heartbeat_interval == 300
    assert restarted.websocket_ping_interval == 20
    assert restarted.authorization_key == "a-new-password-of-22b"
    assert restarted["MeterValueSampleInterval"] == 60  # untouched keys come from the base
    # and without the overlay, the base values are back
    assert ChargePointConfig.load(base).heartbeat_interval == 86400


def test_rejected_and_unsupported_changes_write_nothing(base, tmp_path) -> None:
    overlay = tmp_path / "user.json"
    cfg = ChargePointConfig.load(base, overlay)
    assert (
        cfg.change_configuration("HeartbeatInterval", "-1").status is ConfigurationStatus.REJECTED
    )
    assert cfg.change_configuration("NumberOfConnectors", "4").status is (
        ConfigurationStatus.REJECTED
    )
    assert cfg.change_configuration("Nope", "1").status is ConfigurationStatus.NOT_SUPPORTED
    assert not overlay.exists()


def test_without_an_overlay_changes_stay_in_memory(base) -> None:
    cfg = ChargePointConfig.load(base)
    assert cfg.overlay_path is None
    assert cfg.change_configuration("HeartbeatInterval", "300").accepted
    assert cfg.heartbeat_interval == 300
    assert sorted(p.name for p in base.parent.iterdir()) == [base.name]


def test_overlay_is_private_and_leaves_no_temporary_files(base, tmp_path) -> None:
    overlay = tmp_path / "user.json"
    cfg = ChargePointConfig.load(base, overlay)
    for interval in ("10", "20", "30"):
        assert cfg.change_configuration("HeartbeatInterval", interval).accepted
    assert stat.S_IMODE(overlay.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [base.name, "user.json"]


def test_the_write_is_synced_then_renamed(tmp_path, monkeypatch) -> None:
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        calls.append("fsync-dir" if stat.S_ISDIR(os.fstat(descriptor).st_mode) else "fsync-file")
        real_fsync(descriptor)

    def replace(source, target) -> None:
        calls.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_json_atomic(tmp_path / "user.json", {"Core": {"HeartbeatInterval": 5}})
    assert calls == ["fsync-file", "replace", "fsync-dir"]


def test_a_failed_write_keeps_the_old_overlay_and_rejects(base, tmp_path, monkeypatch) -> None:
    overlay = tmp_path / "user.json"
    cfg = ChargePointConfig.load(base, overlay)
    assert cfg.change_configuration("HeartbeatInterval", "300").accepted
    saved = overlay.read_text()

    def broken_replace(source, target) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    result = cfg.change_configuration("HeartbeatInterval", "600")
    assert result.status is ConfigurationStatus.REJECTED
    assert result.reason == "cannot save the change (No space left on device)"
    assert cfg.heartbeat_interval == 300  # not applied when it could not be saved
    assert overlay.read_text() == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == [base.name, "user.json"]


def test_changes_from_the_charge_point_persist(base, tmp_path) -> None:
    overlay = tmp_path / "user.json"
    cfg = ChargePointConfig.load(base, overlay)
    cfg.update("HeartbeatInterval", 120)  # the interval of BootNotification.conf
    cfg.set_meter_public_key(1, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtest")
    restarted = ChargePointConfig.load(base, overlay)
    assert restarted.heartbeat_interval == 120
    [kv] = restarted.get_configuration(["MeterPublicKey[1]"]).configuration_key
    assert (kv.readonly, kv.value) == (True, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtest")
    with pytest.raises(ConfigError, match="must be an integer >= 0"):
        cfg.update("HeartbeatInterval", -1)
    with pytest.raises(ValueError, match="connector 2 does not exist"):
        cfg.set_meter_public_key(2, "x")


def test_the_overlay_may_hold_the_old_spelling_too(base, write) -> None:
    overlay = write({"Core": {"WebsocketPingInterval": 45}}, "user.json")
    assert ChargePointConfig.load(base, overlay).websocket_ping_interval == 45


def test_default_overlay_path() -> None:
    assert default_overlay_path("/etc/cb/ocpp-config.json").as_posix() == (
        "/etc/cb/ocpp-config.user.json"
    )


def test_a_change_runs_only_the_checks_it_can_move(base, tmp_path, monkeypatch) -> None:
    """A change runs its key's own check and the checks that read the key (as a derived
    configuration does), not every check of the configuration: the engine changes
    HeartbeatInterval at every BootNotification.conf, and a fleet boots thousands."""
    from chargebox.config import loader

    cfg = ChargePointConfig.load(base, tmp_path / "user.json")
    checked: list[list[str]] = []
    run_checks = loader.run_checks

    def recording(values, registry, invalid=()):
        specs = list(registry)
        checked.append(sorted(spec.name for spec in specs))
        return run_checks(values, specs, invalid)

    monkeypatch.setattr(loader, "run_checks", recording)
    cfg.update("HeartbeatInterval", 120)
    assert checked == [[], []]  # nothing reads HeartbeatInterval, it has no check of its own
    cfg.update("NumberOfConnectors", 2)
    cfg.update("ConnectorEvseIds", "DE*ABC*E1,DE*ABC*E2")
    checked.clear()
    # a violation the change causes in a key that reads it is still found, and named
    with pytest.raises(ConfigError, match=r"lists 2 EVSE IDs.*ConnectorEvseIds"):
        cfg.update("NumberOfConnectors", 1)
    assert set(checked[0]) == {"ConnectorPhaseRotation", "ConnectorEvseIds"}
