"""The administrator's page: the consent reminders due are counted and sent with one action,
once; nobody but the area's administrator has the page or may send."""

from __future__ import annotations

import re
from datetime import timedelta

from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.conftest import family
from tests.e2e.swedish_scan import assert_swedish
from tests.factories import GUARDIAN_1_PNR
from tests.web.test_consent_signals_pages import child_with_consent
from tests.web.test_staff_pages import browser, hidden

ADMIN = "admin.ystad"


def test_the_administrator_sends_the_reminders_due_once_and_is_told_how_many(rt: Runtime, clock: SettableClock) -> None:
    child_id, consent = child_with_consent(rt, granted=False)
    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent)
    admin = browser(rt, ADMIN)
    page = admin.get("/administration")
    assert page.status_code == 200
    assert "0 barn har påminnelser att skicka nu." in page.text
    assert "Skicka påminnelserna" not in page.text

    clock.set(clock() + timedelta(days=8))
    admin = browser(rt, ADMIN)  # a session ends within days: sign in again
    page = admin.get("/administration")
    assert "1 barn har påminnelser att skicka nu." in page.text
    form = hidden(page.text)
    sent = admin.post("/administration/consent-reminders", data=form, follow_redirects=True)
    assert sent.status_code == 200
    assert "1 påminnelse skickades." in sent.text
    assert "0 barn har påminnelser att skicka nu." in sent.text
    assert_swedish(sent.text, "/administration")

    # the same form again (a double click, a reload) sends nothing more
    again = admin.post("/administration/consent-reminders", data=form, follow_redirects=True)
    assert "1 påminnelse skickades." in again.text
    assert "Skicka påminnelserna" not in admin.get("/administration").text


def test_the_waiting_days_of_the_area_decide_when_a_reminder_is_due(rt: Runtime, clock: SettableClock) -> None:
    child_with_consent(rt, granted=False)
    clock.set(clock() + timedelta(days=6))
    assert "0 barn har påminnelser" in browser(rt, ADMIN).get("/administration").text  # the default waits 7 days
    clock.set(clock() + timedelta(days=2))
    assert "1 barn har påminnelser" in browser(rt, ADMIN).get("/administration").text


def test_staff_and_a_forged_form_may_not_send_reminders(rt: Runtime, clock: SettableClock) -> None:
    child_with_consent(rt, granted=False)
    clock.set(clock() + timedelta(days=8))
    barnkontakt = browser(rt, "rektor.ostra")
    assert barnkontakt.get("/administration").status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', barnkontakt.get("/staff/children/new").text)
    assert token is not None
    form = {"csrf_token": token.group(1), "form_id": "admin-form"}
    refused = barnkontakt.post("/administration/consent-reminders", data=form)
    assert refused.status_code == 403
    admin = browser(rt, ADMIN)
    forged = admin.post("/administration/consent-reminders", data={"csrf_token": "forged", "form_id": "x"})
    assert forged.status_code in (400, 403)
    assert "1 barn har påminnelser att skicka nu." in admin.get("/administration").text
