"""Secrets out of logs: AuthorizationKey values, private keys, passwords, Authorization headers.

Every sink of the message log writes what this module returns, never the text
it was given; `redact` is public so that other modules' Python logging can use
it too.

Two ways in:
- `redact_json(value)` walks decoded JSON (a frame): it sees every string as
  decoded, so a secret cannot hide behind JSON escapes (`\\u002d`).
- `redact(text)` takes any text. JSON text goes through `redact_json` (and comes
  back unchanged, byte for byte, when it holds no secret); other text through
  regular expressions.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

REDACTED = "***"
PRIVATE_KEY_REDACTED = "[private key redacted]"

# Object members whose value is a secret whatever the message. OCPP 1.6 has no
# such field; vendor DataTransfer payloads and host texts sometimes do.
_SECRET_MEMBERS = frozenset(
    {"password", "passwd", "passphrase", "authorizationkey", "privatekey", "private_key"}
)

# Cheap test first: most strings of a frame (ids, enums, numbers as text) contain none
# of these, and skip the expensive expressions below.
_STRING_MARKERS = ("private key", "://", "authorization", "passw", "passphrase", "pwd")

# A PEM private key of any kind (RSA, EC, ENCRYPTED, OPENSSH, plain PKCS#8). A block
# cut short (no END line) is redacted to the end of the text.
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)

# scheme://user:password@host. The password runs to the last '@' before the path, so
# an unescaped '@' inside it (ftp://u:p@ss@host) is redacted whole.
_URL_PASSWORD = re.compile(
    r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:\"'<>]*:)[^\s/\"'<>]*@",
)

# `Authorization: Basic xyz`, `("Authorization", "Basic xyz")`, `authorization=Bearer xyz`.
_AUTH_HEADER = re.compile(
    r"(\b(?:proxy-)?authorization\b[\"']?\s*[:=,]\s*b?[\"']?\s*(?:basic|bearer|digest)\s+)"
    r"[^\s\"',;)]+",
    re.IGNORECASE,
)

# `password=xyz`, `"password": "xyz"`, `AuthorizationKey: xyz` in free text.
_ASSIGNMENT = re.compile(
    r"(\b(?:password|passwd|passphrase|pwd|authorization_?key)\b[\"']?\s*[:=]\s*b?[\"']?)"
    r"[^\s\"',;&})]+",
    re.IGNORECASE,
)

# In text that mentions AuthorizationKey but is not JSON (a cut-off ChangeConfiguration,
# say), every "value" string is redacted: its key cannot be told reliably.
_JSON_VALUE = re.compile(r'("value"\s*:\s*")(?:[^"\\]|\\.)*("|\Z)', re.DOTALL)


# Every rule above needs one of these in the text of a frame, unless JSON escapes
# (\\uXXXX) spell it: a frame with none of them is not walked at all.
# (Substring tests on the lower-cased text: several times faster than one regular
# expression with IGNORECASE, which has no literal prefix to search for.)
_MARKERS = ("private", "://", "authorization", "pass", "pwd", "\\u")


def may_hold_secret(text: str) -> bool:
    """False when `text` (JSON) certainly holds nothing `redact_json` would replace."""
    lower = text.lower()
    return any(marker in lower for marker in _MARKERS)


def _redact_string(text: str) -> str:
    lower = text.lower()
    if not any(marker in lower for marker in _STRING_MARKERS):
        return text
    text = _PEM_PRIVATE_KEY.sub(PRIVATE_KEY_REDACTED, text)
    text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)
    text = _AUTH_HEADER.sub(rf"\g<1>{REDACTED}", text)
    return _ASSIGNMENT.sub(rf"\g<1>{REDACTED}", text)


def _is_authorization_key(name: Any) -> bool:
    return isinstance(name, str) and name.strip().casefold() == "authorizationkey"


_HEADER_NAMES = frozenset({"authorization", "proxy-authorization"})
_SCHEME = re.compile(r"\s*(?:basic|bearer|digest)\s+", re.IGNORECASE)


def _is_authorization_header(name: Any) -> bool:
    return isinstance(name, str) and name.strip().casefold() in _HEADER_NAMES


def _header_value(value: Any) -> str:
    """An Authorization header's value with its credentials replaced: "Basic ***"."""
    scheme = _SCHEME.match(value) if isinstance(value, str) else None
    return f"{scheme.group().strip()} {REDACTED}" if scheme else REDACTED


def redact_json(value: Any) -> tuple[Any, bool]:
    """(value with its secrets replaced, whether anything was replaced).

    The value is decoded JSON. Unchanged parts are returned as they are (not
    copied). Replaced: the `value` of any object whose `key` is AuthorizationKey
    (any case; ChangeConfiguration.req, and a KeyValue of GetConfiguration.conf
    from a station that reports it), members named like a password or a private
    key, the credentials of Authorization headers (as members or [name, value]
    pairs), and in every string private-key PEM blocks, URL passwords and
    Authorization header credentials.
    """
    if isinstance(value, str):
        new = _redact_string(value)
        return new, new != value
    if isinstance(value, list):
        if len(value) == 2 and _is_authorization_header(value[0]):
            # a header as a [name, value] pair
            new = _header_value(value[1])
            return ([value[0], new], True) if new != value[1] else (value, False)
        changed = False
        items = []
        for item in value:
            new_item, item_changed = redact_json(item)
            items.append(new_item)
            changed = changed or item_changed
        return (items, True) if changed else (value, False)
    if isinstance(value, dict):
        changed = False
        members: dict[str, Any] = {}
        secret_value = _is_authorization_key(value.get("key")) and "value" in value
        for name, item in value.items():
            if (secret_value and name == "value") or (
                isinstance(name, str) and name.casefold() in _SECRET_MEMBERS
            ):
                members[name] = REDACTED
                changed = changed or item != REDACTED
                continue
            if _is_authorization_header(name):
                members[name] = _header_value(item)
                changed = changed or item != members[name]
                continue
            new_item, item_changed = redact_json(item)
            members[name] = new_item
            changed = changed or item_changed
        return (members, True) if changed else (value, False)
    return value, False


def redact_text(text: str) -> str:
    """`text` with secrets replaced, by regular expressions only (for text that is not JSON)."""
    text = _redact_string(text)
    if "authorizationkey" in text.casefold():
        text = _JSON_VALUE.sub(rf"\g<1>{REDACTED}\g<2>", text)
    return text


def redact(text: str) -> str:
    """`text` with every secret replaced; unchanged when it holds none.

    JSON text (an OCPP frame) is redacted member by member and, only when a
    secret was found, re-serialised compactly; any other text by pattern.
    """
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            return redact_text(text)
        if not may_hold_secret(text):
            return text
        new, changed = redact_json(data)
        return orjson.dumps(new).decode() if changed else text
    return redact_text(text)
