"""Erasure of a child's record by key destruction (GDPR art. 17)."""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from hub.domain.child import Child, Recorded
from hub.errors import (
    ErasureUnavailableError,
    InvalidInputError,
    StoreUnavailableError,
)
from hub.identity.principals import Principal

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("backa.hub")


from consent.permissions import Action
from hub.application.commands import EraseRecord
from hub.application.core import HubCore, handles, typed


class Erasure(HubCore):
    """Erasure of a child's record by key destruction (GDPR art. 17)."""

    @handles(Action.ERASE_RECORD, EraseRecord)
    def erase_child(self, p: Principal, child_id: UUID, command: EraseRecord | None = None, **fields: Any) -> None:
        """Erase the child's record (GDPR art. 17): record the erasure, then destroy the
        child's key, so that every fact sealed under it, in the log and in the views, is
        unreadable for good; the views then drop what they held of the child.

        Only the tenant's administrator may. The erasure is appended before the key is
        destroyed: a process that stops in between destroys the key when its views reach
        the erasure (:meth:`_erased`), so an erasure on record is never left undone.
        """
        cmd = typed(EraseRecord, command, fields)
        if not callable(getattr(self.sealer, "destroy", None)):
            raise ErasureUnavailableError(
                "this hub stores its log without per-child keys, so no record can be erased (turn on BACKA_ENCRYPT_LOG)"
            )
        reason = cmd.reason.strip()
        if not reason:
            raise InvalidInputError("say why the record is erased", field="reason")

        def verb(child: Child) -> Recorded:
            self._permit(p, Action.ERASE_RECORD, child)
            child.erase(self._actor(p), self.now(), reason=reason)
            return child._pending[-1]

        erasure = self._command(p, child_id, verb)
        try:
            self._erased(erasure)
        except Exception as e:
            log.error("an erasure is on record but its key could not be destroyed yet (%s)", type(e).__name__)
            raise StoreUnavailableError(
                "the erasure is on record, but the key store could not be reached to destroy the key; "
                "every hub process destroys it when it next reads the erasure"
            ) from None

    def _erased(self, erasure: Recorded) -> None:
        """Make an erasure on record take effect in this process: the key destroyed (once),
        and nothing of the child left in memory for the views or a command to use (the
        follower calls this for every erasure it reads, whichever process recorded it)."""
        child_id = erasure.originator_id
        sealer: Any = self.sealer
        if callable(getattr(sealer, "destroy", None)):
            if not sealer.is_destroyed(child_id):
                sealer.destroy(child_id)
            sealer.forget_cached(child_id)
        self.follower.forget(child_id)
        cache = self.repository.cache
        if cache is not None:
            with self._position_lock:
                try:
                    known = cache.get(child_id)
                except KeyError:
                    known = None
                if isinstance(known, Child) and known.version < erasure.originator_version:
                    erased = copy.deepcopy(known)
                    erased.apply(erasure)  # what it knew is dropped with it
                    cache.put(child_id, erased)
        self.follower.wake()

