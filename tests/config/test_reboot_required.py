"""ChangeConfiguration RebootRequired: which keys need a reboot, and what happens to such a change.

The engine reads almost every writable key when it uses it, or applies it at
once through an Effect; the keys it reads only at start are all read-only. So
no built-in key answers RebootRequired (docs/configuration.md, "RebootRequired").
A host's own Custom key can: the change is answered RebootRequired, saved in
the overlay, and is the key's value after a restart.
"""

from __future__ import annotations

import json

import trio

from chargebox.config import Access, ChargePointConfig, KeySpec, ValueType
from chargebox.config.registry import BUILTIN
from chargebox.csms import CentralSystem
from chargebox.netsim import Network
from chargebox.ocpp import v16
from chargebox.station import Options, open_charge_point
from tests.support import CSMS_ADDRESS, REPO, config_file, make_host

# Keys the engine reads only while it starts: connectors and their actors
# (NumberOfConnectors), the store's file name (ChargePointId), the message log
# (LogMessages*, LogRotation*). A change of any of them could only take effect at a
# restart, so none may be writable unless it is marked reboot_required.
READ_ONLY_AT_START = (
    "NumberOfConnectors",
    "ChargePointId",
    "LogMessages",
    "LogMessagesFormat",
    "LogMessagesRaw",
    "LogRotation",
    "LogRotationDateSuffix",
    "LogRotationMaximumFileSize",
    "LogRotationMaximumFileCount",
)

# The built-in keys that answer RebootRequired (the list in docs/configuration.md).
REBOOT_REQUIRED: frozenset[str] = frozenset()

DISPLAY_MODE = KeySpec(
    "VendorDisplayMode",
    "Custom",
    ValueType.STRING,
    Access.READ_WRITE,
    "Display theme; the display firmware reads it when it starts.",
    enum=("day", "night"),
    reboot_required=True,
)


def test_keys_read_only_at_start_are_not_writable_without_a_reboot():
    for name in READ_ONLY_AT_START:
        spec = BUILTIN[name]
        assert not spec.writable or spec.reboot_required, name


def test_the_built_in_keys_that_need_a_reboot():
    assert {spec.name for spec in BUILTIN if spec.reboot_required} == REBOOT_REQUIRED


def test_the_list_is_documented():
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    paragraph = doc.split("**RebootRequired.**", 1)[1].split("\n\n", 1)[0]
    for name in READ_ONLY_AT_START:
        assert f"`{name}`" in paragraph, name
    assert "No built-in key is marked" in paragraph and not REBOOT_REQUIRED


async def test_reboot_required_answered_saved_and_in_effect_after_a_restart(
    tmp_path, autojump_clock
):
    csms = CentralSystem()
    net = Network()
    url = f"{CSMS_ADDRESS[0]}:{CSMS_ADDRESS[1]}/steve/websocket/CentralSystemService/"
    path = config_file(tmp_path, url, Custom={"VendorDisplayMode": "day"})
    overlay = tmp_path / "user-config.json"

    async def boot():
        cfg = ChargePointConfig.load(path, overlay, custom_keys=[DISPLAY_MODE])
        options = Options(open_stream=net.open_stream)
        return open_charge_point(cfg, make_host(), data_dir=tmp_path / "data", options=options)

    async def reported(session) -> str | None:
        answer = await session.call(v16.GetConfigurationRequest(key=["VendorDisplayMode"]))
        [key] = answer.configuration_key
        return key.value

    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await nursery.start(net.run)
            net.listen(*CSMS_ADDRESS, csms)
            async with await boot() as cp:
                await csms.wait_until(lambda: cp.registered)
                session = await csms.session("CP-1")
                assert await reported(session) == "day"
                answer = await session.call(
                    v16.ChangeConfigurationRequest(key="VendorDisplayMode", value="night")
                )
                assert answer.status == "RebootRequired"
                bad = await session.call(
                    v16.ChangeConfigurationRequest(key="VendorDisplayMode", value="dusk")
                )
                assert bad.status == "Rejected"
            saved = json.loads(overlay.read_text(encoding="utf-8"))
            assert saved["Custom"]["VendorDisplayMode"] == "night"
            # the restart: the configuration is read again, from the file and the overlay
            async with await boot() as cp:
                await csms.wait_until(lambda: cp.registered and len(csms.all_sessions) == 2)
                assert cp.config["VendorDisplayMode"] == "night"
                assert await reported(await csms.session("CP-1")) == "night"
            nursery.cancel_scope.cancel()
