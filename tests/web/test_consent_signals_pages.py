"""The signals on the staff pages: a unit a withdrawal took information from is told when
and what, and no other unit is; the case owner sees a consent ending soon, as many days
ahead as the area set, and renews it in one step; requests not yet answered are shown
with whether a reminder went out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from hub.application.consent_signals import SignalDays
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import family
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, conversation_payload, directory, registration_payload, staff
from tests.web.test_staff_pages import browser, hidden

BK = "rektor.ostra"
PURPOSE = "Stöd från BUP"


def child_with_consent(rt: Runtime, *, days: int | None = None, granted: bool = True) -> tuple[UUID, UUID]:
    child_id = rt.hub.register_child(staff(BK), **registration_payload())
    rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
    rt.hub.hold_conversation(staff(BK), child_id, **conversation_payload())
    until = rt.hub.now() + timedelta(days=days) if days else None
    consent = rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}, {"unit_id": "skola-ostra"}], categories=["needs", "plan"],
        purpose=PURPOSE, valid_until=until,
    )
    if granted:
        for pnr in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
            rt.hub.grant_consent(family(rt, pnr), child_id, consent)
    return child_id, consent


@pytest.fixture
def page_of(rt: Runtime) -> Iterator[Any]:
    opened: list[TestClient[Any]] = []

    def get(user: str, path: str) -> Any:
        c = browser(rt, user)
        opened.append(c)
        return c.get(path)

    yield get
    for c in opened:
        c.__exit__(None, None, None)


def test_the_unit_that_lost_sight_is_told_when_the_guardian_withdrew_and_what_it_no_longer_sees(
    rt: Runtime, page_of: Any, clock: SettableClock
) -> None:
    child_id, consent = child_with_consent(rt)
    clock.set(clock() + timedelta(days=3))
    rt.hub.withdraw_consent(family(rt, GUARDIAN_2_PNR), child_id, consent)
    page = page_of("bup.ystad", f"/staff/children/{child_id}")
    assert page.status_code == 403
    day = rt.hub.now()
    assert f"Vårdnadshavaren har återkallat samtycket den {day.day} " in page.text
    assert re.search(r"Du ser inte längre: [^<]*behov", page.text)
    assert 'role="alert"' in page.text
    assert "Alva" not in page.text and PURPOSE not in page.text


def test_every_named_unit_is_told_on_the_childs_page_and_no_other_unit_is_told_anything(rt: Runtime, page_of: Any) -> None:
    child_id, consent = child_with_consent(rt)
    rt.hub.withdraw_consent(family(rt, GUARDIAN_2_PNR), child_id, consent)
    for user in ("socsek.ystad", "polis.ystad"):
        page = page_of(user, f"/staff/children/{child_id}")
        assert "har återkallat samtycket" not in page.text
    # the school was named too: its own record stays, so it keeps the child's page, with the banner on it
    own = page_of(BK, f"/staff/children/{child_id}")
    assert own.status_code == 200 and "Vårdnadshavaren har återkallat samtycket den" in own.text
    assert re.search(r"Du ser inte längre: [^<]*barnets plan", own.text)


def runtime_warning(clock: SettableClock, days: int) -> Runtime:
    return bootstrap(
        Settings(store="memory", demo_mode=True, consent_expiry_warning_days=days), clock=clock, directory=directory()
    )


@pytest.mark.parametrize(("warning_days", "warned"), [(30, True), (10, False)])
def test_the_case_owner_sees_a_consent_ending_as_many_days_ahead_as_the_area_set(
    clock: SettableClock, warning_days: int, warned: bool
) -> None:
    rt = runtime_warning(clock, warning_days)
    try:
        child_id, consent = child_with_consent(rt, days=60)
        clock.set(clock() + timedelta(days=40))
        bk = browser(rt, BK)
        try:
            page = bk.get(f"/staff/children/{child_id}").text
        finally:
            bk.__exit__(None, None, None)
    finally:
        rt.close()
    assert ("Ett samtycke för barnet upphör den" in page) is warned
    assert (f"/consent-request?renew={consent}" in page) is warned


def test_renewal_is_the_same_request_prefilled_and_one_send_makes_it(rt: Runtime, clock: SettableClock) -> None:
    child_id, consent = child_with_consent(rt, days=20)
    bk = browser(rt, BK)
    try:
        child = bk.get(f"/staff/children/{child_id}").text
        link = re.search(r'href="(/staff/children/[^"]+/consent-request\?renew=[^"]+)"', child)
        assert link
        page = bk.get(link.group(1).replace("&amp;", "&"))
        assert "Förnya samtycket" in page.text
        assert set(re.findall(r'name="recipient_units" value="([^"]+)" checked', page.text)) == {"bup-ystad", "skola-ostra"}
        assert set(re.findall(r'name="categories" value="([^"]+)" checked', page.text)) == {"needs", "plan"}
        assert PURPOSE in page.text
        form = {
            **hidden(page.text), "recipient_units": ["bup-ystad", "skola-ostra"], "categories": ["needs", "plan"],
            "purpose": PURPOSE, "renew": str(consent),
        }
        sent = bk.post(f"/staff/children/{child_id}/consent-request", data=form)
    finally:
        bk.__exit__(None, None, None)
    assert sent.status_code == 200 and "Begäran om samtycke är skickad" in sent.text
    renewed = [c for c in rt.hub.consent_overview(staff(BK), child_id) if c.consent_id != consent]
    assert len(renewed) == 1 and renewed[0].purpose == PURPOSE and renewed[0].status.value == "pending"


def test_the_case_owner_sees_who_has_not_answered_and_that_a_reminder_went_out(rt: Runtime, page_of: Any) -> None:
    child_id, consent = child_with_consent(rt, granted=False)
    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent)
    before = page_of(BK, f"/staff/children/{child_id}").text
    assert "En part har ännu inte svarat på en begäran om samtycke." in before
    assert "En påminnelse har skickats." not in before
    rt.hub.send_consent_reminders(staff("admin.ystad"), child_id, at=rt.hub.now() + timedelta(days=8), days=SignalDays())
    after = page_of(BK, f"/staff/children/{child_id}").text
    assert "En påminnelse har skickats." in after
    assert "inte svarat" not in page_of("bup.ystad", f"/staff/children/{child_id}").text


def test_a_barnkontakt_of_another_unit_gets_nothing_from_a_renewal_link_and_cannot_send_it(rt: Runtime) -> None:
    child_id, consent = child_with_consent(rt, days=20)
    other = browser(rt, "sjukskoterska.bvc")
    try:
        page = other.get(f"/staff/children/{child_id}/consent-request?renew={consent}")
        assert PURPOSE not in page.text and "Förnya samtycket" not in page.text
        assert re.findall(r'name="recipient_units" value="([^"]+)" checked', page.text) == ["bvc-ystad"]  # only its own unit
        if page.status_code == 200:
            r = other.post(
                f"/staff/children/{child_id}/consent-request",
                data={**hidden(page.text), "recipient_units": ["bup-ystad", "bvc-ystad"], "categories": ["needs"],
                      "purpose": PURPOSE, "renew": str(consent)},
            )
            assert r.status_code in (403, 404)
        child = other.get(f"/staff/children/{child_id}")
        assert "upphör den" not in child.text
    finally:
        other.__exit__(None, None, None)
    assert len(rt.hub.consent_overview(staff(BK), child_id)) == 1
