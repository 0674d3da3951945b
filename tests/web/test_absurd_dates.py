"""A consent recorded with a date at the calendar's end, before the hub bounded dates, must
not lock the family out: the consents page and the receipt show it, and the guardians can
still answer and withdraw."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from contracts.events import ConsentRecipient
from contracts.vocabulary import Category
from hub.application.commands import RequestConsent
from hub.domain import child as child_module
from hub.runtime.bootstrap import Runtime
from tests.conftest import register_child
from tests.factories import GUARDIAN_1_PNR, card_payload, staff
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
