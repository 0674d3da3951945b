"""An import file's JSON is read as strictly as any API body, whichever way it comes in: from
the CLI (which hands the file straight to the hub) as well as over HTTP, and in the CSV form's
JSON cells. A key given twice, ``NaN`` or nesting far past any card's refuses the file or the
cell with a reason, never an error of the process (a 500, or the CLI's traceback)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient

from hub.application.card_import import ImportFileError, ImportFormat
from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from tests.factories import STAFF, TENANT, staff
from tests.integration.test_card_import import as_csv, row

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_CELL = "[" * 5_000 + "]" * 5_000
"""Deep enough to exhaust a recursive parser, short enough for a CSV cell (csv's field limit)."""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (DEEP.encode(), "deep"),
        (b"[" * 40 + b"]" * 40, "deep"),
        (b'{"cards": [], "cards": [{}]}', "more than once"),
        (b"[NaN]", "not JSON"),
    ],
)
def test_a_json_file_the_api_would_refuse_the_hub_refuses_too(memory_runtime: Runtime, data: bytes, reason: str) -> None:
    before = memory_runtime.hub.recorder.max_notification_id()
    with pytest.raises(ImportFileError) as refused:
        memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON)
    assert reason in refused.value.detail
    assert memory_runtime.hub.recorder.max_notification_id() == before


def test_a_card_with_a_key_twice_is_not_filed_with_the_last_one(memory_runtime: Runtime) -> None:
    text = json.dumps([row("e-1")])
    twice = text.replace('"guardians_informed": true', '"guardians_informed": false, "guardians_informed": true')
    assert twice != text
    with pytest.raises(ImportFileError):
        memory_runtime.hub.import_cards(staff("admin.ystad"), twice.encode(), ImportFormat.JSON)


def csv_with_cell(column: str, cell: str) -> bytes:
    return as_csv([row("e-1", **{column: cell})])


@pytest.mark.parametrize("cell", [DEEP_CELL, '[{"area": "trygghet", "area": "halsa"}]', "[NaN]"])
def test_a_json_cell_of_a_csv_row_is_read_strictly_and_the_row_rejected(memory_runtime: Runtime, cell: str) -> None:
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), csv_with_cell("unmet_needs", cell), ImportFormat.CSV).as_dict()
    assert report["accepted"] == []
    assert [e["field"] for e in report["rejected"][0]["errors"]] == ["unmet_needs"]


def test_over_http_a_deep_csv_cell_is_a_rejected_row_not_a_500(memory_runtime: Runtime) -> None:
    assert memory_runtime.demo_issuer is not None
    unit, roles = STAFF["admin.ystad"]
    token = memory_runtime.demo_issuer.staff_token(TENANT, "admin.ystad", unit, sorted(r.value for r in roles))
    with TestClient(create_app(memory_runtime)) as client:
        answer = client.post(
            "/api/v1/imports/cards", content=csv_with_cell("guardians", DEEP_CELL),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert [e["field"] for e in body["rejected"][0]["errors"]] == ["guardians"]
