"""Loggkontroll by name: the auditors find a child by name or personnummer, and see the
children of their lists by name rather than by pseudonymous id.

Whose information was read is part of what an auditor follows up (PDL 4 kap. 3 §), so
the policy lets an auditor see a child's identity (``consent.policy``:
``AUDITOR_IDENTITY_OF_LOGGED_CHILD``), and nothing else of the record. A search is a read
of each child it finds, recorded in that child's log where the family sees it; a search
that finds nobody is recorded in the area's loggkontroll stream. The text searched for is
never written anywhere.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from consent import ChildFacts, Information, decide
from consent.permissions import Action
from contracts.vocabulary import Category, LegalBasis
from hub.application.auditing import audit_trail_id
from hub.application.core import HubCore, traced
from hub.application.readmodels import ReadModel
from hub.errors import InvalidInputError
from hub.identity.personnummer import parse_identity_number
from hub.identity.principals import Principal

MAX_MATCHES = 20
SEARCH_VIEW = "audit_child_search"


class ChildMatch(ReadModel):
    """A child an auditor's search found: by name and birth date, never by id on a page."""

    child_id: UUID
    name: str
    birth_date: date | None


def _name(fields: dict[str, Any]) -> str:
    return f"{fields.get('given_name', '')} {fields.get('family_name', '')}".strip()


def _birth(fields: dict[str, Any]) -> date | None:
    value = fields.get("birth_date")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _looks_like_a_number(text: str) -> bool:
    return sum(ch.isdigit() for ch in text) >= 6


class AuditLookup(HubCore):
    """The auditors' search for a child by name or number, and the names on their lists."""

    def _auditor_sees_identity(self, p: Principal, child_id: UUID, at: datetime) -> bool:
        """The policy's answer for the child's identity. Of a child's facts the auditor's
        rule reads the area and the erasure; the views hold both, so the child's whole
        stream is not replayed for each name on a list."""
        erased = self.views.record.erasure(child_id) is not None
        facts = ChildFacts(tenant_id=p.tenant_id, child_id=child_id, birth_date=date.min, erased=erased)
        return decide(self.viewer(p), facts, Information(Category.IDENTITY), at, self.rules).allowed

    def child_names(self, p: Principal, child_ids: list[UUID]) -> dict[UUID, str]:
        """The names of the children on a list the auditor was just shown (the list's read
        is recorded with it, identity among its categories); those the policy keeps back
        are left out."""
        self._permit(p, Action.SEARCH_ACCESS_LOG)
        at = self.now()
        found = self.views.record.identities(p.tenant_id, list(child_ids))
        return {c: _name(f) for c, f in found.items() if self._auditor_sees_identity(p, c, at)}

    @traced("read")
    def find_children(self, p: Principal, text: str) -> list[ChildMatch]:
        """Children of the auditor's area by personnummer (exactly) or by name (every word
        a part of the name), at most :data:`MAX_MATCHES`; each one found is a recorded read."""
        self._permit(p, Action.SEARCH_ACCESS_LOG)
        text = " ".join(text.split())
        if not text:
            raise InvalidInputError("give a name or a personnummer", field="child")
        at = self.now()
        self._views_hold(self._committed)
        by_number = _looks_like_a_number(text)
        if by_number:
            number = parse_identity_number(text, field="child")
            wanted = self.blind_index.child_id(p.tenant_id, number)
            identities = self.views.record.identities(p.tenant_id, [wanted])
        else:
            words = text.casefold().split()
            identities = {
                c: f for c, f in self.views.record.identities(p.tenant_id).items() if all(w in _name(f).casefold() for w in words)
            }
        matches = sorted(
            (ChildMatch(child_id=c, name=_name(f), birth_date=_birth(f)) for c, f in identities.items()
             if self._auditor_sees_identity(p, c, at)),
            key=lambda m: (m.name.casefold(), m.birth_date or date.min),
        )[:MAX_MATCHES]
        how = "personnummer" if by_number else "namn"
        for m in matches:
            self._record_access(
                p, m.child_id, view=SEARCH_VIEW, purpose=f"loggkontroll: sökning på {how}",
                categories=[Category.IDENTITY], bases=[LegalBasis.AUDIT_DUTY], at=at,
            )
        if not matches:
            self._record_access(
                p, audit_trail_id(p.tenant_id), view=SEARCH_VIEW, purpose=f"loggkontroll: sökning på {how} utan träff",
                categories=[Category.IDENTITY], bases=[LegalBasis.AUDIT_DUTY], at=at,
            )
        return matches


__all__ = ["MAX_MATCHES", "AuditLookup", "ChildMatch"]
