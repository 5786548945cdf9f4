"""Locate the data folders (statecharts/, config/) in a wheel or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `name` ("statecharts" or "config") that ships with this installation.

    A wheel carries the folders under chargebox/_data/; an editable install or a
    source checkout finds them at the top of the repository.
    """
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"chargebox data folder {name!r} not found (looked in {installed} and {checkout})"
    )
