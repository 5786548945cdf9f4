"""DataTransfer both ways, answered by handlers registered by vendorId and messageId.

Charge point -> Central System: the development CSMS's handlers
(`CentralSystem.on_data_transfer`), seen by the host through the handle.
Central System -> charge point: the host's `DataTransferHandlers` port.
"""

from __future__ import annotations

import logging

import pytest

from chargebox.csms import CentralSystem
from chargebox.host import DataTransferHandlers, DataTransferPort
from chargebox.ocpp import v16
from tests.support import make_host, running

# -- charge point -> Central System ---------------------------------------------------------


def vendor_csms() -> CentralSystem:
    """A CSMS that knows vendor com.example: messages Echo (async) and Deny; and org.any."""
    csms = CentralSystem()

    async def echo(session, request):
        return "Accepted", f"{session.charge_point_id}:{request.data}"

    csms.on_data_transfer("com.example", "Echo", echo)
    csms.on_data_transfer("com.example", "Deny", lambda session, request: ("Rejected", "no"))
    # every message of org.any, whatever its messageId (or none)
    csms.on_data_transfer(
        "org.any", None, lambda session, request: ("Accepted", request.message_id or "-")
    )
    return csms


@pytest.mark.parametrize(
    ("vendor_id", "message_id", "data", "answer"),
    [
        ("com.example", "Echo", "abc", ("Accepted", "CP-1:abc")),
        # vendorId and messageId are CiStrings
        ("COM.Example", "echo", "x", ("Accepted", "CP-1:x")),
        ("com.example", "Deny", None, ("Rejected", "no")),
        ("com.example", "Unheard", "abc", ("UnknownMessageId", None)),
        ("com.example", None, None, ("UnknownMessageId", None)),
        ("org.other", "Echo", "abc", ("UnknownVendorId", None)),
        ("org.any", "Whatever", None, ("Accepted", "Whatever")),
        ("org.any", None, None, ("Accepted", "-")),
    ],
)
async def test_the_host_gets_each_status_and_the_data(
    tmp_path, autojump_clock, vendor_id, message_id, data, answer
):
    async with running(tmp_path, csms=vendor_csms()) as rig:
        assert await rig.cp.data_transfer(vendor_id, message_id, data) == answer
        [request] = rig.csms.received("CP-1", "DataTransfer")
        assert (request.vendor_id, request.message_id, request.data) == (
            vendor_id,
            message_id,
            data,
        )


async def test_without_handlers_every_vendor_is_unknown(tmp_path, autojump_clock):
    async with running(tmp_path) as rig:
        assert await rig.cp.data_transfer("com.example", "Echo", "abc") == (
            "UnknownVendorId",
            None,
        )


async def test_a_message_handler_comes_before_its_vendor_handler(tmp_path, autojump_clock):
    csms = CentralSystem()
    csms.on_data_transfer("com.example", None, lambda s, r: ("Rejected", "vendor"))
    csms.on_data_transfer("com.example", "Special", lambda s, r: ("Accepted", "message"))
    async with running(tmp_path, csms=csms) as rig:
        assert await rig.cp.data_transfer("com.example", "Special") == ("Accepted", "message")
        assert await rig.cp.data_transfer("com.example", "Other") == ("Rejected", "vendor")


# -- Central System -> charge point -------------------------------------------------------


def vendor_handlers() -> tuple[DataTransferHandlers, list[tuple[str | None, str | None]]]:
    seen: list[tuple[str | None, str | None]] = []
    handlers = DataTransferHandlers()

    async def reverse(message_id, data):
        seen.append((message_id, data))
        return "Accepted", (data or "")[::-1]

    def crash(message_id, data):
        raise RuntimeError("the vendor code failed")

    handlers.on("com.example", "Reverse", reverse)
    handlers.on("com.example", "Deny", lambda message_id, data: ("Rejected", None))
    handlers.on("com.example", "Crash", crash)
    handlers.on("com.example", "Bogus", lambda message_id, data: ("Maybe", None))
    handlers.on("org.any", None, lambda message_id, data: ("Accepted", message_id))
    return handlers, seen


def test_the_registry_is_a_data_transfer_port():
    handlers, _ = vendor_handlers()
    assert isinstance(handlers, DataTransferPort)


async def test_host_handlers_answer_each_status(tmp_path, autojump_clock, caplog):
    handlers, seen = vendor_handlers()
    host = make_host()
    host.data_transfer = handlers
    async with running(tmp_path, host=host) as rig:
        session = await rig.session()

        async def ask(vendor_id, message_id=None, data=None):
            answer = await session.call(
                v16.DataTransferRequest(vendor_id=vendor_id, message_id=message_id, data=data)
            )
            return str(answer.status), answer.data

        assert await ask("com.example", "Reverse", "abc") == ("Accepted", "cba")
        assert await ask("Com.Example", "REVERSE", "xy") == ("Accepted", "yx")
        assert seen == [("Reverse", "abc"), ("REVERSE", "xy")]
        assert await ask("com.example", "Deny") == ("Rejected", None)
        assert await ask("com.example", "Nothing") == ("UnknownMessageId", None)
        assert await ask("com.example") == ("UnknownMessageId", None)
        assert await ask("org.other", "Reverse", "abc") == ("UnknownVendorId", None)
        assert await ask("org.any", "Anything") == ("Accepted", "Anything")
        with caplog.at_level(logging.ERROR, logger="chargebox.host"):
            assert await ask("com.example", "Crash") == ("Rejected", None)
            assert await ask("com.example", "Bogus") == ("Rejected", None)
        failures = [r for r in caplog.records if r.name == "chargebox.host"]
        assert [r.levelno for r in failures] == [logging.ERROR, logging.ERROR]
        assert "'com.example', messageId 'Crash' failed" in failures[0].getMessage()
        assert "the vendor code failed" in (failures[0].exc_text or "")
        assert "'Bogus' failed" in failures[1].getMessage()
        # the engine goes on: the link is still up and answering
        assert rig.cp.registered
        assert await ask("com.example", "Reverse", "ok") == ("Accepted", "ko")
