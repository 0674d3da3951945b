"""A child's year in the hub, as the reads of a working cooperation area would record it.

The clock is a parameter: the generator moves it day by day, so the reads fall on the
days, hours and months a real year would give them. The Barnkontakt opens her case list
every working morning and the child's page twice a week, the teacher looks weekly, the
police and the BVC nurse look at what they sent once a month, and a guardian opens the
family pages every Sunday.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from uuid import UUID

from hub.application import BackaHub
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.conftest import family
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, card_payload, staff

BK = "rektor.ostra"


def alva_with_three_cards(hub: BackaHub) -> UUID:
    """Alva, with cards from her teacher, the police and the BVC nurse to her school."""
    child = UUID(str(hub.register_child(
        staff("larare.ostra"), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )))
    for sender in ("larare.ostra", "polis.ystad", "sjukskoterska.bvc"):
        hub.submit_discovery_card(staff(sender), child, **card_payload())
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    return child


def a_year_of_reads(rt: Runtime, clock: SettableClock, child: UUID, *, start: datetime, days: int = 365) -> int:
    """Record ``days`` days of reads of ``child`` from ``start`` on; the number of staff reads."""
    hub = rt.hub
    guardian = family(rt, GUARDIAN_1_PNR)
    reads = 0
    for n in range(days):
        day = (start + timedelta(days=n)).date()
        weekday = day.weekday()

        def at(hour: int, minute: int = 0, on: date = day) -> None:
            clock.set(datetime.combine(on, time(hour, minute), start.tzinfo))

        if weekday < 5:
            at(7, 45)
            hub.case_list(staff(BK), purpose="Barnkontakt: case list")
            reads += 1
        if weekday in (1, 3):
            at(10, 15)
            hub.read_child(staff(BK), child, purpose="Följa upp Alvas stöd", view="unit_view")
            reads += 1
        if weekday == 2:
            at(13)
            hub.read_child(staff("larare.ostra"), child, purpose="Återkoppling på mitt Upptäckarkort", view="unit_view")
            reads += 1
        if day.day == 10 and weekday < 5:
            at(9)
            hub.read_child(staff("polis.ystad"), child, purpose="Följa upp polisens kort", view="unit_view")
            at(11)
            hub.read_child(staff("sjukskoterska.bvc"), child, purpose="Följa upp BVC:s kort", view="unit_view")
            reads += 2
        if weekday == 6:
            at(20)
            hub.read_child(guardian, child, purpose="Vårdnadshavare ser sitt barns uppgifter", view="family_view")
    return reads


__all__ = ["BK", "a_year_of_reads", "alva_with_three_cards"]
