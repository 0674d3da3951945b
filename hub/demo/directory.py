"""The Ystad cooperation area of the demo: its units, its staff in the model's roles, and
where children meet their Barnkontakt.

People are fictional.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.vocabulary import Role, UnitKind
from hub.identity.directory import Directory, Staff, Tenant, Unit

TENANT_ID = "ystad"
TENANT_NAME = "Backa barnet Ystad (Ystads kommun, Region Skåne, Polisen LPO Ystad)"


UNITS: tuple[tuple[str, UnitKind, str], ...] = (
    ("mvc-ystad", UnitKind.MIDWIFE_CLINIC, "Barnmorskemottagningen Ystad"),
    ("bvc-ystad", UnitKind.BVC, "Barnavårdscentralen Ystad"),
    ("forskola-solrosen", UnitKind.PRESCHOOL, "Förskolan Solrosen"),
    ("forskola-backen", UnitKind.PRESCHOOL, "Förskolan Backen"),
    ("skola-vastervang", UnitKind.SCHOOL, "Västervångskolan F-6"),
    ("skola-edvinshem", UnitKind.SCHOOL, "Edvinshemsskolan F-6"),
    ("skola-norreport", UnitKind.SCHOOL, "Norreportskolan 7-9"),
    ("elevhalsa-ystad", UnitKind.PUPIL_HEALTH, "Barn- och elevhälsan Ystad"),
    ("soc-ystad", UnitKind.SOCIAL_SERVICES, "Socialtjänsten Ystad, barn och unga"),
    ("polis-ystad", UnitKind.POLICE, "Polisen LPO Ystad"),
    ("forsta-linjen-ystad", UnitKind.FIRST_LINE_PSYCHIATRY, "Första linjen Ystad"),
    ("bup-ystad", UnitKind.BUP, "BUP Ystad"),
    ("hab-ystad", UnitKind.HAB, "Barn- och ungdomshabiliteringen Ystad"),
    ("ungdomens-hus", UnitKind.YOUTH_CENTRE, "Ungdomens hus Ystad"),
)

_R = Role
STAFF: tuple[tuple[str, str | None, frozenset[Role], str, str], ...] = (
    ("anna.lindqvist", "mvc-ystad", frozenset({_R.DISCOVERER}), "Anna Lindqvist", "Barnmorska"),
    ("karin.holm", "bvc-ystad", frozenset({_R.BARNKONTAKT, _R.DISCOVERER, _R.TEAM_MEMBER}), "Karin Holm", "BVC-sjuksköterska"),
    ("sara.nilsson", "bvc-ystad", frozenset({_R.BARNKONTAKT, _R.DISCOVERER, _R.TEAM_MEMBER}), "Sara Nilsson", "BVC-sjuksköterska"),
    ("maria.persson", "forskola-solrosen", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER}), "Maria Persson", "Förskolechef"),
    ("johan.berg", "forskola-solrosen", frozenset({_R.DISCOVERER}), "Johan Berg", "Förskollärare"),
    ("lena.ek", "forskola-backen", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER, _R.DISCOVERER}), "Lena Ek", "Förskolechef"),
    ("per.sandberg", "skola-vastervang", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER}), "Per Sandberg", "Rektor"),
    ("emma.strand", "skola-vastervang", frozenset({_R.DISCOVERER}), "Emma Strand", "Klasslärare"),
    ("annika.westin", "skola-edvinshem", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER}), "Annika Westin", "Rektor"),
    ("oskar.lind", "skola-edvinshem", frozenset({_R.DISCOVERER}), "Oskar Lind", "Lärare"),
    ("henrik.olsson", "skola-norreport", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER}), "Henrik Olsson", "Rektor"),
    ("lisa.andersson", "skola-norreport", frozenset({_R.BARNKONTAKT, _R.DISCOVERER, _R.TEAM_MEMBER}), "Lisa Andersson", "Biträdande rektor"),
    ("ali.hassan", "skola-norreport", frozenset({_R.DISCOVERER}), "Ali Hassan", "Mentor"),
    ("eva.bjork", "elevhalsa-ystad", frozenset({_R.TEAM_MEMBER, _R.SUPPORT_COORDINATOR, _R.DISCOVERER}), "Eva Björk", "Skolkurator"),
    ("sofia.lund", "elevhalsa-ystad", frozenset({_R.TEAM_MEMBER, _R.DISCOVERER}), "Sofia Lund", "Skolsköterska"),
    ("jonas.wikstrom", "soc-ystad", frozenset({_R.TEAM_MEMBER, _R.SUPPORT_COORDINATOR}), "Jonas Wikström", "Socialsekreterare"),
    ("nadia.elmi", "soc-ystad", frozenset({_R.TEAM_MEMBER, _R.DISCOVERER}), "Nadia Elmi", "Föräldrarådgivare"),
    ("mikael.forsberg", "polis-ystad", frozenset({_R.DISCOVERER, _R.TEAM_MEMBER}), "Mikael Forsberg", "Kommunpolis"),
    ("ingrid.sjoberg", "forsta-linjen-ystad", frozenset({_R.TEAM_MEMBER, _R.DISCOVERER}), "Ingrid Sjöberg", "Psykolog"),
    ("david.karlsson", "bup-ystad", frozenset({_R.TEAM_MEMBER}), "David Karlsson", "Specialistläkare"),
    ("helena.gustafsson", "hab-ystad", frozenset({_R.TEAM_MEMBER, _R.SUPPORT_COORDINATOR}), "Helena Gustafsson", "Arbetsterapeut"),
    ("amir.rahimi", "ungdomens-hus", frozenset({_R.DISCOVERER, _R.TEAM_MEMBER}), "Amir Rahimi", "Fritidsledare"),
    ("birgitta.mattsson", None, frozenset({_R.TENANT_ADMIN}), "Birgitta Mattsson", "Samordnare Backa barnet"),
    ("lars.ahlgren", None, frozenset({_R.AUDITOR}), "Lars Ahlgren", "Loggranskare"),
)


def demo_directory() -> Directory:
    """The Ystad cooperation area: its units and staff."""
    units = {uid: Unit(uid, TENANT_ID, kind, name) for uid, kind, name in UNITS}
    staff = {
        uid: Staff(uid, TENANT_ID, unit, roles, name, title) for uid, unit, roles, name, title in STAFF
    }
    return Directory({TENANT_ID: Tenant(TENANT_ID, TENANT_NAME, units, staff)})


@dataclass(frozen=True)
class Setting:
    """Where a child meets its Barnkontakt: the unit, its Barnkontakter, ages, who discovers."""

    unit_id: str
    barnkontakter: tuple[str, ...]
    ages: tuple[int, int]
    discoverers: tuple[str, ...]
    team_units: tuple[str, ...]


SETTINGS: dict[str, Setting] = {
    s.unit_id: s
    for s in (
        Setting(
            "bvc-ystad", ("karin.holm", "sara.nilsson"), (0, 0),
            ("sara.nilsson", "karin.holm", "anna.lindqvist", "nadia.elmi"),
            ("soc-ystad", "hab-ystad"),
        ),
        Setting(
            "forskola-solrosen", ("maria.persson",), (1, 5),
            ("johan.berg", "johan.berg", "karin.holm", "nadia.elmi", "helena.gustafsson"),
            ("bvc-ystad", "soc-ystad", "hab-ystad"),
        ),
        Setting(
            "forskola-backen", ("lena.ek",), (1, 5),
            ("lena.ek", "sara.nilsson", "karin.holm", "nadia.elmi"),
            ("bvc-ystad", "soc-ystad", "hab-ystad"),
        ),
        Setting(
            "skola-vastervang", ("per.sandberg",), (6, 12),
            ("emma.strand", "emma.strand", "eva.bjork", "sofia.lund", "mikael.forsberg", "ingrid.sjoberg", "amir.rahimi"),
            ("elevhalsa-ystad", "soc-ystad", "forsta-linjen-ystad", "bup-ystad", "hab-ystad"),
        ),
        Setting(
            "skola-edvinshem", ("annika.westin",), (6, 12),
            ("oskar.lind", "oskar.lind", "sofia.lund", "eva.bjork", "mikael.forsberg", "helena.gustafsson"),
            ("elevhalsa-ystad", "soc-ystad", "forsta-linjen-ystad", "hab-ystad"),
        ),
        Setting(
            "skola-norreport", ("henrik.olsson", "lisa.andersson"), (13, 15),
            ("ali.hassan", "ali.hassan", "lisa.andersson", "eva.bjork", "mikael.forsberg", "amir.rahimi", "ingrid.sjoberg", "david.karlsson"),
            ("elevhalsa-ystad", "soc-ystad", "polis-ystad", "ungdomens-hus", "bup-ystad", "forsta-linjen-ystad"),
        ),
    )
}
"""Where children meet their Barnkontakt; a name twice among the discoverers finds children twice as often."""

COORDINATORS = {"elevhalsa-ystad": "eva.bjork", "soc-ystad": "jonas.wikstrom", "hab-ystad": "helena.gustafsson"}


def check_directory(directory: Directory) -> None:
    """The hub must know every unit and member of staff the stories name."""
    tenant = directory.tenants.get(TENANT_ID)
    expected = demo_directory().tenants[TENANT_ID]
    if tenant is None or not set(expected.units) <= set(tenant.units) or not set(expected.staff) <= set(tenant.staff):
        raise ValueError("the demo needs the hub built with directory=demo_directory()")


__all__ = [
    "COORDINATORS",
    "SETTINGS",
    "STAFF",
    "TENANT_ID",
    "TENANT_NAME",
    "UNITS",
    "Setting",
    "check_directory",
    "demo_directory",
]
