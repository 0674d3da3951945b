"""Secrecy towards the guardians over HTTP: a concern report filed secret, withheld later, or
with only its reporter kept back (OSL 12 kap. 3 §, 26 kap. 5 §), leaves no trace the family
can see: not in their view, not in the timeline, not in "who has seen", not even through
reads made before it was withheld. Nobody but the filer's unit and the social-services unit
it went to may withhold it, and a refusal appends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, NON_CUSTODIAL_PNR, STAFF, TENANT, card_payload, staff

API = "/api/v1"
FILER = "forskola.solen"  # preschool teacher: files, and is the reporter
SOCIAL = "socsek.ystad"  # the social-services unit the report goes to
FILER_UNIT, SOCIAL_UNIT = "forskola-solen", "soc-ystad"
NEEDS = [{"area": "trygghet", "statements": [], "note": "Blåmärken på armarna"}]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_staff(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return bearer(rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles)))


def as_family(rt: Runtime, personnummer: str, kind: str = "guardian") -> dict[str, str]:
    assert rt.demo_issuer is not None
    return bearer(rt.demo_issuer.family_token(TENANT, kind, personnummer))


def as_foreign_staff(rt: Runtime) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return bearer(rt.demo_issuer.staff_token("lidingo", "rektor.lidingo", "skola-lidingo", ["barnkontakt"]))


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(runtime)) as c:
        yield c


def register(client: TestClient[Any], rt: Runtime) -> UUID:
    response = client.post(
        f"{API}/children",
        json={
            "personnummer": CHILD_PNR,
            "given_name": "Alva",
            "family_name": "Lind",
            "guardians": [
                {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                {"name": "Bo Lind", "personnummer": NON_CUSTODIAL_PNR, "has_custody": False},
            ],
        },
        headers=as_staff(rt, "rektor.ostra"),
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["child_id"])


def file_report(client: TestClient[Any], rt: Runtime, child: UUID, **secrecy: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/children/{child}/concern-reports",
        json={"to_unit_id": SOCIAL_UNIT, "unmet_needs": NEEDS, "description": "Barnet berättar om slag hemma", **secrecy},
        headers=as_staff(rt, FILER),
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def staff_read(client: TestClient[Any], rt: Runtime, child: UUID, user: str, purpose: str) -> dict[str, Any]:
    response = client.get(f"{API}/children/{child}", params={"purpose": purpose}, headers=as_staff(rt, user))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def family_get(client: TestClient[Any], rt: Runtime, path: str, personnummer: str = GUARDIAN_1_PNR) -> Any:
    response = client.get(f"{API}{path}", headers=as_family(rt, personnummer))
    assert response.status_code == 200, response.text
    return response.json()


def withhold(client: TestClient[Any], rt: Runtime, child: UUID, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"{API}/children/{child}/withheld-information", json={"reason": "Skydd av barnet", **body}, headers=headers)


def report_fact(read: dict[str, Any]) -> str:
    """The concern report's event id, as a unit that may see the report reads it."""
    (event_id,) = {i["event_id"] for i in read["items"] if i["type"] == "ConcernReportFiled"}
    return event_id


def tells_of_a_report(entry: dict[str, Any]) -> bool:
    """An entry of "who has seen" that would tell the family a concern report exists."""
    return "concern_report" in entry["categories"] or "statutory_concern_report" in entry["bases"]


# -- filing -----------------------------------------------------------------------------------


def test_the_answer_to_a_concern_report_names_its_fact_its_report_and_the_child(client: TestClient[Any], runtime: Runtime) -> None:
    child = register(client, runtime)

    answer = file_report(client, runtime, child)

    assert answer["child_id"] == str(child)
    assert answer["report_id"].startswith("report-")
    assert answer["withheld_from_guardians"] is False and answer["reporter_withheld"] is False
    social = staff_read(client, runtime, child, SOCIAL, "Utreda anmälan")
    (fact,) = {i["event_id"] for i in social["items"] if i["type"] == "ConcernReportFiled"}
    assert answer["event_id"] == fact


def test_a_report_filed_secret_over_http_is_not_in_the_familys_view_timeline_or_access_log(
    client: TestClient[Any], runtime: Runtime
) -> None:
    child = register(client, runtime)
    answer = file_report(client, runtime, child, withheld_from_guardians=True)
    staff_read(client, runtime, child, SOCIAL, "Utreda anmälan")
    staff_read(client, runtime, child, FILER, "Följa upp min anmälan")

    view = family_get(client, runtime, f"/children/{child}")
    timeline = family_get(client, runtime, f"/children/{child}/timeline")
    log = family_get(client, runtime, f"/children/{child}/access-log")

    assert not [i for i in view["items"] if i["type"] == "ConcernReportFiled" or i["category"] == "concern_report"]
    assert answer["event_id"] not in {s["event_id"] for s in timeline["steps"]}
    assert not [e for e in log if tells_of_a_report(e) or e["unit_id"] in (SOCIAL_UNIT, FILER_UNIT)]
    social = staff_read(client, runtime, child, SOCIAL, "Utreda anmälan")
    assert [i for i in social["items"] if i["type"] == "ConcernReportFiled"]  # social services still have it
    assert answer["withheld_from_guardians"] is True


@pytest.mark.parametrize("field", ["withheld_from_guardians", "reporter_withheld"])
def test_the_secrecy_of_a_filing_is_a_boolean_or_nothing_is_filed(client: TestClient[Any], runtime: Runtime, field: str) -> None:
    child = register(client, runtime)
    before = runtime.hub.log_length()

    for value in ["true", 1, "yes", None]:
        response = client.post(
            f"{API}/children/{child}/concern-reports",
            json={"to_unit_id": SOCIAL_UNIT, "unmet_needs": NEEDS, "description": "Oro", field: value},
            headers=as_staff(runtime, FILER),
        )

        assert response.status_code == 422, (value, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]]
        assert runtime.hub.log_length() == before


# -- withholding after the reads ----------------------------------------------------------------


def test_withholding_a_report_after_it_was_read_takes_those_reads_out_of_the_familys_access_log(
    client: TestClient[Any], runtime: Runtime
) -> None:
    child = register(client, runtime)
    file_report(client, runtime, child)
    report = report_fact(staff_read(client, runtime, child, SOCIAL, "Utreda anmälan"))
    staff_read(client, runtime, child, FILER, "Följa upp min anmälan")
    staff_read(client, runtime, child, "rektor.ostra", "Förbereda samtal")  # sees no report: stays shown
    before = family_get(client, runtime, f"/children/{child}/access-log")
    assert [e for e in before if tells_of_a_report(e)]  # the reads are there while the report is not withheld

    response = withhold(client, runtime, child, as_staff(runtime, FILER), event_ids=[report])
    assert response.status_code == 201, response.text

    after = family_get(client, runtime, f"/children/{child}/access-log")
    assert not [e for e in after if tells_of_a_report(e) or e["unit_id"] in (SOCIAL_UNIT, FILER_UNIT)]
    assert "Förbereda samtal" in {e["purpose"] for e in after}
    view = family_get(client, runtime, f"/children/{child}")
    assert not [i for i in view["items"] if i["category"] == "concern_report"]
    auditor = client.get(f"{API}/audit/access-log", params={"child_id": str(child)}, headers=as_staff(runtime, "granskare.ystad"))
    assert auditor.status_code == 200, auditor.text
    assert {"Utreda anmälan", "Följa upp min anmälan"} <= {e["purpose"] for e in auditor.json()}  # the auditors keep them


def test_the_social_services_unit_a_report_went_to_may_withhold_it_after_reading_it(
    client: TestClient[Any], runtime: Runtime
) -> None:
    child = register(client, runtime)
    file_report(client, runtime, child)
    report = report_fact(staff_read(client, runtime, child, SOCIAL, "Utreda anmälan"))

    response = withhold(client, runtime, child, as_staff(runtime, SOCIAL), event_ids=[report])

    assert response.status_code == 201, response.text
    log = family_get(client, runtime, f"/children/{child}/access-log")
    assert not [e for e in log if tells_of_a_report(e)]


# -- the reporter alone ---------------------------------------------------------------------------


def test_a_report_filed_with_its_reporter_withheld_shows_the_family_the_report_but_not_who_filed_it(
    client: TestClient[Any], runtime: Runtime
) -> None:
    child = register(client, runtime)
    answer = file_report(client, runtime, child, reporter_withheld=True)
    staff_read(client, runtime, child, SOCIAL, "Utreda anmälan")
    staff_read(client, runtime, child, FILER, "Följa upp min anmälan")

    view = family_get(client, runtime, f"/children/{child}")
    timeline = family_get(client, runtime, f"/children/{child}/timeline")
    log = family_get(client, runtime, f"/children/{child}/access-log")

    report = [i for i in view["items"] if i["type"] == "ConcernReportFiled"]
    assert report and all(i["unit_id"] is None for i in report)
    assert report[0]["fields"]["to_unit_id"] == SOCIAL_UNIT  # that social services have it is not secret
    (step,) = [s for s in timeline["steps"] if s["event_id"] == answer["event_id"]]
    assert step["unit_id"] is None
    assert [e for e in log if e["unit_id"] == SOCIAL_UNIT and "concern_report" in e["categories"]]
    assert not [e for e in log if e["unit_id"] == FILER_UNIT]
    for answer_text in (str(view), str(timeline), str(log)):
        assert FILER_UNIT not in answer_text and "Forskola Solen" not in answer_text and FILER not in answer_text
    social = staff_read(client, runtime, child, SOCIAL, "Utreda anmälan")
    assert {i["unit_id"] for i in social["items"] if i["type"] == "ConcernReportFiled"} == {FILER_UNIT}  # social services know


def test_social_services_may_withhold_only_the_reporter_of_a_report_already_read(
    client: TestClient[Any], runtime: Runtime
) -> None:
    child = register(client, runtime)
    file_report(client, runtime, child)
    staff_read(client, runtime, child, FILER, "Följa upp min anmälan")
    report = report_fact(staff_read(client, runtime, child, SOCIAL, "Utreda anmälan"))
    assert [e for e in family_get(client, runtime, f"/children/{child}/access-log") if e["unit_id"] == FILER_UNIT]

    response = withhold(client, runtime, child, as_staff(runtime, SOCIAL), event_ids=[report], reporter_only=True)

    assert response.status_code == 201, response.text
    view = family_get(client, runtime, f"/children/{child}")
    assert {i["unit_id"] for i in view["items"] if i["type"] == "ConcernReportFiled"} == {None}
    log = family_get(client, runtime, f"/children/{child}/access-log")
    assert not [e for e in log if e["unit_id"] == FILER_UNIT]
    assert [e for e in log if e["unit_id"] == SOCIAL_UNIT]


def test_only_a_concern_report_can_have_its_reporter_withheld(client: TestClient[Any], runtime: Runtime) -> None:
    child = register(client, runtime)
    registered = staff_read(client, runtime, child, "rektor.ostra", "Registrering")["items"][0]["event_id"]
    before = runtime.hub.log_length()

    response = withhold(client, runtime, child, as_staff(runtime, "rektor.ostra"), event_ids=[registered], reporter_only=True)

    assert response.status_code == 422, response.text
    assert "event_ids" in [e["field"] for e in response.json()["errors"]]
    assert runtime.hub.log_length() == before


# -- who may not ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reporter_only", [False, True])
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("police, a unit with no part in the case", 404),
        ("the Barnkontakt's school, which neither filed nor received it", 403),
        ("the administrator", 403),
        ("a custodial guardian", 403),
        ("another family's guardian", 404),
        ("another area's staff", 404),
    ],
)
def test_a_report_cannot_be_withheld_by_anyone_else_and_nothing_is_appended(
    client: TestClient[Any], runtime: Runtime, who: str, status: int, reporter_only: bool
) -> None:
    child = register(client, runtime)
    file_report(client, runtime, child)
    report = report_fact(staff_read(client, runtime, child, SOCIAL, "Utreda anmälan"))
    headers = {
        "police, a unit with no part in the case": lambda: as_staff(runtime, "polis.ystad"),
        "the Barnkontakt's school, which neither filed nor received it": lambda: as_staff(runtime, "rektor.ostra"),
        "the administrator": lambda: as_staff(runtime, "admin.ystad"),
        "a custodial guardian": lambda: as_family(runtime, GUARDIAN_1_PNR),
        "another family's guardian": lambda: as_family(runtime, GUARDIAN_2_PNR),
        "another area's staff": lambda: as_foreign_staff(runtime),
    }[who]()
    before = runtime.hub.log_length()

    response = withhold(client, runtime, child, headers, event_ids=[report], **({"reporter_only": True} if reporter_only else {}))

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert report not in response.text and FILER_UNIT not in response.text
    runtime.hub.refresh_views()
    assert runtime.hub.log_length() == before
    view = family_get(client, runtime, f"/children/{child}")
    assert {i["unit_id"] for i in view["items"] if i["type"] == "ConcernReportFiled"} == {FILER_UNIT}  # nothing changed


def test_another_family_learns_nothing_of_the_report_or_its_reads(client: TestClient[Any], runtime: Runtime) -> None:
    child = register(client, runtime)
    file_report(client, runtime, child, reporter_withheld=True)
    staff_read(client, runtime, child, SOCIAL, "Utreda anmälan")

    for path in (f"/children/{child}", f"/children/{child}/timeline", f"/children/{child}/access-log"):
        stranger = client.get(f"{API}{path}", headers=as_family(runtime, GUARDIAN_2_PNR))
        non_custodial = client.get(f"{API}{path}", headers=as_family(runtime, NON_CUSTODIAL_PNR))
        for response in (stranger, non_custodial):
            assert response.status_code == 404, (path, response.text)
            assert "concern" not in response.text and SOCIAL_UNIT not in response.text


def test_naming_a_fact_the_child_does_not_have_tells_a_stranger_nothing_of_the_child_or_its_facts(
    client: TestClient[Any], runtime: Runtime
) -> None:
    """Withholding names facts by id: a unit with no part in the case hears of an unknown id
    what it hears of a child that does not exist, and a unit that knows the child cannot
    tell another unit's fact (a concern report) from an id the child has none of."""
    child = register(client, runtime)
    file_report(client, runtime, child)
    report = report_fact(staff_read(client, runtime, child, SOCIAL, "Utreda anmälan"))
    unknown = "11111111-1111-4111-8111-111111111111"
    nobody = UUID("22222222-2222-4222-8222-222222222222")
    stranger = as_staff(runtime, "bup.ystad")
    before = runtime.hub.log_length()

    on_the_child = withhold(client, runtime, child, stranger, event_ids=[unknown])
    on_no_child = withhold(client, runtime, nobody, stranger, event_ids=[unknown])
    assert (on_the_child.status_code, on_no_child.status_code) == (404, 404), on_the_child.text
    assert on_the_child.json()["type"] == on_no_child.json()["type"]

    knower = as_staff(runtime, "rektor.ostra")  # registered the child
    of_another_unit = withhold(client, runtime, child, knower, event_ids=[report])
    of_none = withhold(client, runtime, child, knower, event_ids=[unknown])
    assert of_another_unit.status_code == of_none.status_code == 403, of_none.text
    assert of_another_unit.json()["detail"] == of_none.json()["detail"]
    assert unknown not in of_none.text
    runtime.hub.refresh_views()
    assert runtime.hub.log_length() == before


def test_a_consent_request_withheld_from_the_guardians_is_not_on_their_consents_list(
    client: TestClient[Any], runtime: Runtime
) -> None:
    """Its purpose may be what must be kept from them: once the unit that asked withholds the
    request, the family's list of consents (and the receipts made from it) leaves it out."""
    child = register(client, runtime)
    runtime.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    runtime.hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    secret = "Polisen vill veta mer om hemmet"
    consent = runtime.hub.request_consent(
        staff("rektor.ostra"), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=secret
    )
    assert [c["purpose"] for c in family_get(client, runtime, f"/children/{child}/consents")] == [secret]
    (request,) = [
        i["event_id"] for i in staff_read(client, runtime, child, "rektor.ostra", "Samordna")["items"]
        if i["type"] == "ConsentRequested" and i["fields"]["consent_id"] == str(consent)
    ]

    assert withhold(client, runtime, child, as_staff(runtime, "rektor.ostra"), event_ids=[request]).status_code == 201

    listed = client.get(f"{API}/children/{child}/consents", headers=as_family(runtime, GUARDIAN_1_PNR))
    assert (listed.status_code, listed.json()) == (200, []), "answered as for a child with no consent asked for"
    staff_list = client.get(f"{API}/children/{child}/consents", headers=as_staff(runtime, "rektor.ostra"))
    assert secret in staff_list.text, "the unit that asked still sees its request"


@pytest.mark.parametrize("verb", ["grant", "decline"])
def test_a_consent_request_withheld_from_the_guardians_cannot_be_answered_by_its_id_and_is_answered_as_none(
    client: TestClient[Any], runtime: Runtime, verb: str
) -> None:
    """A guardian who saw the request before it was withheld still knows its id: answering it
    by that id is refused exactly as an id the child has no consent under (OSL 12 kap. 3 §),
    so the answer does not tell them it is still there, and nothing is appended. The unit
    that asked still sees its request, unanswered."""
    child = register(client, runtime)
    runtime.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    runtime.hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    secret = "Polisen vill veta mer om hemmet"
    consent = runtime.hub.request_consent(
        staff("rektor.ostra"), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=secret
    )
    assert [c["consent_id"] for c in family_get(client, runtime, f"/children/{child}/consents")] == [str(consent)]
    (request,) = [
        i["event_id"] for i in staff_read(client, runtime, child, "rektor.ostra", "Samordna")["items"]
        if i["type"] == "ConsentRequested" and i["fields"]["consent_id"] == str(consent)
    ]
    assert withhold(client, runtime, child, as_staff(runtime, "rektor.ostra"), event_ids=[request]).status_code == 201
    runtime.hub.refresh_views()
    before = runtime.hub.log_length()
    unknown = UUID(int=consent.int ^ 1)

    kept = client.post(f"{API}/children/{child}/consents/{consent}/{verb}", headers=as_family(runtime, GUARDIAN_1_PNR))
    none = client.post(f"{API}/children/{child}/consents/{unknown}/{verb}", headers=as_family(runtime, GUARDIAN_1_PNR))

    assert kept.status_code == none.status_code == 422, kept.text
    assert kept.headers["content-type"] == none.headers["content-type"] == "application/problem+json"
    assert kept.json()["type"] == none.json()["type"]
    assert kept.text.replace(str(consent), "ID") == none.text.replace(str(unknown), "ID"), "not a word tells them apart"
    runtime.hub.refresh_views()
    assert runtime.hub.log_length() == before, "nothing appended"
    (seen,) = client.get(f"{API}/children/{child}/consents", headers=as_staff(runtime, "rektor.ostra")).json()
    assert (seen["consent_id"], seen["purpose"], seen["status"]) == (str(consent), secret, "pending")
    assert [a["answer"] for a in seen["parties"]] == ["awaiting"], "the guardian's answer is still awaited"


def test_a_consent_request_a_guardian_has_granted_cannot_be_withheld_from_the_family(
    client: TestClient[Any], runtime: Runtime
) -> None:
    """GDPR art. 7(3) and 15: what a guardian agreed to stays on their consents list, where
    they can take it back; nothing is appended by the refused attempt."""
    child = register(client, runtime)
    runtime.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    runtime.hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    consent = runtime.hub.request_consent(
        staff("rektor.ostra"), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Samordna"
    )
    granted = client.post(f"{API}/children/{child}/consents/{consent}/grant", headers=as_family(runtime, GUARDIAN_1_PNR))
    assert granted.status_code in (200, 201), granted.text
    (request,) = [
        i["event_id"] for i in staff_read(client, runtime, child, "rektor.ostra", "Samordna")["items"]
        if i["type"] == "ConsentRequested" and i["fields"]["consent_id"] == str(consent)
    ]
    runtime.hub.refresh_views()
    before = runtime.hub.log_length()

    refused = withhold(client, runtime, child, as_staff(runtime, "rektor.ostra"), event_ids=[request])

    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "event_ids", refused.text
    runtime.hub.refresh_views()
    assert runtime.hub.log_length() == before
    listed = client.get(f"{API}/children/{child}/consents", headers=as_family(runtime, GUARDIAN_1_PNR)).json()
    assert [(c["consent_id"], c["status"]) for c in listed] == [(str(consent), "in_effect")]
