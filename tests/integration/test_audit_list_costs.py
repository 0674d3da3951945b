"""What an auditor's look at the access log costs the log: one fact per list, however many
children it shows; one read in a child's own access log only when the auditor opens that
child's trail, which is what the family then sees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from contracts.vocabulary import Role
from hub.application.auditing import audit_trail_id
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.conftest import family
from tests.factories import GUARDIAN_1_PNR, TENANT, staff

CHILDREN = 7
AUDITOR = "granskare.ystad"


def personnummer(serial: int) -> str:
    """A valid personal identity number born 2015-07-12 (Luhn check digit over YYMMDDNNN)."""
    body = f"150712{serial:03d}"
    total = 0
    for i, ch in enumerate(body):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return f"20{body}{(10 - total % 10) % 10}"


def children_read_by_their_guardian(rt: Runtime, clock: SettableClock) -> list[UUID]:
    made = []
    for i in range(CHILDREN):
        made.append(
            rt.hub.register_child(
                staff("larare.ostra"), personnummer=personnummer(100 + i), given_name="Barn", family_name=f"Nummer{i}",
                guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
            )
        )
    guardian = family(rt, GUARDIAN_1_PNR)
    for child_id in made:
        clock.advance(timedelta(minutes=1))
        rt.hub.family_access_log(guardian, child_id)
    clock.advance(timedelta(minutes=1))
    return made


LISTS: list[tuple[str, Callable[[Runtime], Any]]] = [
    ("search", lambda rt: rt.hub.audit_search(staff(AUDITOR), limit=1000)),
    ("review sample", lambda rt: rt.hub.review_sample(staff(AUDITOR), size=CHILDREN)),
    ("flagged reads", lambda rt: rt.hub.flagged_accesses(staff(AUDITOR))),
    ("findings", lambda rt: rt.hub.review_outcomes(staff(AUDITOR), limit=1000)),
]


@pytest.mark.parametrize("listing", [call for _, call in LISTS], ids=[name for name, _ in LISTS])
def test_an_auditors_list_over_many_children_appends_one_fact(
    runtime: Runtime, clock: SettableClock, listing: Callable[[Runtime], Any]
) -> None:
    children_read_by_their_guardian(runtime, clock)
    before = runtime.hub.log_length()

    listing(runtime)
    listing(runtime)

    assert runtime.hub.log_length() - before == 2, "one fact per list shown, not one per child in it"
    runtime.hub.refresh_views()
    recorded = runtime.hub.views.access.search(TENANT, accessor_id=AUDITOR, limit=100)
    assert {e.child_id for e in recorded} == {audit_trail_id(TENANT)}
    assert all(e.purpose.startswith("loggkontroll: ") for e in recorded)


def test_the_search_list_records_what_was_asked_and_how_much_was_shown(runtime: Runtime, clock: SettableClock) -> None:
    children_read_by_their_guardian(runtime, clock)

    runtime.hub.audit_search(staff(AUDITOR), unit_id="skola-ostra", limit=1000)

    runtime.hub.refresh_views()
    [entry] = runtime.hub.views.access.search(TENANT, accessor_id=AUDITOR, limit=10)
    assert entry.view == "audit_search"
    assert "unit=skola-ostra" in entry.purpose and "children shown" in entry.purpose


def test_opening_one_childs_trail_is_a_read_the_family_sees_and_a_list_is_not(runtime: Runtime, clock: SettableClock) -> None:
    made = children_read_by_their_guardian(runtime, clock)
    guardian = family(runtime, GUARDIAN_1_PNR)

    runtime.hub.audit_search(staff(AUDITOR), limit=1000)
    seen = runtime.hub.family_access_log(guardian, made[0])
    assert Role.AUDITOR not in {e.role for e in seen}, "a list over many children is not a read of each"

    before = runtime.hub.log_length()
    runtime.hub.audit_search(staff(AUDITOR), child_id=made[0])
    assert runtime.hub.log_length() - before == 1

    seen = runtime.hub.family_access_log(guardian, made[0])
    assert [e.purpose for e in seen if e.role is Role.AUDITOR] == ["loggkontroll"]
    assert Role.AUDITOR not in {e.role for e in runtime.hub.family_access_log(guardian, made[1])}
