"""Plug&Charge contracts through the engine: the ISO 15118 stack presents a contract
(`contract_presented`), the station decides (DataTransfer Authorize online, its own validation
offline), tells the stack and authorizes the connector; and the EV's certificate request
(Get15118EVCertificate). Every PnC payload is checked against the 2.0.1 schemas both ways."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
import trio
from cryptography.hazmat.primitives import serialization

from chargebox.csms import CsmsSettings
from chargebox.errors import StateError
from chargebox.pki import ev_certificate as ev
from tests.features.pnc_support import EMAID, PNC, V2G, pnc_exchanges, pnc_station

CENTRAL = {**PNC, "CentralContractValidationAllowed": True}


def _authorize_requests(p) -> list[dict]:
    return [
        orjson.loads(r.data)
        for r in p.csms.received("CP-1", "DataTransfer")
        if r.message_id == "Authorize"
    ]


async def _present(p, contract, c: int = 1, **extra):
    await p.cp.session_started(c)
    await p.cp.contract_presented(c, EMAID, certificate=contract.chain_pem, **extra)
    return await p.iso15118.authorization()


# -- online ---------------------------------------------------------------------------------


async def test_a_contract_is_authorized_with_its_ocsp_data_and_charges(tmp_path, autojump_clock):
    async with pnc_station(tmp_path) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        result = await _present(p, contract)
        assert (result.status, result.certificate_status, result.source) == (
            "Accepted",
            "Accepted",
            "csms",
        )
        assert result.accepted
        # the station validated the chain with its MO root: the OCSP data goes, not the chain
        (request,) = _authorize_requests(p)
        assert request["idToken"] == {"idToken": EMAID, "type": "eMAID"}
        assert "certificate" not in request
        serials = [d["serialNumber"] for d in request["iso15118CertificateHashData"]]
        assert serials[0] == format(contract.certificate.serial_number, "X")
        assert len(serials) == 3  # the contract and both MO sub-CAs
        # the connector is authorized with the eMAID as idTag; the transaction carries it
        await p.evse.wait_for("authorize", 1, EMAID)
        await p.cp.transaction_started(1, meter_start=100)
        start = await p.csms.wait_for("StartTransaction")
        assert start.id_tag == EMAID
        await p.cp.transaction_stopped(1, meter_stop=2100, reason="EVDisconnected")
        stop = await p.csms.wait_for("StopTransaction")
        assert stop.meter_stop == 2100
        assert pnc_exchanges(p.csms) == [("station", "Authorize")]
        # no 1.6 Authorize for the eMAID: the contract's verdict is the authorization
        assert p.csms.received("CP-1", "Authorize") == []


async def test_without_the_mo_root_the_chain_goes_to_the_csms_when_allowed(
    tmp_path, autojump_clock
):
    async with pnc_station(tmp_path, roots=(V2G,), PnC=CENTRAL) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        result = await _present(p, contract)
        assert result.accepted
        (request,) = _authorize_requests(p)
        assert request["certificate"] == contract.chain_pem
        assert "iso15118CertificateHashData" not in request


async def test_without_the_mo_root_and_central_validation_nothing_goes(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, roots=(V2G,)) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        result = await _present(p, contract)
        assert (result.status, result.source) == ("Invalid", "station")
        assert "CentralContractValidationAllowed is false" in result.reason
        assert _authorize_requests(p) == []
        assert not any(call[0] == "authorize" for call in p.evse.calls)
        # the connector is free for the next attempt (the stack hears the verdict first,
        # then the transaction's chart takes it)
        await p.cp.settled("transaction/1")
        assert p.cp.transaction_state(1) == "Idle"


@pytest.mark.parametrize(
    ("make", "status", "certificate_status"),
    [
        (
            lambda pki: pki.issue_contract(
                EMAID,
                not_before=pki.clock() - timedelta(days=400),
                not_after=pki.clock() - timedelta(days=1),
            ),
            "Expired",
            "CertificateExpired",
        ),
        (lambda pki: pki.forge(pki.issue_contract(EMAID)), "Invalid", "SignatureError"),
        (lambda pki: pki.issue_contract("DEFRAC987654321"), "Invalid", "CertChainError"),
    ],
    ids=["expired", "forged", "another eMAID"],
)
async def test_a_contract_the_roots_prove_bad_is_refused_by_the_station(
    tmp_path, autojump_clock, make, status, certificate_status
):
    async with pnc_station(tmp_path) as p:
        contract = make(p.csms.pnc.pki)
        result = await _present(p, contract)
        assert (result.status, result.certificate_status, result.source) == (
            status,
            certificate_status,
            "station",
        )
        assert _authorize_requests(p) == []
        assert not any(call[0] == "authorize" for call in p.evse.calls)


async def test_a_revoked_contract_is_refused_by_the_csms(tmp_path, autojump_clock):
    async with pnc_station(tmp_path) as p:
        pki = p.csms.pnc.pki
        contract = pki.issue_contract(EMAID)
        pki.revoke(contract)
        result = await _present(p, contract)
        assert (result.status, result.certificate_status, result.source) == (
            "Invalid",
            "CertificateRevoked",
            "csms",
        )
        assert not result.accepted
        assert not any(call[0] == "authorize" for call in p.evse.calls)


async def test_an_emaid_the_csms_refuses(tmp_path, autojump_clock):
    settings = CsmsSettings(authorize_all=False, blocked_id_tags=frozenset({EMAID}))
    async with pnc_station(tmp_path, csms_settings=settings) as p:
        result = await _present(p, p.csms.pnc.pki.issue_contract(EMAID))
        assert (result.status, result.certificate_status) == ("Blocked", "Accepted")
        assert not result.accepted


async def test_the_stacks_ocsp_data_goes_as_it_is(tmp_path, autojump_clock):
    async with pnc_station(tmp_path) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        ocsp = p.store.contract_ocsp_requests(contract.chain_pem)[:1]
        await p.cp.session_started(1)
        await p.cp.contract_presented(1, EMAID, ocsp=ocsp)
        result = await p.iso15118.authorization()
        assert result.accepted
        (request,) = _authorize_requests(p)
        assert [d["serialNumber"] for d in request["iso15118CertificateHashData"]] == [
            ocsp[0].hash_data.serial_number
        ]


async def test_a_csms_without_plug_and_charge_gives_unknown(tmp_path, autojump_clock):
    async with pnc_station(tmp_path) as p:
        p.csms.pnc.settings.enabled = False
        result = await _present(p, p.csms.pnc.pki.issue_contract(EMAID))
        assert (result.status, result.source) == ("Unknown", "csms")
        assert "UnknownVendorId" in result.reason


async def test_plug_and_charge_disabled_refuses_without_asking(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, PnC={**PNC, "ISO15118PnCEnabled": False}) as p:
        result = await _present(p, p.csms.pnc.pki.issue_contract(EMAID))
        assert (result.status, result.source) == ("Invalid", "station")
        assert "ISO15118PnCEnabled" in result.reason
        assert pnc_exchanges(p.csms) == []


async def test_a_busy_connector_or_a_bad_emaid_is_a_state_error(tmp_path, autojump_clock):
    async with pnc_station(tmp_path) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        await p.cp.session_started(1)
        with pytest.raises(StateError, match="CiString20"):
            await p.cp.contract_presented(1, "DE-FRA-C12345678-9-EXTRA", certificate="x")
        with pytest.raises(StateError, match="connector 7"):
            await p.cp.contract_presented(7, EMAID)
        await p.cp.contract_presented(1, EMAID, certificate=contract.chain_pem)
        await p.iso15118.authorization()
        with pytest.raises(StateError, match="contract_presented is not possible"):
            await p.cp.contract_presented(1, EMAID, certificate=contract.chain_pem)


# -- offline --------------------------------------------------------------------------------


async def _offline(p) -> None:
    p.rig.net.unlisten("csms.test", 80)
    await p.rig.cut()
    await p.cp.wait_until(lambda: not p.cp.registered)


async def test_offline_a_valid_contract_is_looked_up_like_an_idtag(tmp_path, autojump_clock):
    keys = {"LocalAuthorizeOffline": True, "AuthorizationCacheEnabled": True}
    async with pnc_station(tmp_path, Core=keys) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        # online first: the Central System's verdict goes to the cache (C07.FR.09)
        assert (await _present(p, contract)).accepted
        await p.cp.session_stopped(1)
        assert p.cp.station.ctx.store.cache_get(EMAID)["status"] == "Accepted"
        await _offline(p)
        await p.cp.session_started(1)
        await p.cp.contract_presented(1, EMAID, certificate=contract.chain_pem)
        result = await p.iso15118.authorization(2)
        assert (result.status, result.certificate_status, result.source) == (
            "Accepted",
            "Accepted",
            "local",
        )
        await p.evse.wait_for("authorize", 1, EMAID)
        assert len(_authorize_requests(p)) == 1  # the first, online


@pytest.mark.parametrize(
    ("core", "status"),
    [({"AllowOfflineTxForUnknownId": True}, "Accepted"), ({}, "Invalid")],
    ids=["unknown allowed", "unknown refused"],
)
async def test_offline_an_unknown_emaid_follows_allow_offline_tx_for_unknown_id(
    tmp_path, autojump_clock, core, status
):
    async with pnc_station(tmp_path, Core=core) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        await _offline(p)
        result = await _present(p, contract)
        assert (result.status, result.certificate_status, result.source) == (
            status,
            "Accepted",
            "local",
        )


async def test_offline_an_expired_contract_is_expired(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, Core={"AllowOfflineTxForUnknownId": True}) as p:
        pki = p.csms.pnc.pki
        contract = pki.issue_contract(
            EMAID, not_before=pki.clock() - timedelta(days=30), not_after=pki.clock()
        )
        await _offline(p)
        await trio.sleep(60)
        result = await _present(p, contract)
        assert (result.status, result.certificate_status, result.source) == (
            "Expired",
            "CertificateExpired",
            "local",
        )
        assert "expired" in result.reason


async def test_offline_without_contract_validation_offline_is_not_at_this_time(
    tmp_path, autojump_clock
):
    keys = {**PNC, "ContractValidationOffline": False}
    async with pnc_station(tmp_path, PnC=keys, Core={"AllowOfflineTxForUnknownId": True}) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        await _offline(p)
        result = await _present(p, contract)
        assert (result.status, result.source) == ("NotAtThisTime", "station")
        assert not any(call[0] == "authorize" for call in p.evse.calls)


async def test_an_unanswered_authorize_is_decided_offline(tmp_path, autojump_clock):
    async with pnc_station(tmp_path, Core={"AllowOfflineTxForUnknownId": True}) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        await p.cp.session_started(1)
        p.rig.net.freeze("csms.test", 80)  # the Authorize gets no answer (CALL timeout)
        await p.cp.contract_presented(1, EMAID, certificate=contract.chain_pem)
        result = await p.iso15118.authorization()
        assert (result.status, result.source) == ("Accepted", "local")
        assert "offline" in result.reason


# -- the EV's certificate --------------------------------------------------------------------


async def test_an_ev_without_a_contract_gets_one_installed(tmp_path, autojump_clock):
    async with pnc_station(tmp_path) as p:
        pki = p.csms.pnc.pki
        oem = pki.issue_oem_provisioning("WMIV1234567890ABC")
        await p.cp.session_started(1)
        await p.cp.ev_certificate_requested(1, ev.installation_request(oem.chain))
        answer = await p.iso15118.certificate()
        assert answer.accepted and answer.reason == ""
        response = ev.read_response(answer.exi_response)
        assert response.response_code is ev.ResponseCode.OK
        # only the EV can read the contract's key: it was encrypted for its OEM key
        key = response.private_key(oem.key)
        assert key.public_key() == response.chain[0].public_key()
        assert response.emaid == p.csms.pnc.emaid_for("WMIV1234567890ABC")
        (request,) = [
            orjson.loads(r.data)
            for r in p.csms.received("CP-1", "DataTransfer")
            if r.message_id == "Get15118EVCertificate"
        ]
        assert request["action"] == "Install"
        assert request["iso15118SchemaVersion"] == "urn:iso:15118:2:2013:MsgDef"
        assert request["exiRequest"] == ev.installation_request(oem.chain)
        # and the contract it installed is authorized
        contract_pem = "".join(
            c.public_bytes(serialization.Encoding.PEM).decode() for c in response.chain
        )
        await p.cp.contract_presented(1, response.emaid, certificate=contract_pem)
        assert (await p.iso15118.authorization()).accepted
        assert pnc_exchanges(p.csms) == [
            ("station", "Get15118EVCertificate"),
            ("station", "Authorize"),
        ]


async def test_an_update_refused_by_the_csms_comes_back_failed_in_the_exi(tmp_path, autojump_clock):
    async with pnc_station(tmp_path) as p:
        pki = p.csms.pnc.pki
        contract = pki.issue_contract(EMAID)
        pki.revoke(contract)
        await p.cp.ev_certificate_requested(
            1, ev.update_request(contract.chain, EMAID), action="Update"
        )
        answer = await p.iso15118.certificate()
        assert answer.accepted  # the exchange worked; the EXI says the refusal
        assert ev.read_response(answer.exi_response).response_code is (
            ev.ResponseCode.FAILED_CertificateRevoked
        )
        assert answer.reason.startswith("Revoked")


@pytest.mark.parametrize("case", ["disabled", "offline", "bad action", "too long"])
async def test_an_ev_certificate_request_that_cannot_go_fails(tmp_path, autojump_clock, case):
    keys = {**PNC, "ISO15118PnCEnabled": case != "disabled"}
    async with pnc_station(tmp_path, PnC=keys) as p:
        oem = p.csms.pnc.pki.issue_oem_provisioning("WMIV1234567890ABC")
        exi = ev.installation_request(oem.chain)
        action = "Install"
        if case == "offline":
            await _offline(p)
        elif case == "bad action":
            action = "Renew"
        elif case == "too long":
            exi = "A" * 5601
        await p.cp.ev_certificate_requested(1, exi, action=action)
        answer = await p.iso15118.certificate()
        assert (answer.status, answer.exi_response) == ("Failed", "")
        expected = {
            "disabled": "ISO15118PnCEnabled is false",
            "offline": "not answered",
            "bad action": "action 'Renew' is not one of Install, Update",
            "too long": "exiRequest",
        }[case]
        assert expected in answer.reason
        assert pnc_exchanges(p.csms) == []


async def test_a_failure_while_deciding_refuses_the_contract_and_the_engine_goes_on(
    tmp_path, autojump_clock
):
    async with pnc_station(tmp_path) as p:
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        contracts = p.cp.station.actors.contracts

        async def broken(*args):
            raise OSError("the cache cannot be written")

        decide, contracts.authorize = contracts.authorize, broken
        result = await _present(p, contract)
        assert (result.status, result.source) == ("Invalid", "station")
        assert "the cache cannot be written" in result.reason
        await p.cp.settled("transaction/1")
        assert p.cp.transaction_state(1) == "Idle"
        contracts.authorize = decide
        await p.cp.contract_presented(1, EMAID, certificate=contract.chain_pem)
        assert (await p.iso15118.authorization(2)).accepted


# -- reservations (statecharts/station.yaml, K1..K3) -----------------------------------------


async def _reserve(p, id_tag: str, connector: int = 1, reservation_id: int = 7) -> str:
    from chargebox.ocpp import v16

    session = await p.session()
    answer = await session.call(
        v16.ReserveNowRequest(
            connector_id=connector,
            expiry_date=p.cp.clock.now() + timedelta(minutes=30),
            id_tag=id_tag,
            reservation_id=reservation_id,
        )
    )
    return str(answer.status)


async def test_a_connector_reserved_for_another_idtag_refuses_the_contract(
    tmp_path, autojump_clock
):
    async with pnc_station(tmp_path) as p:
        assert await _reserve(p, "SOMEONE-ELSE") == "Accepted"
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        result = await _present(p, contract)
        assert (result.status, result.source) == ("Invalid", "station")
        assert "reserved for another idTag" in result.reason
        # nothing was asked of the Central System, the connector was not authorized
        assert _authorize_requests(p) == []
        assert not any(call[0] == "authorize" for call in p.evse.calls)
        assert p.cp.transaction_state(1) == "Idle"


async def test_the_reserved_emaid_uses_its_reservation(tmp_path, autojump_clock):
    async with pnc_station(tmp_path) as p:
        assert await _reserve(p, EMAID, reservation_id=11) == "Accepted"
        contract = p.csms.pnc.pki.issue_contract(EMAID)
        result = await _present(p, contract)
        assert result.accepted
        await p.evse.wait_for("authorize", 1, EMAID)
        await p.cp.transaction_started(1, meter_start=100)
        start = await p.csms.wait_for("StartTransaction")
        assert (start.id_tag, start.reservation_id) == (EMAID, 11)
