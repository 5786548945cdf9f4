"""The OCPP traffic of `chargebox demo`, recorded in a form that is the same on every run.

The demo (chargebox.sim.demo) is run in this process as the command runs it,
with three things fixed so that what it sends depends on the engine alone:

- time is purely virtual: the demo's MockClock takes its real-time source from
  a clock that stands still, so the rate the demo sets for the charging hour
  does not tie the simulation to the machine's speed, and the clock jumps
  (autojump) whenever every task waits;
- the calendar starts at EPOCH (every StationClock created during the run),
  so clock-aligned meter values and timestamps fall at the same moments;
- the development CSMS records the virtual time of every frame it sees.

What remains open is the order of frames sent at one virtual instant by
independent tasks (trio runs ready tasks in a random order: a Heartbeat and a
MeterValues due at the same moment, a StatusNotification and the
StopTransaction of one stop), and, for the same reason, whether a meter reading
taken at that instant is the simulator's reading before or after its tick. So
the record is canonical:

- one entry per exchange: a CALL with its CALLRESULT or CALLERROR (paired by
  message id, which is then dropped), or a connection event;
- entries grouped by virtual instant, in time order; within an instant the
  timer-driven ones (Heartbeat, periodic and clock-aligned MeterValues) first,
  sorted, then the others in the order they happened;
- every measured value (sampledValue value, meterStart, meterStop) is "<value>":
  the measurands, contexts, units, phases and locations stay, and so does every
  other field (statuses, reasons, idTags, connector and transaction ids,
  timestamps).

Regenerate the golden file (only for a change of traffic that is intended):
    python -m tests.sim.demo_traffic > tests/sim/data/demo-traffic.txt
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
import trio.testing

import chargebox.actors.clock as clock_module
import chargebox.sim.demo as demo
from chargebox.csms.server import CentralSystem, Exchange, Session

GOLDEN = Path(__file__).resolve().parent / "data" / "demo-traffic.txt"

#: the calendar time at which every StationClock of the run starts
EPOCH = datetime(2025, 3, 14, 9, 58, 20, tzinfo=UTC)

#: payload keys whose values are measurements (they depend on the simulator's tick order)
MEASURED = frozenset({"meterStart", "meterStop"})


class _FixedNow(datetime):
    """datetime whose now() is EPOCH: StationClock() starts the calendar there."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return EPOCH if tz is None else EPOCH.astimezone(tz)


def _virtual_clock() -> trio.testing.MockClock:
    clock = trio.testing.MockClock(autojump_threshold=0)
    # MockClock keeps its real-time source in _real_clock; one that stands still makes
    # every rate the demo sets irrelevant: only autojumps move the time
    if not callable(getattr(clock, "_real_clock", None)):
        raise RuntimeError("trio's MockClock changed: it has no _real_clock to hold still")
    clock._real_clock = lambda: 0.0  # type: ignore[method-assign]
    return clock


def record() -> list[tuple[float, Exchange]]:
    """Run the demo; return every frame the CSMS saw with its virtual time (seconds)."""
    seen: list[tuple[float, Exchange]] = []

    class RecordingCentralSystem(CentralSystem):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            def note(session: Session, exchange: Exchange) -> None:
                seen.append((trio.current_time(), exchange))

            super().__init__(*args, on_exchange=note, **kwargs)

    saved = demo.CentralSystem, clock_module.datetime
    demo.CentralSystem = RecordingCentralSystem  # type: ignore[misc]
    clock_module.datetime = _FixedNow  # type: ignore[misc]
    try:
        with tempfile.TemporaryDirectory(prefix="chargebox-demo-traffic-") as folder:
            result = trio.run(
                demo.run_demo,
                demo.DemoSettings(data_dir=Path(folder)),
                lambda line: None,
                clock=_virtual_clock(),
            )
    finally:
        demo.CentralSystem, clock_module.datetime = saved  # type: ignore[misc]
    if not result.ok:
        raise AssertionError(f"the demo did not finish: {result.problem}")
    return seen


def _normalised(payload: Any) -> Any:
    """The payload with its measured values replaced by "<value>"."""
    if isinstance(payload, dict):
        out = {}
        for key, value in payload.items():
            if key in MEASURED:
                out[key] = "<value>"
            elif key == "sampledValue" and isinstance(value, list):
                out[key] = [{**_normalised(item), "value": "<value>"} for item in value]
            else:
                out[key] = _normalised(value)
        return out
    if isinstance(payload, list):
        return [_normalised(item) for item in payload]
    return payload


def _text(payload: Any) -> str:
    return json.dumps(_normalised(payload), sort_keys=True, separators=(",", ":"))


#: readings taken on a timer (MeterValues of these contexts), not because something happened
TIMED_CONTEXTS = frozenset({"Sample.Periodic", "Sample.Clock"})


def _timer_driven(ex: Exchange) -> bool:
    """A CALL its sender makes on a timer: Heartbeat, periodic and clock-aligned MeterValues."""
    if ex.action == "Heartbeat":
        return True
    if ex.action == "MeterValues" and isinstance(ex.payload, dict):
        contexts = {
            sampled.get("context")
            for value in ex.payload.get("meterValue", [])
            for sampled in value.get("sampledValue", [])
        }
        return bool(contexts) and contexts <= TIMED_CONTEXTS
    return False


def canonical(frames: list[tuple[float, Exchange]]) -> list[str]:
    """The record as lines: "@<seconds>" for each virtual instant, then its exchanges
    (a CALL, and its answer on the next line).

    Within an instant the timer-driven exchanges come first, sorted (their timers
    expire together, and which one trio runs first is chance); the others follow
    in the order they happened.
    """
    entries: list[tuple[float, bool, list[str]]] = []
    open_calls: dict[tuple[str, str], list[str]] = {}
    for when, ex in frames:
        if ex.kind == "CALL":
            lines = [f"{ex.direction:>3} {ex.action} {_text(ex.payload)}"]
            open_calls[(ex.direction, ex.unique_id or "")] = lines
            entries.append((when, _timer_driven(ex), lines))
        elif ex.kind in ("CALLRESULT", "CALLERROR"):
            caller = "in" if ex.direction == "out" else "out"
            answer = f"{ex.direction:>3}   -> {ex.kind} {_text(ex.payload)}"
            call = open_calls.pop((caller, ex.unique_id or ""), None)
            if call is None:
                entries.append((when, False, [f"{answer} (no CALL with its id)"]))
            else:
                call.append(answer)
        else:
            entries.append((when, False, [f"{ex.direction:>3} {ex.kind}"]))
    origin = entries[0][0] if entries else 0.0
    instants: dict[float, tuple[list[list[str]], list[list[str]]]] = {}
    for when, timed, lines in entries:
        timer_driven, others = instants.setdefault(round(when - origin, 3), ([], []))
        (timer_driven if timed else others).append(lines)
    out: list[str] = []
    for instant in sorted(instants):
        timer_driven, others = instants[instant]
        out.append(f"@{instant:.3f}")
        for lines in [*sorted(timer_driven), *others]:
            out.extend(lines)
    return out


def golden() -> list[str]:
    return GOLDEN.read_text(encoding="utf-8").splitlines()


if __name__ == "__main__":
    sys.stdout.write("".join(line + "\n" for line in canonical(record())))
