"""``POST /api/v1/imports/cards``: the e-service export as JSON, CSV or an upload, answered with
the row-by-row report; a file that cannot be read is a problem and files nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from hub.application.card_import import MAX_FILE_BYTES
from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from tests.factories import CHILD_PNR, STAFF, TENANT, staff
from tests.integration.test_card_import import GOOD_AND_BAD, as_csv, as_json, row

API = "/api/v1/imports/cards"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(runtime)) as c:
        yield c


def bearer(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}"}


def cards(rt: Runtime) -> int:
    return len(rt.hub.cards_sent_by(staff("larare.ostra"))) + len(rt.hub.cards_sent_by(staff("polis.ystad")))


def test_a_json_body_imports_once_with_a_report_row_by_row(runtime: Runtime, client: TestClient[Any]) -> None:
    admin = bearer(runtime, "admin.ystad")
    answer = client.post(API, content=as_json(GOOD_AND_BAD), headers={**admin, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [r["eservice_id"] for r in report["accepted"]] == ["e-1", "e-7"]
    assert [r["eservice_id"] for r in report["rejected"]] == ["e-2", "e-3", "e-4", "e-5", "e-6", "e-8"]
    assert CHILD_PNR not in answer.text and "Alva" not in answer.text
    assert cards(runtime) == 2

    again = client.post(API, content=as_json(GOOD_AND_BAD), headers={**admin, "Content-Type": "application/json"}).json()
    assert again["accepted"] == [] and [r["eservice_id"] for r in again["skipped"]] == ["e-1", "e-7"]
    assert cards(runtime) == 2


def test_csv_and_an_upload_are_taken_and_a_dry_run_files_nothing(runtime: Runtime, client: TestClient[Any]) -> None:
    admin = bearer(runtime, "admin.ystad")
    dry = client.post(f"{API}?dry_run=true", content=as_csv([row("e-1")]), headers={**admin, "Content-Type": "text/csv"})
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and len(dry.json()["accepted"]) == 1
    assert cards(runtime) == 0

    upload = client.post(API, files={"file": ("kort.csv", as_csv([row("e-1")]), "text/csv")}, headers=admin)
    assert upload.status_code == 200, upload.text
    assert len(upload.json()["accepted"]) == 1
    assert cards(runtime) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"cards": [', "application/json", 422),
        (b'{"cards": [], "cards": []}', "application/json", 422),
        (b"eservice_id\ne-1\n", "text/csv", 422),
        (b"<cards/>", "application/xml", 415),
    ],
)
def test_a_file_that_cannot_be_read_is_a_problem_and_files_nothing(
    runtime: Runtime, client: TestClient[Any], body: bytes, content_type: str, status: int
) -> None:
    answer = client.post(API, content=body, headers={**bearer(runtime, "admin.ystad"), "Content-Type": content_type})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"]
    assert cards(runtime) == 0


def test_an_oversize_file_is_refused_before_it_is_read(runtime: Runtime, client: TestClient[Any]) -> None:
    body = json.dumps({"cards": [row("e-1")], "pad": "x" * (MAX_FILE_BYTES + 1)}).encode()
    answer = client.post(API, content=body, headers={**bearer(runtime, "admin.ystad"), "Content-Type": "application/json"})
    assert answer.status_code in (413, 422), answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert cards(runtime) == 0


def test_staff_who_may_not_import_for_the_filer_get_rejected_rows(runtime: Runtime, client: TestClient[Any]) -> None:
    report = client.post(
        API, content=as_json([row("e-1", staff_id="polis.ystad", unit_id="polis-ystad")]),
        headers={**bearer(runtime, "larare.ostra"), "Content-Type": "application/json"},
    ).json()
    assert report["accepted"] == [] and report["rejected"][0]["title"] == "Not permitted"
    assert cards(runtime) == 0
