"""Shared builders for tests: a small cooperation area, principals and valid payloads."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from consent import ViewerKind
from contracts.vocabulary import Role, UnitKind
from hub.identity.directory import Directory, Staff, Tenant, Unit
from hub.identity.principals import Principal

TENANT = "ystad"
OTHER_TENANT = "lidingo"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CHILD_PNR = "201507122388"  # born 2015-07-12, 10 years old at START
GUARDIAN_1_PNR = "198203142396"
GUARDIAN_2_PNR = "198407202384"
NON_CUSTODIAL_PNR = "197911302391"

UNITS = {
    "bvc-ystad": UnitKind.BVC,
    "skola-ostra": UnitKind.SCHOOL,
    "elevhalsa-ostra": UnitKind.PUPIL_HEALTH,
    "soc-ystad": UnitKind.SOCIAL_SERVICES,
    "polis-ystad": UnitKind.POLICE,
    "bup-ystad": UnitKind.BUP,
    "forskola-solen": UnitKind.PRESCHOOL,
    "mvc-ystad": UnitKind.MIDWIFE_CLINIC,
}

STAFF = {
    "rektor.ostra": ("skola-ostra", {Role.BARNKONTAKT, Role.TEAM_MEMBER}),
    "larare.ostra": ("skola-ostra", {Role.DISCOVERER}),
    "kurator.ostra": ("elevhalsa-ostra", {Role.TEAM_MEMBER, Role.SUPPORT_COORDINATOR}),
    "sjukskoterska.bvc": ("bvc-ystad", {Role.BARNKONTAKT, Role.DISCOVERER}),
    "socsek.ystad": ("soc-ystad", {Role.TEAM_MEMBER, Role.SUPPORT_COORDINATOR}),
    "polis.ystad": ("polis-ystad", {Role.DISCOVERER, Role.TEAM_MEMBER}),
    "bup.ystad": ("bup-ystad", {Role.TEAM_MEMBER}),
    "forskola.solen": ("forskola-solen", {Role.DISCOVERER}),
    "barnmorska.mvc": ("mvc-ystad", {Role.DISCOVERER}),
    "admin.ystad": (None, {Role.TENANT_ADMIN}),
    "granskare.ystad": (None, {Role.AUDITOR}),
}
STAFF_NAMES = {"admin.ystad": "Administratör Ystad"}
"""Names that the user id would not give in Swedish (the others are their id, capitalised)."""


class _Anyone(Collection[str]):
    def __contains__(self, item: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class EveryNamedGuardian:
    """The tests' default population register: it confirms every guardian a test names, so
    the tests of everything else start from confirmed guardians as a real register would
    give them. The tests of the guardian check itself use a register file instead
    (``tests/unit/test_population_register.py``, ``tests/integration/test_guardian_links.py``)."""

    def custodians(self, child: str) -> Collection[str]:
        return _Anyone()


def directory() -> Directory:
    units = {uid: Unit(uid, TENANT, kind, uid.replace("-", " ").title()) for uid, kind in UNITS.items()}
    staff = {
        sid: Staff(sid, TENANT, unit, frozenset(roles), STAFF_NAMES.get(sid, sid.replace(".", " ").title()))
        for sid, (unit, roles) in STAFF.items()
    }
    other_units = {"skola-lidingo": Unit("skola-lidingo", OTHER_TENANT, UnitKind.SCHOOL, "Skola Lidingö")}
    other_staff = {
        "rektor.lidingo": Staff("rektor.lidingo", OTHER_TENANT, "skola-lidingo", frozenset({Role.BARNKONTAKT}), "Rektor")
    }
    return Directory(
        {
            TENANT: Tenant(TENANT, "Ystad", units, staff),
            OTHER_TENANT: Tenant(OTHER_TENANT, "Lidingö", other_units, other_staff),
        }
    )


def staff(user_id: str, tenant: str = TENANT) -> Principal:
    if tenant == OTHER_TENANT:
        return Principal(ViewerKind.STAFF, OTHER_TENANT, user_id, frozenset({Role.BARNKONTAKT}), unit_id="skola-lidingo")
    unit, roles = STAFF[user_id]
    kind = ViewerKind.AUDITOR if Role.AUDITOR in roles else ViewerKind.STAFF
    return Principal(kind, tenant, user_id, frozenset(roles), unit_id=unit)


def registration_payload(*, second_guardian_has_custody: bool = True) -> dict[str, Any]:
    """Alva Lind and her guardians, as a registration request's body."""
    second = (
        {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True}
        if second_guardian_has_custody
        else {"name": "Bo Lind", "personnummer": NON_CUSTODIAL_PNR, "has_custody": False}
    )
    return {
        "personnummer": CHILD_PNR,
        "given_name": "Alva",
        "family_name": "Lind",
        "guardians": [{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}, second],
    }


def card_payload(to_unit_id: str = "skola-ostra") -> dict[str, Any]:
    return {
        "to_unit_id": to_unit_id,
        "unmet_needs": [
            {"area": "trygghet", "statements": ["Barnet är inte tryggt i hemmet, skolan, på nätet eller i sin närmiljö"], "note": "Oro efter rast"},
            {"area": "fritid", "statements": [], "note": "Slutat på fotbollen"},
        ],
        "five_questions": {
            "unmet_needs": "Trygghet och fritid",
            "information_enough": "Nej, behöver höra barnet",
            "child_and_guardian_views": "Vårdnadshavare oroliga",
            "what_i_can_do": "Extra vuxen på rasten",
            "further_help_needed": "Elevhälsan",
        },
        "own_support_taken": "Rastvakt",
        "guardians_informed": True,
    }


def conversation_payload(with_whom: str = "child") -> dict[str, Any]:
    return {
        "with_whom": with_whom,
        "age_group": "10-12",
        "views": [{"area": "trygghet", "view": "Vill ha en vuxen på rasten"}],
        "digital_survey": with_whom == "guardian",
        "summary": "Samtal enligt samtalsunderlag",
    }


def plan_payload(today: date) -> dict[str, Any]:
    return {
        "goals": [{"area": "trygghet", "goal": "Känna sig trygg på rasten"}],
        "actions": [
            {"action_id": "a1", "what": "Rastvärd", "unit_id": "skola-ostra", "responsible_person": "Rektor", "due": (today + timedelta(days=14)).isoformat()},
            {"action_id": "a2", "what": "Samtalsstöd", "unit_id": "elevhalsa-ostra", "responsible_person": "Kurator", "due": (today + timedelta(days=30)).isoformat()},
            {"action_id": "a3", "what": "Föräldrastöd", "unit_id": "soc-ystad", "responsible_person": "Socialsekreterare", "due": (today + timedelta(days=45)).isoformat()},
        ],
        "child_view": "Jag vill ha en kompis på rasten",
        "guardian_view": "Vi vill ha tät kontakt",
        "next_follow_up": (today + timedelta(days=60)).isoformat(),
    }


RATED_AT_TEN: dict[str, str] = {
    "trygghet": "trygghet-natverk",
    "halsa": "halsa-vard",
    "utvecklas": "utvecklas-alder",
    "omvardad": "omvardad-boende",
    "fritid": "fritid-intressen",
    "respekteras": "respekteras-sedd",
    "ansvarstagande": "ansvar-hansyn",
    "tillhorighet": "tillhorighet-vardnadshavare",
}
"""An indicator of the rating form per area that is asked for the test child (ten at START)."""
