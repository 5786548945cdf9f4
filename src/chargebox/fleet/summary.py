"""The summary of a fleet's run: as text for people and as JSON for programs, and the merge
of the summaries of a fleet's shards.

The classes are attrs; cattrs turns them into plain dicts (JSON) and back, so
`chargebox fleet --processes K` reads its shards' JSON files and merges them
into one summary of the same shape. The CALL latency histogram travels with
the summary so that merged percentiles are those of every call, not averages.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import cattrs

from chargebox.fleet.stats import FleetStats, LatencyHistogram

_converter = cattrs.Converter()


@attrs.frozen
class Transactions:
    #: transaction_started calls the engines took in (the stations' side)
    started: int = 0
    #: transaction_stopped calls the engines took in
    stopped: int = 0
    #: StartTransaction.conf received with a transactionId
    confirmed: int = 0
    #: StopTransaction.conf received
    stop_confirmed: int = 0
    #: transactionIds started and not stopped when the run ended
    open_at_end: int = 0
    #: StartTransaction.conf that gave a transactionId already in use
    duplicate_ids: int = 0


@attrs.frozen
class Messages:
    sent: int = 0
    received: int = 0
    #: (sent + received) per second of real time
    per_second: float = 0.0


@attrs.frozen
class Calls:
    """The stations' CALLs and how long their answers took (measured at the station)."""

    answered: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    #: bucket -> calls (chargebox.fleet.stats.LatencyHistogram), to merge shards
    histogram: dict[int, int] = attrs.Factory(dict)


@attrs.frozen
class Summary:
    """What a fleet (or one shard of it) did."""

    #: the shard (i/n), or "all" for merged shards
    shard: str
    #: stations in this shard, and how many were started
    stations: int
    started: int
    #: stations connected, and Accepted, when the run ended (before the wind-down)
    connected: int
    accepted: int
    #: stations that were Accepted at least once
    ever_accepted: int
    #: real seconds from the first station's start until every station was Accepted
    time_to_all_accepted_s: float | None
    transactions: Transactions
    messages: Messages
    calls: Calls
    #: kind -> count
    errors: dict[str, int]
    #: the Central System's operations the stations answered: action -> count
    remote_operations: dict[str, int]
    #: real seconds from the first start to the end of the shutdown
    duration_s: float
    #: the stations' seconds over the same run (more than duration_s on a virtual clock)
    simulated_s: float
    #: real seconds the wind-down and shutdown took
    shutdown_s: float
    #: of which: until the last websocket was closed (the rest: the engines' tasks ending)
    websockets_closed_s: float | None = None
    #: the shards a merged summary is made of
    shards: list[str] = attrs.Factory(list)

    def to_json(self) -> dict[str, Any]:
        return _converter.unstructure(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return _converter.structure(data, cls)

    # -- text ----------------------------------------------------------------------------

    def text(self) -> str:
        """The summary for a person, a few lines."""
        what = f"shard {self.shard}" if self.shard not in ("0/1", "all") else "fleet"
        if self.shards:
            what = f"{len(self.shards)} shards"
        lines = [
            f"chargebox fleet: {self.stations:,} stations ({what}), "
            f"{_span(self.simulated_s)} of station time in {self.duration_s:.1f} s",
        ]
        accepted = f"{self.ever_accepted:,} Accepted"
        if self.time_to_all_accepted_s is not None:
            accepted += f" (all within {self.time_to_all_accepted_s:.1f} s)"
        lines.append(
            f"  stations      {self.started:,} started, {self.connected:,} connected and "
            f"{self.accepted:,} Accepted at the end; {accepted}"
        )
        t = self.transactions
        lines.append(
            f"  transactions  {t.started:,} started, {t.stopped:,} stopped; the Central System "
            f"confirmed {t.confirmed:,} starts and {t.stop_confirmed:,} stops; "
            f"{t.open_at_end:,} open at the end"
            + (f"; {t.duplicate_ids:,} duplicate transactionIds" if t.duplicate_ids else "")
        )
        m = self.messages
        lines.append(
            f"  messages      {m.sent:,} sent, {m.received:,} received, {m.per_second:,.0f}/s"
        )
        c = self.calls
        if c.answered:
            lines.append(
                f"  CALL latency  p50 {c.p50_ms:.1f} ms, p99 {c.p99_ms:.1f} ms, "
                f"max {c.max_ms:.1f} ms ({c.answered:,} answered)"
            )
        if self.remote_operations:
            shown = ", ".join(f"{a} {n:,}" for a, n in sorted(self.remote_operations.items()))
            lines.append(f"  answered      {shown}")
        closed = ""
        if self.websockets_closed_s is not None:
            closed = f" (every websocket closed after {self.websockets_closed_s:.1f} s)"
        lines.append(f"  shutdown      {self.shutdown_s:.1f} s{closed}")
        if not self.errors:
            lines.append("  errors        none")
        else:
            lines.append(f"  errors        {sum(self.errors.values()):,}:")
            for kind, count in sorted(self.errors.items(), key=lambda item: (-item[1], item[0])):
                lines.append(f"    {count:>8,}  {kind}")
        return "\n".join(lines)


def summarize(
    stats: FleetStats,
    *,
    shard: str,
    stations: int,
    connected: int,
    accepted: int,
    duration_s: float,
    simulated_s: float,
    shutdown_s: float,
    websockets_closed_s: float | None = None,
) -> Summary:
    """The summary of one process's run from its counters."""
    histogram = stats.latency
    all_accepted = None
    if stats.all_accepted_at is not None and stats.first_start is not None:
        all_accepted = round(stats.all_accepted_at - stats.first_start, 3)
    return Summary(
        shard=shard,
        stations=stations,
        started=stats.started,
        connected=connected,
        accepted=accepted,
        ever_accepted=stats.ever_accepted,
        time_to_all_accepted_s=all_accepted,
        transactions=Transactions(
            started=stats.tx_started,
            stopped=stats.tx_stopped,
            confirmed=stats.tx_confirmed,
            stop_confirmed=stats.tx_stop_confirmed,
            open_at_end=len(stats.open_ids),
            duplicate_ids=stats.duplicate_ids,
        ),
        messages=Messages(
            sent=stats.sent,
            received=stats.received,
            per_second=round((stats.sent + stats.received) / duration_s, 1) if duration_s else 0,
        ),
        calls=_calls(histogram),
        errors=dict(stats.errors),
        remote_operations=dict(stats.remote_operations),
        duration_s=round(duration_s, 3),
        simulated_s=round(simulated_s, 3),
        shutdown_s=round(shutdown_s, 3),
        websockets_closed_s=None if websockets_closed_s is None else round(websockets_closed_s, 3),
    )


def _calls(histogram: LatencyHistogram) -> Calls:
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000.0, 2)

    return Calls(
        answered=histogram.count,
        p50_ms=ms(histogram.percentile(50)),
        p99_ms=ms(histogram.percentile(99)),
        max_ms=ms(histogram.max) if histogram.count else None,
        histogram=dict(histogram.buckets),
    )


def merge(summaries: list[Summary]) -> Summary:
    """One summary of shards that ran side by side (their sums; times: the longest)."""
    if not summaries:
        raise ValueError("no summaries to merge")
    histogram = LatencyHistogram()
    errors: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    for s in summaries:
        histogram.merge(LatencyHistogram(s.calls.histogram))
        errors.update(s.errors)
        operations.update(s.remote_operations)
    calls = _calls(histogram)
    if histogram.count:
        # the slowest call is known exactly, not only its bucket
        calls = attrs.evolve(calls, max_ms=max(s.calls.max_ms or 0.0 for s in summaries))
    times = [s.time_to_all_accepted_s for s in summaries]

    def total(get: Any) -> Any:
        return sum(get(s) for s in summaries)

    return Summary(
        shard="all",
        stations=total(lambda s: s.stations),
        started=total(lambda s: s.started),
        connected=total(lambda s: s.connected),
        accepted=total(lambda s: s.accepted),
        ever_accepted=total(lambda s: s.ever_accepted),
        time_to_all_accepted_s=None if None in times else max(times),  # type: ignore[type-var]
        transactions=Transactions(
            *(
                total(lambda s, f=f: getattr(s.transactions, f.name))
                for f in attrs.fields(Transactions)
            )
        ),
        messages=Messages(
            sent=total(lambda s: s.messages.sent),
            received=total(lambda s: s.messages.received),
            per_second=round(total(lambda s: s.messages.per_second), 1),
        ),
        calls=calls,
        errors=dict(errors),
        remote_operations=dict(operations),
        duration_s=max(s.duration_s for s in summaries),
        simulated_s=max(s.simulated_s for s in summaries),
        shutdown_s=max(s.shutdown_s for s in summaries),
        websockets_closed_s=max(
            (s.websockets_closed_s for s in summaries if s.websockets_closed_s is not None),
            default=None,
        ),
        shards=[s.shard for s in summaries],
    )


def _span(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
