"""A test PKI for ISO 15118 Plug&Charge, made with `cryptography`: test keys, never for production.

Three hierarchies, as ISO 15118-2 draws them, each a root and two sub-CAs:

    V2G root CA -> CPO sub-CA 1 -> CPO sub-CA 2 -> SECC leaf (the station's V2G certificate)
    MO root CA  -> MO sub-CA 1  -> MO sub-CA 2  -> contract certificate (CN: the eMAID)
    OEM root CA -> OEM sub-CA 1 -> OEM sub-CA 2 -> OEM provisioning certificate (the EV's)

Every certificate is X.509 v3 with an ECDSA secp256r1 key signed with SHA-256
(ISO 15118-2 allows nothing else). The subject carries CN, O, C and the domain
component of its role (DC=V2G for the V2G CAs, CPO for the station's leaf, MO
for the mobility operator's certificates, OEM for the vehicle maker's). CAs have
BasicConstraints cA true (critical; path length 1 below a sub-CA 1, 0 below a
sub-CA 2) and KeyUsage keyCertSign and cRLSign; the SECC leaf has KeyUsage
digitalSignature and keyAgreement (its key serves the TLS of ISO 15118), the
contract certificate digitalSignature and nonRepudiation, the OEM provisioning
certificate digitalSignature and keyAgreement (the contract key is sent to the
EV encrypted by key agreement with it). Every certificate below a root names
the OCSP responder (Authority Information Access) at `ocsp_url`, and every one
the PKI issues is in its `statuses` (chargebox.pki.ocsp.StatusList), good until
revoked.

With a `seed`, the keys and serial numbers are derived from it: two processes
that create the PKI with the same seed hold the same CA keys and names, so a
contract certificate one of them issues verifies against the other's roots.
Validity periods come from `Validity` and start at `now` (less `backdate`);
`issue_*` take their own windows for expired and not-yet-valid variants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from chargebox.pki.ocsp import CertStatus, StatusList

#: where the certificates say their OCSP responder is (nothing listens there: the
#: development Central System answers GetCertificateStatus itself)
DEFAULT_OCSP_URL = "http://127.0.0.1:8180/ocsp"
#: the order of the secp256r1 group: private scalars are 1 .. ORDER - 1
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_YEAR = timedelta(days=365)


class CsrRefused(ValueError):
    """A certificate signing request the PKI does not sign; the message says why."""


@attrs.frozen
class Validity:
    """How long each kind of certificate is valid. Roots live 40 years (as V2G roots do);
    the rest are defaults for tests, shorter the lower in the hierarchy."""

    root: timedelta = 40 * _YEAR
    sub_ca_1: timedelta = 4 * _YEAR
    sub_ca_2: timedelta = 2 * _YEAR
    secc: timedelta = _YEAR
    contract: timedelta = 2 * _YEAR
    oem_provisioning: timedelta = 4 * _YEAR
    #: how long before `now` a new certificate becomes valid (clocks are never quite equal)
    backdate: timedelta = timedelta(hours=1)


@attrs.frozen
class Authority:
    """A CA of the PKI: its certificate and private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey = attrs.field(repr=False)

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


@attrs.frozen
class Credential:
    """A leaf certificate with the sub-CA certificates above it (not the root) and its key
    (None when the key stayed with whoever sent the signing request)."""

    chain: tuple[x509.Certificate, ...]
    key: ec.EllipticCurvePrivateKey | None = attrs.field(default=None, repr=False)

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def certificate_pem(self) -> str:
        return _pem(self.chain[0])

    @property
    def chain_pem(self) -> str:
        """The leaf, then the sub-CAs: the order CertificateSigned and Authorize use."""
        return "".join(_pem(c) for c in self.chain)

    @property
    def key_pem(self) -> bytes:
        if self.key is None:
            raise ValueError("this credential's key is not here")
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def name(
    common_name: str, organization: str | None, country: str | None, domain: str | None
) -> x509.Name:
    """A subject name: CN, O, C and DC (each when given)."""
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if country:
        parts.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if domain:
        parts.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, domain))
    return x509.Name(parts)


def _usage(**on: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update(on)
    return x509.KeyUsage(**flags)


CA_USAGE = _usage(key_cert_sign=True, crl_sign=True)
SECC_USAGE = _usage(digital_signature=True, key_agreement=True)
#: content_commitment is the nonRepudiation bit
CONTRACT_USAGE = _usage(digital_signature=True, content_commitment=True)
OEM_PROVISIONING_USAGE = _usage(digital_signature=True, key_agreement=True)


class Pki15118:
    """The test PKI: the CAs of the three hierarchies, what they issue, and its status list.

    `create` builds it; `issue_secc`, `sign_secc_csr`, `issue_contract` and
    `issue_oem_provisioning` issue leaves; `revoke` marks one revoked; `forge`
    makes a look-alike with a bad signature.
    """

    def __init__(
        self,
        *,
        seed: str | None,
        clock: Callable[[], datetime],
        cpo: str,
        mo: str,
        oem: str,
        country: str,
        ocsp_url: str,
        validity: Validity,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.cpo = cpo
        self.mo = mo
        self.oem = oem
        self.country = country
        self.ocsp_url = ocsp_url
        self.validity = validity
        self.statuses = StatusList()
        self._counter = 0
        now = clock()
        self.v2g_root = self._root(f"{cpo} V2G Root CA", cpo, "V2G", now)
        self.cpo_sub_ca_1 = self._sub_ca(self.v2g_root, f"{cpo} Sub-CA 1", cpo, 1, now)
        self.cpo_sub_ca_2 = self._sub_ca(self.cpo_sub_ca_1, f"{cpo} Sub-CA 2", cpo, 0, now)
        self.mo_root = self._root(f"{mo} Root CA", mo, "MO", now)
        self.mo_sub_ca_1 = self._sub_ca(self.mo_root, f"{mo} Sub-CA 1", mo, 1, now, "MO")
        self.mo_sub_ca_2 = self._sub_ca(self.mo_sub_ca_1, f"{mo} Sub-CA 2", mo, 0, now, "MO")
        self.oem_root = self._root(f"{oem} Root CA", oem, "OEM", now)
        self.oem_sub_ca_1 = self._sub_ca(self.oem_root, f"{oem} Sub-CA 1", oem, 1, now, "OEM")
        self.oem_sub_ca_2 = self._sub_ca(self.oem_sub_ca_1, f"{oem} Sub-CA 2", oem, 0, now, "OEM")

    @classmethod
    def create(
        cls,
        seed: str | None = "chargebox",
        *,
        now: datetime | None = None,
        clock: Callable[[], datetime] | None = None,
        cpo: str = "chargebox CPO",
        mo: str = "chargebox MO",
        oem: str = "chargebox OEM",
        country: str = "DE",
        ocsp_url: str = DEFAULT_OCSP_URL,
        validity: Validity | None = None,
    ) -> Pki15118:
        """A new PKI. `clock` gives the time certificates start from (the wall clock by
        default); `now` fixes it instead. `seed` None makes random keys and serials."""
        if now is not None:
            fixed = now
            clock = lambda: fixed  # noqa: E731
        return cls(
            seed=seed,
            clock=clock or (lambda: datetime.now(UTC)),
            cpo=cpo,
            mo=mo,
            oem=oem,
            country=country,
            ocsp_url=ocsp_url,
            validity=validity or Validity(),
        )

    # -- keys, serials, building ------------------------------------------------------------

    def _next_label(self, label: str) -> str:
        self._counter += 1
        return f"{label}#{self._counter}"

    def _key(self, label: str) -> ec.EllipticCurvePrivateKey:
        if self.seed is None:
            return ec.generate_private_key(ec.SECP256R1())
        digest = hashlib.sha256(f"{self.seed}/key/{label}".encode()).digest()
        return ec.derive_private_key(int.from_bytes(digest) % (_ORDER - 1) + 1, ec.SECP256R1())

    def _serial(self, label: str) -> int:
        if self.seed is None:
            return x509.random_serial_number()
        digest = hashlib.sha256(f"{self.seed}/serial/{label}".encode()).digest()
        # 16 octets, positive, never zero (RFC 5280 4.1.2.2)
        return (int.from_bytes(digest[:16]) >> 1) | 1

    def _build(
        self,
        *,
        label: str,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        issuer: Authority | None,
        issuer_name: x509.Name | None = None,
        signing_key: ec.EllipticCurvePrivateKey,
        not_before: datetime,
        not_after: datetime,
        ca_path_length: int | bool | None,
        usage: x509.KeyUsage,
    ) -> x509.Certificate:
        """A certificate. `ca_path_length` False makes a leaf, None a CA without a limit."""
        is_ca = ca_path_length is not False
        path_length = ca_path_length if isinstance(ca_path_length, int) and is_ca else None
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(
                issuer_name or (issuer.certificate.subject if issuer is not None else subject)
            )
            .public_key(public_key)
            .serial_number(self._serial(label))
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            ).add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(self.ocsp_url),
                        )
                    ]
                ),
                critical=False,
            )
        return builder.sign(signing_key, hashes.SHA256())

    def _window(
        self,
        lifetime: timedelta,
        not_before: datetime | None,
        not_after: datetime | None,
        now: datetime | None = None,
    ) -> tuple[datetime, datetime]:
        start = now if now is not None else self.clock()
        begin = not_before if not_before is not None else start - self.validity.backdate
        end = not_after if not_after is not None else begin + lifetime
        if end <= begin:
            raise ValueError(f"a validity window must end after it starts ({begin} .. {end})")
        return begin, end

    def _root(self, common_name: str, organization: str, domain: str, now: datetime) -> Authority:
        key = self._key(common_name)
        begin, end = self._window(self.validity.root, None, None, now)
        cert = self._build(
            label=common_name,
            subject=name(common_name, organization, self.country, domain),
            public_key=key.public_key(),
            issuer=None,
            signing_key=key,
            not_before=begin,
            not_after=end,
            ca_path_length=None,
            usage=CA_USAGE,
        )
        self.statuses.add_issuer(cert, key)
        return Authority(cert, key)

    def _sub_ca(
        self,
        parent: Authority,
        common_name: str,
        organization: str,
        path_length: int,
        now: datetime,
        domain: str = "V2G",
    ) -> Authority:
        key = self._key(common_name)
        lifetime = self.validity.sub_ca_1 if path_length else self.validity.sub_ca_2
        begin, end = self._window(lifetime, None, None, now)
        cert = self._build(
            label=common_name,
            subject=name(common_name, organization, self.country, domain),
            public_key=key.public_key(),
            issuer=parent,
            signing_key=parent.key,
            not_before=begin,
            not_after=end,
            ca_path_length=path_length,
            usage=CA_USAGE,
        )
        self.statuses.add_issuer(cert, key)
        self.statuses.add(cert, parent.certificate)
        return Authority(cert, key)

    def _leaf(
        self,
        issuer: Authority,
        chain: Sequence[Authority],
        *,
        label: str,
        subject: x509.Name,
        key: ec.EllipticCurvePrivateKey | None,
        public_key: ec.EllipticCurvePublicKey | None,
        lifetime: timedelta,
        not_before: datetime | None,
        not_after: datetime | None,
        usage: x509.KeyUsage,
    ) -> Credential:
        label = self._next_label(label)
        if public_key is None:
            key = key or self._key(label)
            public_key = key.public_key()
        begin, end = self._window(lifetime, not_before, not_after)
        cert = self._build(
            label=label,
            subject=subject,
            public_key=public_key,
            issuer=issuer,
            signing_key=issuer.key,
            not_before=begin,
            not_after=end,
            ca_path_length=False,
            usage=usage,
        )
        self.statuses.add(cert, issuer.certificate)
        return Credential((cert, *(a.certificate for a in chain)), key)

    # -- what the PKI issues ------------------------------------------------------------------

    @property
    def v2g_chain(self) -> tuple[Authority, Authority]:
        """CPO sub-CA 2 and sub-CA 1: what follows a SECC leaf in its chain."""
        return self.cpo_sub_ca_2, self.cpo_sub_ca_1

    @property
    def mo_chain(self) -> tuple[Authority, Authority]:
        return self.mo_sub_ca_2, self.mo_sub_ca_1

    def issue_secc(
        self,
        charge_point_id: str,
        *,
        organization: str | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Credential:
        """A SECC leaf with a new key: CN the charge point's id, O the CPO, DC=CPO."""
        return self._leaf(
            self.cpo_sub_ca_2,
            self.v2g_chain,
            label=f"secc/{charge_point_id}",
            subject=name(charge_point_id, organization or self.cpo, self.country, "CPO"),
            key=None,
            public_key=None,
            lifetime=self.validity.secc,
            not_before=not_before,
            not_after=not_after,
            usage=SECC_USAGE,
        )

    def sign_secc_csr(
        self,
        csr_pem: str | bytes,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Credential:
        """The SECC leaf for a signing request (SignCertificate with V2GCertificate), signed by
        CPO sub-CA 2, with the sub-CAs after it. The subject is the request's. CsrRefused
        when the request does not parse, its signature does not verify, it has no common
        name or its key is not a secp256r1 key."""
        data = csr_pem.encode() if isinstance(csr_pem, str) else csr_pem
        try:
            csr = x509.load_pem_x509_csr(data)
        except ValueError as e:
            raise CsrRefused(f"the CSR is not a readable PEM certificate request: {e}") from None
        if not csr.is_signature_valid:
            raise CsrRefused("the CSR's signature does not verify")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            raise CsrRefused("the CSR's key is not an ECDSA secp256r1 key (ISO 15118-2)")
        if not csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            raise CsrRefused("the CSR's subject has no common name (the SECC's id)")
        return self._leaf(
            self.cpo_sub_ca_2,
            self.v2g_chain,
            label=f"secc-csr/{csr.subject.rfc4514_string()}",
            subject=csr.subject,
            key=None,
            public_key=public_key,
            lifetime=self.validity.secc,
            not_before=not_before,
            not_after=not_after,
            usage=SECC_USAGE,
        )

    def issue_contract(
        self,
        emaid: str,
        *,
        public_key: ec.EllipticCurvePublicKey | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Credential:
        """A contract certificate for `emaid` (its CN), issued by MO sub-CA 2; a new key unless
        `public_key` is given."""
        return self._leaf(
            self.mo_sub_ca_2,
            self.mo_chain,
            label=f"contract/{emaid}",
            subject=name(emaid, self.mo, self.country, "MO"),
            key=None,
            public_key=public_key,
            lifetime=self.validity.contract,
            not_before=not_before,
            not_after=not_after,
            usage=CONTRACT_USAGE,
        )

    def issue_oem_provisioning(
        self,
        pcid: str,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Credential:
        """An EV's OEM provisioning certificate (CN its PCID), issued by OEM sub-CA 2."""
        return self._leaf(
            self.oem_sub_ca_2,
            (self.oem_sub_ca_2, self.oem_sub_ca_1),
            label=f"oem/{pcid}",
            subject=name(pcid, self.oem, self.country, "OEM"),
            key=None,
            public_key=None,
            lifetime=self.validity.oem_provisioning,
            not_before=not_before,
            not_after=not_after,
            usage=OEM_PROVISIONING_USAGE,
        )

    def revoke(
        self,
        certificate: x509.Certificate | Credential,
        *,
        at: datetime | None = None,
        reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
    ) -> None:
        """Mark a certificate the PKI issued revoked (its OCSP answers say so from now on)."""
        cert = certificate.certificate if isinstance(certificate, Credential) else certificate
        self.statuses.revoke(cert, at if at is not None else self.clock(), reason)

    def status_of(self, certificate: x509.Certificate | Credential) -> CertStatus | None:
        cert = certificate.certificate if isinstance(certificate, Credential) else certificate
        entry = self.statuses.entry_of(cert)
        return entry.status if entry is not None else None

    def forge(self, credential: Credential) -> Credential:
        """A look-alike of `credential`: the same subject, issuer name and chain, but signed
        by a key that is not its issuer's (a certificate with a bad signature)."""
        leaf = credential.certificate
        stranger = self._key(self._next_label("forger"))
        key = self._key(self._next_label("forged"))
        cert = self._build(
            label=self._next_label("forged"),
            subject=leaf.subject,
            public_key=key.public_key(),
            issuer=None,
            issuer_name=leaf.issuer,
            signing_key=stranger,
            not_before=leaf.not_valid_before_utc,
            not_after=leaf.not_valid_after_utc,
            ca_path_length=False,
            usage=leaf.extensions.get_extension_for_class(x509.KeyUsage).value,
        )
        return Credential((cert, *credential.chain[1:]), key)
