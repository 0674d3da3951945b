"""Erasure of a child's record by key destruction (GDPR art. 17)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from consent.permissions import Action
from hub.application.commands import EraseRecord
from hub.application.core import HubCore, handles, typed
from hub.domain.child import Child, Recorded
from hub.errors import (
    ErasureUnavailableError,
    InvalidInputError,
    StoreUnavailableError,
)
from hub.identity.principals import Principal

log = logging.getLogger("backa.hub")


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
