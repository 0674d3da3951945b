"""A unit that chose the FHIR format is sent each fact that has a FHIR rendering as a FHIR R4
``message`` Bundle (CloudEvent type ``backa.v1.fhir.Bundle``), holding only what the consent
policy let it see: the same information a unit on the backa format gets for the same fact,
through a real nats-server, opened by the agency's subscriber and, posted as a signed
webhook, verified by the real receiver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from standardwebhooks.webhooks import Webhook

from adapters.agency_subscriber import AgencySubscriber, JsonLinesSink, ProcessedIds, Sink
from adapters.cloudevents_codec import OpenedEvent
from adapters.deliveries import Delivery
from adapters.fhir.cloudevent import BUNDLE_TYPE, bundle_of
from adapters.fhir.delivery import fhir_delivery, shaped
from adapters.sealed_box import load_private_key
from adapters.signed_webhooks import DeadLetters, RetryPolicy, SignedWebhookSink, WebhookSender, load_secrets, new_secret, write_secret
from contracts.directory import DeliveryFormat, Subscription
from contracts.events import EVENT_TYPES, Event
from hub.identity.directory import Directory
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import log_reader
from hub.runtime.settings import Settings
from tests.conftest import family
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    TENANT,
    conversation_payload,
    directory,
    plan_payload,
    staff,
)
from tests.integration.test_nats_relay import BK, child_with_barnkontakt, make_relay
from tests.integration.test_signed_webhooks import Pauses, Receiver, load_secret_lines, serve
from tests.nats_server import NatsServer, keys, nats_server

__all__ = ["keys", "nats_server", "serve"]

FHIR_UNIT = "soc-ystad"
BACKA_UNIT = "bup-ystad"


def fhir_directory(*fhir_units: str) -> Directory:
    d = directory()
    tenant = d.tenants[TENANT]
    units = dict(tenant.units)
    for unit in fhir_units:
        units[unit] = replace(units[unit], subscription=Subscription(format=DeliveryFormat.FHIR))
    return Directory({**d.tenants, TENANT: replace(tenant, units=units)})


def runtime_with(tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path, *fhir_units: str) -> Runtime:
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys)
    return bootstrap(settings, clock=clock, directory=fhir_directory(*fhir_units))


@pytest.fixture
def rt(tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path) -> Iterator[Runtime]:
    """The test area with social services on the FHIR format and the others on the backa format."""
    runtime = runtime_with(tmp_path, clock, nats_server, keys, FHIR_UNIT)
    yield runtime
    runtime.close()


@pytest.fixture
def all_fhir(tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path) -> Iterator[Runtime]:
    """The test area with every unit on the FHIR format."""
    runtime = runtime_with(tmp_path, clock, nats_server, keys, *directory().tenants[TENANT].units)
    yield runtime
    runtime.close()


def shared_case(rt: Runtime, categories: list[str]) -> UUID:
    """A child whose Barnkontakt asks consent to share ``categories`` with social services and
    every BUP unit, both guardians grant it, and then a conversation, an individual team, a
    rating, a meeting, a plan and one of its actions completed."""
    hub = rt.hub
    child = child_with_barnkontakt(rt)
    consent = hub.request_consent(
        staff(BK), child, recipients=[{"unit_id": FHIR_UNIT}, {"unit_kind": "bup"}], categories=categories, purpose="Samordning kring barnet",
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    hub.hold_conversation(staff(BK), child, **conversation_payload("child"))
    hub.decide_team(staff(BK), child, decision="individual_team", family_informed=True, member_unit_ids=["elevhalsa-ostra", FHIR_UNIT])
    hub.submit_rating(staff("kurator.ostra"), child, scores=[{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}])
    hub.hold_team_meeting(staff(BK), child, participant_unit_ids=["elevhalsa-ostra", FHIR_UNIT])
    hub.assign_support_coordinator(staff(BK), child, staff_id="kurator.ostra")
    hub.update_plan(staff(BK), child, **plan_payload(hub.now().date()))
    hub.complete_plan_action(staff("kurator.ostra"), child, action_id="a1", note="Klart efter två veckor")
    return child


def planned(rt: Runtime) -> list[Delivery]:
    return make_relay(rt).plan(log_reader(rt.hub)(0, 100_000), complete=True)


def facts_by_id(rt: Runtime) -> dict[str, Event]:
    return {str(e.fact.event_id): e.fact for e in log_reader(rt.hub)(0, 100_000) if e.fact is not None}


def event_of(bundle: Bundle) -> str:
    header = bundle.entry[0].resource
    assert header.get_resource_type() == "MessageHeader"
    return str(header.eventCoding.code)


def kinds(bundle: Bundle) -> list[str]:
    return [e.resource.get_resource_type() for e in bundle.entry]


def strings(value: Any) -> Iterator[str]:
    """Every text in a JSON value long enough to tell (ids of a few letters, codes and
    booleans say nothing of the child)."""
    if isinstance(value, str):
        if len(value) >= 6:
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield ref
        for v in value.values():
            yield from references(v)
    elif isinstance(value, list):
        for v in value:
            yield from references(v)


ALL = ["identity", "needs", "conversations", "ratings", "plan"]

RENDERED = {
    "ChildRegistered": ["MessageHeader", "Patient", "RelatedPerson", "RelatedPerson"],
    "ConsentRequested": ["MessageHeader", "Patient", "Consent"],
    "ConversationHeld": ["MessageHeader", "Patient", "QuestionnaireResponse"],
    "RatingSubmitted": ["MessageHeader", "Patient", "QuestionnaireResponse"],
    "PlanUpdated": ["MessageHeader", "Patient", "CarePlan"],
    "PlanActionCompleted": ["MessageHeader", "Patient", "CarePlan"],
}


# -- what each fact becomes, and nothing withheld in it ------------------------------------------


@pytest.mark.parametrize("fact_type", sorted(RENDERED))
def test_each_fact_with_a_fhir_rendering_becomes_a_validated_message_bundle_of_its_resources(all_fhir: Runtime, fact_type: str) -> None:
    shared_case(all_fhir, ["needs", "conversations", "ratings", "plan"])
    bundles = [Bundle.model_validate(d.body) for d in planned(all_fhir) if d.type_name == BUNDLE_TYPE]
    of_type = [b for b in bundles if event_of(b) == fact_type]
    assert of_type, f"no unit was sent {fact_type} as a bundle"
    for bundle in of_type:
        assert bundle.type == "message"
        assert kinds(bundle) == RENDERED[fact_type]
        header, *rest = bundle.entry
        focus = {f.reference for f in header.resource.focus}  # the message names the resources the fact means
        assert focus == {e.fullUrl for e in rest if fact_type == "ChildRegistered" or e.resource.get_resource_type() != "Patient"}
        urls = {e.fullUrl for e in bundle.entry}
        assert set(references(bundle.model_dump(mode="json"))) <= urls  # every reference resolves inside the bundle


def test_every_bundle_carries_nothing_of_a_category_its_unit_was_not_allowed(all_fhir: Runtime) -> None:
    """For every delivery of the case, to every unit: no text of a category the unit may not
    see now appears in its bundle, and the bundle's security labels are what it was allowed."""
    shared_case(all_fhir, ["conversations", "ratings", "plan"])  # identity, needs and the team not shared
    facts = facts_by_id(all_fhir)
    bundles = [d for d in planned(all_fhir) if d.type_name == BUNDLE_TYPE]
    assert {event_of(Bundle.model_validate(d.body)) for d in bundles} >= set(RENDERED)
    for d in bundles:
        bundle = Bundle.model_validate(d.body)
        fact = facts[d.msg_id.split(":")[0]]
        allowed = {s.code for s in bundle.meta.security if s.system == "urn:backa-barnet:category"}
        text = json.dumps(d.body, ensure_ascii=False)
        for category, fields in fact.split_by_category().items():
            if category.value in allowed:
                continue
            for secret in strings(fields):
                assert secret not in text, f"{d.unit_id} got {category.value} of {event_of(bundle)} in a bundle"
    social = [d for d in bundles if d.unit_id == FHIR_UNIT]
    assert social and all(CHILD_PNR not in json.dumps(d.body) and "Alva" not in json.dumps(d.body) for d in social)
    for d in social:  # the child only by the hub's pseudonymous id
        (patient,) = [e.resource for e in Bundle.model_validate(d.body).entry if e.resource.get_resource_type() == "Patient"]
        assert [i.system for i in patient.identifier] == ["urn:backa-barnet:child"] and patient.name is None


def test_the_personnummer_is_in_the_bundle_only_for_a_unit_that_may_see_the_identity(all_fhir: Runtime) -> None:
    shared_case(all_fhir, ALL)
    registered = [
        d for d in planned(all_fhir) if d.type_name == BUNDLE_TYPE and event_of(Bundle.model_validate(d.body)) == "ChildRegistered"
    ]
    seen = {d.unit_id for d in registered}
    assert FHIR_UNIT in seen  # on the consent
    assert "polis-ystad" not in seen  # it filed the card but may not see who the child is
    for d in registered:
        (patient,) = [e.resource for e in Bundle.model_validate(d.body).entry if e.resource.get_resource_type() == "Patient"]
        assert [(i.system, i.value) for i in patient.identifier][0] == ("urn:oid:1.2.752.129.2.1.3.1", CHILD_PNR)
        assert patient.name[0].family == "Lind"
        guardians = [e.resource for e in Bundle.model_validate(d.body).entry if e.resource.get_resource_type() == "RelatedPerson"]
        assert sorted(g.identifier[0].value for g in guardians) == sorted([GUARDIAN_1_PNR, GUARDIAN_2_PNR])
        assert {g.relationship[0].coding[0].code for g in guardians} == {"GUARD"}


def test_a_body_without_its_category_is_not_rendered_and_nothing_is_made_up(all_fhir: Runtime) -> None:
    """The rendering reads only the body: a fact whose category the body does not carry (as a
    policy that withheld it would leave it) is no bundle at all."""
    shared_case(all_fhir, ALL)
    facts = facts_by_id(all_fhir)
    backa = [d for d in make_relay(all_fhir).plan(log_reader(all_fhir.hub)(0, 100_000)) if d.type_name != BUNDLE_TYPE]
    assert backa  # facts without a rendering (the card, the team's facts) stay in the backa format
    assert {d.type_name.rsplit(".", 1)[-1] for d in backa} & set(RENDERED) == set()
    for short in RENDERED:
        (fact,) = [f for f in facts.values() if type(f).__name__ == short][:1]
        stripped = Delivery(
            tenant_id=TENANT, unit_id=FHIR_UNIT, subject="s", msg_id=f"{fact.event_id}:{FHIR_UNIT}", type_name=fact.type_name,
            occurred_at=fact.occurred_at, child_id=str(fact.child_id),
            body={"event": fact.model_dump(mode="json", include={"event_id", "tenant_id", "child_id", "occurred_at", "actor"}), "access": []},
        )
        assert fhir_delivery(stripped) is None, short


def test_the_rendered_facts_each_carry_one_category_only() -> None:
    """What the rendering relies on: a rendered fact is wholly in its category or not sent."""
    from adapters.fhir.delivery import _CATEGORY

    for short, category in _CATEGORY.items():
        assert EVENT_TYPES[f"backa.v1.{short}"].carried_categories() == {category}, short


@pytest.mark.parametrize(("answer", "status", "verified"), [("granted", "proposed", True), ("declined", "rejected", False), ("withdrawn", "inactive", False)])
def test_a_partys_answer_is_a_consent_with_that_answer_only(all_fhir: Runtime, answer: str, status: str, verified: bool) -> None:
    """No unit is sent a guardian's answer today (it is the asking unit's consent overview's),
    but a body that carries one is worded as the consent with that party's answer and no more."""
    from contracts.events import ConsentGranted

    shared_case(all_fhir, ["plan"])
    granted = next(f for f in facts_by_id(all_fhir).values() if isinstance(f, ConsentGranted))
    body = {"event": granted.model_dump(mode="json"), "access": [{"category": "consent", "basis": "consent", "consent_id": None}]}
    short = f"Consent{answer.capitalize()}"
    delivery = Delivery(
        tenant_id=TENANT, unit_id="skola-ostra", subject="s", msg_id=f"{granted.event_id}:skola-ostra", type_name=f"backa.v1.{short}",
        occurred_at=granted.occurred_at, child_id=str(granted.child_id), body=body,
    )
    bundled = fhir_delivery(delivery)
    assert bundled is not None and bundled.msg_id == delivery.msg_id and bundled.subject == "backa.v1.ystad.skola-ostra.Bundle"
    bundle = Bundle.model_validate(bundled.body)
    assert event_of(bundle) == short and kinds(bundle) == ["MessageHeader", "Patient", "Consent"]
    consent = bundle.entry[2].resource
    assert (consent.id, consent.status) == (str(granted.consent_id), status)
    assert [(v.verified, v.verifiedWith.identifier.value) for v in consent.verification] == [(verified, granted.party.party_id)]
    assert consent.provision is None  # the categories and recipients are the request's, not in an answer
    again = fhir_delivery(delivery)
    assert again is not None and again.body == bundled.body  # the same bundle when sent again


def test_a_fact_fhir_cannot_hold_goes_in_the_backa_format_and_its_text_is_not_logged(
    all_fhir: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    from contracts.events import PlanUpdated

    shared_case(all_fhir, ["plan"])
    plan = next(f for f in facts_by_id(all_fhir).values() if isinstance(f, PlanUpdated))
    body = {"event": plan.model_dump(mode="json"), "access": [{"category": "plan", "basis": "consent", "consent_id": None}]}
    body["event"]["actions"][0]["due"] = "Rastvärd hela våren"  # not a date FHIR takes
    odd = Delivery(
        tenant_id=TENANT, unit_id=FHIR_UNIT, subject=f"backa.v1.{TENANT}.{FHIR_UNIT}.PlanUpdated", msg_id=f"{plan.event_id}:{FHIR_UNIT}",
        type_name=plan.type_name, occurred_at=plan.occurred_at, child_id=str(plan.child_id), body=body,
    )
    recipient = next(r for r in make_relay(all_fhir).recipients if r.unit_id == FHIR_UNIT)
    with caplog.at_level("WARNING"):
        assert shaped(odd, recipient) is odd
    assert "cannot be worded as FHIR" in caplog.text and "Rastvärd" not in caplog.text


def test_notices_and_facts_without_a_rendering_stay_in_the_backa_format(all_fhir: Runtime) -> None:
    hub = all_fhir.hub
    child = shared_case(all_fhir, ["plan"])
    consent = hub.consent_overview(staff(BK), child)[0].consent_id
    hub.withdraw_consent(family(all_fhir, GUARDIAN_2_PNR), child, UUID(str(consent)))
    kinds_sent = {d.type_name for d in planned(all_fhir)}
    assert "backa.v1.ConsentRevoked" in kinds_sent
    assert "backa.v1.DiscoveryCardSubmitted" in kinds_sent
    assert BUNDLE_TYPE in kinds_sent


# -- the same information through the broker, the subscriber and the receiver ------------------


def subscriber(nats_server: NatsServer, keys: Path, unit: str, folder: Path, sink: Sink) -> AgencySubscriber:
    return AgencySubscriber(
        nats_url=nats_server.url, unit_id=unit, tenant_id=TENANT, private_key=load_private_key(keys / f"{unit}.key"),
        sink=sink, processed=ProcessedIds(folder / f"{unit}-seen.sqlite"), fetch_timeout=0.3,
    )


async def relay_and_drain(rt: Runtime, subs: list[AgencySubscriber]) -> None:
    relay = make_relay(rt)
    try:
        await relay.pump()
    finally:
        await relay.close()
    for sub in subs:
        try:
            while await sub.poll():
                pass
        finally:
            await sub.close()
            sub.processed.close()


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_fhir_unit_receives_as_validated_bundles_the_same_consented_information_the_backa_unit_gets(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path
) -> None:
    shared_case(rt, ["conversations", "ratings", "plan"])
    sinks = {unit: JsonLinesSink(tmp_path / f"{unit}.jsonl") for unit in (FHIR_UNIT, BACKA_UNIT)}
    asyncio.run(relay_and_drain(rt, [subscriber(nats_server, keys, u, tmp_path, s) for u, s in sinks.items()]))
    for s in sinks.values():
        s.close()
    backa = {e["id"].split(":")[0]: e for e in read_lines(tmp_path / f"{BACKA_UNIT}.jsonl")}
    fhir = {e["id"].split(":")[0]: e for e in read_lines(tmp_path / f"{FHIR_UNIT}.jsonl")}

    assert set(fhir) == set(backa)  # the same facts, each once
    bundles = {}
    for event_id, got in fhir.items():
        theirs = backa[event_id]
        if got["type"] != BUNDLE_TYPE:  # no rendering: the same backa event
            assert got["data"] == theirs["data"] and got["type"] not in {f"backa.v1.{t}" for t in RENDERED}
            continue
        bundle = bundle_of(OpenedEvent(got["id"], got["type"], got["source"], got.get("time"), "", got["data"]))
        bundles[theirs["type"].rsplit(".", 1)[-1]] = bundle
        assert event_of(bundle) == theirs["type"].rsplit(".", 1)[-1]
        assert bundle.identifier.value == got["id"] == f"{event_id}:{FHIR_UNIT}"
        # category by category: the same categories on the same bases
        labels = {(s.system.rsplit(":", 1)[-1], s.code) for s in bundle.meta.security}
        assert {("category", a["category"]) for a in theirs["data"]["access"]} | {
            ("legal-basis", a["basis"]) for a in theirs["data"]["access"]
        } == labels
    assert set(bundles) == {"ConversationHeld", "RatingSubmitted", "PlanUpdated", "PlanActionCompleted"}

    def in_bundle(kind: str, fact: str) -> Any:
        (r,) = [e.resource for e in bundles[fact].entry if e.resource.get_resource_type() == kind]
        return r

    by_type = {e["type"].rsplit(".", 1)[-1]: e["data"]["event"] for e in backa.values()}
    plan = by_type["PlanUpdated"]
    care = in_bundle("CarePlan", "PlanUpdated")
    assert sorted((a.id, a.detail.description, a.detail.performer[0].display) for a in care.activity) == sorted(
        (a["action_id"], a["what"], a["responsible_person"]) for a in plan["actions"]
    )
    assert [n.text for n in care.note if n.text.startswith("Barnets syn")] == [f"Barnets syn: {plan['child_view']}"]
    done = in_bundle("CarePlan", "PlanActionCompleted")
    assert [(a.id, a.detail.status, a.progress[0].text) for a in done.activity] == [
        (by_type["PlanActionCompleted"]["action_id"], "completed", by_type["PlanActionCompleted"]["note"])
    ]
    rating = in_bundle("QuestionnaireResponse", "RatingSubmitted")
    assert [(i.linkId, i.answer[0].valueInteger) for g in rating.item for i in g.item] == [
        (f"{s['area']}.{s['indicator']}", s["score"]) for s in by_type["RatingSubmitted"]["scores"]
    ]
    talk = in_bundle("QuestionnaireResponse", "ConversationHeld")
    assert sorted((i.linkId, i.answer[0].valueString) for g in talk.item for i in g.item) == sorted(
        (f"{v['area']}.syn", v["view"]) for v in by_type["ConversationHeld"]["views"]
    )
    assert by_type["ConversationHeld"]["summary"] in talk.text.div
    assert all(CHILD_PNR not in json.dumps(e) for e in fhir.values())


def test_the_bundle_arrives_as_a_signed_webhook_and_a_forged_or_replayed_one_is_refused(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path, serve: Callable[[Receiver], Receiver]
) -> None:
    shared_case(rt, ["plan"])
    secret_file = tmp_path / "agency" / "webhook.secret"
    write_secret(secret_file)
    receiver = serve(Receiver(load_secret_lines(secret_file)))
    sender = WebhookSender(load_secrets(secret_file), policy=RetryPolicy(attempts=2), sleep=Pauses(), jitter=lambda: 1.0)
    sink = SignedWebhookSink(receiver.url, sender, DeadLetters(tmp_path / "dead-letters.sqlite"))
    try:
        asyncio.run(relay_and_drain(rt, [subscriber(nats_server, keys, FHIR_UNIT, tmp_path, sink)]))
    finally:
        sink.close()

    posted = [(r, json.loads(r.body)) for r in receiver.requests if json.loads(r.body)["type"] == BUNDLE_TYPE]
    assert posted and all(r.status == 204 for r, _ in posted)
    request, event = next((r, e) for r, e in posted if event_of(Bundle.model_validate(e["data"])) == "PlanUpdated")
    assert request.headers["webhook-id"] == event["id"]
    Webhook(load_secret_lines(secret_file)[0]).verify(request.body, request.headers)  # the specification's library agrees
    assert any(Bundle.model_validate(json.loads(v.body)["data"]).type == "message" for v in receiver.taken)
    taken = len(receiver.taken)

    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-") or k == "content-type"}
    foreign = Webhook(new_secret())  # a secret that is not the unit's
    forged_headers = {**headers, "webhook-signature": foreign.sign(event["id"], _timestamp(headers), request.body.decode())}
    forged = httpx.post(receiver.url, content=request.body, headers=forged_headers, timeout=10)
    replayed = httpx.post(receiver.url, content=request.body, headers=headers, timeout=10)

    assert forged.status_code == 401
    assert replayed.status_code == 200 and replayed.text == "already taken"
    assert len(receiver.taken) == taken  # neither was handed over


def _timestamp(headers: dict[str, str]) -> datetime:
    return datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
