"""A fleet of 200 stations on the virtual clock runs a simulated hour against the development
CSMS: every transaction is accounted for, at the stations and at the Central System."""

from __future__ import annotations

from collections import Counter

from chargebox.fleet import PROFILES, Fleet, FleetSpec
from chargebox.fleet.summary import Summary
from tests.fleet.support import ground, template


def csms_transactions(csms) -> tuple[list[int], list[int]]:
    """The transactionIds the CSMS gave (StartTransaction.conf) and got back (StopTransaction)."""
    given = [
        ex.payload["transactionId"]
        for session in csms.all_sessions
        for ex in session.exchanges
        if (ex.direction, ex.kind, ex.action) == ("out", "CALLRESULT", "StartTransaction")
    ]
    stopped = [stop.transaction_id for stop in csms.received(None, "StopTransaction")]
    return given, stopped


async def test_a_simulated_hour_of_200_stations_accounts_for_every_transaction(
    tmp_path, autojump_clock
):
    async with ground() as g:
        spec = FleetSpec(
            config=template(tmp_path, Core={"MeterValueSampleInterval": 300}),
            count=200,
            profile=PROFILES["busy"],
            duration=3600,
            ramp=50,
            options=g.options,
            ledger=True,
        )
        fleet = Fleet(spec)
        summary = await fleet.run()

    assert summary.started == summary.ever_accepted == 200
    assert summary.simulated_s >= 3600
    t = summary.transactions
    # hundreds of sessions (two EVs an hour at 400 connectors, 20 minutes each)
    assert t.started > 300
    assert t.started == t.stopped == t.confirmed == t.stop_confirmed
    assert (t.open_at_end, t.duplicate_ids) == (0, 0)
    assert summary.errors == {}

    ledger = fleet.stats.ledger
    starts = [tx for _, event, tx in ledger if event == "start"]
    stops = [tx for _, event, tx in ledger if event == "stop"]
    assert len(starts) == len(set(starts)) == t.started  # each transactionId once
    assert sorted(starts) == sorted(stops)
    # a transaction stops at the station that started it
    started_at = {tx: station for station, event, tx in ledger if event == "start"}
    assert all(started_at[tx] == station for station, event, tx in ledger if event == "stop")
    assert len(set(started_at.values())) > 100  # spread over the fleet

    # the Central System saw the same transactions, each started and stopped once
    given, stopped = csms_transactions(g.csms)
    assert sorted(given) == sorted(starts)
    assert Counter(stopped) == Counter(stops)
    assert len(g.csms.received(None, "BootNotification")) >= 200

    # the summary goes to JSON and back unchanged
    assert Summary.from_json(summary.to_json()) == summary
