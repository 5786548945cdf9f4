"""`chargebox demo`: the development CSMS and a simulated station, one charging session.

Both run in one process, over a real websocket on an ephemeral loopback port.
The session is the usual one: boot, plug in, RFID card, StartTransaction, an
hour of charging with meter values, the card again to stop, unplug. The hour
runs in a few seconds: trio's clock is a `MockClock` whose rate goes up for
the charging and back to 1 for everything else, so the connection, the
handshake and the answers happen at real speed and only the waiting is
shortened. The Central System answers with the simulated time too, so every
timestamp of the session (and of its message log) is consistent.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import attrs
import trio
import trio.testing

from chargebox._resources import data_dir as packaged
from chargebox.actors.clock import StationClock
from chargebox.csms import STEVE_PATH, CentralSystem, CsmsSettings, Session
from chargebox.csms import handlers as csms_handlers
from chargebox.messagelog import default_message_log_path
from chargebox.ocpp import v16
from chargebox.sim.simulator import SilentOutput, SimSettings, Simulator

ID_TAG = "DEMO-TAG"
CHARGE_POINT_ID = "cp001"  # the seed's id, as in the tutorial
#: the seed's key; the demo's Central System checks it (security profile 1)
AUTHORIZATION_KEY = "DEADBEEFDEADBEEF"
SAMPLED = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"


@attrs.define
class DemoSettings:
    data_dir: Path | None = None
    #: simulated seconds of charging
    charging: float = 3600.0
    #: how much faster than real time the charging runs
    rate: float = 1200.0
    #: seconds (of trio's clock at rate 1) that a step of the session may take
    step_timeout: float = 20.0


@attrs.define
class DemoResult:
    ok: bool
    data_dir: Path
    html_log: Path | None
    session_log: Path | None
    messages: dict[str, Counter[str]]
    meter_start: int | None = None
    meter_stop: int | None = None
    #: simulated seconds from Charging to Finishing (trio's clock: the station's calendar is
    #: set by every Heartbeat.conf, which moves it by the answer's latency)
    charged_seconds: float | None = None
    transaction_id: int | None = None
    reason: str | None = None
    soc: tuple[float, float] | None = None
    real_seconds: float = 0.0
    problem: str | None = None


def demo_config(folder: Path, port: int) -> Path:
    """The seed's configuration, pointed at the demo's Central System, sampling more."""
    document = json.loads((packaged("config") / "ocpp-config.json").read_text(encoding="utf-8"))
    internal, core = document["Internal"], document["Core"]
    internal["CentralSystemURI"] = f"127.0.0.1:{port}{STEVE_PATH}{CHARGE_POINT_ID}"
    internal["ChargePointId"] = CHARGE_POINT_ID
    core["MeterValuesSampledData"] = SAMPLED
    core["MeterValueSampleInterval"] = 300
    document["Security"]["AuthorizationKey"] = AUTHORIZATION_KEY
    path = folder / "demo-ocpp-config.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def _simulated_time(csms: CentralSystem, clock: StationClock) -> None:
    """Make the Central System's Boot and Heartbeat answers tell the simulated time."""

    def boot(session: Session, request: v16.BootNotificationRequest) -> Any:
        answer = csms_handlers.boot_notification(session, request)
        return attrs.evolve(answer, current_time=clock.now())

    def heartbeat(session: Session, request: v16.HeartbeatRequest) -> Any:
        return v16.HeartbeatResponse(current_time=clock.now())

    csms.on("BootNotification", boot)
    csms.on("Heartbeat", heartbeat)


async def run_demo(settings: DemoSettings, say: Callable[[str], None]) -> DemoResult:
    """Run the session; `say` gets a line for each step. Call inside trio.run with a MockClock."""
    real_start = time.monotonic()
    mock = trio.lowlevel.current_clock()
    if not isinstance(mock, trio.testing.MockClock):
        raise RuntimeError("run_demo needs trio.run(..., clock=trio.testing.MockClock())")
    folder = settings.data_dir or Path(tempfile.mkdtemp(prefix="chargebox-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    clock = StationClock()
    origin = trio.current_time()

    def note(text: str) -> None:
        elapsed = int(trio.current_time() - origin)
        say(f"[{elapsed // 3600:02d}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}] {text}")

    csms = CentralSystem(
        CsmsSettings(known_ids={CHARGE_POINT_ID: AUTHORIZATION_KEY}, heartbeat_interval=900)
    )
    _simulated_time(csms, clock)
    result = DemoResult(False, folder, None, None, {})
    async with trio.open_nursery() as nursery:
        port = await nursery.start(csms.serve, "127.0.0.1", 0)
        note(f"development CSMS listening on ws://127.0.0.1:{port}{STEVE_PATH}<id>")
        sim = Simulator(
            SimSettings(
                config=demo_config(folder, port),
                data_dir=folder,
                speed=settings.rate,
                tick=15.0,
            ),
            output=SilentOutput(),
        )
        await nursery.start(sim.run)
        try:
            await _session(settings, sim, csms, mock, note, result)
            result.ok = True
        except _StepFailed as e:
            result.problem = str(e)
        finally:
            mock.rate = 1.0
            sim.quit()  # the engine closes its connection and its message logs
            with trio.move_on_after(10):
                await sim.finished.wait()
            nursery.cancel_scope.cancel()
    _collect(csms, folder, result)
    result.real_seconds = time.monotonic() - real_start
    return result


class _StepFailed(Exception):
    pass


async def _step(what: str, timeout: float, wait: Callable[[], Any]) -> Any:
    with trio.move_on_after(timeout):
        return await wait()
    raise _StepFailed(f"{what} did not happen within {timeout:g} s")


async def _session(
    settings: DemoSettings,
    sim: Simulator,
    csms: CentralSystem,
    mock: trio.testing.MockClock,
    note: Callable[[str], None],
    result: DemoResult,
) -> None:
    timeout = settings.step_timeout
    cp = await sim.wait_running()
    await _step("registration", timeout, lambda: csms.wait_until(lambda: cp.registered))
    note(f"station {CHARGE_POINT_ID} connected (security profile 1); BootNotification accepted")

    async def status(value: str) -> None:
        if not await sim.wait_status(1, value, timeout):
            raise _StepFailed(f"connector 1 did not become {value} (it is {cp.status(1)})")

    await sim.plug(1)
    await status("Preparing")
    note("EV plugged in at connector 1: Preparing")
    outlet = sim.outlets[1]
    soc_before = outlet.ev.soc if outlet.ev is not None else 0.0
    await sim.rfid(ID_TAG, 1)
    await status("Charging")
    charging_since = trio.current_time()
    start = await _step("StartTransaction", timeout, lambda: csms.wait_for("StartTransaction"))
    await _step(
        "the transaction id", timeout, lambda: csms.wait_until(lambda: cp.transaction_id(1))
    )
    note(
        f"RFID card {ID_TAG}: Authorize accepted, StartTransaction -> transaction "
        f"{cp.transaction_id(1)}, Charging at {outlet.power_w / 1000:.1f} kW"
    )
    hours = settings.charging / 3600
    note(f"fast forward: {hours:g} h of charging at {settings.rate:g}x speed ...")
    mock.rate = settings.rate
    await trio.sleep(settings.charging)
    mock.rate = 1.0
    await sim.rfid(ID_TAG, 1)
    await status("Finishing")
    result.charged_seconds = trio.current_time() - charging_since
    stop = await _step("StopTransaction", timeout, lambda: csms.wait_for("StopTransaction"))
    note(
        f"RFID card {ID_TAG} again: StopTransaction (reason {stop.reason}), Finishing; "
        f"charged {charged_kwh(start.meter_start, stop.meter_stop)}"
    )
    soc_after = outlet.ev.soc if outlet.ev is not None else soc_before
    await sim.unplug(1)
    await status("Available")
    await _step(
        "the last StatusNotification",
        timeout,
        lambda: csms.wait_for(
            "StatusNotification",
            lambda s: s.connector_id == 1 and s.status == "Available",
            count=2,
        ),
    )
    note("EV unplugged: Available")
    result.soc = (soc_before, soc_after)
    result.transaction_id = stop.transaction_id


def charged_kwh(meter_start: int, meter_stop: int) -> str:
    """The energy of a transaction as the demo shows it, from the meter values the CSMS
    received (meterStop - meterStart): every line that gives it gives the same text."""
    return f"{(meter_stop - meter_start) / 1000:.2f} kWh"


def _collect(csms: CentralSystem, folder: Path, result: DemoResult) -> None:
    """Count the CALLs each side sent and read the transaction from what the CSMS received."""
    sent = {"station -> CSMS": Counter[str](), "CSMS -> station": Counter[str]()}
    for session in csms.all_sessions:
        for ex in session.exchanges:
            if ex.kind == "CALL" and ex.action:
                side = "station -> CSMS" if ex.direction == "in" else "CSMS -> station"
                sent[side][ex.action] += 1
    result.messages = sent
    starts = csms.received(CHARGE_POINT_ID, "StartTransaction")
    stops = csms.received(CHARGE_POINT_ID, "StopTransaction")
    if starts:
        result.meter_start = starts[0].meter_start
    if stops:
        result.meter_stop = stops[0].meter_stop
        result.reason = str(stops[0].reason) if stops[0].reason else "Local"
    logs = default_message_log_path(folder)
    html = sorted(logs.glob("*.html"))
    result.html_log = html[0] if html else None
    sessions = sorted(logs.glob("sessions/*/ocpp.html"))
    result.session_log = sessions[-1] if sessions else None


def summary(result: DemoResult, out: TextIO) -> None:
    """The readable end of the demo."""

    def line(text: str = "") -> None:
        print(text, file=out)

    line()
    line("Summary")
    for side, counts in result.messages.items():
        total = sum(counts.values())
        listed = ", ".join(f"{action} {n}" for action, n in sorted(counts.items())) or "none"
        line(f"  {side}: {total} messages: {listed}")
    if result.meter_start is not None and result.meter_stop is not None:
        energy = charged_kwh(result.meter_start, result.meter_stop)
        duration = ""
        if result.charged_seconds is not None:
            seconds = round(result.charged_seconds)
            duration = (
                f" in {seconds // 3600} h {seconds % 3600 // 60:02d} min {seconds % 60:02d} s "
                "of simulated time"
            )
        line(
            f"  transaction {result.transaction_id}: idTag {ID_TAG}, energy {energy}"
            f"{duration} (meterStart {result.meter_start} Wh, meterStop {result.meter_stop} Wh, "
            f"reason {result.reason})"
        )
    if result.soc is not None:
        line(f"  EV state of charge: {result.soc[0]:.0f} % -> {result.soc[1]:.0f} %")
    line(f"  real time: {result.real_seconds:.1f} s")
    if result.html_log is not None:
        line(f"  HTML message log: {result.html_log}  (open it in a browser)")
    if result.session_log is not None:
        line(f"  the session's own log: {result.session_log}")
    line(f"  data directory: {result.data_dir}")
    if not result.ok:
        line(f"  the demo did not finish: {result.problem}")
