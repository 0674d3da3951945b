"""Days at the calendar's ends in the pages: a consent recorded with one before the hub
bounded dates must not lock the family out (the consents page and the receipt show it, and
the guardians can still answer and withdraw), and the staff's and auditors' forms refuse
one next to its field instead of failing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from contracts.events import ConsentRecipient
from contracts.vocabulary import Category
from hub.application.commands import RequestConsent
from hub.domain import child as child_module
from hub.runtime.bootstrap import Runtime
from tests.conftest import register_child
from tests.factories import GUARDIAN_1_PNR, card_payload, staff
from tests.web.conftest import post_sign_in
from tests.web.test_family_pages import BK, answer, client, sign_in

END_OF_CALENDAR = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def consent_recorded_until_the_end_of_the_calendar(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> tuple[UUID, UUID]:
    """As an older hub recorded it: the command unchecked, and no longest period."""
    child = UUID(str(register_child(rt)))
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    with monkeypatch.context() as older_hub:
        older_hub.setattr(child_module, "consent_ends_by", lambda *_: END_OF_CALENDAR)
        command = RequestConsent.model_construct(
            recipients=[ConsentRecipient(unit_id="bup-ystad")],
            categories=[Category.NEEDS],
            purpose="Samordna stödet",
            valid_until=END_OF_CALENDAR,
        )
        consent = rt.hub.request_consent(staff(BK), child, command)
    return child, consent


def test_a_consent_stored_until_9999_is_shown_and_can_still_be_answered_and_withdrawn(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    child, consent = consent_recorded_until_the_end_of_the_calendar(rt, monkeypatch)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        page = anna.get(f"/family/children/{child}/consents")
        assert page.status_code == 200, page.text
        assert "9999" in page.text
        granted = answer(anna, child, consent, "grant")
        assert granted.status_code == 303
        receipt = anna.get(f"/family/children/{child}/consents/{consent}/receipt")
        assert receipt.status_code == 200, receipt.text
        assert "9999" in receipt.text
        withdrawn = answer(anna, child, consent, "withdraw")
        assert withdrawn.status_code == 303
        assert anna.get(withdrawn.headers["location"]).status_code == 200
    assert rt.hub.consent_overview(staff(BK), child)[0].status.value == "withdrawn"


def staff_browser(rt: Runtime, user: str) -> TestClient[Any]:
    c = client(rt)
    c.__enter__()
    signed_in = post_sign_in(c, kind="staff", user=user)
    assert signed_in.status_code == 303, signed_in.text
    return c


@pytest.mark.parametrize("typed", ["9999-12-31", "0001-01-01", "2031-01-01"])
def test_the_consent_form_refuses_a_day_beyond_what_a_consent_may_run_next_to_the_field(rt: Runtime, typed: str) -> None:
    child = UUID(str(register_child(rt)))
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    bk = staff_browser(rt, BK)
    try:
        page = bk.get(f"/staff/children/{child}/consent-request").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        form_id = re.search(r'name="form_id" value="([^"]+)"', page)
        assert token and form_id
        before = rt.hub.log_length()
        refused = bk.post(
            f"/staff/children/{child}/consent-request",
            data={"csrf_token": token.group(1), "form_id": form_id.group(1), "recipient_units": ["bup-ystad", "skola-ostra"],
                  "categories": ["needs"], "purpose": "Stöd", "valid_until": typed},
            follow_redirects=False,
        )
    finally:
        bk.__exit__(None, None, None)
    assert refused.status_code == 422
    assert 'id="valid_until-error"' in refused.text
    assert rt.hub.log_length() == before


@pytest.mark.parametrize("period", [{"until": "9999-12-31"}, {"since": "0001-01-01"}])
def test_the_audit_pages_refuse_a_day_at_the_calendars_end_next_to_the_field(rt: Runtime, period: dict[str, str]) -> None:
    auditor = staff_browser(rt, "granskare.ystad")
    try:
        search = auditor.get("/audit", params={**period, "search": "1"})
        review = auditor.get("/audit/review", params=period)
    finally:
        auditor.__exit__(None, None, None)
    (field,) = period
    for page in (search, review):
        assert page.status_code == 422, page.text[:300]
        assert f'id="{field}-error"' in page.text
        assert "1900-01-01" in page.text
