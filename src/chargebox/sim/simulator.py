"""The simulated station: a host of the engine, like a station's firmware would be.

The simulator owns the hardware (chargebox.sim.physics: one `Outlet` per
connector, an `Ev` on each plugged one) and runs the engine with
`open_charge_point`, offering it the ports of chargebox.host:

- evse: authorize (start a transaction once the EV is plugged in), pause,
  resume, stop (report the final meter value), unlock, enable/disable;
- energy: `set_limit` caps the current the EVSE offers, so the EV's draw follows
  the smart-charging limits;
- system: `reset` restarts the engine (the hardware keeps its state: a plugged
  EV stays plugged); `resume_session` says whether a transaction the station was
  running when it went down goes on (only with `resume_after_power_loss`: by
  default the engine stops it with reason PowerLoss, as a 1.6 station does);
- firmware and diagnostics: real transfers (chargebox.sim.transfer);
- certificates: a FileCertificateStore in `<work folder>/certificates`;
- iso15118: the EV's ISO 15118 side for Plug&Charge (chargebox.sim.pnc): with
  `pnc` (the `pnc <c>` command, or every plug with `--pnc`) the EV asks for a
  contract when it has none (Get15118EVCertificate), then presents it; the
  station's store gets the test PKI's V2G and MO roots with `--pnc`.

The physical state is the truth; the engine is told about it. Every call into
the engine goes through one queue worked by one task, in order, so that what
a command does and what a port reacts to never interleave. While the engine
restarts, calls for the old engine are dropped: the new one is told the whole
physical state when it starts.

Time is trio's: with `trio.testing.MockClock(rate=X)` everything (the EV, the
meter, the engine's heartbeats and meter values) runs X times faster.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import attrs
import trio

from chargebox.actors.clock import StationClock
from chargebox.certstore import FileCertificateStore
from chargebox.config import ChargePointConfig, ConfigError, ConfigProblem
from chargebox.config.loader import read_document
from chargebox.config.overlay import write_json_atomic
from chargebox.messagelog import default_message_log_path
from chargebox.pki.ev_certificate import ExchangeError
from chargebox.sim.commands import Command, CommandError, help_text
from chargebox.sim.physics import MIN_CURRENT, Ev, Outlet
from chargebox.sim.pnc import DEFAULT_PCID, DEFAULT_SEED, PncEv
from chargebox.sim.transfer import INSTALLED, Diagnostics, Firmware, installed_firmware_version
from chargebox.station import (
    ChargePoint,
    ContractAuthorization,
    EvCertificateResponse,
    Host,
    Options,
    ResetKind,
    UnlockResult,
    open_charge_point,
)

log = logging.getLogger(__name__)

#: statuses in which the host reports whether energy flows
ENERGY_STATUSES = ("Preparing", "Charging", "SuspendedEV", "SuspendedEVSE")
#: engine transaction states in which energy may flow (the transaction is not ending)
RUNNING_TX_STATES = ("Starting", "StartedOffline", "Active", "Suspended")
STATE_FILE = "sim-state.json"
CONFIG_FILE = "sim-config.json"
#: at `quit`, how long (real seconds) the engine may take to deliver what it still has to send
QUIT_DRAIN_SECONDS = 5.0


@attrs.define
class SimSettings:
    """How the simulated station is built and run (the options of `chargebox sim`)."""

    #: the OCPP configuration file (libocpp layout)
    config: Path
    #: overrides Internal.CentralSystemURI
    csms_url: str | None = None
    #: overrides Internal.ChargePointId (and the id at the end of CentralSystemURI)
    charge_point_id: str | None = None
    #: keeps the engine's SQLite store, the overlay, the message logs and the sim's state
    data_dir: Path | None = None
    #: overrides Core.NumberOfConnectors
    connectors: int | None = None
    #: an authorization without an EV (RemoteStartTransaction) makes the EV plug in
    auto: bool = False
    #: how much faster than real time the clock runs (informs the engine's timeouts)
    speed: float = 1.0
    #: the EV that plugs in (copied for every plug)
    ev: Ev = attrs.Factory(Ev)
    #: the rating of each connector (A per phase) and its phases
    max_current: float = 32.0
    phases: int = 3
    #: simulated seconds between meter updates (None: 1 s, longer at high speed)
    tick: float | None = None
    #: engine options (open_stream for an in-process network, TLS material)
    options: Options | None = None
    #: simulated seconds the auto EV takes to plug in and to leave after a stop
    auto_plug_delay: float = 1.0
    auto_unplug_delay: float = 3.0
    #: simulated seconds a restart takes (Soft, Hard)
    restart_delay: tuple[float, float] = (1.0, 3.0)
    #: a transaction that was running when the simulator went down (killed, `quit`, a
    #: power cut) goes on at the next start when its EV is still plugged in; by default
    #: the engine stops it with reason PowerLoss, as a 1.6 station that lost power does
    resume_after_power_loss: bool = False
    #: Plug&Charge: every EV that plugs in presents its contract (ISO 15118) instead of
    #: waiting for a card, and the station's certificate store gets the test PKI's V2G and
    #: MO roots (chargebox.sim.pnc)
    pnc: bool = False
    #: the seed of the test PKI the EV's certificates and the station's roots come from
    #: (the development Central System's)
    pki_seed: str = DEFAULT_SEED
    #: the EV's PCID (its OEM provisioning certificate's common name)
    pcid: str = DEFAULT_PCID


@attrs.frozen
class StatusRow:
    """What the status line shows for one connector."""

    connector_id: int
    status: str
    power_w: float
    energy_wh: float
    session_wh: float | None
    transaction_id: int | None
    soc: float | None
    plugged: bool


class Output(Protocol):
    """Where the simulator reports (a terminal, plain lines, or a program)."""

    def event(self, text: str) -> None: ...

    def error(self, text: str) -> None: ...

    def status(self, rows: list[StatusRow], changed: bool) -> None: ...


class SilentOutput:
    """An Output that keeps everything (for programs and tests)."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.errors: list[str] = []

    def event(self, text: str) -> None:
        self.events.append(text)

    def error(self, text: str) -> None:
        self.errors.append(text)

    def status(self, rows: list[StatusRow], changed: bool) -> None:
        pass


@attrs.define(eq=False)
class _Job:
    generation: int
    what: str
    run: Callable[[ChargePoint], Awaitable[None]]
    done: trio.Event = attrs.Factory(trio.Event)


@attrs.define
class _Session:
    """The simulator's memory of a connector's session (beyond the hardware)."""

    authorized: str | None = None
    transaction: bool = False
    meter_start: int = 0
    #: the EV came by itself (--auto); it leaves by itself after the transaction
    auto: bool = False
    session_id: str | None = None
    count: int = 0


class Simulator:
    """A simulated charging station around the engine. `run` it; feed it commands."""

    def __init__(self, settings: SimSettings, output: Output | None = None) -> None:
        self.settings = settings
        self.output: Output = output or SilentOutput()
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        if settings.data_dir is not None:
            self.work_dir = Path(settings.data_dir)
            self.work_dir.mkdir(parents=True, exist_ok=True)
        else:
            # firmware downloads need a place even when nothing is to be kept
            self._temp = tempfile.TemporaryDirectory(prefix="chargebox-sim-")
            self.work_dir = Path(self._temp.name)
        self.config_path = self.work_dir / CONFIG_FILE
        self.cfg = self.load_config()
        n = self.cfg.number_of_connectors
        self.outlets = {
            c: Outlet(c, max_current=settings.max_current, phases=settings.phases)
            for c in range(1, n + 1)
        }
        self.sessions = {c: _Session() for c in self.outlets}
        #: errors of connector 0 (the station as a whole)
        self.station_faults: dict[str, bool] = {}
        self.station_limit: tuple[Decimal | None, Decimal | None] = (None, None)
        #: the meter registers (whole Wh) as last written to the state file
        self._saved_wh: dict[int, int] = {}
        self._save_error: str | None = None
        self._restore_state()
        self.cp: ChargePoint | None = None
        self.generation = 0
        self.boots = 0
        #: command errors and failed waits (the exit status of `chargebox sim`)
        self.errors = 0
        self.resets: list[str] = []
        self.times: list[datetime] = []
        self.firmware = Firmware(self.work_dir)
        self.diagnostics = Diagnostics(
            self.work_dir,
            self.cfg.charge_point_id,
            [self.message_log_dir, self.work_dir / STATE_FILE],
        )
        #: the station's certificates (the security profile's and Plug&Charge's)
        self.certificates = FileCertificateStore(self.work_dir / "certificates", now=self._now)
        self.host = Host(
            evse=_EvsePort(self),
            system=_SystemPort(self),
            energy=_EnergyPort(self),
            firmware=self.firmware,
            diagnostics=self.diagnostics,
            certificates=self.certificates,
            iso15118=_Iso15118Port(self),
        )
        self.clock: StationClock | None = None
        self._pnc_ev: PncEv | None = None
        self._jobs_send, self._jobs_receive = trio.open_memory_channel[_Job](math.inf)
        self._changed_event = trio.Event()
        self._restart = trio.Event()
        self._restart_kind = ResetKind.Soft
        self.quitting = trio.Event()
        self.finished = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._last_advance: float | None = None
        self._last_saved = -math.inf
        self._last_rows: list[StatusRow] = []
        given = settings.options.open_stream if settings.options is not None else None
        self._connections = _Connections(given)

    # -- configuration ---------------------------------------------------------------

    def load_config(self) -> ChargePointConfig:
        """The configuration with the command line's overrides; raises ConfigError.

        The overrides are written to `sim-config.json` in the work folder (the
        file the engine loads), next to the engine's overlay `user-config.json`.
        A problem names where the value came from: the user's file (`config`),
        the option that overrode it (`--csms`, `--id`, `--connectors`), or the
        installed firmware; never the generated file.
        """
        s = self.settings
        source = os.fspath(s.config)
        document, problem = read_document(Path(s.config), source)
        if problem is not None:
            raise ConfigError([problem])
        if not isinstance(document, dict):
            raise ConfigError(
                [ConfigProblem("top-level", "the top level must be a JSON object", source)]
            )
        duplicates = _duplicates(document, source)
        if duplicates:
            raise ConfigError(duplicates)  # lost once the document is written again
        origin: dict[tuple[str, str], str] = {}
        internal = document.setdefault("Internal", {})
        if s.charge_point_id is not None:
            old = internal.get("ChargePointId")
            internal["ChargePointId"] = s.charge_point_id
            origin["Internal", "ChargePointId"] = "--id"
            uri = str(internal.get("CentralSystemURI", ""))
            if s.csms_url is None and old and uri.rstrip("/").endswith("/" + quote(old, safe="")):
                # the configured URL ends with the old id: the new id replaces it
                internal["CentralSystemURI"] = uri.rstrip("/").rsplit("/", 1)[0] + "/"
        if s.csms_url is not None:
            internal["CentralSystemURI"] = s.csms_url
            origin["Internal", "CentralSystemURI"] = "--csms"
        if s.connectors is not None:
            document.setdefault("Core", {})["NumberOfConnectors"] = s.connectors
            origin["Core", "NumberOfConnectors"] = "--connectors"
        version = installed_firmware_version(self.work_dir)
        if version is not None:
            internal["FirmwareVersion"] = version
            origin["Internal", "FirmwareVersion"] = str(self.work_dir / "firmware" / INSTALLED)
        self.config_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        self.config_path.chmod(0o600)  # it may hold the AuthorizationKey
        generated = os.fspath(self.config_path)

        def named(problem: ConfigProblem) -> ConfigProblem:
            if problem.file != generated:
                return problem  # the overlay of accepted changes: a file of its own
            where = origin.get((problem.section or "", problem.key or ""), source)
            return attrs.evolve(problem, file=where)

        # without --data-dir the work folder is temporary: what the engine keeps there
        # (its store, accepted changes) lasts across the station's own restarts, not the process
        try:
            cfg = ChargePointConfig.load(self.config_path, self.work_dir / "user-config.json")
        except ConfigError as error:
            raise ConfigError([named(p) for p in error.problems]) from None
        cfg.warnings = tuple(named(p) for p in cfg.warnings)
        return cfg

    # -- running ---------------------------------------------------------------------

    @property
    def message_log_dir(self) -> Path:
        """Where the engine writes the message logs (MessageLogPath)."""
        given = self.settings.options.message_log_path if self.settings.options else None
        return Path(given) if given is not None else default_message_log_path(self.work_dir)

    @property
    def tick(self) -> float:
        """Simulated seconds between meter updates: about 20 updates per real second at most."""
        if self.settings.tick is not None:
            return self.settings.tick
        return max(1.0, self.settings.speed / 20.0)

    def options(self) -> Options:
        """Engine options; timeouts scaled so that they stay the same in real time."""
        given = self.settings.options
        options = attrs.evolve(given) if given is not None else Options()
        options.open_stream = self._connections.open_stream
        if given is None or given.call_timeout == Options().call_timeout:
            options.call_timeout = Options().call_timeout * self.settings.speed
        if given is None or given.connect_timeout == Options().connect_timeout:
            options.connect_timeout = Options().connect_timeout * self.settings.speed
        if self.settings.speed != 1:
            # a Central System on real time would set the simulated calendar back each time
            options.adopt_csms_time = False
        if given is None or given.meter_persist_interval == Options().meter_persist_interval:
            # fast, the meters tick up to 20 times a real second: write one a real second
            options.meter_persist_interval = self.settings.speed if self.settings.speed > 1 else 0.0
        return options

    def _now(self) -> datetime:
        """The station's time (the wall clock before the simulator runs)."""
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    @property
    def pnc_ev(self) -> PncEv:
        """The EV's Plug&Charge credentials (made on first use, on the station's clock)."""
        if self._pnc_ev is None:
            self._pnc_ev = PncEv.create(self._now, self.settings.pki_seed, self.settings.pcid)
        return self._pnc_ev

    def _install_pnc_roots(self) -> None:
        """The test PKI's V2G and MO roots in the station's store (as it was provisioned)."""
        for use, pem in self.pnc_ev.roots():
            if not self.certificates.installed(use):
                self.certificates.install_ca(use, pem)
                self.output.event(f"station: the test PKI's {use} is installed")

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the station until `quit()`; `task_status.started()` once the engine runs."""
        self.clock = StationClock()
        if hasattr(self.output, "clock"):
            self.output.clock = self.clock.now  # event lines carry the station's time
        if self.settings.pnc:
            self._install_pnc_roots()
        self._last_advance = trio.current_time()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._work_jobs)
                nursery.start_soon(self._ticks)
                nursery.start_soon(self._show)
                started = False
                while not self.quitting.is_set():
                    if self.boots:
                        self.cfg = self.load_config()  # an installed firmware shows from now on
                    self.boots += 1
                    self._restart = trio.Event()
                    async with open_charge_point(
                        self.cfg,
                        self.host,
                        data_dir=self.work_dir,
                        options=self.options(),
                        clock=self.clock,
                    ) as cp:
                        self.cp = cp
                        self.generation += 1
                        self.output.event(
                            f"engine started ({self.cfg.charge_point_id}, "
                            f"{self.cfg.number_of_connectors} connector(s), "
                            f"FirmwareVersion {self.cfg.get('FirmwareVersion')}); "
                            f"connecting to {self.cfg.central_system_url}"
                        )
                        await self._call("report the station's state", self._report_state)
                        if not started:
                            started = True
                            task_status.started()
                        async with trio.open_nursery() as engine_tasks:
                            engine_tasks.start_soon(self._watch_engine, cp)
                            await _first(self._restart.wait, self.quitting.wait)
                            if self.quitting.is_set():
                                # what the station decided before `quit` goes out first
                                # (the last StatusNotifications of a session, say)
                                await cp.drain(timeout=QUIT_DRAIN_SECONDS * self.settings.speed)
                            engine_tasks.cancel_scope.cancel()
                        self.cp = None
                        self._changed()
                    # the engine is gone: so is its connection, at once (see _Connections)
                    await self._connections.close_all()
                    if self.quitting.is_set():
                        break
                    kind = self._restart_kind
                    self.output.event(f"{kind} reset: the station restarts")
                    await trio.sleep(self.settings.restart_delay[kind is ResetKind.Hard])
                self._advance()
                self._save_state(force=True)
                nursery.cancel_scope.cancel()
        finally:
            self.finished.set()
            if self._temp is not None:
                self._temp.cleanup()

    def quit(self) -> None:
        """Stop the simulator; the engine closes its connection (a running transaction waits
        for the next start, which stops it with PowerLoss, or resumes it with
        `resume_after_power_loss`)."""
        self.quitting.set()

    async def wait_running(self) -> ChargePoint:
        """The running engine (waiting through a restart)."""
        while self.cp is None:
            await self._changed_event.wait()
        return self.cp

    async def _watch_engine(self, cp: ChargePoint) -> None:
        """Tell waiters and the display whenever a status or a transaction id changes."""
        while True:
            seen = self._snapshot(cp)
            await cp.wait_until(lambda seen=seen: self._snapshot(cp) != seen)
            now = self._snapshot(cp)
            for c, ((status, tx), (old_status, old_tx)) in enumerate(
                zip(now[1:], seen[1:], strict=True)
            ):
                where = "station" if c == 0 else f"connector {c}"
                if status != old_status:
                    self.output.event(f"{where}: {status}")
                if tx is not None and tx != old_tx:
                    self.output.event(f"{where}: transaction {tx} started")
            if now[0] != seen[0]:
                self.output.event(f"link: {now[0][0]}")
            self._changed()

    def _snapshot(self, cp: ChargePoint) -> list[tuple[str, int | None]]:
        """[(link state, None), (status of 0, None), (status of 1, transaction id), ...]"""
        link = "registered" if cp.registered else cp.link_state
        return [(link, None), (cp.status(0), None)] + [
            (cp.status(c), cp.transaction_id(c)) for c in self.outlets
        ]

    def _changed(self) -> None:
        self._changed_event.set()
        self._changed_event = trio.Event()

    # -- the engine queue --------------------------------------------------------------

    async def _call(
        self, what: str, run: Callable[[ChargePoint], Awaitable[None]], *, wait: bool = True
    ) -> None:
        """Queue a call into the engine; with `wait`, return once it ran (or was dropped)."""
        job = _Job(self.generation, what, run)
        self._jobs_send.send_nowait(job)
        if wait:
            await job.done.wait()

    def _later(self, what: str, run: Callable[[ChargePoint], Awaitable[None]]) -> None:
        """Queue a call into the engine from a port: the engine must not wait for it."""
        self._jobs_send.send_nowait(_Job(self.generation, what, run))

    async def _work_jobs(self) -> None:
        async for job in self._jobs_receive:
            cp = self.cp
            if cp is not None and job.generation == self.generation:
                try:
                    await job.run(cp)
                except Exception as e:
                    log.exception("simulator: %s failed", job.what)
                    self.output.error(f"{job.what} failed: {e}")
            job.done.set()
            self._changed()

    # -- physics -----------------------------------------------------------------------

    def _advance(self) -> None:
        """Let the time since the last advance pass at the present flows."""
        now = trio.current_time()
        last = self._last_advance if self._last_advance is not None else now
        for outlet in self.outlets.values():
            outlet.advance(now - last)
        self._last_advance = now

    def _update_flows(self) -> None:
        """Recompute each connector's offer (limits, faults, station limit) and the EVs' draw."""
        station_fault = any(self.station_faults.values())
        amps, watts = self.station_limit
        limited = amps is not None or watts is not None
        active = max(len([o for o in self.outlets.values() if o.connector_offer() > 0]), 1)
        for outlet in self.outlets.values():
            share: float | None = None
            if limited:
                # the station's limit shared by the connectors that offer energy; a limit
                # in W is power, so each connector's share is current on its own phases
                share = float(amps) / active if amps is not None else math.inf
                if watts is not None:
                    share = min(share, float(watts) / active / (230.0 * outlet.phases_in_use()))
            offer = 0.0 if station_fault else outlet.connector_offer(share)
            outlet.update_flow(offer)

    def _desired_status(self, c: int) -> str:
        outlet = self.outlets[c]
        if outlet.offered < MIN_CURRENT:
            return "SuspendedEVSE"  # SuspendedEVSE wins when both pause (spec 4.9)
        if outlet.drawn <= 0:
            return "SuspendedEV"
        return "Charging"

    async def _sync_energy_status(self, cp: ChargePoint, c: int) -> None:
        """Tell the engine whether energy flows, when that differs from what it shows."""
        if not self.sessions[c].transaction:
            return
        if cp.transaction_state(c) not in RUNNING_TX_STATES:
            return
        status = cp.status(c)
        if status not in ENERGY_STATUSES:
            return
        desired = self._desired_status(c)
        if desired == status:
            return
        if desired == "Charging":
            await cp.resumed(c)
        elif desired == "SuspendedEV":
            await cp.suspended_ev(c)
        else:
            await cp.suspended_evse(c)

    async def _ticks(self) -> None:
        """Every tick: the meters advance, the engine gets the readings, statuses follow."""
        while True:
            await trio.sleep(self.tick)
            await self._call("update the meters", self._tick_job, wait=False)

    async def _tick_job(self, cp: ChargePoint) -> None:
        self._advance()
        self._update_flows()
        self._keep_registers()
        for c, outlet in self.outlets.items():
            await cp.meter_values(c, outlet.readings())
            await self._sync_energy_status(cp, c)
        self._save_state()

    # -- state kept across restarts ----------------------------------------------------------

    def _restore_state(self) -> None:
        if self.settings.data_dir is None:
            return
        path = self.work_dir / STATE_FILE
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            log.warning("%s cannot be read (%s); the hardware starts fresh", path, e)
            return
        for key, saved in document.get("connectors", {}).items():
            c = int(key)
            if c not in self.outlets:
                continue
            outlet, session = self.outlets[c], self.sessions[c]
            outlet.energy_wh = float(saved.get("energy_wh", 0.0))
            self._saved_wh[c] = outlet.meter_wh
            outlet.plugged = bool(saved.get("plugged", False))
            ev = saved.get("ev")
            outlet.ev = Ev.from_json(ev) if isinstance(ev, dict) else None
            session.transaction = bool(saved.get("transaction", False))
            session.meter_start = int(saved.get("meter_start", 0))
            session.authorized = saved.get("authorized")
            session.count = int(saved.get("sessions", 0))
            outlet.contactor_closed = session.transaction

    def _save_state(self, *, force: bool = False) -> None:
        """Write the hardware's state (meter registers, plugs, EVs) so a restart resumes.

        At most every few real seconds unless forced: a fast simulation would
        otherwise write its disk all the time (a register that grew is written
        before its reading goes to the engine: `_keep_registers`).
        """
        if self.settings.data_dir is None:
            return
        now = trio.current_time() / max(self.settings.speed, 1e-9)
        if not force and now - self._last_saved < 5.0:
            return
        self._last_saved = now
        document = {
            "connectors": {
                str(c): {
                    "energy_wh": outlet.energy_wh,
                    "plugged": outlet.plugged,
                    "ev": outlet.ev.to_json() if outlet.ev is not None else None,
                    "transaction": self.sessions[c].transaction,
                    "meter_start": self.sessions[c].meter_start,
                    "authorized": self.sessions[c].authorized,
                    "sessions": self.sessions[c].count,
                }
                for c, outlet in self.outlets.items()
            }
        }
        try:
            write_json_atomic(self.work_dir / STATE_FILE, document)
        except OSError as e:
            if str(e) != self._save_error:  # once, not at every tick
                log.warning("the simulator's state cannot be saved: %s", e)
            self._save_error = str(e)
            return
        self._save_error = None
        self._saved_wh = {c: outlet.meter_wh for c, outlet in self.outlets.items()}

    def _keep_registers(self) -> None:
        """Write the meter registers before a reading of them goes to the engine.

        Whatever the engine is handed may reach the Central System (MeterValues,
        meterStop, the PowerLoss stop after a restart). A register restored after
        a kill below such a reading would run backwards; so a register that grew
        since the last write is written first, whatever the periodic save's pace.
        """
        if self.settings.data_dir is None:
            return
        if any(o.meter_wh > self._saved_wh.get(c, -1) for c, o in self.outlets.items()):
            self._save_state(force=True)

    async def _report_state(self, cp: ChargePoint) -> None:
        """A fresh engine learns the hardware's state: faults, plugged EVs, running sessions."""
        self._advance()
        self._update_flows()
        self._keep_registers()
        for code, is_fault in self.station_faults.items():
            await cp.error_raised(0, code, is_fault=is_fault)
        for c, outlet in self.outlets.items():
            await cp.meter_values(c, outlet.readings())
            for code, is_fault in outlet.faults.items():
                await cp.error_raised(c, code, is_fault=is_fault)
            session = self.sessions[c]
            if session.transaction and cp.transaction_state(c) not in RUNNING_TX_STATES:
                # the engine closed it (PowerLoss): the hardware stops too
                self._end_transaction(c)
            if outlet.plugged or session.transaction:
                await self._session_started(cp, c)
            await self._sync_energy_status(cp, c)
            if not session.transaction:
                await self._maybe_start(cp, c)

    # -- sessions and transactions -------------------------------------------------------

    async def _session_started(self, cp: ChargePoint, c: int) -> None:
        session = self.sessions[c]
        session.count += 1
        assert self.clock is not None
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%S")
        session.session_id = f"{stamp}-{c}-{session.count}"
        folder = None
        if self.settings.data_dir is not None:
            folder = self.message_log_dir / "sessions" / session.session_id
        await cp.session_started(c, session_id=session.session_id, log_folder=folder)

    def _can_start(self, c: int) -> bool:
        outlet, session = self.outlets[c], self.sessions[c]
        return (
            outlet.plugged
            and session.authorized is not None
            and not session.transaction
            and outlet.enabled
            and not any(outlet.faults.values())
            and not any(self.station_faults.values())
        )

    async def _maybe_start(self, cp: ChargePoint, c: int) -> None:
        """Plugged and authorized: close the contactor and start the transaction."""
        if not self._can_start(c):
            return
        outlet, session = self.outlets[c], self.sessions[c]
        self._advance()
        session.transaction = True
        session.meter_start = outlet.meter_wh
        outlet.contactor_closed = True
        outlet.evse_paused = False
        self._update_flows()
        self._save_state(force=True)  # the register and the session, before the engine hears
        await cp.meter_values(c, outlet.readings())
        await cp.transaction_started(c, meter_start=session.meter_start)
        await self._sync_energy_status(cp, c)

    def _end_transaction(self, c: int) -> None:
        outlet, session = self.outlets[c], self.sessions[c]
        session.transaction = False
        session.authorized = None
        outlet.contactor_closed = False
        outlet.evse_paused = False
        self._update_flows()

    async def _stop(self, cp: ChargePoint, c: int, reason: str) -> None:
        """The engine asked to stop: open the contactor, report the final meter value."""
        if not self.sessions[c].transaction:
            return
        self._advance()
        outlet = self.outlets[c]
        # decided now: an unplug while we report the stop is the unplug's to tell
        gone = not outlet.plugged
        self._end_transaction(c)
        self._save_state(force=True)  # the register and the session, before the engine hears
        await cp.meter_values(c, outlet.readings())
        await cp.transaction_stopped(c, meter_stop=outlet.meter_wh, reason=reason)
        if gone:
            await cp.session_stopped(c)  # the cable had gone already (EV side disconnect)
        elif self.sessions[c].auto:
            self._spawn(self._auto_leave, c)

    # -- what the engine asks (the ports) -------------------------------------------------

    def _spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn, *args)

    def authorized(self, c: int, id_tag: str) -> None:
        self.sessions[c].authorized = id_tag
        if not self.outlets[c].plugged and self.settings.auto:
            self._spawn(self._auto_arrive, c)
        self._later(f"start on connector {c}", lambda cp: self._maybe_start(cp, c))

    def authorization_withdrawn(self, c: int) -> None:
        if not self.sessions[c].transaction:
            self.sessions[c].authorized = None

    def set_paused(self, c: int, paused: bool) -> None:
        self._advance()
        self.outlets[c].evse_paused = paused
        self._update_flows()
        self._later(f"pause connector {c}", lambda cp: self._sync_energy_status(cp, c))

    def stop_requested(self, c: int, reason: str) -> None:
        self._later(f"stop the transaction on connector {c}", lambda cp: self._stop(cp, c, reason))

    def set_limit(self, c: int, amps: Decimal | None, watts: Decimal | None) -> None:
        self._advance()
        before = (
            self.station_limit
            if c == 0
            else (self.outlets[c].limit_amps, self.outlets[c].limit_watts)
            if c in self.outlets
            else None
        )
        if c == 0:
            self.station_limit = (amps, watts)
        elif c in self.outlets:
            self.outlets[c].limit_amps = amps
            self.outlets[c].limit_watts = watts
        else:
            log.warning("a limit for connector %d, which does not exist", c)
            return
        self._update_flows()
        if before != (amps, watts):
            shown = ", ".join(f"{v} {u}" for v, u in ((amps, "A"), (watts, "W")) if v is not None)
            where = "station" if c == 0 else f"connector {c}"
            self.output.event(f"{where}: limit {shown or 'none'}")
        for k in self.outlets:
            self._later(f"limit on connector {k}", lambda cp, k=k: self._sync_energy_status(cp, k))

    def set_enabled(self, c: int, enabled: bool) -> None:
        targets = list(self.outlets) if c == 0 else [c]
        self._advance()
        for k in targets:
            if k in self.outlets:
                self.outlets[k].enabled = enabled
        self._update_flows()

    def unlock(self, c: int) -> UnlockResult:
        if self.outlets[c].faults.get("ConnectorLockFailure") is not None:
            return UnlockResult.UnlockFailed
        return UnlockResult.Unlocked

    def reset(self, kind: ResetKind) -> None:
        self.resets.append(str(kind))
        self._restart_kind = kind
        self._restart.set()

    def resume_session(self, c: int) -> bool:
        """After a power loss: the transaction goes on only with `resume_after_power_loss`,
        and only when the hardware still runs it (the EV is plugged in)."""
        if not self.settings.resume_after_power_loss:
            return False
        session = self.sessions.get(c)
        return bool(session is not None and session.transaction and self.outlets[c].plugged)

    async def _auto_arrive(self, c: int) -> None:
        await trio.sleep(self.settings.auto_plug_delay)
        outlet, session = self.outlets[c], self.sessions[c]
        if outlet.plugged or session.authorized is None:
            return
        self.output.event(f"connector {c}: the EV arrives and plugs in (--auto)")
        await self.plug(c)
        session.auto = True

    async def _auto_leave(self, c: int) -> None:
        await trio.sleep(self.settings.auto_unplug_delay)
        session = self.sessions[c]
        if not self.outlets[c].plugged or session.transaction or not session.auto:
            return
        self.output.event(f"connector {c}: the EV unplugs and leaves (--auto)")
        await self.unplug(c)

    # -- commands -----------------------------------------------------------------------------

    def _need_engine(self, name: str) -> None:
        if self.cp is None:
            raise CommandError(f"{name}: the station is restarting; try again in a moment")

    async def plug(self, c: int) -> None:
        outlet, session = self.outlets[c], self.sessions[c]
        if outlet.plugged:
            raise CommandError(f"plug: connector {c} is already plugged in")
        self._advance()
        outlet.plugged = True
        if outlet.ev is None:
            outlet.ev = attrs.evolve(self.settings.ev)
        session.auto = False
        self._update_flows()
        self._save_state(force=True)

        async def tell(cp: ChargePoint) -> None:
            if session.transaction:
                await cp.ev_reconnected(c)  # back after an EV-side disconnect
            else:
                await self._session_started(cp, c)
                await self._maybe_start(cp, c)
                if self.settings.pnc and session.authorized is None:
                    await self._pnc_begin(cp, c)
            await self._sync_energy_status(cp, c)

        await self._call(f"plug {c}", tell)

    async def unplug(self, c: int) -> None:
        outlet, session = self.outlets[c], self.sessions[c]
        if not outlet.plugged:
            raise CommandError(f"unplug: connector {c} is not plugged in")
        self._advance()
        outlet.plugged = False
        self._update_flows()

        async def tell(cp: ChargePoint) -> None:
            if session.transaction and cp.transaction_state(c) == "Active":
                # the engine decides (StopTransactionOnEVSideDisconnect): stop or suspend
                await cp.ev_disconnected(c)
                await self._sync_energy_status(cp, c)
            elif session.transaction:
                # not yet Active (no transactionId yet): the hardware ends it itself
                self._advance()
                self._end_transaction(c)
                self._keep_registers()
                await cp.transaction_stopped(c, meter_stop=outlet.meter_wh, reason="EVDisconnected")
                await cp.session_stopped(c)
            else:
                session.authorized = None
                await cp.session_stopped(c)
            if not session.transaction:
                outlet.ev = None
            self._save_state(force=True)

        await self._call(f"unplug {c}", tell)

    async def rfid(self, id_tag: str, c: int | None) -> None:
        self._need_engine("rfid")
        await self._call("rfid", lambda cp: cp.token_presented(id_tag, c))

    # -- Plug&Charge (the EV's ISO 15118 side) -------------------------------------------------

    async def pnc(self, c: int) -> None:
        """The EV at connector c does Plug&Charge: it asks for a contract when it has none,
        then presents it."""
        self._need_engine("pnc")
        self._ev("pnc", c)
        await self._call(f"pnc {c}", lambda cp: self._pnc_begin(cp, c))

    async def _pnc_begin(self, cp: ChargePoint, c: int) -> None:
        ev = self.pnc_ev
        if ev.contract is None:
            self.output.event(
                f"connector {c}: the EV has no contract; it asks for one "
                "(CertificateInstallationReq)"
            )
            await cp.ev_certificate_requested(c, ev.installation_request())
        else:
            await self._present_contract(cp, c)

    async def _present_contract(self, cp: ChargePoint, c: int) -> None:
        contract = self.pnc_ev.contract
        if contract is None or not self.outlets[c].plugged:
            return
        self.output.event(f"connector {c}: the EV presents its contract {contract.emaid}")
        await cp.contract_presented(c, contract.emaid, certificate=contract.chain_pem)

    def certificate_response(self, c: int, response: EvCertificateResponse) -> None:
        """The Central System's answer to the EV's CertificateInstallationReq."""
        if not response.accepted:
            self.output.event(f"connector {c}: no contract for the EV: {response.reason}")
            return
        try:
            contract = self.pnc_ev.take_response(response.exi_response)
        except ExchangeError as e:
            self.output.event(f"connector {c}: no contract for the EV: {e}")
            return
        self.output.event(f"connector {c}: the EV installed its contract {contract.emaid}")
        self._later(f"present the contract on {c}", lambda cp: self._present_contract(cp, c))

    def authorization_response(self, c: int, result: ContractAuthorization) -> None:
        """The station's verdict on the EV's contract (what the EV hears in AuthorizationRes)."""
        certificate = (
            f", certificate {result.certificate_status}" if result.certificate_status else ""
        )
        self.output.event(
            f"connector {c}: contract {result.emaid}: {result.status}{certificate} "
            f"({result.source}: {result.reason})"
        )

    def _ev(self, name: str, c: int) -> Ev:
        ev = self.outlets[c].ev
        if ev is None or not self.outlets[c].plugged:
            raise CommandError(f"{name}: no EV is plugged in at connector {c}")
        return ev

    async def draw(self, c: int, amps: float, phases: int | None) -> None:
        ev = self._ev("draw", c)
        self._advance()
        ev.max_current = amps
        if phases is not None:
            ev.phases = phases
        self._update_flows()
        await self._call(f"draw on {c}", lambda cp: self._sync_energy_status(cp, c))

    async def ev_pause(self, c: int, paused: bool) -> None:
        ev = self._ev("ev-pause" if paused else "ev-resume", c)
        self._advance()
        ev.paused = paused
        self._update_flows()
        await self._call(f"EV pause on {c}", lambda cp: self._sync_energy_status(cp, c))

    async def fault(self, c: int, code: str) -> None:
        self._advance()
        faults = self.station_faults if c == 0 else self.outlets[c].faults
        faults[code] = True
        self._update_flows()

        async def tell(cp: ChargePoint) -> None:
            await cp.error_raised(c, code, is_fault=True, info="simulated")

        await self._call(f"fault on {c}", tell)

    async def clear_fault(self, c: int) -> None:
        self._advance()
        faults = self.station_faults if c == 0 else self.outlets[c].faults
        faults.clear()
        self._update_flows()

        async def tell(cp: ChargePoint) -> None:
            await cp.error_cleared(c)
            for k in self.outlets:
                await self._sync_energy_status(cp, k)
                await self._maybe_start(cp, k)

        await self._call(f"clear the faults of {c}", tell)

    async def wait_status(self, c: int, status: str, timeout: float) -> bool:
        """Wait (simulated seconds) until connector c shows `status`; False on timeout."""
        with trio.move_on_after(timeout):
            while True:
                cp = self.cp
                if cp is not None and cp.status(c) == status:
                    return True
                await self._changed_event.wait()
        return False

    async def wait_online(self, timeout: float) -> bool:
        """Wait (simulated seconds) until BootNotification is accepted; False on timeout."""
        with trio.move_on_after(timeout):
            while self.cp is None or not self.cp.registered:
                await self._changed_event.wait()
            return True
        return False

    async def execute(self, command: Command) -> None:
        """Run one command; raises CommandError when it cannot be done."""
        name = command.name
        c = command.connector
        if name == "plug":
            await self.plug(_given(c))
        elif name == "unplug":
            await self.unplug(_given(c))
        elif name == "rfid":
            await self.rfid(command.id_tag or "", c)
        elif name == "pnc":
            await self.pnc(_given(c))
        elif name == "draw":
            await self.draw(_given(c), command.amps or 0.0, command.phases)
        elif name in ("ev-pause", "ev-resume"):
            await self.ev_pause(_given(c), name == "ev-pause")
        elif name == "fault":
            await self.fault(_given(c), command.error_code or "OtherError")
        elif name == "clear-fault":
            await self.clear_fault(_given(c))
        elif name == "sleep":
            await trio.sleep(command.seconds or 0.0)
        elif name == "wait":
            status = command.status or "Available"
            timeout = command.seconds if command.seconds is not None else 60.0
            if not await self.wait_status(_given(c), status, timeout):
                shown = self.cp.status(_given(c)) if self.cp is not None else "restarting"
                raise CommandError(
                    f"wait: connector {c} did not become {status} within {timeout:g} s "
                    f"(it is {shown})"
                )
        elif name == "wait-online":
            timeout = command.seconds if command.seconds is not None else 60.0
            if not await self.wait_online(timeout):
                state = self.cp.link_state if self.cp is not None else "restarting"
                raise CommandError(
                    f"wait-online: not registered within {timeout:g} s (the link is {state})"
                )
        elif name == "help":
            for line in help_text().splitlines():
                self.output.event(line)
        elif name == "quit":
            self.quit()

    async def run_lines(self, lines: Iterable[str] | Any, *, echo: bool = False) -> None:
        """Parse and run commands line by line (an iterable or an async iterable of lines).

        With `echo` each line is shown first (`> plug 1`), as an event. A bad line
        gets a one-line error and the next line runs.
        """
        from chargebox.sim.commands import parse

        async def each() -> Any:
            if hasattr(lines, "__aiter__"):
                async for line in lines:
                    yield line
            else:
                for line in lines:
                    yield line

        async for line in each():
            if self.quitting.is_set():
                return
            text = line.split("#", 1)[0].strip()
            if echo and text:
                self.output.event(f"> {text}")  # a bad line too: its error follows
            try:
                command = parse(line, len(self.outlets))
                if command is None:
                    continue
                await self.execute(command)
            except CommandError as e:
                self.errors += 1
                self.output.error(str(e))

    # -- the status line ----------------------------------------------------------------------

    def rows(self) -> list[StatusRow]:
        cp = self.cp
        rows = []
        for c, outlet in self.outlets.items():
            session = self.sessions[c]
            rows.append(
                StatusRow(
                    connector_id=c,
                    status=cp.status(c) if cp is not None else "(restarting)",
                    power_w=outlet.power_w,
                    energy_wh=outlet.energy_wh,
                    session_wh=outlet.energy_wh - session.meter_start
                    if session.transaction
                    else None,
                    transaction_id=cp.transaction_id(c) if cp is not None else None,
                    soc=outlet.ev.soc if outlet.ev is not None and outlet.plugged else None,
                    plugged=outlet.plugged,
                )
            )
        return rows

    async def _show(self) -> None:
        """Give the output the connectors' rows whenever something changed (and every tick)."""
        while True:
            with trio.move_on_after(self.tick):
                await self._changed_event.wait()
            rows = self.rows()
            key = [(r.status, r.transaction_id, r.plugged) for r in rows]
            changed = key != [(r.status, r.transaction_id, r.plugged) for r in self._last_rows]
            self._last_rows = rows
            self.output.status(rows, changed)


def _duplicates(document: dict[str, Any], file: str) -> list[ConfigProblem]:
    """The sections and keys `document` names twice (read_document remembers them)."""
    problems = [
        ConfigProblem("duplicate-key", "section appears more than once", file, name)
        for name in getattr(document, "duplicates", ())
    ]
    for section, body in document.items():
        for name in getattr(body, "duplicates", ()):
            problems.append(
                ConfigProblem("duplicate-key", "key appears more than once", file, section, name)
            )
    return problems


def _given(c: int | None) -> int:
    if c is None:
        raise CommandError("a connector is needed")
    return c


async def _first(*waits: Callable[[], Awaitable[Any]]) -> None:
    """Return as soon as one of `waits` returns."""
    async with trio.open_nursery() as nursery:
        for wait in waits:

            async def one(wait: Callable[[], Awaitable[Any]] = wait) -> None:
                await wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(one)


class _Connections:
    """The engine's TCP connections (Options.open_stream), closed when the engine stops.

    When `open_charge_point`'s block ends, the engine is cancelled before its
    websocket closing handshake completes, and the socket stays open: the
    Central System would keep a dead session, and when the restarted station
    connects it may wait for the old one to close first. A real station's
    reboot drops its TCP connections; so does the simulator's, by closing them.
    """

    def __init__(self, inner: Callable[[str, int], Awaitable[trio.abc.Stream]] | None) -> None:
        self.inner = inner
        self.streams: list[trio.abc.Stream] = []

    async def open_stream(self, host: str, port: int) -> trio.abc.Stream:
        if self.inner is not None:
            stream = await self.inner(host, port)
        else:
            stream = await trio.open_tcp_stream(host, port)
        self.streams.append(stream)
        return stream

    async def close_all(self) -> None:
        streams, self.streams = self.streams, []
        for stream in streams:
            await trio.aclose_forcefully(stream)


# -- the ports ----------------------------------------------------------------------------


class _EvsePort:
    """EvseControl for the simulated connectors."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def authorize(self, connector_id: int, id_tag: str) -> None:
        self.sim.authorized(connector_id, id_tag)

    async def withdraw_authorization(self, connector_id: int) -> None:
        self.sim.authorization_withdrawn(connector_id)

    async def pause_charging(self, connector_id: int) -> None:
        self.sim.set_paused(connector_id, True)

    async def resume_charging(self, connector_id: int) -> None:
        self.sim.set_paused(connector_id, False)

    async def stop_transaction(self, connector_id: int, reason: str) -> None:
        self.sim.stop_requested(connector_id, reason)

    async def unlock(self, connector_id: int) -> UnlockResult:
        return self.sim.unlock(connector_id)

    async def set_enabled(self, connector_id: int, enabled: bool) -> None:
        self.sim.set_enabled(connector_id, enabled)


class _Iso15118Port:
    """The station's ISO 15118 stack, as far as the simulator plays it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def authorization_response(
        self, connector_id: int, result: ContractAuthorization
    ) -> None:
        self.sim.authorization_response(connector_id, result)

    async def certificate_response(
        self, connector_id: int, response: EvCertificateResponse
    ) -> None:
        self.sim.certificate_response(connector_id, response)

    async def v2g_certificate_changed(self, chain: Path, key: Path) -> None:
        self.sim.output.event(f"station: a new V2G certificate is installed ({chain.name})")


class _EnergyPort:
    """EnergySink: the smart-charging limit caps what the EVSE offers."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def set_limit(
        self, connector_id: int, amps: Decimal | None, watts: Decimal | None
    ) -> None:
        self.sim.set_limit(connector_id, amps, watts)


class _SystemPort:
    """SystemPort: a reset restarts the engine; the Central System's time is noted."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def reset(self, kind: ResetKind) -> None:
        self.sim.reset(kind)

    async def set_system_time(self, moment: datetime) -> None:
        self.sim.times.append(moment)

    def resume_session(self, connector_id: int, session_id: str | None) -> bool:
        return self.sim.resume_session(connector_id)
