"""What the pages of the Stödprocess's later steps share (:mod:`hub.web.pages.process`): the
people of the area by name and unit, reading the child, and asking the core first.

The pages read the child through the core, which records the read, and ask the core what
the signed-in person may do before they offer a form; the command itself is decided again
by the core when it is sent. People are chosen by name and unit from the area's staff
directory; facts by what they are and when, never by an id on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from contracts.vocabulary import Role
from hub.application import Action
from hub.application.readmodels import ChildView
from hub.errors import NotPermittedError
from hub.identity.principals import Principal
from hub.web.app import Web
from hub.web.pages.staff import staff_at_unit, tenant_of, unit_name
from hub.web.session import Visitor

BASE = "/staff/children/{child_id:uuid}"


@dataclass(frozen=True)
class Person:
    """A member of staff as a page shows them: name and unit, the id only as a form's value."""

    user_id: str
    name: str
    unit: str

    @property
    def label(self) -> str:
        return f"{self.name}, {self.unit}" if self.unit else self.name


def person(web: Web, p: Principal, staff_id: str | None) -> Person | None:
    if not staff_id:
        return None
    found = tenant_of(web, p).staff.get(staff_id)
    if found is None:
        return None
    return Person(found.user_id, found.name, unit_name(web, p, found.unit_id) if found.unit_id else "")


def coordinators(web: Web, p: Principal) -> list[Person]:
    """The area's support coordinators, by unit and name: who may be named coordinator or deputy."""
    everyone = [s for s in tenant_of(web, p).staff.values() if Role.SUPPORT_COORDINATOR in s.roles and s.unit_id]
    people = [person(web, p, s.user_id) for s in everyone]
    return sorted((x for x in people if x is not None), key=lambda x: (x.unit, x.name))


def read(web: Web, p: Principal, child_id: UUID, purpose: str) -> ChildView:
    """The child as this person may see it now; the read is recorded with ``purpose``."""
    return web.hub.read_child(p, child_id, purpose=purpose)


def child_name(view: ChildView) -> str | None:
    found = view.merged("ChildRegistered")
    if found and "given_name" in found[-1]:
        return f"{found[-1]['given_name']} {found[-1]['family_name']}"
    return None


def require(web: Web, p: Principal, child_id: UUID, *actions: Action, refusal: str) -> None:
    """Refuse the page unless the core would take at least one of ``actions`` from this person."""
    if not any(web.hub.may(p, a, child_id) for a in actions):
        raise NotPermittedError(refusal)


def signed_in_staff(web: Web, who: Visitor) -> Principal:
    return staff_at_unit(web, who, who.path)
