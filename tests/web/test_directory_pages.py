"""The directory's pages: the administrator adds a unit and a member of staff, changes and
removes them, sets what a unit is sent and hands roles over, each form showing its problems
next to its fields; the history lists every change for the administrator and the auditors,
and nobody else has the pages."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.e2e.swedish_scan import assert_swedish
from tests.factories import TENANT
from tests.web.test_staff_pages import browser, hidden

PAGE = "/administration/directory"


def facts(rt: Runtime) -> int:
    return len(rt.hub.directory.history(TENANT))  # type: ignore[union-attr]


def send(client: TestClient[Any], page: str, action: str, **form: Any) -> Any:
    return client.post(action, data={**hidden(client.get(page).text), **form}, follow_redirects=True)


def test_the_administrator_adds_a_unit_and_a_member_of_staff_with_roles_from_the_start_page(rt: Runtime) -> None:
    admin = browser(rt, "admin.ystad")
    start = admin.get("/administration")
    assert 'href="/administration/directory"' in start.text

    page = admin.get(PAGE)
    assert page.status_code == 200
    assert "Enheter och medarbetare" in page.text and "Bvc Ystad" in page.text and "Rektor Ostra" in page.text
    assert_swedish(page.text, PAGE)

    added = send(admin, PAGE, PAGE + "/units", unit_id="forskola-manen", kind="preschool", name="Förskolan Månen")
    assert added.status_code == 200 and "Enheten lades till." in added.text and "Förskolan Månen" in added.text

    staff = send(
        admin, PAGE, PAGE + "/staff", user_id="pia.pedagog", name="Pia Pedagog", title="Förskollärare",
        unit_id="forskola-manen", roles=["barnkontakt", "discoverer"],
    )
    assert staff.status_code == 200 and "Medarbetaren lades till." in staff.text
    assert_swedish(staff.text, PAGE)
    member = rt.hub.directory.staff(TENANT, "pia.pedagog")
    assert member.unit_id == "forskola-manen" and {r.value for r in member.roles} == {"barnkontakt", "discoverer"}


def test_a_form_the_command_refuses_is_shown_again_with_each_problem_next_to_its_field(rt: Runtime) -> None:
    admin = browser(rt, "admin.ystad")
    before = facts(rt)
    refused = admin.post(
        PAGE + "/staff", data={**hidden(admin.get(PAGE).text), "user_id": "has space", "name": "", "unit_id": "forskola-solen"},
    )
    assert refused.status_code == 422
    assert re.search(r'id="staff-user_id-error">Skriv kontot', refused.text)
    assert re.search(r'id="staff-roles-error">Kryssa i minst en roll', refused.text)
    assert re.search(r'id="staff-name-error">Skriv ett namn', refused.text)
    assert 'value="has space"' in refused.text, "what was typed is kept"
    assert_swedish(refused.text, PAGE)

    taken = admin.post(PAGE + "/units", data={**hidden(admin.get(PAGE).text), "unit_id": "bvc-ystad", "kind": "bvc", "name": "Ny"})
    assert taken.status_code == 422 and re.search(r'id="unit-unit_id-error">Används redan', taken.text)
    assert facts(rt) == before


def test_the_administrator_renames_a_unit_sets_its_subscription_and_closes_it(rt: Runtime) -> None:
    admin = browser(rt, "admin.ystad")
    send(admin, PAGE, PAGE + "/units", unit_id="forskola-manen", kind="preschool", name="Förskolan Månen")
    unit_page = PAGE + "/units/forskola-manen"
    page = admin.get(unit_page)
    assert page.status_code == 200 and "Upptäckarkort skickat" in page.text
    assert_swedish(page.text, unit_page)

    renamed = send(admin, unit_page, unit_page + "/name", name="Förskolan Stjärnan")
    assert "Enheten bytte namn." in renamed.text and "Förskolan Stjärnan" in renamed.text
    chosen = send(
        admin, unit_page, unit_page + "/subscription", event_types=["DiscoveryCardSubmitted", "ConsentGranted"],
        categories=["needs"], cadence="daily", digest_hour="6", format="fhir",
    )
    assert "Enhetens val sparades." in chosen.text
    subscription = rt.hub.directory.unit(TENANT, "forskola-manen").subscription
    assert subscription.event_types == ("ConsentGranted", "DiscoveryCardSubmitted")
    assert subscription.cadence.value == "daily" and subscription.digest_hour == 6 and subscription.format.value == "fhir"

    bad_hour = admin.post(unit_page + "/subscription", data={**hidden(admin.get(unit_page).text), "cadence": "daily",
                                                           "digest_hour": "25", "format": "fhir"})
    assert bad_hour.status_code == 422 and 'id="subscription-digest_hour-error"' in bad_hour.text

    closed = send(admin, unit_page, unit_page + "/close")
    assert "Enheten stängdes." in closed.text
    assert "forskola-manen" not in rt.hub.directory.tenants[TENANT].units


def test_a_unit_with_staff_is_not_closed_and_the_page_says_why(rt: Runtime) -> None:
    admin = browser(rt, "admin.ystad")
    before = facts(rt)
    refused = send(admin, PAGE + "/units/skola-ostra", PAGE + "/units/skola-ostra/close")
    assert refused.status_code == 409 and "enheten har kvar medarbetare" in refused.text
    assert facts(rt) == before


def test_the_administrator_changes_and_removes_a_member_of_staff(rt: Runtime) -> None:
    admin = browser(rt, "admin.ystad")
    member = PAGE + "/staff/larare.ostra"
    page = admin.get(member)
    assert page.status_code == 200 and "Ta bort Larare Ostra" in page.text
    assert_swedish(page.text, member)

    changed = send(admin, member, member, name="Lena Lärare", title="Lärare", unit_id="skola-ostra", roles=["discoverer", "team_member"])
    assert "Ändringarna sparades." in changed.text
    assert {r.value for r in rt.hub.directory.staff(TENANT, "larare.ostra").roles} == {"discoverer", "team_member"}

    removed = send(admin, member, member + "/remove")
    assert "Medarbetaren togs bort." in removed.text
    assert "larare.ostra" not in rt.hub.directory.tenants[TENANT].staff


def test_the_administrator_hands_a_role_over_and_revokes_it(rt: Runtime, clock: SettableClock) -> None:
    admin = browser(rt, "admin.ystad")
    day = clock().date().isoformat()
    handed = send(admin, PAGE, PAGE + "/delegations", from_user_id="rektor.ostra", to_user_id="larare.ostra",
                  role="barnkontakt", starts_on=day, ends_on=day)
    assert "Rollen lämnades över." in handed.text
    assert_swedish(handed.text, PAGE)
    delegation = re.search(r'action="(/administration/directory/delegations/[0-9a-f-]+/revoke)"', handed.text)
    assert delegation
    revoked = send(admin, PAGE, delegation.group(1))
    assert "Delegeringen återkallades." in revoked.text and "Inga delegeringar gäller nu." in revoked.text

    elsewhere = admin.post(PAGE + "/delegations", data={**hidden(admin.get(PAGE).text), "from_user_id": "rektor.ostra",
                                                       "to_user_id": "socsek.ystad", "role": "barnkontakt",
                                                       "starts_on": day, "ends_on": day})
    assert elsewhere.status_code == 422 and "kollega vid din egen enhet" in elsewhere.text


def test_the_history_names_who_changed_what_for_the_administrator_and_the_auditors(rt: Runtime) -> None:
    admin = browser(rt, "admin.ystad")
    send(admin, PAGE, PAGE + "/units", unit_id="forskola-manen", kind="preschool", name="Förskolan Månen")
    send(admin, PAGE, PAGE + "/staff", user_id="pia.pedagog", name="Pia Pedagog", unit_id="forskola-manen", roles=["discoverer"])
    send(admin, PAGE + "/staff/pia.pedagog", PAGE + "/staff/pia.pedagog/remove")
    for who in ("admin.ystad", "granskare.ystad"):
        page = browser(rt, who).get("/directory/history")
        assert page.status_code == 200
        rows = re.findall(r"<tr>(.*?)</tr>", page.text, re.S)
        assert "Medarbetare borttagen" in rows[1] and "Pia Pedagog" in rows[1] and "Administratör Ystad" in rows[1]
        assert "Medarbetare tillagd" in rows[2] and "Enhet tillagd" in rows[3] and "Förskolan Månen" in rows[3]
        assert_swedish(page.text, "/directory/history")
    assert 'href="/directory/history"' in browser(rt, "granskare.ystad").get("/audit").text


def test_nobody_but_the_administrator_has_the_directory_pages(rt: Runtime) -> None:
    before = facts(rt)
    barnkontakt = browser(rt, "rektor.ostra")
    for refused in (barnkontakt.get(PAGE), barnkontakt.get("/directory/history")):
        assert refused.status_code == 403
        assert_swedish(refused.text, "refused")
    token = hidden(barnkontakt.get("/staff/children/new").text)
    answer = barnkontakt.post(PAGE + "/units", data={**token, "unit_id": "x", "kind": "bvc", "name": "X"})
    assert answer.status_code == 403
    assert browser(rt, "granskare.ystad").get(PAGE).status_code == 403

    admin = browser(rt, "admin.ystad")
    forged = admin.post(PAGE + "/units", data={"csrf_token": "forged", "unit_id": "ny-enhet", "kind": "bvc", "name": "Ny"})
    assert forged.status_code == 403
    assert facts(rt) == before


def test_a_barnkontakt_hands_their_role_to_a_colleague_at_their_unit_from_their_own_page_and_takes_it_back(
    rt: Runtime, clock: SettableClock
) -> None:
    rektor = browser(rt, "rektor.ostra")
    own = "/staff/delegations"
    page = rektor.get(own)
    assert page.status_code == 200 and 'href="/staff/delegations"' in page.text
    assert "Larare Ostra" in page.text and "Socsek Ystad" not in page.text, "only colleagues at the same unit are offered"
    assert 'value="support_coordinator"' not in page.text, "only roles the giver holds are offered"
    assert_swedish(page.text, own)

    day = clock().date().isoformat()
    handed = send(rektor, own, own, to_user_id="larare.ostra", role="barnkontakt", starts_on=day, ends_on=day)
    assert "Rollen lämnades över." in handed.text
    teacher = rt.hub.directory.roles_on(TENANT, "larare.ostra", clock().date())
    assert {r.value for r in teacher} == {"discoverer", "barnkontakt"}
    assert "Larare Ostra" in browser(rt, "larare.ostra").get(own).text, "the colleague sees what they were given"

    bad = rektor.post(own, data={**hidden(rektor.get(own).text), "to_user_id": "larare.ostra", "role": "barnkontakt",
                                 "starts_on": day, "ends_on": "2000-01-01"})
    assert bad.status_code == 422 and 'id="delegation-ends_on-error"' in bad.text

    revoke = re.search(r'action="(/staff/delegations/[0-9a-f-]+/revoke)"', handed.text)
    assert revoke
    assert "Delegeringen återkallades." in send(rektor, own, revoke.group(1)).text
    assert {r.value for r in rt.hub.directory.roles_on(TENANT, "larare.ostra", clock().date())} == {"discoverer"}


def test_an_address_naming_no_unit_or_person_of_the_area_is_refused_with_a_page_and_records_nothing(rt: Runtime) -> None:
    admin = browser(rt, "admin.ystad")
    before = facts(rt)
    token = hidden(admin.get(PAGE).text)
    for action, form in [
        (PAGE + "/units/no%20such%20unit/name", {"name": "Namn"}),
        (PAGE + "/units/skola-lidingo/close", {}),
        (PAGE + "/units/-bad-/subscription", {"cadence": "daily", "digest_hour": "7", "format": "backa"}),
        (PAGE + "/staff/not%20a%20person", {"name": "Namn", "roles": ["discoverer"]}),
        (PAGE + "/staff/rektor.lidingo/remove", {}),
    ]:
        answer = admin.post(action, data={**token, **form})
        assert answer.status_code == 422, (action, answer.status_code)
        assert_swedish(answer.text, action)
    assert facts(rt) == before
