"""Closing a case (ärendet avslutat) for a reason other than needs met: the family moved
away or declined. Needs met is recorded with its follow-up compass (:mod:`hub.application.team`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consent.permissions import Action
from hub.application.commands import CloseCase
from hub.application.core import HubCore, handles, typed
from hub.application.readmodels import Filed
from hub.domain.child import Child
from hub.identity.principals import Principal


class Closure(HubCore):
    """Closing a case; what closure changes for reading is the consent policy's."""

    @handles(Action.CLOSE_CASE, CloseCase)
    def close_case(self, p: Principal, child_id: UUID, command: CloseCase | None = None, **fields: Any) -> Filed:
        cmd = typed(CloseCase, command, fields)

        def verb(child: Child) -> Filed:
            self._permit(p, Action.CLOSE_CASE, child)
            closed = child.close_case(
                actor=self._actor(p), at=self.now(), reason=cmd.reason, closed_actions=tuple(cmd.closed_actions)
            )
            return Filed(child_id=child.id, event_id=closed.event_id, withheld_from_guardians=False)

        return self._command(p, child_id, verb)
