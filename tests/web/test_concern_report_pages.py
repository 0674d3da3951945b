"""The concern report page and the family's "who has seen" page under secrecy: a report
filed secret in the form, withheld after it was read, or with only its reporter kept back,
leaves no "Orosanmälan" and no reporter on the family's pages."""

from __future__ import annotations

import html
import re
from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, staff
from tests.web.conftest import BASE_URL, post_sign_in

FILER = "forskola.solen"
SOCIAL = "socsek.ystad"
NEEDS = [{"area": "trygghet", "statements": [], "note": "Blåmärken"}]
REPORT_WORDS = ("Orosanmälan", "orosanmälan", "Soc Ystad")
"""What the family's access log page says of a read that touched a concern report."""


def signed_in(rt: Runtime, **who: str) -> TestClient[Any]:
    c = TestClient(create_app(rt), base_url=BASE_URL)
    c.__enter__()
    r = post_sign_in(c, **who)
    assert r.status_code == 303, r.text
    return c


def hidden_fields(page: str, action: str) -> dict[str, str]:
    for form in re.findall(r"<form\b.*?</form>", page, re.S):
        found = re.search(r'action="([^"]*)"', form)
        if found and html.unescape(found.group(1)) == action:
            return {n: html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    raise AssertionError(f"no form posting to {action}")


def family_log_page(rt: Runtime, child: UUID) -> str:
    anna = signed_in(rt, kind="guardian", personnummer=GUARDIAN_1_PNR)
    page = anna.get(f"/family/children/{child}/access-log")
    assert page.status_code == 200, page.text
    return page.text


def file_in_form(rt: Runtime, child: UUID, **answers: str) -> Any:
    teacher = signed_in(rt, kind="staff", user=FILER)
    action = f"/staff/children/{child}/concern-report"
    form = teacher.get(action)
    assert form.status_code == 200, form.text
    data = {
        **hidden_fields(form.text, action),
        "to_unit_id": "soc-ystad",
        "note_trygghet": "Blåmärken på armarna",
        "description": "Barnet berättar om slag hemma",
        **answers,
    }
    return teacher.post(action, data=data)


def test_a_report_filed_secret_in_the_form_gives_its_ids_and_never_reaches_the_familys_pages(rt: Runtime) -> None:
    child = UUID(str(register_child(rt)))

    filed = file_in_form(rt, child, acute="no", withheld_from_guardians="yes", reporter_withheld="no")

    assert filed.status_code == 200, filed.text
    event_id = re.search(r'<code id="event-id">([0-9a-f-]{36})</code>', filed.text)
    assert event_id is not None
    social = rt.hub.read_child(staff(SOCIAL), child, purpose="Utreda anmälan")
    (report,) = [i for i in social.items if i.type == "ConcernReportFiled"]
    assert str(report.event_id) == event_id.group(1)
    view = rt.hub.read_child(family(rt, GUARDIAN_1_PNR), child, purpose="Familj", view="family_view")
    assert not [i for i in view.items if i.type == "ConcernReportFiled"]
    page = family_log_page(rt, child)
    assert not [w for w in REPORT_WORDS if w in page]


def test_the_form_takes_only_yes_or_no_for_secrecy_and_files_nothing_otherwise(rt: Runtime) -> None:
    child = UUID(str(register_child(rt)))
    before = rt.hub.log_length()

    unanswered = file_in_form(rt, child, acute="no", reporter_withheld="no")
    garbled = file_in_form(rt, child, acute="no", withheld_from_guardians="true", reporter_withheld="no")

    for response in (unanswered, garbled):
        assert response.status_code == 422, response.text
        assert 'id="withheld_from_guardians-error"' in response.text
    assert rt.hub.log_length() == before


def test_withholding_a_report_after_it_was_read_takes_the_reads_off_the_familys_access_log_page(rt: Runtime) -> None:
    child = UUID(str(register_child(rt)))
    rt.hub.file_concern_report(staff(FILER), child, to_unit_id="soc-ystad", unmet_needs=NEEDS, description="Oro")
    seen = rt.hub.read_child(staff(SOCIAL), child, purpose="Utreda anmälan")
    (report,) = {i.event_id for i in seen.items if i.type == "ConcernReportFiled"}
    assert "lagen om orosanmälan" in family_log_page(rt, child)

    rt.hub.withhold_information(staff(FILER), child, event_ids=[report], reason="Skydd av barnet")

    page = family_log_page(rt, child)
    assert not [w for w in REPORT_WORDS if w in page]
    assert "Utreda anmälan" not in page


def test_a_report_with_its_reporter_withheld_shows_on_the_access_log_page_without_the_reporters_unit(rt: Runtime) -> None:
    child = UUID(str(register_child(rt)))

    filed = file_in_form(rt, child, acute="no", withheld_from_guardians="no", reporter_withheld="yes")
    assert filed.status_code == 200, filed.text
    rt.hub.read_child(staff(FILER), child, purpose="Följa upp min anmälan")
    rt.hub.read_child(staff(SOCIAL), child, purpose="Utreda anmälan")

    page = family_log_page(rt, child)
    assert "Utreda anmälan" in page and "Soc Ystad" in page  # that social services read it is not secret
    assert "Forskola Solen" not in page and "Följa upp min anmälan" not in page


def test_a_sixteen_year_old_sees_neither_a_withheld_report_nor_the_reads_of_it_on_their_own_pages(rt: Runtime) -> None:
    older = "200909153041"  # sixteen: sees their own record
    child = rt.hub.register_child(
        staff("larare.ostra"), personnummer=older, given_name="Vera", family_name="Lind",
        guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
    )
    rt.hub.file_concern_report(staff(FILER), child, to_unit_id="soc-ystad", unmet_needs=NEEDS, description="Oro")
    seen = rt.hub.read_child(staff(SOCIAL), child, purpose="Utreda anmälan")
    (report,) = {i.event_id for i in seen.items if i.type == "ConcernReportFiled"}
    rt.hub.withhold_information(staff(SOCIAL), child, event_ids=[report], reason="Skydd av barnet")

    vera = signed_in(rt, kind="child", personnummer=older)
    page = vera.get(f"/family/children/{child}/access-log")
    own = rt.hub.read_child(family(rt, older, "child"), child, purpose="Mina uppgifter", view="family_view")

    assert page.status_code == 200, page.text
    assert not [w for w in REPORT_WORDS if w in page.text] and "Utreda anmälan" not in page.text
    assert not [i for i in own.items if i.type == "ConcernReportFiled"]
