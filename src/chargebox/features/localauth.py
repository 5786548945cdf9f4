"""LocalAuthListManagement profile: SendLocalList and GetLocalListVersion.

The Local Authorization List lives in the store (persisted, one commit per
update); the Authorizer reads it ahead of the cache (spec 3.5.3). The list is
data, not a procedure: an update is checked and applied in one step, so no
chart is involved.

The rules, from spec 5.10, 5.15, 6.41, 7.1, 7.47 and errata 3.52:
- LocalAuthListEnabled false: SendLocalList is NotSupported, GetLocalListVersion -1.
- Differential: listVersion must be higher than the current version (else
  VersionMismatch); an entry with idTagInfo adds or updates its idTag, one
  without removes it; no list at all changes nothing but the version.
- Full: the list becomes the entries given (every one with its idTagInfo).
- Failed: more entries than SendLocalListMaxLength, a list that would exceed
  LocalAuthListMaxLength, an idTag given twice, a Full entry without
  idTagInfo, or a listVersion of 0 or below (they mean "empty" and "not
  supported" in GetLocalListVersion). A failed update changes nothing.
- GetLocalListVersion: 0 when the list is empty, else the version of the
  last update.
"""

from __future__ import annotations

import logging
from typing import Any

from chargebox.actors.authorization import info_dict
from chargebox.actors.context import StationContext
from chargebox.features import Handler
from chargebox.ocpp import v16
from chargebox.ocpp.v16 import UpdateStatus, UpdateType

log = logging.getLogger(__name__)


class LocalAuthList:
    def __init__(self, ctx: StationContext) -> None:
        self.cfg = ctx.cfg
        self.store = ctx.store

    def handlers(self) -> dict[str, Handler]:
        return {
            "SendLocalList": self.send_local_list,
            "GetLocalListVersion": self.get_local_list_version,
        }

    @property
    def enabled(self) -> bool:
        return bool(self.cfg.get("LocalAuthListEnabled", False))

    def version(self) -> int:
        """The version GetLocalListVersion reports (-1: disabled, 0: empty)."""
        if not self.enabled:
            return -1
        if self.store.local_count() == 0:
            return 0
        return self.store.local_version()

    async def get_local_list_version(self, req: v16.GetLocalListVersionRequest) -> Any:
        return v16.GetLocalListVersionResponse(list_version=self.version())

    async def send_local_list(self, req: v16.SendLocalListRequest) -> Any:
        status, why = self._apply(req)
        if status != UpdateStatus.Accepted:
            log.warning("SendLocalList version %d: %s (%s)", req.list_version, status, why)
        return v16.SendLocalListResponse(status=status)

    def _apply(self, req: v16.SendLocalListRequest) -> tuple[UpdateStatus, str]:
        if not self.enabled:
            return UpdateStatus.NotSupported, "LocalAuthListEnabled is false"
        full = req.update_type == UpdateType.Full
        entries = req.local_authorization_list or ()
        if not full and req.list_version <= self.version():
            return (
                UpdateStatus.VersionMismatch,
                f"a differential update must be newer than version {self.version()}",
            )
        if req.list_version <= 0:
            return UpdateStatus.Failed, "listVersion 0 and -1 are reserved (errata 3.52)"
        most = self.cfg.get("SendLocalListMaxLength")
        if most is not None and len(entries) > most:
            return UpdateStatus.Failed, f"{len(entries)} entries, SendLocalListMaxLength is {most}"
        changes: dict[str, dict[str, Any] | None] = {}
        seen: set[str] = set()
        for entry in entries:
            key = entry.id_tag.casefold()  # idTags are case-insensitive
            if key in seen:
                return UpdateStatus.Failed, f"idTag {entry.id_tag!r} is given twice"
            seen.add(key)
            if full and entry.id_tag_info is None:
                return UpdateStatus.Failed, f"idTag {entry.id_tag!r} has no idTagInfo"
            changes[entry.id_tag] = (
                info_dict(entry.id_tag_info) if entry.id_tag_info is not None else None
            )
        size = self._size_after(changes, full)
        limit = self.cfg.get("LocalAuthListMaxLength")
        if limit is not None and size > limit:
            return UpdateStatus.Failed, f"{size} entries, LocalAuthListMaxLength is {limit}"
        self.store.local_replace(req.list_version, changes, full)
        return UpdateStatus.Accepted, ""

    def _size_after(self, changes: dict[str, dict[str, Any] | None], full: bool) -> int:
        if full:
            return len(changes)
        size = self.store.local_count()
        for id_tag, info in changes.items():
            present = self.store.local_get(id_tag) is not None
            if info is None and present:
                size -= 1
            elif info is not None and not present:
                size += 1
        return size
