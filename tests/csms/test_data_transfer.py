"""The development CSMS's DataTransfer handlers: found by vendorId and messageId, CiString rules."""

from __future__ import annotations

import pytest

from chargebox.csms import CentralSystem
from chargebox.ocpp.v16 import DataTransferStatus


def echo(session, request):
    return "Accepted", request.data


def anything(session, request):
    return "Rejected", None


@pytest.fixture
def csms() -> CentralSystem:
    csms = CentralSystem()
    csms.on_data_transfer("com.example", "Echo", echo)
    csms.on_data_transfer("org.any", None, anything)
    return csms


@pytest.mark.parametrize(
    ("vendor_id", "message_id", "found"),
    [
        ("com.example", "Echo", echo),
        ("COM.EXAMPLE", "eCHO", echo),
        ("com.example", "Other", DataTransferStatus.UnknownMessageId),
        ("com.example", None, DataTransferStatus.UnknownMessageId),
        ("org.any", "Other", anything),
        ("org.any", None, anything),
        ("net.nobody", "Echo", DataTransferStatus.UnknownVendorId),
        ("com.exampl", "Echo", DataTransferStatus.UnknownVendorId),
    ],
)
def test_lookup(csms, vendor_id, message_id, found):
    assert csms.data_transfer_handler(vendor_id, message_id) is found


def test_a_fresh_csms_knows_no_vendor():
    assert CentralSystem().data_transfer_handler("com.example", "Echo") is (
        DataTransferStatus.UnknownVendorId
    )


def test_registering_again_replaces(csms):
    csms.on_data_transfer("Com.Example", "ECHO", anything)
    assert csms.data_transfer_handler("com.example", "Echo") is anything
