"""Typed addresses: what each names, how it reads, and the events it refuses."""

from __future__ import annotations

import pytest

from chargebox.charts.addresses import Address
from chargebox.charts.events import (
    Connector0Event,
    ConnectorEvent,
    LinkEvent,
    ReservationEvent,
    SigningEvent,
    StationEvent,
    TransactionEvent,
    V2gEvent,
)
from chargebox.charts.events.connector import FaultDetected, UsageInitiated
from chargebox.charts.events.link import Connect
from chargebox.charts.events.transaction import StopRequested

ALL = [
    Address.connector(1),
    Address.connector0(),
    Address.transaction(2),
    Address.reservation(0),
    Address.reservation(3),
    Address.link(),
    Address.outbox(),
    Address.firmware(),
    Address.diagnostics(),
    Address.log(),
    Address.signing(),
    Address.v2g_signing(),
    Address.v2g(),
    Address.station(),
]


def test_an_address_reads_as_the_actor_it_names():
    assert [str(a) for a in ALL] == [
        "connector/1",
        "connector/0",
        "transaction/2",
        "reservation/0",
        "reservation/3",
        "link",
        "outbox",
        "firmware",
        "diagnostics",
        "log",
        "signing",
        "v2g-signing",
        "v2g",
        "station",
    ]


@pytest.mark.parametrize("address", ALL, ids=str)
def test_the_text_of_an_address_gives_it_back(address: Address):
    parsed = Address.parse(str(address))
    assert parsed == address and parsed.events is address.events


@pytest.mark.parametrize("text", ["connector", "link/1", "transaction/x", "tx/1", "", "station/"])
def test_a_text_that_names_no_actor_is_refused(text: str):
    with pytest.raises(ValueError, match=r"is not an address: one of connector/N, .*link"):
        Address.parse(text)


def test_each_address_takes_its_charts_events():
    assert Address.connector(1).events is ConnectorEvent
    assert Address.connector0().events is Connector0Event
    assert Address.any_connector(4).events is Connector0Event
    assert Address.transaction(1).events is TransactionEvent
    assert Address.reservation(0).events is ReservationEvent
    assert Address.link().events is LinkEvent
    assert Address.signing().events is SigningEvent
    assert Address.v2g_signing().events is SigningEvent  # the same chart, another actor
    assert Address.v2g().events is V2gEvent
    assert Address.station().events is StationEvent


def test_addresses_of_one_actor_are_equal_and_shared():
    assert Address.any_connector(2) == Address.connector(2)
    assert hash(Address.any_connector(2)) == hash(Address.connector(2))
    assert Address.any_connector(0) == Address.connector0()
    assert Address.transaction(1) is Address.transaction(1)
    assert Address.transaction(1) != Address.connector(1)
    assert Address.reservation(1) != Address.reservation(2)


def test_connector_numbers_start_at_one():
    with pytest.raises(ValueError, match=r"connector 0: .*Address.connector0\(\)"):
        Address.connector(0)


def test_an_event_of_another_chart_is_refused_naming_both():
    Address.transaction(1).check(StopRequested(reason="Remote"))
    Address.connector0().check(FaultDetected(error_code="GroundFailure"))
    Address.any_connector(1).check(FaultDetected(error_code="GroundFailure"))
    with pytest.raises(
        ValueError,
        match=r"transaction/1 takes TransactionEvent \(transaction\), but "
        r"UsageInitiated\(reservation_id=None\) is an event of chart connector",
    ):
        Address.transaction(1).check(UsageInitiated())
    with pytest.raises(ValueError, match=r"connector/0 takes Connector0Event \(connector0\)"):
        Address.connector0().check(UsageInitiated())
    with pytest.raises(ValueError, match=r"link takes LinkEvent .* is not a chart event"):
        Address.link().check("connect")
    Address.link().check(Connect())
