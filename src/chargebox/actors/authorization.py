"""Authorization of an idTag: the Local Authorization List, the cache, Authorize.req (spec 3.5).

Order, following OCPP 1.6 sections 3.5.1 to 3.5.3:
1. The Local Authorization List (when LocalAuthListEnabled) takes precedence
   over the cache.
2. Online with LocalPreAuthorize, a valid Accepted entry of the list or the
   cache authorizes at once, without Authorize.req.
3. Online otherwise, Authorize.req decides; its idTagInfo updates the cache.
4. Offline, an entry that is not Accepted (or has expired) is refused (3.5.4).
   With LocalAuthorizeOffline a valid Accepted entry authorizes; without it the
   entry does not count, and the idTag is treated as unknown (as libocpp does).
   With AllowOfflineTxForUnknownId an unknown idTag is accepted; otherwise refused.
An entry whose expiryDate has passed counts as Expired. The cache is only
read when AuthorizationCacheEnabled, but every idTagInfo the Central System
sends is written to it (libocpp does the same), so enabling it later works.
The parentIdTag of every idTagInfo is kept in memory too, so that an idTag of
the same group can stop a transaction (3.10) even with the cache disabled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from chargebox.actors.endpoint import CallFailed, CallTimeout, ConnectionLost, Offline
from chargebox.ocpp.timestamps import parse_datetime
from chargebox.ocpp.v16 import AuthorizationStatus, AuthorizeRequest

log = logging.getLogger(__name__)


@attrs.frozen
class Authorization:
    """The outcome for an idTag, and where it came from (list, cache, csms, offline)."""

    id_tag: str
    status: str
    parent_id_tag: str | None = None
    expiry_date: datetime | None = None
    source: str = "csms"

    @property
    def accepted(self) -> bool:
        return self.status == AuthorizationStatus.Accepted


def info_dict(info: Any) -> dict[str, Any]:
    """An IdTagInfo object as the plain dict the store keeps."""
    out: dict[str, Any] = {"status": str(info.status)}
    if info.parent_id_tag is not None:
        out["parentIdTag"] = info.parent_id_tag
    if info.expiry_date is not None:
        out["expiryDate"] = info.expiry_date.isoformat()
    return out


class Authorizer:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        #: the parentIdTag the Central System last gave for an idTag it accepted
        #: (lower-cased), for a station without an Authorization Cache
        self._parents: dict[str, str] = {}
        #: called with (the list's status, the Central System's) when an idTagInfo from
        #: the Central System contradicts the Local Authorization List (spec 3.5.2: the
        #: station reports LocalListConflict on connector 0)
        self.on_list_conflict: Callable[[str, str], None] | None = None

    def _flag(self, key: str, default: bool = False) -> bool:
        return bool(self.ctx.cfg.get(key, default))

    def _entry(self, id_tag: str, now: datetime) -> Authorization | None:
        store = self.ctx.store
        if self._flag("LocalAuthListEnabled"):
            found = store.local_get(id_tag)
            if found is not None:
                return _authorization(id_tag, found, now, "list")
        if self._flag("AuthorizationCacheEnabled"):
            found = store.cache_get(id_tag)
            if found is not None:
                return _authorization(id_tag, found, now, "cache")
        return None

    def remember(self, id_tag: str, info: Any) -> None:
        """An idTagInfo from the Central System (Authorize, Start- or StopTransaction.conf)."""
        if info is None:
            return
        if info.parent_id_tag is not None and info.status == AuthorizationStatus.Accepted:
            self._parents[id_tag.lower()] = info.parent_id_tag
        else:
            self._parents.pop(id_tag.lower(), None)
        listed = self.ctx.store.local_get(id_tag)
        if listed is not None:
            if self._flag("LocalAuthListEnabled") and self.on_list_conflict is not None:
                entry = _authorization(id_tag, listed, self.ctx.clock.now(), "list")
                # a conflict of validity (3.5.2: Accepted and ConcurrentTx are valid), not
                # of wording: Blocked against Invalid is no conflict, nor ConcurrentTx
                if _valid(entry.status) != _valid(str(info.status)):
                    self.on_list_conflict(str(entry.status), str(info.status))
            return  # an idTag of the Local Authorization List is never cached (spec 3.5.3)
        self.ctx.store.cache_put(id_tag, info_dict(info), self.ctx.clock.now())

    def known_parent(self, id_tag: str) -> str | None:
        """The parentIdTag known for an idTag valid now: the list, the cache, or (without
        a cache) an idTagInfo of this run. An idTag that is not valid has none: tokens
        are grouped for authorization (3.10), and an invalid one stops no transaction of
        its group (the Central System is asked again when online)."""
        entry = self._entry(id_tag, self.ctx.clock.now())
        if entry is not None:
            if not entry.accepted:
                return None
            if entry.parent_id_tag is not None:
                return entry.parent_id_tag
        if self._flag("AuthorizationCacheEnabled"):
            return None  # the cache is the memory of answers (and ClearCache empties it)
        return self._parents.get(id_tag.lower())

    async def authorize(self, id_tag: str, *, ticket: int | None = None) -> Authorization:
        now = self.ctx.clock.now()
        local = self._entry(id_tag, now)
        endpoint = self.ctx.endpoint
        if endpoint.accepted:
            if local is not None and local.accepted and self._flag("LocalPreAuthorize"):
                return local
            if local is not None and local.source == "list" and not local.accepted:
                # the list is authoritative for the idTags it holds (spec 3.5.3)
                return local
            try:
                response = await endpoint.call(AuthorizeRequest(id_tag=id_tag), ticket=ticket)
            except (Offline, ConnectionLost, CallTimeout) as e:
                log.info("Authorize for an idTag went unanswered (%s): deciding offline", e)
            except CallFailed as e:
                log.warning("Authorize failed: %s; deciding offline", e)
            else:
                info = response.id_tag_info
                self.remember(id_tag, info)
                return Authorization(
                    id_tag, str(info.status), info.parent_id_tag, info.expiry_date, "csms"
                )
        return self._offline(id_tag, local)

    def decide_offline(self, id_tag: str) -> Authorization:
        """The verdict without the Central System (3.5.4): the list and the cache as
        LocalAuthorizeOffline allows, else AllowOfflineTxForUnknownId decides."""
        return self._offline(id_tag, self._entry(id_tag, self.ctx.clock.now()))

    def _offline(self, id_tag: str, local: Authorization | None) -> Authorization:
        if local is not None:
            if not local.accepted:
                return local  # not Accepted, or expired by the passage of time (3.5.4)
            if self._flag("LocalAuthorizeOffline"):
                return local
            # not used offline: the idTag is no better known than one found nowhere
        if self._flag("AllowOfflineTxForUnknownId"):
            return Authorization(id_tag, AuthorizationStatus.Accepted, source="offline")
        return Authorization(id_tag, AuthorizationStatus.Invalid, source="offline")


def _valid(status: str) -> bool:
    """An idTag status that lets it charge (spec 3.5.2)."""
    return status in (AuthorizationStatus.Accepted, AuthorizationStatus.ConcurrentTx)


def _authorization(id_tag: str, info: dict[str, Any], now: datetime, source: str) -> Authorization:
    expiry = parse_datetime(info["expiryDate"]) if info.get("expiryDate") else None
    status = info["status"]
    if expiry is not None and expiry < now and status == AuthorizationStatus.Accepted:
        status = AuthorizationStatus.Expired
    return Authorization(id_tag, status, info.get("parentIdTag"), expiry, source)
