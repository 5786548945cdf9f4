"""Contract certificates of Plug&Charge: the eMAID and the validation of a contract chain.

Pure functions, for the development Central System (Authorize with the
certificate) and for a station that validates contracts itself
(ContractValidationOffline): `validate_contract` checks that the chain (leaf
first, then sub-CAs) leads to an installed root (an MO root, or a V2G root for
the PKIs that issue contracts under it), that every signature verifies, that
every certificate is a CA where one is needed and within its path length, that
each is valid at the given time, that none is revoked when its status is known,
and reads the eMAID from the leaf's common name. The result names the first
problem in one line, and maps it onto OCPP 2.0.1's AuthorizeCertificateStatus.
`validate_chain` makes the same checks for any other leaf (no eMAID).

The eMAID (ISO 15118-2, Annex H) is the country code (2 letters), the provider
id (3 letters or digits), the eMA instance (9 letters or digits) and an
optional check digit, each part optionally separated by "-" and compared
case-insensitively: `DE-FRA-C12345678-9`, `DEFRAC123456789`. The check digit
is not verified here (its algorithm is not needed to tell contracts apart).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import StrEnum

import attrs
from cryptography import x509
from cryptography.x509.oid import NameOID

from chargebox.ocpp.pnc import AuthorizationStatusEnumType, AuthorizeCertificateStatusEnumType
from chargebox.pki.ocsp import CertStatus, is_self_signed, issued_by

_EMAID = re.compile(
    r"(?P<country>[A-Za-z]{2})(?P<s>-?)(?P<provider>[A-Za-z0-9]{3})(?P=s)"
    r"(?P<instance>[A-Za-z0-9]{9})(?:(?P=s)(?P<check>[A-Za-z0-9]))?"
)
_BEGIN = b"-----BEGIN CERTIFICATE-----"


@attrs.frozen
class Emaid:
    """An eMAID in its parts (upper case); `str()` is its normal form (no separators)."""

    country: str
    provider: str
    instance: str
    check_digit: str | None = None

    def __str__(self) -> str:
        return f"{self.country}{self.provider}{self.instance}{self.check_digit or ''}"


def parse_emaid(text: str) -> Emaid:
    """The eMAID in `text`; ValueError saying what is allowed when it is not one."""
    found = _EMAID.fullmatch(text.strip())
    if found is None:
        raise ValueError(
            f"{text!r} is not an eMAID: 2 letters (country), 3 letters or digits (provider), "
            "9 letters or digits (instance), an optional check digit, optionally separated by '-'"
        )
    return Emaid(
        found["country"].upper(),
        found["provider"].upper(),
        found["instance"].upper(),
        found["check"].upper() if found["check"] else None,
    )


def normalize_emaid(text: str) -> str:
    """The eMAID without separators, in upper case; ValueError when it is not one."""
    return str(parse_emaid(text))


def same_emaid(a: str, b: str) -> bool:
    """Two spellings of one eMAID (case and separators aside). A trailing check digit on one
    side only still matches: ISO 15118-2 lets it be left out."""
    try:
        x, y = parse_emaid(a), parse_emaid(b)
    except ValueError:
        return a.casefold() == b.casefold()
    same_body = (x.country, x.provider, x.instance) == (y.country, y.provider, y.instance)
    return same_body and (x.check_digit is None or y.check_digit in (None, x.check_digit))


class ContractProblem(StrEnum):
    """Why a contract chain is refused."""

    Unreadable = "Unreadable"
    InvalidChain = "InvalidChain"
    UnknownRoot = "UnknownRoot"
    BadSignature = "BadSignature"
    Expired = "Expired"
    NotYetValid = "NotYetValid"
    Revoked = "Revoked"
    NoEmaid = "NoEmaid"
    EmaidMismatch = "EmaidMismatch"


_CERTIFICATE_STATUS = {
    None: AuthorizeCertificateStatusEnumType.Accepted,
    ContractProblem.Unreadable: AuthorizeCertificateStatusEnumType.NoCertificateAvailable,
    ContractProblem.InvalidChain: AuthorizeCertificateStatusEnumType.CertChainError,
    ContractProblem.UnknownRoot: AuthorizeCertificateStatusEnumType.CertChainError,
    ContractProblem.BadSignature: AuthorizeCertificateStatusEnumType.SignatureError,
    ContractProblem.Expired: AuthorizeCertificateStatusEnumType.CertificateExpired,
    ContractProblem.NotYetValid: AuthorizeCertificateStatusEnumType.CertificateExpired,
    ContractProblem.Revoked: AuthorizeCertificateStatusEnumType.CertificateRevoked,
    ContractProblem.NoEmaid: AuthorizeCertificateStatusEnumType.CertChainError,
    ContractProblem.EmaidMismatch: AuthorizeCertificateStatusEnumType.CertChainError,
}


@attrs.frozen
class ContractValidation:
    """The verdict on a contract chain: `problem` None when it is valid; `reason` says why
    not (or what was checked) in one line; `emaid` as the leaf names it; `path` the
    certificates from the leaf to the root that validated it."""

    problem: ContractProblem | None
    reason: str
    emaid: str | None = None
    path: tuple[x509.Certificate, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def certificate_status(self) -> AuthorizeCertificateStatusEnumType:
        """The AuthorizeCertificateStatus of OCPP 2.0.1 for this verdict."""
        return _CERTIFICATE_STATUS[self.problem]

    @property
    def authorization_status(self) -> AuthorizationStatusEnumType:
        """The idTokenInfo status a certificate problem gives: Expired for an expired
        certificate, Invalid for the others, Accepted for a valid chain (whether the
        eMAID itself may charge is a separate question)."""
        if self.problem is None:
            return AuthorizationStatusEnumType.Accepted
        if self.problem is ContractProblem.Expired:
            return AuthorizationStatusEnumType.Expired
        return AuthorizationStatusEnumType.Invalid


def _describe(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    shown = str(names[0].value) if names else cert.subject.rfc4514_string()
    return f"'{shown}' (serial {cert.serial_number:X})"


def _basic(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def _may_sign_certificates(cert: x509.Certificate) -> bool:
    basic = _basic(cert)
    if basic is None or not basic.ca:
        return False
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.key_cert_sign


def load_chain(chain: str | bytes | Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates of a PEM text (or the sequence as given); ValueError when the text
    holds none or one does not parse."""
    if not isinstance(chain, str | bytes):
        return list(chain)
    data = chain.encode() if isinstance(chain, str) else chain
    if _BEGIN not in data:
        raise ValueError("not PEM: no '-----BEGIN CERTIFICATE-----' line")
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise ValueError(f"not a readable PEM X.509 certificate chain: {e}") from None
    if not found:
        raise ValueError("the PEM holds no certificate")
    return found


def _refuse(problem: ContractProblem, reason: str, **rest: object) -> ContractValidation:
    return ContractValidation(problem, reason, **rest)  # type: ignore[arg-type]


def _path(
    chain: list[x509.Certificate], roots: list[x509.Certificate]
) -> tuple[list[x509.Certificate], ContractValidation | None]:
    """The path leaf .. root through the chain's certificates, or the refusal."""
    path = [chain[0]]
    remaining = list(chain[1:])
    for _ in range(len(chain) + 1):
        current = path[-1]
        root = next((r for r in roots if issued_by(current, r)), None)
        if root is not None:
            path.append(root)
            return path, None
        issuer = next((c for c in remaining if issued_by(current, c)), None)
        if issuer is None:
            named = [c for c in [*remaining, *roots] if c.subject == current.issuer]
            if named:
                return path, _refuse(
                    ContractProblem.BadSignature,
                    f"the signature of {_describe(current)} does not verify with the key of "
                    f"its issuer {_describe(named[0])}",
                )
            if is_self_signed(current):
                return path, _refuse(
                    ContractProblem.UnknownRoot,
                    f"the chain ends in the root {_describe(current)}, which is not installed",
                )
            return path, _refuse(
                ContractProblem.UnknownRoot,
                f"the issuer '{current.issuer.rfc4514_string()}' of {_describe(current)} is "
                "neither in the chain nor an installed root",
            )
        if not _may_sign_certificates(issuer):
            return path, _refuse(
                ContractProblem.InvalidChain,
                f"{_describe(issuer)} signed {_describe(current)} but is not a CA "
                "(BasicConstraints cA and KeyUsage keyCertSign)",
            )
        if is_self_signed(issuer):
            return path, _refuse(
                ContractProblem.UnknownRoot,
                f"the chain ends in the root {_describe(issuer)}, which is not installed",
            )
        remaining.remove(issuer)
        path.append(issuer)
    return path, _refuse(ContractProblem.InvalidChain, "the chain loops")


def validate_chain(
    chain: str | bytes | Sequence[x509.Certificate],
    roots: Iterable[x509.Certificate],
    now: datetime,
    *,
    status: Callable[[x509.Certificate, x509.Certificate], CertStatus | None] | None = None,
    what: str = "contract certificate",
) -> ContractValidation:
    """The checks of `validate_contract` without the eMAID: for any leaf (an OEM
    provisioning certificate, say); `what` names it in the reasons."""
    try:
        certs = load_chain(chain)
    except ValueError as e:
        return _refuse(ContractProblem.Unreadable, f"the {what} chain is {e}")
    if not certs:
        return _refuse(ContractProblem.Unreadable, f"no {what}")
    leaf = certs[0]
    leaf_basic = _basic(leaf)
    if leaf_basic is not None and leaf_basic.ca:
        return _refuse(
            ContractProblem.InvalidChain,
            f"the first certificate {_describe(leaf)} is a CA, not a {what}",
        )
    path, refusal = _path(certs, list(roots))
    if refusal is not None:
        return refusal
    for depth, cert in enumerate(path[1:], start=1):
        basic = _basic(cert)
        # a CA at depth d has d - 1 CAs below it before the leaf
        if basic is not None and basic.path_length is not None and depth - 1 > basic.path_length:
            return _refuse(
                ContractProblem.InvalidChain,
                f"{_describe(cert)} allows {basic.path_length} sub-CAs below it, the chain "
                f"has {depth - 1}",
            )
    for cert in path:
        if now < cert.not_valid_before_utc:
            return _refuse(
                ContractProblem.NotYetValid,
                f"{_describe(cert)} is not valid before {cert.not_valid_before_utc.isoformat()}",
                path=tuple(path),
            )
        if now > cert.not_valid_after_utc:
            return _refuse(
                ContractProblem.Expired,
                f"{_describe(cert)} expired on {cert.not_valid_after_utc.isoformat()}",
                path=tuple(path),
            )
    if status is not None:
        for cert, issuer in itertools.pairwise(path):
            if status(cert, issuer) is CertStatus.revoked:
                return _refuse(
                    ContractProblem.Revoked, f"{_describe(cert)} is revoked", path=tuple(path)
                )
    return ContractValidation(
        None, f"{_describe(leaf)} valid, issued under {_describe(path[-1])}", path=tuple(path)
    )


def validate_contract(
    chain: str | bytes | Sequence[x509.Certificate],
    roots: Iterable[x509.Certificate],
    now: datetime,
    *,
    emaid: str | None = None,
    status: Callable[[x509.Certificate, x509.Certificate], CertStatus | None] | None = None,
) -> ContractValidation:
    """Validate a contract certificate chain (PEM text or certificates, the leaf first).

    `roots`: the installed roots it may lead to (MORootCertificate, V2GRootCertificate);
    `now`: the time validity is checked at; `emaid`: the eMAID the EV presented, which
    must be the leaf's; `status(cert, issuer)`: what is known of a certificate's
    revocation (an OCSP answer, a status list), None when nothing is.
    """
    verdict = validate_chain(chain, roots, now, status=status)
    if not verdict.ok:
        return verdict
    path = verdict.path
    names = path[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else ""
    try:
        found = normalize_emaid(common_name)
    except ValueError as e:
        return _refuse(
            ContractProblem.NoEmaid, f"the contract certificate's common name {e}", path=path
        )
    if emaid is not None and not same_emaid(emaid, found):
        return _refuse(
            ContractProblem.EmaidMismatch,
            f"the eMAID presented, {emaid!r}, is not the contract certificate's {found!r}",
            emaid=found,
            path=path,
        )
    return ContractValidation(
        None, f"contract {found} valid, issued under {_describe(path[-1])}", emaid=found, path=path
    )
