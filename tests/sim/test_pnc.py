"""Plug&Charge in the simulator against the development CSMS: an EV with an OEM provisioning
certificate from the test PKI gets its contract (Get15118EVCertificate), presents it, charges
and stops; offline the station validates the contract itself; a revoked one is refused.
Every PnC payload is checked against the 2.0.1 schemas both ways."""

from __future__ import annotations

import pytest

from chargebox.host import CertificateUse
from chargebox.sim.commands import CommandError, parse
from tests.features.pnc_support import pnc_exchanges

from .support import CSMS_ADDRESS, simulated


def _events(rig, text: str) -> list[str]:
    return [e for e in rig.output.events if text in e]


async def test_a_plug_and_charge_session(tmp_path, autojump_clock):
    async with simulated(tmp_path, pnc=True) as rig:
        csms = rig.csms
        store = rig.sim.certificates
        assert store.installed(CertificateUse.V2GRootCertificate)
        assert store.installed(CertificateUse.MORootCertificate)
        await rig.run(
            "plug 1", "wait 1 Charging 30", "sleep 600", "unplug 1", "wait 1 Available 30"
        )
        emaid = rig.sim.pnc_ev.contract.emaid
        assert emaid == csms.pnc.emaid_for(rig.sim.settings.pcid)
        assert _events(rig, "the EV has no contract; it asks for one")
        assert _events(rig, f"the EV installed its contract {emaid}")
        (verdict,) = _events(rig, f"contract {emaid}: ")
        assert "Accepted, certificate Accepted (csms" in verdict
        start = await csms.wait_for("StartTransaction")
        stop = await csms.wait_for("StopTransaction")
        assert start.id_tag == emaid
        assert stop.reason == "EVDisconnected" and stop.meter_stop > 1800
        # the second session: the EV has its contract, it only presents it
        await rig.run("plug 1", "wait 1 Charging 30", "unplug 1", "wait 1 Available 30")
        assert len(csms.received("SIM-1", "StartTransaction")) == 2
        assert pnc_exchanges(csms, "SIM-1") == [
            ("station", "Get15118EVCertificate"),
            ("station", "Authorize"),
            ("station", "Authorize"),
        ]
        # the station's own idTag check is not asked for an eMAID
        assert csms.received("SIM-1", "Authorize") == []


async def test_offline_the_station_validates_the_contract(tmp_path, autojump_clock):
    core = {"LocalAuthorizeOffline": True, "AuthorizationCacheEnabled": True}
    async with simulated(tmp_path, pnc=True, sections={"Core": core}) as rig:
        await rig.run("plug 1", "wait 1 Charging 30", "unplug 1", "wait 1 Available 30")
        # the first transaction's messages answered before the cut (a StopTransaction whose
        # answer the cut lost would be sent again, and counted twice below)
        assert await rig.sim.cp.drain(30)
        rig.net.unlisten(*CSMS_ADDRESS)
        await rig.net.cut(*CSMS_ADDRESS)
        await rig.sim.cp.wait_until(lambda: not rig.sim.cp.registered)
        await rig.run("plug 1", "wait 1 Charging 30", "sleep 60", "unplug 1")
        emaid = rig.sim.pnc_ev.contract.emaid
        assert "Accepted, certificate Accepted (local" in _events(rig, f"contract {emaid}: ")[-1]
        # back online, the transaction made offline is delivered
        rig.net.listen(*CSMS_ADDRESS, rig.csms)
        await rig.csms.wait_for("StopTransaction", count=2)
        assert [s.id_tag for s in rig.csms.received("SIM-1", "StartTransaction")] == [emaid] * 2


async def test_a_revoked_contract_does_not_charge(tmp_path, autojump_clock):
    async with simulated(tmp_path, pnc=True) as rig:
        await rig.run("plug 1", "wait 1 Charging 30", "unplug 1", "wait 1 Available 30")
        contract = rig.sim.pnc_ev.contract
        rig.csms.pnc.pki.revoke(contract.credential.certificate)
        await rig.run("plug 1", "wait 1 Preparing 30", "sleep 30")
        assert (
            "Invalid, certificate CertificateRevoked (csms"
            in (_events(rig, f"contract {contract.emaid}: ")[-1])
        )
        assert rig.sim.cp.status(1) == "Preparing"
        assert len(rig.csms.received("SIM-1", "StartTransaction")) == 1


async def test_the_pnc_command(tmp_path, autojump_clock):
    pnc = {"ISO15118PnCEnabled": True, "ContractValidationOffline": True}
    central = {**pnc, "CentralContractValidationAllowed": True}
    # without --pnc the station has no roots: the Central System validates the chain
    async with simulated(tmp_path, sections={"PnC": central}) as rig:
        assert rig.sim.certificates.installed(CertificateUse.MORootCertificate) == []
        await rig.run("plug 1", "wait 1 Preparing 30", "pnc 1", "wait 1 Charging 30")
        emaid = rig.sim.pnc_ev.contract.emaid
        start = await rig.csms.wait_for("StartTransaction")
        assert start.id_tag == emaid
        await rig.run("unplug 1", "wait 1 Available 30")
        before = rig.sim.errors
        await rig.sim.run_lines(["pnc 1", "pnc 2"])
        assert rig.sim.errors == before + 2
        assert rig.output.errors[-2:] == [
            "pnc: no EV is plugged in at connector 1",
            "pnc: connector 2 does not exist (allowed: 1..1)",
        ]


def test_pnc_is_a_command_of_one_connector():
    assert parse("pnc 2", 2).connector == 2
    with pytest.raises(CommandError, match="usage: pnc <c>"):
        parse("pnc", 2)
    with pytest.raises(CommandError, match="connector 3 does not exist"):
        parse("pnc 3", 2)
