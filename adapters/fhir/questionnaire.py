"""Behovskompassen as a published ``Questionnaire``, and ratings, joint compasses and child
conversations as ``QuestionnaireResponse`` against it.

The areas, their names and definitions and the rating form's indicators come from
:mod:`contracts.vocabulary`, :mod:`contracts.labels` and :mod:`contracts.indicators`: worded
once, here only arranged as FHIR items. Each area is a group holding its indicators (1-5),
the area's score (1-5, a joint or follow-up compass) and a free-text view (from a
conversation with the child or the guardians).
"""

from __future__ import annotations

from html import escape
from typing import Any
from uuid import UUID

from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from adapters.fhir.terms import AREA, SWEDISH, Item, clean, patient_ref, unit_ref, value
from contracts.indicators import INDICATORS
from contracts.labels import AREA_LABELS, CONVERSATION_WITH_LABELS
from contracts.vocabulary import CENTRAL_GOAL_SV, COMPASS, Area, ConversationWith

QUESTIONNAIRE_URL = "urn:backa-barnet:questionnaire:behovskompass"
QUESTIONNAIRE_VERSION = "1"
FORM = "urn:backa-barnet:form"
SCORE = "skattning"
VIEW = "syn"


def _score_item(link_id: str, text: str, kind: str) -> dict[str, Any]:
    return {
        "linkId": link_id,
        "text": text,
        "type": kind,
        "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/minValue", f"value{kind.capitalize()}": 1},
            {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", f"value{kind.capitalize()}": 5},
        ],
    }


def behovskompass_questionnaire() -> Questionnaire:
    """The eight areas around the central goal, as one questionnaire."""
    groups = []
    for area in Area:
        label = AREA_LABELS[area]
        indicators = [
            _score_item(f"{area.value}.{d.indicator.value}", d.statement_sv, "integer")
            for d in INDICATORS.values()
            if d.area is area
        ]
        groups.append(
            {
                "linkId": area.value,
                "text": label.sv,
                "type": "group",
                "code": [{"system": AREA, "code": area.value, "display": label.sv}],
                "prefix": COMPASS[area].girfec,
                "item": [
                    *indicators,
                    _score_item(f"{area.value}.{SCORE}", f"{label.sv}: skattning 1–5", "decimal"),
                    {"linkId": f"{area.value}.{VIEW}", "text": f"{label.sv}: barnets eller vårdnadshavarnas syn", "type": "text"},
                ],
            }
        )
    return Questionnaire.model_validate(
        {
            "resourceType": "Questionnaire",
            "id": "behovskompass",
            "url": QUESTIONNAIRE_URL,
            "version": QUESTIONNAIRE_VERSION,
            "name": "Behovskompassen",
            "title": f"Behovskompassen – {CENTRAL_GOAL_SV}",
            "status": "active",
            "language": SWEDISH,
            "subjectType": ["Patient"],
            "description": (
                f"Backa barnets behovskompass: åtta områden kring målet {CENTRAL_GOAL_SV}. "
                "Skattning 1–5, där 5 betyder att behovet är helt tillgodosett."
            ),
            "item": groups,
        }
    )


def _response(
    child_id: UUID,
    item: Item,
    answers: dict[str, list[dict[str, Any]]],
    *,
    title: str,
    author: dict[str, Any] | None,
    summary: str = "",
) -> QuestionnaireResponse:
    groups = []
    for area in Area:  # the questionnaire's order
        inner = [
            {"linkId": link_id, "answer": answer}
            for link_id, answer in answers.items()
            if link_id.split(".", 1)[0] == area.value
        ]
        if inner:
            groups.append({"linkId": area.value, "text": AREA_LABELS[area].sv, "item": inner})
    body: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"{item.event_id}-{value(item.category)}",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{item.event_id}"},
        "questionnaire": f"{QUESTIONNAIRE_URL}|{QUESTIONNAIRE_VERSION}",
        "status": "completed",
        "language": SWEDISH,
        "meta": {"tag": [{"system": FORM, "code": item.type, "display": title}]},
        "subject": patient_ref(child_id),
        "authored": item.occurred_at.isoformat(),
        "item": groups,
    }
    if author is not None:
        body["author"] = author
    if summary.strip():  # the questionnaire asks no summary: it is the response's narrative
        div = "".join(f"<p>{escape(line)}</p>" for line in summary.splitlines() if line.strip())
        body["text"] = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{div}</div>'}
    return QuestionnaireResponse.model_validate(clean(body))


def _area_scores(scores: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {f"{s['area']}.{SCORE}": [{"valueDecimal": s["score"]}] for s in scores if s.get("score") is not None}


def questionnaire_responses(child_id: UUID, items: list[Item]) -> list[QuestionnaireResponse]:
    """One response per rating form, joint or follow-up compass and conversation shown."""
    out = []
    for item in items:
        f = item.fields
        unit = unit_ref(item.unit_id) if item.unit_id else None
        if item.type == "RatingSubmitted" and "scores" in f:
            answers = {
                f"{s['area']}.{s['indicator']}": [{"valueInteger": s["score"]}]
                for s in f["scores"]
                if s.get("score") is not None
            }
            out.append(_response(child_id, item, answers, title="Skattningsformulär", author=unit))
        elif item.type == "TeamMeetingHeld" and f.get("joint_compass"):
            out.append(_response(child_id, item, _area_scores(f["joint_compass"]), title="Gemensam behovskompass", author=unit))
        elif item.type == "FollowUpHeld" and f.get("compass"):
            out.append(_response(child_id, item, _area_scores(f["compass"]), title="Uppföljande behovskompass", author=unit))
        elif item.type == "NeedsMet" and f.get("follow_up_compass"):
            out.append(_response(child_id, item, _area_scores(f["follow_up_compass"]), title="Uppföljande behovskompass", author=unit))
        elif item.type == "ConversationHeld" and "views" in f:
            with_whom = CONVERSATION_WITH_LABELS[ConversationWith(f["with_whom"])].sv
            answers = {f"{v['area']}.{VIEW}": [{"valueString": v["view"]}] for v in f["views"]}
            out.append(
                _response(child_id, item, answers, title=f"Barnsamtal: {with_whom}", author=unit, summary=str(f.get("summary", "")))
            )
    return out
