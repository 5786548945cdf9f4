"""Writing the user overlay: accepted changes reach the disk atomically or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def default_overlay_path(base: str | os.PathLike[str]) -> Path:
    """Where the overlay of `base` lives unless told otherwise: ocpp-config.json ->
    ocpp-config.user.json, next to it (libocpp's user_config.json idea)."""
    base = Path(base)
    return base.with_name(f"{base.stem}.user{base.suffix or '.json'}")


def write_json_atomic(path: str | os.PathLike[str], document: Mapping[str, Any]) -> None:
    """Replace `path` with `document` so that a crash leaves the old or the new file, whole.

    The temporary file is created in the same folder (so the rename cannot cross file
    systems), flushed and fsynced before os.replace, and the folder is fsynced after it
    so the rename itself survives a power loss. The file is created with mode 0600
    because the overlay may hold the AuthorizationKey.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # Windows cannot open a folder for fsync; there the rename is as durable as it gets.
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
