"""LogSettings from a charge point's configuration (LogMessages*, LogRotation*)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chargebox._resources import data_dir
from chargebox.config import ChargePointConfig
from chargebox.messagelog import LogFormat, LogSettings, Rotation, default_message_log_path


def load(tmp_path: Path, **internal) -> ChargePointConfig:
    document = json.loads((data_dir("config") / "ocpp-config.json").read_text(encoding="utf-8"))
    document["Internal"].update(internal)
    path = tmp_path / "ocpp-config.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return ChargePointConfig.load(path)


def test_the_defaults_are_libocpps(tmp_path: Path):
    settings = LogSettings.from_config(load(tmp_path))
    assert settings == LogSettings(
        enabled=True,
        formats=["log", "html", "session_logging", "security"],
        raw=False,
        rotation=Rotation(enabled=False, date_suffix=False, maximum_file_size=0),
    )
    assert not settings.rotation.active
    assert settings.has(LogFormat.HTML) and not settings.has(LogFormat.CONSOLE)


def test_every_key_is_read(tmp_path: Path):
    cfg = load(
        tmp_path,
        LogMessages=False,
        LogMessagesRaw=True,
        LogMessagesFormat=["console", "html"],
        LogRotation=True,
        LogRotationDateSuffix=True,
        LogRotationMaximumFileSize=1048576,
        LogRotationMaximumFileCount=7,
    )
    settings = LogSettings.from_config(cfg)
    assert settings.enabled is False and settings.raw is True
    assert settings.formats == {LogFormat.CONSOLE, LogFormat.HTML}
    assert settings.rotation == Rotation(True, True, 1048576, 7)
    assert settings.rotation.active
    assert not settings.has(LogFormat.HTML)  # LogMessages false switches every format off


def test_formats_may_be_given_as_comma_separated_text():
    assert LogSettings(formats="html, log,").formats == {LogFormat.HTML, LogFormat.LOG}


def test_an_unknown_format_is_named():
    with pytest.raises(ValueError, match=r"LogMessagesFormat: 'pdf' is not a message-log format"):
        LogSettings(formats=["html", "pdf"])


def test_rotation_sizes_must_not_be_negative():
    with pytest.raises(ValueError, match="LogRotationMaximumFileSize: -1"):
        Rotation(enabled=True, maximum_file_size=-1)
    with pytest.raises(ValueError, match=r"LogRotationMaximumFileCount: 1\.5"):
        Rotation(maximum_file_count=1.5)  # type: ignore[arg-type]


def test_the_default_folder_is_in_the_data_directory(tmp_path: Path):
    assert default_message_log_path(tmp_path) == tmp_path / "message-log"
