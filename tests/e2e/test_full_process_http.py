"""One child through the whole support process, over HTTP only, spread over weeks.

The police at LPO Ystad discover Alva and send a discovery card to her school, whose
principal is the Barnkontakt. After conversations with Alva and her guardians, the
Barnkontakt asks for consent to share needs, conversations, team, ratings, plan and
identity with pupil health (elevhälsan), social services and BUP; both guardians
grant it. A Barnteam rates her needs into a joint compass, an individual team with a
support coordinator makes one plan with actions for three units, the actions are
done, and the needs are met. Then one guardian withdraws the consent.

Along the way the test checks what each unit sees: nothing before both guardians have
answered, then exactly the consented categories (plus a unit's own record), never the
police's or BUP's own agency information, and nothing beyond its own record for a
unit outside the consent (the preschool, the police). Every read made is then found
in the family's access log and in the auditor's search.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.testing import TestClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from hub.runtime.telemetry import build_telemetry
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, RATED_AT_TEN, STAFF, TENANT, card_payload

API = "/api/v1"

CONSENTED = {"identity", "needs", "conversations", "team", "ratings", "plan"}
RECIPIENTS = [{"unit_kind": "pupil_health"}, {"unit_id": "soc-ystad"}, {"unit_kind": "bup"}]


@dataclass(frozen=True)
class Read:
    """One look at the child by a member of staff, as the test made it."""

    purpose: str
    user_id: str
    unit_id: str
    at: datetime
    status: int


class Journey:
    """The HTTP calls of the test, with every staff read kept for the access-log checks."""

    def __init__(self, rt: Runtime, clock: SettableClock, client: TestClient[Any]) -> None:
        self.rt = rt
        self.clock = clock
        self.client = client
        self.start = clock()
        self.child_id: UUID | None = None
        self.reads: list[Read] = []

    def on_day(self, day: int) -> None:
        self.clock.set(self.start + timedelta(days=day))

    def staff(self, user_id: str) -> dict[str, str]:
        assert self.rt.demo_issuer is not None
        unit, roles = STAFF[user_id]
        token = self.rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))
        return {"Authorization": f"Bearer {token}"}

    def guardian(self, personnummer: str) -> dict[str, str]:
        assert self.rt.demo_issuer is not None
        return {"Authorization": f"Bearer {self.rt.demo_issuer.family_token(TENANT, 'guardian', personnummer)}"}

    @property
    def child(self) -> str:
        return f"{API}/children/{self.child_id}"

    def do(self, user_id: str, method: str, path: str, body: Any = None, expect: int = 201) -> Any:
        response = self.client.request(method, f"{self.child}{path}", json=body, headers=self.staff(user_id))
        assert response.status_code == expect, response.text
        return response.json()

    def answer(self, personnummer: str, consent_id: str, verb: str) -> None:
        response = self.client.post(f"{self.child}/consents/{consent_id}/{verb}", headers=self.guardian(personnummer))
        assert response.status_code == 201, response.text

    def look(self, user_id: str, why: str) -> dict[str, Any] | None:
        """A unit's read of the child; None when it may see nothing (403, or 404 for a unit with no
        part in the case, which is not told the child exists). Each read has its own purpose."""
        purpose = f"{len(self.reads) + 1}: {why}"
        response = self.client.get(self.child, params={"purpose": purpose}, headers=self.staff(user_id))
        assert response.status_code in (200, 403, 404), response.text
        assert response.headers["cache-control"] == "no-store"
        self.reads.append(Read(purpose, user_id, STAFF[user_id][0] or "", self.clock(), response.status_code))
        return response.json() if response.status_code == 200 else None


def categories(view: dict[str, Any] | None) -> set[str]:
    return {item["category"] for item in view["items"]} if view else set()


def types(view: dict[str, Any] | None) -> set[str]:
    return {item["type"] for item in view["items"]} if view else set()


def others(view: dict[str, Any] | None, unit_id: str) -> list[dict[str, Any]]:
    """The items a unit sees that another unit recorded."""
    return [item for item in view["items"] if item["unit_id"] != unit_id] if view else []


def plan_action(action_id: str, what: str, unit_id: str, person: str, due: date) -> dict[str, str]:
    return {"action_id": action_id, "what": what, "unit_id": unit_id, "responsible_person": person, "due": due.isoformat()}


def utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_one_child_through_the_whole_support_process_over_http(runtime: Runtime, clock: SettableClock) -> None:
    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    runtime.hub.telemetry = build_telemetry(span_exporter=spans, metric_reader=metrics)
    with TestClient(create_app(runtime)) as client:
        j = Journey(runtime, clock, client)

        # Day 0: the school knows its pupils; the police officer finds Alva already registered.
        registered = client.post(
            f"{API}/children",
            json={
                "personnummer": CHILD_PNR,
                "given_name": "Alva",
                "family_name": "Lind",
                "guardians": [
                    {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                    {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
                ],
            },
            headers=j.staff("rektor.ostra"),
        )
        assert registered.status_code == 201
        j.child_id = UUID(registered.json()["child_id"])
        again = client.post(
            f"{API}/children",
            json={"personnummer": CHILD_PNR, "given_name": "Alva", "family_name": "Lind", "guardians": []},
            headers=j.staff("polis.ystad"),
        )
        assert again.status_code == 201 and again.json() == {"child_id": str(j.child_id)}

        # Day 0: an external discovery card, from the police to the school's Barnkontakt.
        card_id = j.do("polis.ystad", "POST", "/discovery-cards", card_payload("skola-ostra"))["card_id"]
        police = j.look("polis.ystad", "the card I sent")
        assert types(police) == {"DiscoveryCardSubmitted"}
        assert others(police, "polis-ystad") == []

        # Day 1: the principal takes the Barnkontakt role and answers the discoverer.
        j.on_day(1)
        j.do("rektor.ostra", "POST", "/barnkontakt", {"staff_id": "rektor.ostra"})
        cases = client.get(f"{API}/case-list", headers=j.staff("rektor.ostra")).json()
        assert [(c["child_id"], c["awaiting_feedback"]) for c in cases] == [(str(j.child_id), 1)]
        j.do("rektor.ostra", "POST", f"/discovery-cards/{card_id}/feedback", {"message": "Barnkontakt utsedd, samtal bokas"})
        cases = client.get(f"{API}/case-list", headers=j.staff("rektor.ostra")).json()
        assert cases[0]["awaiting_feedback"] == 0
        police = j.look("polis.ystad", "feedback on my card")
        feedback = [i for i in police["items"] if i["type"] == "FeedbackSent"]
        assert feedback[0]["fields"]["message"] == "Barnkontakt utsedd, samtal bokas"
        assert categories(police) == {"identity", "needs", "team"}  # the child it concerns, its card, the answer

        # Days 3-4: conversations with Alva and with a guardian (by survey).
        j.on_day(3)
        views = [{"area": "trygghet", "view": "Rasterna är jobbiga"}]
        talk = {"with_whom": "child", "age_group": "10-12", "views": views, "summary": "Barnsamtal"}
        j.do("rektor.ostra", "POST", "/conversations", talk)
        j.on_day(4)
        survey = {"with_whom": "guardian", "age_group": "10-12", "digital_survey": True, "summary": "Enkät"}
        j.do("rektor.ostra", "POST", "/conversations", survey)

        # Day 5: the Barnkontakt asks for consent.
        j.on_day(5)
        consent_id = j.do(
            "rektor.ostra",
            "POST",
            "/consents",
            {"recipients": RECIPIENTS, "categories": sorted(CONSENTED), "purpose": "Barnteam kring stödet i skolan"},
        )["consent_id"]
        assert j.look("kurator.ostra", "before anyone answered") is None
        assert j.look("forskola.solen", "not a recipient") is None

        # Day 6: one guardian grants; that alone shares nothing.
        j.on_day(6)
        j.answer(GUARDIAN_1_PNR, consent_id, "grant")
        assert j.look("kurator.ostra", "after one guardian") is None
        overview = client.get(f"{j.child}/consents", headers=j.guardian(GUARDIAN_1_PNR)).json()
        assert overview[0]["status"] == "pending"
        assert sorted(p["answer"] for p in overview[0]["parties"]) == ["awaiting", "granted"]

        # Day 7: the other guardian grants: the recipients see exactly what exists of the consented categories.
        j.on_day(7)
        j.answer(GUARDIAN_2_PNR, consent_id, "grant")
        for user in ("kurator.ostra", "socsek.ystad", "bup.ystad"):
            view = j.look(user, "preparing the Barnteam")
            assert categories(view) == {"identity", "needs", "team", "conversations"}, user
            assert {i["basis"] for i in view["items"]} == {"consent"}, user
        assert j.look("forskola.solen", "still not a recipient") is None
        police = j.look("polis.ystad", "outside the consent")
        assert "ConversationHeld" not in types(police)
        assert types(police) == {"ChildRegistered", "DiscoveryCardSubmitted", "FeedbackSent"}

        # Day 8: Barnteam decided; the police join the team but not the consent.
        j.on_day(8)
        team = ["elevhalsa-ostra", "soc-ystad", "bup-ystad", "polis-ystad"]
        barnteam = {
            "decision": "barnteam",
            "family_informed": True,
            "shared_categories": sorted(CONSENTED),
            "member_unit_ids": team,
            "rationale": "Flera behov",
        }
        j.do("rektor.ostra", "POST", "/team-decisions", barnteam)

        # Day 9: ratings from four units (blanks where a rater does not know), and each agency's own summary.
        j.on_day(9)
        ratings = {
            "rektor.ostra": [("trygghet", 4), ("fritid", 1)],
            "kurator.ostra": [("trygghet", 2), ("halsa", 3)],
            "socsek.ystad": [("trygghet", 3), ("halsa", None)],
            "bup.ystad": [("trygghet", None), ("halsa", 2)],
        }
        for user, scores in ratings.items():
            body = {"scores": [{"area": a, "indicator": RATED_AT_TEN[a], "score": s} for a, s in scores]}
            assert j.do(user, "POST", "/ratings", body)["rating_id"]
        j.do("polis.ystad", "POST", "/agency-summaries", {"police": "Kontakt med polisen efter händelse på fritiden"})
        j.do("bup.ystad", "POST", "/agency-summaries", {"health": "Bedömning påbörjad"})

        # Day 10: the Barnteam meeting; the joint compass is each area's mean of the scores given.
        j.on_day(10)
        meeting = j.do("rektor.ostra", "POST", "/team-meetings", {"participant_unit_ids": ["skola-ostra", *team], "advice": "Individuellt barnteam"})
        compass = {s["area"]: s["score"] for s in meeting["joint_compass"]}
        assert compass["trygghet"] == 3.0  # (4 + 2 + 3) / 3, BUP's blank left out
        assert compass["halsa"] == 2.5  # (3 + 2) / 2
        assert compass["fritid"] == 1.0
        assert compass["utvecklas"] is None  # nobody rated it
        view = j.look("kurator.ostra", "after the meeting")
        assert "police" not in categories(view) and "health" not in categories(view)
        assert categories(view) == {"identity", "needs", "team", "conversations", "ratings"}

        # Days 11-12: individual team, support coordinator, one plan with actions for three units.
        j.on_day(11)
        individual = {"skola-ostra", "elevhalsa-ostra", "soc-ystad"}
        decision = {"decision": "individual_team", "family_informed": True, "member_unit_ids": sorted(individual)}
        j.do("rektor.ostra", "POST", "/team-decisions", decision)
        j.do("rektor.ostra", "POST", "/support-coordinator", {"staff_id": "kurator.ostra"})
        j.on_day(12)
        today = clock().date()
        plan = {
            "goals": [{"area": "trygghet", "goal": "Känna sig trygg på rasterna"}, {"area": "halsa", "goal": "Sova bättre"}],
            "actions": [
                plan_action("rast", "Rastvärd", "skola-ostra", "Rektor", today + timedelta(days=14)),
                plan_action("samtal", "Samtalsstöd", "elevhalsa-ostra", "Kurator", today + timedelta(days=21)),
                plan_action("foraldrar", "Föräldrastöd", "soc-ystad", "Socialsekreterare", today + timedelta(days=28)),
            ],
            "child_view": "Jag vill ha en vuxen ute på rasten",
            "guardian_view": "Vi vill veta hur det går varje vecka",
            "next_follow_up": (today + timedelta(days=30)).isoformat(),
        }
        assert j.do("kurator.ostra", "PUT", "/plan", plan, expect=200)["plan_version"] == 1
        for user in ("socsek.ystad", "bup.ystad"):
            view = j.look(user, "the plan")
            plans = [i for i in view["items"] if i["type"] == "PlanUpdated"]
            assert [a["unit_id"] for a in plans[0]["fields"]["actions"]] == ["skola-ostra", "elevhalsa-ostra", "soc-ystad"]
            assert "police" not in categories(view)
        bup = j.look("bup.ystad", "what we see besides our own")
        assert {i["category"] for i in others(bup, "bup-ystad")} == CONSENTED
        assert "health" in categories(bup)  # BUP's own summary, on its own record
        police = j.look("polis.ystad", "a team member outside the consent")
        assert {i["unit_id"] for i in others(police, "polis-ystad")} == {"skola-ostra"}
        assert types(police) == {"ChildRegistered", "DiscoveryCardSubmitted", "FeedbackSent", "AgencySummaryShared"}
        assert j.look("forskola.solen", "never part of it") is None

        # Days 20-35: each unit completes its own action; follow-up; needs met.
        for day, user, action in [(20, "rektor.ostra", "rast"), (27, "kurator.ostra", "samtal"), (33, "socsek.ystad", "foraldrar")]:
            j.on_day(day)
            j.do(user, "POST", f"/plan/actions/{action}/completion", {"note": "Klart"})
        j.on_day(42)
        follow_up = {"summary": "Uppföljande samtal", "compass": [{"area": "trygghet", "score": 4.0}]}
        j.do("kurator.ostra", "POST", "/follow-ups", follow_up)
        # Day 50: one guardian withdraws; the very next read shows only the unit's own record.
        j.on_day(50)
        before = j.look("bup.ystad", "just before the withdrawal")
        assert others(before, "bup-ystad")
        j.answer(GUARDIAN_2_PNR, consent_id, "withdraw")
        after = j.look("bup.ystad", "right after the withdrawal")
        assert after is not None and others(after, "bup-ystad") == []
        assert {i["basis"] for i in after["items"]} == {"own_record"}
        social = j.look("socsek.ystad", "right after the withdrawal")
        assert others(social, "soc-ystad") == []
        overview = client.get(f"{j.child}/consents", headers=j.guardian(GUARDIAN_1_PNR)).json()
        assert overview[0]["status"] == "withdrawn"

        j.on_day(56)
        met = [{"area": "trygghet", "score": 5.0}, {"area": "halsa", "score": 4.0}]
        j.do("kurator.ostra", "POST", "/needs-met", {"follow_up_compass": met, "summary": "Behoven tillgodosedda"})
        cases = client.get(f"{API}/case-list", headers=j.staff("rektor.ostra")).json()
        assert cases[0]["closed"] is True and cases[0]["overdue_actions"] == 0
        steps = client.get(f"{j.child}/timeline", headers=j.guardian(GUARDIAN_1_PNR)).json()["steps"]
        assert [s["type"] for s in steps[-2:]] == ["NeedsMet", "CaseClosed"]

        # Every read is in the family's access log (those that showed something) and in the auditor's search.
        j.on_day(61)
        family_log = client.get(f"{j.child}/access-log", headers=j.guardian(GUARDIAN_1_PNR))
        assert family_log.status_code == 200 and family_log.headers["cache-control"] == "no-store"
        audit = client.get(
            f"{API}/audit/access-log", params={"child_id": str(j.child_id), "limit": 1000}, headers=j.staff("granskare.ystad")
        )
        assert audit.status_code == 200
        seen_by_family = {(e["purpose"], e["unit_id"], e["accessed_at"]) for e in family_log.json()}
        seen_by_auditor = {(e["purpose"], e["accessor_id"], e["unit_id"], e["accessed_at"], e["allowed"]) for e in audit.json()}
        assert {read.status for read in j.reads} == {200, 403, 404}  # every kind of read is checked below
        for read in j.reads:
            shown = read.status == 200
            assert (read.purpose, read.user_id, read.unit_id, utc(read.at), shown) in seen_by_auditor, read
            assert ((read.purpose, read.unit_id, utc(read.at)) in seen_by_family) is shown, read
        assert all(e["staff_name"] is None for e in family_log.json())  # the tenant has not chosen to show names

    # Nothing that identifies the child or the guardians reached the telemetry of the whole process.
    captured = json.dumps([json.loads(span.to_json()) for span in spans.get_finished_spans()], ensure_ascii=False)
    captured += metrics.get_metrics_data().to_json()
    assert len(spans.get_finished_spans()) > 50
    identifying = ["Alva", "Lind", CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, CHILD_PNR[2:], GUARDIAN_1_PNR[2:], GUARDIAN_2_PNR[2:]]
    assert [marker for marker in identifying if marker in captured] == []
