"""Shared helpers of the configuration tests: where the examples are, and editing documents."""

from __future__ import annotations

import copy
from typing import Any

from chargebox._resources import data_dir

CONFIG_DIR = data_dir("config")
SEED = CONFIG_DIR / "ocpp-config.json"
FULL = CONFIG_DIR / "ocpp-config-full.json"


def edit(document: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A copy of `document` with keys set (value None removes the key) per section."""
    result = copy.deepcopy(document)
    for section, keys in sections.items():
        if not isinstance(keys, dict):
            result[section] = keys
            continue
        body = result.setdefault(section, {})
        for key, value in keys.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
    return result
