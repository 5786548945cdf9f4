"""Certificates: the development TLS CA, the ISO 15118 test PKI, OCSP and contract checks.

- chargebox.pki.development: a root CA, server and client certificates for
  security profiles 2 and 3 (the development CSMS, the simulator, the tests);
  its names are also importable from chargebox.pki itself.
- chargebox.pki.iso15118: a complete ISO 15118-2 test hierarchy (V2G, MO, OEM).
- chargebox.pki.ocsp: certificate ids, OCSP requests and responses, status lists.
- chargebox.pki.contract: eMAIDs and the validation of contract certificate chains.
- chargebox.pki.ev_certificate: the Get15118EVCertificate exchange (EXI stand-in).

Pure functions over `cryptography` objects: no trio, no engine.
"""

from __future__ import annotations

from chargebox.pki.development import (
    DevelopmentPki,
    Issued,
    make_ca,
    make_client_cert,
    make_server_cert,
    sign_csr,
)

__all__ = [
    "DevelopmentPki",
    "Issued",
    "make_ca",
    "make_client_cert",
    "make_server_cert",
    "sign_csr",
]
