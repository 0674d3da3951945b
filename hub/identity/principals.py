"""Who is calling: the authenticated caller the core acts for."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.vocabulary import Role
from consent import Viewer, ViewerKind


@dataclass(frozen=True)
class Principal:
    kind: ViewerKind
    tenant_id: str
    user_id: str
    roles: frozenset[Role] = frozenset()
    unit_id: str | None = None
    party_id: str | None = None

    @property
    def acting_role(self) -> Role:
        """The role written into the facts this caller causes."""
        if self.kind is ViewerKind.GUARDIAN:
            return Role.GUARDIAN
        if self.kind is ViewerKind.CHILD:
            return Role.CHILD
        if self.kind is ViewerKind.AUDITOR:
            return Role.AUDITOR
        for role in (Role.BARNKONTAKT, Role.SUPPORT_COORDINATOR, Role.TEAM_MEMBER, Role.DISCOVERER, Role.TENANT_ADMIN):
            if role in self.roles:
                return role
        return Role.DISCOVERER

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_staff(self) -> bool:
        return self.kind is ViewerKind.STAFF


__all__ = ["Principal", "Viewer", "ViewerKind"]
