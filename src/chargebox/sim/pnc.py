"""The simulated EV's ISO 15118 side: its certificates for Plug&Charge, from the test PKI.

The EV has an OEM provisioning certificate (CN its PCID) issued by the test
PKI (chargebox.pki.iso15118) with the development Central System's seed, so
that the Central System trusts it, and, once it has one, a contract
certificate with its key and eMAID. Without a contract it asks for one the
ISO 15118-2 way: a CertificateInstallationReq (chargebox's JSON stand-in for
EXI, chargebox.pki.ev_certificate) that the station passes to the Central
System in Get15118EVCertificate; the answer carries the contract, its key
encrypted for the OEM provisioning key, which only the EV can read.

The station of the simulator gets the same PKI's V2G and MO roots
(`roots`): the ones a station is provisioned with, which let it validate the
Central System's contracts itself (offline, with ContractValidationOffline).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from chargebox.host import CertificateUse
from chargebox.pki import ev_certificate as ev
from chargebox.pki.iso15118 import Credential, Pki15118

#: the development Central System's seed (chargebox.csms.pnc makes its PKI with it)
DEFAULT_SEED = "chargebox"
#: the simulated EV's provisioning certificate identity (ISO 15118-2 PCID: 17 or 18 characters)
DEFAULT_PCID = "WMISIMEV000000001"


@attrs.define
class Contract:
    """A contract the EV holds: its chain (leaf first, the sub-CAs), key and eMAID."""

    credential: Credential
    emaid: str

    @property
    def chain_pem(self) -> str:
        return self.credential.chain_pem


class PncEv:
    """The EV's Plug&Charge credentials (see the module's docstring)."""

    def __init__(self, pki: Pki15118, pcid: str = DEFAULT_PCID) -> None:
        self.pki = pki
        self.pcid = pcid
        #: the OEM provisioning certificate and its key
        self.oem = pki.issue_oem_provisioning(pcid)
        #: the contract, once the EV has one
        self.contract: Contract | None = None

    @classmethod
    def create(
        cls, clock: Callable[[], datetime], seed: str = DEFAULT_SEED, pcid: str = DEFAULT_PCID
    ) -> PncEv:
        """An EV whose certificates come from the test PKI of `seed` on `clock`."""
        return cls(Pki15118.create(seed, clock=clock), pcid)

    def roots(self) -> list[tuple[CertificateUse, str]]:
        """The V2G and MO roots a station of this PKI is provisioned with (PEM)."""
        return [
            (CertificateUse.V2GRootCertificate, self.pki.v2g_root.pem),
            (CertificateUse.MORootCertificate, self.pki.mo_root.pem),
        ]

    def installation_request(self) -> str:
        """The exiRequest of a CertificateInstallationReq (action Install)."""
        return ev.installation_request(self.oem.chain)

    def take_response(self, exi_response: str) -> Contract:
        """Read the Central System's CertificateInstallationRes: the contract, its key
        decrypted with the OEM provisioning key. Raises ExchangeError (a refusal, or a
        response that cannot be read)."""
        response = ev.read_response(exi_response)
        if response.response_code is not ev.ResponseCode.OK:
            raise ev.ExchangeError(f"the Central System answered {response.response_code}")
        assert self.oem.key is not None
        key = response.private_key(self.oem.key)
        if response.emaid is None:
            raise ev.ExchangeError("the response names no eMAID")
        self.contract = Contract(Credential(response.chain, key), response.emaid)
        return self.contract
