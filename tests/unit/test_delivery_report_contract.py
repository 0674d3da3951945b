"""The delivery reports' published contract: exported with the other schemas, refusing
anything but ids, a type, a class of reason and moments."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from adapters.delivery_reports import reason_class
from adapters.report_intake import parse_report
from contracts.schemas import INDEX_FILE, export_schemas

GOOD = {
    "schema_version": 1, "tenant_id": "ystad", "unit_id": "skola-ostra", "message_id": "e-1",
    "event_type": "backa.v1.ChildRegistered", "attempts": 2, "at": "2026-03-02T09:00:00Z",
    "report": "delivery_failed", "reason": "HTTP 410",
}
SUBJECT = "backa.reports.ystad.skola-ostra.DeliveryFailed"


def test_the_export_publishes_both_reports_with_schemas_that_refuse_other_fields(tmp_path: Path) -> None:
    export_schemas(tmp_path)
    index = json.loads((tmp_path / INDEX_FILE).read_text(encoding="utf-8"))
    assert {r["type_name"] for r in index["reports"]} == {"backa.v1.DeliveryFailed", "backa.v1.DeliveryRecovered"}
    failed = json.loads((tmp_path / next(r["file"] for r in index["reports"] if r["type_name"].endswith("Failed"))).read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(failed)
    assert failed["additionalProperties"] is False
    jsonschema.validate(GOOD, failed)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**GOOD, "body": "Alva"}, failed)


@pytest.mark.parametrize(
    ("reason", "reported"),
    [("HTTP 410", "HTTP 410"), ("HTTP 503", "HTTP 503"), ("ReadTimeout", "timeout"), ("ConnectTimeout", "timeout"),
     ("ConnectError", "unreachable"), ("RemoteProtocolError", "unreachable"), ("HTTP 5000", "unreachable")],
)
def test_a_reason_is_reported_as_a_status_timeout_or_unreachable_only(reason: str, reported: str) -> None:
    assert reason_class(reason) == reported


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (SUBJECT, {**GOOD, "note": "x"}),
        (SUBJECT, {**GOOD, "Alva Lind": "x"}),  # not even a field's name is repeated
        (SUBJECT, {**GOOD, "reason": "receiver said no"}),
        (SUBJECT, {**GOOD, "attempts": True}),
        (SUBJECT, {**GOOD, "at": "2026-03-02T09:00:00"}),  # no offset
        (SUBJECT, {**GOOD, "unit_id": "bvc-ystad"}),  # not the subject's unit
        ("backa.reports.ystad.skola-ostra.DeliveryRecovered", GOOD),  # not the subject's kind
        ("backa.v1.ystad.skola-ostra.DeliveryFailed", GOOD),
    ],
)
def test_a_report_is_parsed_strictly_against_its_contract_and_its_subject(subject: str, body: dict[str, object]) -> None:
    with pytest.raises(ValueError) as refused:
        parse_report(subject, json.dumps(body).encode())
    assert "Alva" not in str(refused.value)


def test_a_good_report_is_parsed() -> None:
    report = parse_report(SUBJECT, json.dumps(GOOD).encode())
    assert (report.unit_id, report.reason, report.attempts) == ("skola-ostra", "HTTP 410", 2)
