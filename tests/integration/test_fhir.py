"""The FHIR interface: the same consent-gated, recorded read as the JSON endpoints, worded as
R4 resources that validate with ``fhir.resources``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.questionnaire import Questionnaire
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from tests.conftest import family
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    STAFF,
    TENANT,
    card_payload,
    conversation_payload,
    plan_payload,
    staff,
)

API = "/api/v1"
BK = "rektor.ostra"
PERSONNUMMER = "urn:oid:1.2.752.129.2.1.3.1"


def bearer(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}"}


def as_guardian(rt: Runtime, pnr: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return {"Authorization": f"Bearer {rt.demo_issuer.family_token(TENANT, 'guardian', pnr)}"}


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(runtime)) as c:
        yield c


def case(rt: Runtime, categories: list[str], *, secret_plan: bool = False) -> tuple[UUID, str]:
    """A child with a card, a conversation, a consent to soc-ystad for ``categories``
    granted by both guardians, a rating, a joint compass and a plan."""
    hub = rt.hub
    child = hub.register_child(
        staff("larare.ostra"), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )
    hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload("child"))
    consent = hub.request_consent(
        staff(BK), child, recipients=[{"unit_id": "soc-ystad"}, {"unit_kind": "bup"}], categories=categories, purpose="Individuellt barnteam kring Alva",
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    hub.decide_team(staff(BK), child, decision="individual_team", family_informed=True, member_unit_ids=["elevhalsa-ostra", "soc-ystad"])
    hub.submit_rating(staff("kurator.ostra"), child, scores=[{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}])
    hub.hold_team_meeting(staff(BK), child, participant_unit_ids=["elevhalsa-ostra", "soc-ystad"])
    hub.assign_support_coordinator(staff(BK), child, staff_id="kurator.ostra")
    hub.update_plan(staff(BK), child, **plan_payload(hub.now().date()))
    hub.complete_plan_action(staff("kurator.ostra"), child, action_id="a1")
    return child, str(consent)


def fhir_get(client: TestClient[Any], rt: Runtime, child: UUID, user: str) -> Any:
    return client.get(f"{API}/children/{child}/fhir", params={"purpose": "Förbereda möte"}, headers=bearer(rt, user))


def of(bundle: Bundle, kind: str) -> list[Any]:
    return [e.resource for e in bundle.entry or [] if e.resource.get_resource_type() == kind]


ALL = ["identity", "needs", "conversations", "ratings", "plan"]


def test_a_consented_unit_gets_a_valid_bundle_matching_the_hubs_facts(client: TestClient[Any], runtime: Runtime) -> None:
    child, consent_id = case(runtime, ALL)
    response = fhir_get(client, runtime, child, "socsek.ystad")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(response.content)
    assert bundle.type == "collection"

    (patient,) = of(bundle, "Patient")
    assert [(i.system, i.value) for i in patient.identifier if i.system == PERSONNUMMER] == [(PERSONNUMMER, CHILD_PNR)]
    assert patient.name[0].family == "Lind"

    (plan,) = of(bundle, "CarePlan")
    assert plan.title == "Barnets plan"
    activities = {a.detail.description: a.detail.status for a in plan.activity}
    assert activities == {"Rastvärd": "completed", "Samtalsstöd": "scheduled", "Föräldrastöd": "scheduled"}
    assert "Barnets syn: Jag vill ha en kompis på rasten" in [n.text for n in plan.note]

    responses = of(bundle, "QuestionnaireResponse")
    answers = {
        (r.meta.tag[0].code, inner.linkId): inner.answer[0]
        for r in responses for group in r.item for inner in group.item
    }
    assert answers[("RatingSubmitted", "trygghet.trygghet-hemma")].valueInteger == 2
    assert float(answers[("TeamMeetingHeld", "trygghet.skattning")].valueDecimal) == 2.0
    assert answers[("ConversationHeld", "trygghet.syn")].valueString == "Vill ha en vuxen på rasten"
    assert all(r.questionnaire.startswith("urn:backa-barnet:questionnaire:behovskompass") for r in responses)

    (audit,) = of(bundle, "AuditEvent")
    assert audit.outcome == "0"
    assert audit.agent[0].purposeOfUse[0].text == "Förbereda möte"
    assert audit.agent[1].who.identifier.value == "soc-ystad"
    assert {c.coding[0].code for c in audit.purposeOfEvent} == {"consent"}


def test_the_consent_with_its_recipients_categories_and_answers(client: TestClient[Any], runtime: Runtime) -> None:
    """The consent is shown to the unit that asked for it (and to the family), as the JSON consent overview."""
    child, consent_id = case(runtime, ALL)
    response = fhir_get(client, runtime, child, BK)
    assert response.status_code == 200, response.text
    bundle = Bundle.model_validate_json(response.content)
    overview = client.get(f"{API}/children/{child}/consents", headers=bearer(runtime, BK)).json()
    assert overview[0]["status"] == "in_effect"
    (consent,) = of(bundle, "Consent")
    assert consent.id == consent_id and consent.status == "active"
    assert {p.class_fhir[0].code for p in consent.provision.provision} == set(ALL)
    assert {a.reference.identifier.value for a in consent.provision.provision[0].actor} | set() == {"soc-ystad", "bup"}
    assert [v.verified for v in consent.verification] == [True, True]
    assert all(v.verifiedWith.display == "Vårdnadshavare: samtycker" for v in consent.verification)

    assert consent.provision.period.end is not None


def test_each_fhir_read_is_recorded_and_the_family_sees_it(client: TestClient[Any], runtime: Runtime) -> None:
    child, _ = case(runtime, ALL)
    assert fhir_get(client, runtime, child, "socsek.ystad").status_code == 200
    log = client.get(f"{API}/children/{child}/access-log", headers=as_guardian(runtime, GUARDIAN_1_PNR)).json()
    fhir_reads = [e for e in log if e["view"] == "fhir"]
    assert [(e["unit_id"], e["purpose"], e["bases"]) for e in fhir_reads] == [("soc-ystad", "Förbereda möte", ["consent"])]

    audit = client.get(f"{API}/children/{child}/fhir/AuditEvent", headers=as_guardian(runtime, GUARDIAN_1_PNR))
    assert audit.status_code == 200, audit.text
    bundle = Bundle.model_validate_json(audit.content)
    assert bundle.type == "searchset"
    events = of(bundle, "AuditEvent")
    assert any(e.entity[0].detail[0].valueString == "fhir" and e.agent[0].purposeOfUse[0].text == "Förbereda möte" for e in events)


def test_a_unit_without_basis_is_refused_as_for_the_json_read_and_nothing_leaks(client: TestClient[Any], runtime: Runtime) -> None:
    child, consent_id = case(runtime, ALL)
    runtime.hub.withdraw_consent(family(runtime, GUARDIAN_2_PNR), child, UUID(consent_id))
    for user, status in (("socsek.ystad", 403), ("polis.ystad", 404)):  # in the team, and a stranger to the child
        before = runtime.hub.log_length()
        json_read = client.get(f"{API}/children/{child}", headers=bearer(runtime, user))
        response = fhir_get(client, runtime, child, user)
        assert response.status_code == json_read.status_code == status
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == json_read.json()["type"]
        for secret in (CHILD_PNR, "Alva", "Lind", "Rastvärd", "Individuellt barnteam"):
            assert secret not in response.text
        assert runtime.hub.log_length() == before + 2  # each refusal is a read on record too


def test_the_personnummer_only_where_the_unit_may_see_the_identity(client: TestClient[Any], runtime: Runtime) -> None:
    child, _ = case(runtime, ["needs", "conversations", "ratings", "plan"])
    response = fhir_get(client, runtime, child, "socsek.ystad")
    assert response.status_code == 200, response.text
    bundle = Bundle.model_validate_json(response.content)
    (patient,) = of(bundle, "Patient")
    assert {i.system for i in patient.identifier} == {"urn:backa-barnet:child"}
    assert patient.name is None and patient.birthDate is None
    assert CHILD_PNR not in response.text and "Alva" not in response.text
    assert of(bundle, "Consent") == []  # the consent itself is the asking unit's and the family's
    assert of(bundle, "CarePlan")


def test_a_withheld_fact_never_appears(client: TestClient[Any], runtime: Runtime) -> None:
    child, _ = case(runtime, ALL)
    hub = runtime.hub
    (plan,) = hub.read_child(staff(BK), child, purpose="Plan").of_type("PlanUpdated")
    hub.withhold_information(staff(BK), child, event_ids=[plan.event_id], reason="Skada för barnet")
    seen = client.get(f"{API}/children/{child}/fhir", headers=as_guardian(runtime, GUARDIAN_1_PNR))
    assert seen.status_code == 200, seen.text
    bundle = Bundle.model_validate_json(seen.content)
    assert of(bundle, "CarePlan") == []
    assert "Rastvärd" not in seen.text


def test_free_text_fhir_does_not_take_is_made_a_fhir_string(client: TestClient[Any], runtime: Runtime) -> None:
    """The hub takes any Unicode space in a purpose or a plan; FHIR strings do not."""
    child, _ = case(runtime, ALL)
    response = client.get(f"{API}/children/{child}/fhir", params={"purpose": "\u00a0"}, headers=bearer(runtime, "socsek.ystad"))
    assert response.status_code == 200, response.text
    (audit,) = of(Bundle.model_validate_json(response.content), "AuditEvent")
    assert audit.agent[0].purposeOfUse[0].text == "-"


def test_the_capability_statement_and_the_questionnaire_validate(client: TestClient[Any], runtime: Runtime) -> None:
    meta = client.get(f"{API}/fhir/metadata", headers=bearer(runtime, "socsek.ystad"))
    assert meta.status_code == 200 and meta.headers["content-type"].startswith("application/fhir+json")
    cs = CapabilityStatement.model_validate_json(meta.content)
    assert {r.type for r in cs.rest[0].resource} >= {"Patient", "Consent", "CarePlan", "QuestionnaireResponse", "AuditEvent"}

    q = client.get(f"{API}/fhir/Questionnaire/behovskompass", headers=bearer(runtime, "socsek.ystad"))
    questionnaire = Questionnaire.model_validate_json(q.content)
    assert [g.text for g in questionnaire.item] == [
        "Trygghet", "Hälsa", "Utvecklas", "Omvårdad", "Fritid", "Respekteras", "Ansvarstagande", "Tillhörighet",
    ]


def test_the_same_bundle_travels_sealed_as_the_data_of_a_cloudevent(client: TestClient[Any], runtime: Runtime) -> None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from adapters.cloudevents_codec import encode_sealed, open_event, parse_sealed
    from adapters.fhir.cloudevent import BUNDLE_TYPE, bundle_delivery, bundle_of

    child, _ = case(runtime, ALL)
    served = Bundle.model_validate_json(fhir_get(client, runtime, child, "socsek.ystad").content)
    key = X25519PrivateKey.generate()
    subject = "backa.ystad.soc-ystad.fhir"
    delivery = bundle_delivery(
        served, tenant_id=TENANT, unit_id="soc-ystad", subject=subject, msg_id="m-1", child_id=str(child), at=runtime.hub.now()
    )
    raw = encode_sealed(delivery, key.public_key())
    assert CHILD_PNR.encode() not in raw and b"Alva" not in raw and str(child).encode() not in raw
    opened = open_event(parse_sealed(raw), subject, key)
    assert opened.type == BUNDLE_TYPE
    assert bundle_of(opened) == served
