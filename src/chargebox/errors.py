"""The errors the engine raises to its host: a small hierarchy under StationError.

    StationError
        StateError        a handle call the engine cannot take in now (wrong state,
                          unknown connector); nothing changed and the engine runs on
        StoreError        the SQLite store
            StoreDamaged      it cannot be opened (not a chargebox database, damaged,
                              written by a newer chargebox); the file is left as it is
            StoreWriteError   a write failed (the disk is full, say); what the call
                              handed over was not taken in

Each message is one line that names what went wrong and what to do.
"""

from __future__ import annotations

from pathlib import Path


class StationError(Exception):
    """Base of the errors the engine raises to its host."""


class StateError(StationError, ValueError):
    """A handle call that does not fit the engine's state: nothing changed.

    The message names the connector, the state it is in and what the call
    expects; the engine goes on, and the next call that fits works.
    """


class StoreError(StationError):
    """The SQLite store cannot be used."""


class StoreDamaged(StoreError):
    """The store file cannot be opened as a chargebox store. It is left untouched."""

    def __init__(self, path: Path | None, problem: str, *, advice: str | None = None) -> None:
        advice = advice or (
            "move it aside to start with an empty store (its queued messages and open "
            "transactions are lost then), or put a sound copy in its place"
        )
        super().__init__(f"the store {path} {problem}: {advice}")
        self.path = path


class StoreWriteError(StoreError):
    """A write to the store failed; what the call handed over was not taken in."""

    def __init__(self, path: Path | None, what: str, cause: str) -> None:
        where = f"the store {path}" if path is not None else "the in-memory store"
        super().__init__(f"{where} cannot be written ({cause}): {what} was not saved")
        self.path = path
        self.what = what
        self.cause = cause
